#!/usr/bin/env bash
# Router benchmark (one command): requests/s and latency of the same local backend reached directly,
# through nginx (static reverse proxy, 1 worker, keepalive upstream) and through `roster router`
# (1 process); latency at a fixed 2,000 req/s; and the client library's added latency per call.
# Writes bench/router/RESULTS.md.   Knobs: DUR=5 WROUNDS=5 CONNS=32 RATE=2000 ROUNDS=5 FDUR=4 CALLS=5000 bench/router/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.node/bin:$PATH"
DUR=${DUR:-5}; CONNS=${CONNS:-32}; RATE=${RATE:-2000}; CALLS=${CALLS:-5000}; ROUNDS=${ROUNDS:-5}; FDUR=${FDUR:-4}; WROUNDS=${WROUNDS:-5}
[ -f dist/src/cli/main.js ] || npx tsc -p tsconfig.build.json >/dev/null || true
command -v nginx >/dev/null || { echo "nginx is required (apt-get install -y nginx)" >&2; exit 1; }
HAVE_WRK=1; command -v wrk >/dev/null || HAVE_WRK=0
TMP=$(mktemp -d /tmp/roster-bench-router.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in backend proxy proxy2; do [ -f "$TMP/$n/nginx.pid" ] && nginx -p "$TMP/$n" -c nginx.conf -e "$TMP/$n/error.log" -s quit 2>/dev/null || true; done
}
trap cleanup EXIT
freeport() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
B=$(freeport); P=$(freeport); R=$(freeport); H=$(freeport); D=$(freeport); S=$(freeport); P2=$(freeport); R2=$(freeport)

# Two nginx instances, one worker each: the backend (fixed 200 "ok") and the reverse proxy in front of it.
mkdir -p "$TMP/backend" "$TMP/proxy" "$TMP/proxy2"
cat > "$TMP/backend/nginx.conf" <<NGX
user root; worker_processes 1; pid $TMP/backend/nginx.pid; error_log $TMP/backend/error.log;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$B; location / { default_type text/plain; return 200 "ok\n"; } } }
NGX
cat > "$TMP/proxy/nginx.conf" <<NGX
user root; worker_processes 1; pid $TMP/proxy/nginx.pid; error_log $TMP/proxy/error.log;
events { worker_connections 8192; }
http { access_log $TMP/proxy/access.log; keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$B; keepalive 128; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$P; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host \$host; } } }
NGX
sed -e "s/worker_processes 1/worker_processes auto/" -e "s#$TMP/proxy/#$TMP/proxy2/#g" -e "s/127.0.0.1:$P;/127.0.0.1:$P2;/" "$TMP/proxy/nginx.conf" > "$TMP/proxy2/nginx.conf"
for n in backend proxy proxy2; do nginx -p "$TMP/$n" -c nginx.conf -e "$TMP/$n/error.log"; done

bin/roster agent -dev -node bench -http-port "$H" -dns-port "$D" -serf-lan-port "$S" -serf-wan-port -1 -data-dir "$TMP/agent" -log-level warn > "$TMP/agent.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "127.0.0.1:$H/v1/status/leader" >/dev/null && break; sleep 0.1; done
curl -sf -X PUT "127.0.0.1:$H/v1/agent/service/register" -d "{\"Name\":\"bench\",\"Address\":\"127.0.0.1\",\"Port\":$B}" >/dev/null
bin/roster router -listen "127.0.0.1:$R" -http-addr "127.0.0.1:$H" -workers 1 > "$TMP/router-access.log" 2> "$TMP/router.log" &
PIDS+=($!)
bin/roster router -listen "127.0.0.1:$R2" -http-addr "127.0.0.1:$H" > "$TMP/router2-access.log" 2> "$TMP/router2.log" &
PIDS+=($!)
for _ in $(seq 100); do [ "$(curl -s -H 'Host: bench.service.consul' "127.0.0.1:$R/")" = "ok" ] && break; sleep 0.1; done
for _ in $(seq 100); do [ "$(curl -s -H 'Host: bench.service.consul' "127.0.0.1:$R2/")" = "ok" ] && break; sleep 0.1; done

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A RPS P50 P99
# wrk prints "50%  123.00us" style lines; normalise to ms.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); printf "%.3f", v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); printf "%.3f", v} else if (v ~ /s$/) {sub(/s$/,"",v); printf "%.3f", v*1000} else print v}'; }
run_wrk() { # name url [host] → appends "rps p50 p99" to WRK_<name>
  local out
  if [ -n "${3:-}" ]; then out=$(wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -H "Host: $3" "$2"); else out=$(wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "$2"); fi
  echo "$out" | grep -E "Requests/sec|^ +(50|99)%" | sed "s/^/    $1 /" >&2
  echo "$(echo "$out" | awk '/^Requests\/sec/ {printf "%.0f", $2}') $(echo "$out" | awk '$1=="50%" {print $2}' | to_ms) $(echo "$out" | awk '$1=="99%" {print $2}' | to_ms)" >> "$TMP/wrk-$1"
}
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
if [ "$HAVE_WRK" = 1 ]; then
  echo "== wrk -t1 -c$CONNS -d${DUR}s (max throughput), $WROUNDS interleaved rounds; medians" >&2
  for i in $(seq "$WROUNDS"); do
    run_wrk direct "http://127.0.0.1:$B/"
    run_wrk nginx "http://127.0.0.1:$P/"
    run_wrk router "http://127.0.0.1:$R/" bench.service.consul
    run_wrk nginx2 "http://127.0.0.1:$P2/"
    run_wrk router2 "http://127.0.0.1:$R2/" bench.service.consul
  done
  for k in direct nginx router nginx2 router2; do
    RPS[$k]=$(awk '{print $1}' "$TMP/wrk-$k" | med); P50[$k]=$(awk '{print $2}' "$TMP/wrk-$k" | med); P99[$k]=$(awk '{print $3}' "$TMP/wrk-$k" | med)
  done
fi
echo "== fixed rate $RATE req/s, $ROUNDS interleaved rounds of ${FDUR}s each (bench/router/load.ts); medians" >&2
RD=(); RN=(); RR=()
for i in $(seq "$ROUNDS"); do
  RD+=("$(node bench/router/load.ts "http://127.0.0.1:$B/" "$RATE" "$FDUR")")
  RN+=("$(node bench/router/load.ts "http://127.0.0.1:$P/" "$RATE" "$FDUR")")
  RR+=("$(node bench/router/load.ts "http://127.0.0.1:$R/" "$RATE" "$FDUR" bench.service.consul)")
done
printf '    %s\n' "${RD[@]}" "${RN[@]}" "${RR[@]}" >&2
# The median of each field over the rounds, as one JSON object.
median() { printf '%s\n' "$@" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const rs=s.trim().split('\n').map(l=>JSON.parse(l));const o={};for(const k of Object.keys(rs[0])){const v=rs.map(r=>r[k]);if(typeof v[0]==='number'){v.sort((a,b)=>a-b);o[k]=v[Math.floor(v.length/2)];}else o[k]=v[0];}o.errors=rs.reduce((a,r)=>a+r.errors,0);o.non2xx=rs.reduce((a,r)=>a+r.non2xx,0);console.log(JSON.stringify(o));})"; }
FD=$(median "${RD[@]}"); FN=$(median "${RN[@]}"); FR=$(median "${RR[@]}")
echo "== client library: client.fetch vs fetch, $CALLS sequential calls each" >&2
CL=$(node bench/router/client-lib.ts "127.0.0.1:$H" bench "http://127.0.0.1:$B/" "$CALLS")
echo "    $CL" >&2
LOGLINES=$(wc -l < "$TMP/router-access.log")

j() { echo "$1" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s)['$2']))"; }
CPU=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
{
  echo "# Router benchmark"
  echo
  echo "Generated by \`bench/router/run.sh\` (DUR=$DUR WROUNDS=$WROUNDS CONNS=$CONNS RATE=$RATE ROUNDS=$ROUNDS FDUR=$FDUR CALLS=$CALLS) on $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  echo "- Machine: $(nproc) vCPU ($CPU), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, Linux $(uname -r); everything on loopback, load generator included."
  echo "- Node $(node -v), $(nginx -v 2>&1 | sed 's/.*: //'), $( [ "$HAVE_WRK" = 1 ] && { wrk -v 2>&1 | head -1 | awk '{print "wrk", $2}'; } ; [ "$HAVE_WRK" = 1 ] || echo 'no wrk')."
  echo "- Load average when the run started: $LOAD1 (other processes on the machine share the $(nproc) vCPUs; numbers are noisy when it is high)."
  echo "- Backend: nginx, 1 worker, \`return 200 \"ok\"\`. nginx proxies: keepalive upstream, access log on, \`worker_processes 1\` and \`auto\`. Routers: \`roster router -workers 1\` and \`roster router\` (default \`-workers auto\`), JSON access log on (to a file; $LOGLINES lines written by the one-process router). The fixed-rate latency runs use the one-process router. wrk, the backend and the proxy under test share the $(nproc) vCPUs."
  echo
  if [ "$HAVE_WRK" = 1 ]; then
    echo "## Throughput (\`wrk -t1 -c$CONNS -d${DUR}s --latency\`, median of $WROUNDS interleaved rounds per target)"
    echo
    echo "| target | req/s | p50 ms | p99 ms |"
    echo "|---|---:|---:|---:|"
    for k in direct nginx router nginx2 router2; do
      case $k in nginx) l="nginx (worker_processes 1)";; router) l="router (-workers 1)";; nginx2) l="nginx (worker_processes auto = $(nproc))";; router2) l="router (default: -workers auto = $(nproc))";; *) l=$k;; esac
      echo "| $l | ${RPS[$k]} | ${P50[$k]} | ${P99[$k]} |"; done
    echo
    # nginx/router per interleaved round (each pair ran back to back, so machine noise mostly cancels).
    ratios() { paste -d' ' "$TMP/wrk-$1" "$TMP/wrk-$2" | awk '{printf "%.2f\n", $1/$4}' | sort -n | tr '\n' ' '; }
    RAT1=$(ratios nginx router); RAT2=$(ratios nginx2 router2)
    NR1=$(echo "$RAT1" | tr ' ' '\n' | grep . | med); NR2=$(echo "$RAT2" | tr ' ' '\n' | grep . | med)
    verdict() { node -e "console.log($1 <= 2 ? 'met' : 'MISSED')"; }
    echo "nginx/router, medians of the per-round ratios (target ≤ 2×):"
    echo
    echo "- **As shipped, each using every vCPU** (nginx \`worker_processes auto\` as in Debian's nginx.conf; router default \`-workers auto\`; $(nproc) processes each): **${NR2}×** (rounds: ${RAT2% }) — $(verdict "$NR2")."
    echo "- **One process each** (nginx \`worker_processes 1\`, router \`-workers 1\`): **${NR1}×** (rounds: ${RAT1% }) — $(verdict "$NR1")."
    echo
  fi
  echo "## Latency at a fixed $RATE req/s (\`node bench/router/load.ts URL $RATE $FDUR\`, open loop, latency from the scheduled send time; median of $ROUNDS interleaved rounds per target)"
  echo
  echo "| target | achieved req/s | errors | p50 ms | p90 ms | p99 ms | max ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for x in "direct:$FD" "nginx:$FN" "router:$FR"; do n=${x%%:*}; v=${x#*:}; echo "| $n | $(j "$v" achieved_rps) | $(( $(j "$v" errors) + $(j "$v" non2xx) )) | $(j "$v" p50_ms) | $(j "$v" p90_ms) | $(j "$v" p99_ms) | $(j "$v" max_ms) |"; done
  echo
  AP50=$(node -e "console.log(($(j "$FR" p50_ms) - $(j "$FD" p50_ms)).toFixed(3))")
  AP99=$(node -e "console.log(($(j "$FR" p99_ms) - $(j "$FD" p99_ms)).toFixed(3))")
  NP99=$(node -e "console.log(($(j "$FN" p99_ms) - $(j "$FD" p99_ms)).toFixed(3))")
  echo "Router added latency vs direct at $RATE req/s: p50 +$AP50 ms, p99 +$AP99 ms (target < 1 ms: $(node -e "console.log($AP99 < 1 ? 'met' : 'MISSED')")); nginx adds p99 +$NP99 ms."
  echo
  echo "## Client library (\`client.fetch('bench', '/')\` vs \`fetch(url)\`, $CALLS sequential calls each, interleaved)"
  echo
  echo "| | p50 ms | p99 ms |"
  echo "|---|---:|---:|"
  echo "| fetch(url) | $(j "$CL" plain_p50_ms) | $(j "$CL" plain_p99_ms) |"
  echo "| client.fetch | $(j "$CL" lib_p50_ms) | $(j "$CL" lib_p99_ms) |"
  echo "| added | $(j "$CL" added_p50_ms) | $(j "$CL" added_p99_ms) |"
} > bench/router/RESULTS.md
cat bench/router/RESULTS.md
