#!/usr/bin/env bash
# Roster DNS vs Knot (1 UDP worker) vs NSD (1 server) vs a bare Node.js dgram responder,
# side by side in the same run, on 127.0.0.1 only. Servers pinned to CPU 1, dnsperf to CPU 0.
# Roster serves 1,000 services × 3 instances while its catalog changes 10 times a second; it runs
# three times: as the agent runs it (`roster`: on one pinned core the answer thread is off by default, so DNS
# answers on the main thread), with the answer thread forced on (`roster-thread`, dns_config.answer_thread = true),
# and with V8's --single-threaded-gc (`roster-stgc`), which suits a process confined to one core (parallel GC
# helpers can only contend there).
#
#   bench/dns/run.sh                     # 3 rounds × 10 s closed loop + 20k QPS latency
#   ROUNDS=5 DUR=6 bench/dns/run.sh
#   SERVERS="roster node-bare" bench/dns/run.sh
# Output: bench/.work/dns/<timestamp>/raw.tsv and bench/dns/RESULTS.md.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.node/bin:$PATH"
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-10}; LAT_DUR=${LAT_DUR:-8}; LAT_RATE=${LAT_RATE:-20000}; MUTATE=${MUTATE:-10}
CLIENT_CPU=${CLIENT_CPU:-0}; SERVER_CPU=${SERVER_CPU:-1}
SERVERS=${SERVERS:-"roster roster-thread roster-stgc knot-1w nsd-1 node-bare"}
for t in dnsperf knotd nsd taskset node; do command -v $t >/dev/null || { echo "missing $t (apt-get install dnsperf knot nsd util-linux)"; exit 1; }; done
node bench/dns/gen-data.ts >/dev/null
DATA=$ROOT/bench/.work/dns
OUT=$DATA/$(date -u +%Y%m%d-%H%M%S); mkdir -p "$OUT/run"
RAW=$OUT/raw.tsv
declare -A PORT PID
STARTED=()
cleanup() { for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null; done; for p in "${STARTED[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -9 "$p" 2>/dev/null; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

start_knot() {
  local dir=$OUT/run/knot; mkdir -p "$dir"
  printf 'server:\n    listen: 127.0.0.1@%s\n    rundir: %s\n    pidfile: %s/knot.pid\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\ndatabase:\n    storage: %s\nlog:\n  - target: stderr\n    any: warning\nzone:\n  - domain: consul\n    storage: %s\n    file: consul.zone\n    journal-content: none\n    zonefile-sync: -1\n' \
    "$1" "$dir" "$dir" "$dir" "$DATA" > "$dir/knot.conf"
  taskset -c "$SERVER_CPU" knotd -c "$dir/knot.conf" > "$dir/log" 2>&1 & PID[knot-1w]=$!; STARTED+=($!); PORT[knot-1w]=$1
}
start_nsd() {
  local dir=$OUT/run/nsd; mkdir -p "$dir"
  printf 'server:\n    ip-address: 127.0.0.1@%s\n    server-count: 1\n    username: ""\n    chroot: ""\n    zonesdir: "%s"\n    database: ""\n    zonelistfile: "%s/zone.list"\n    xfrdfile: "%s/xfrd.state"\n    xfrdir: "%s"\n    pidfile: "%s/nsd.pid"\n    logfile: "%s/nsd.log"\n    verbosity: 0\n    rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0\n    do-ip6: no\nremote-control:\n    control-enable: no\nzone:\n    name: consul\n    zonefile: consul.zone\n' \
    "$1" "$DATA" "$dir" "$dir" "$dir" "$dir" "$dir" > "$dir/nsd.conf"
  taskset -c "$SERVER_CPU" nsd -d -c "$dir/nsd.conf" > "$dir/log" 2>&1 & PID[nsd-1]=$!; STARTED+=($!); PORT[nsd-1]=$1
}
start_node() { # name port script args...
  local name=$1 port=$2; shift 2
  taskset -c "$SERVER_CPU" node "$@" --port "$port" > "$OUT/run/$name.log" 2>&1 & PID[$name]=$!; STARTED+=($!); PORT[$name]=$port
}
for s in $SERVERS; do
  case $s in
    roster) start_node roster 5340 bench/dns/roster-server.ts --mutate "$MUTATE" ;;
    roster-stgc) start_node roster-stgc 5344 --single-threaded-gc bench/dns/roster-server.ts --mutate "$MUTATE" ;;
    roster-thread) start_node roster-thread 5345 bench/dns/roster-server.ts --mutate "$MUTATE" --answer-thread on ;;
    node-bare) start_node node-bare 5341 bench/dns/bare-server.ts ;;
    knot-1w) start_knot 5342 ;;
    nsd-1) start_nsd 5343 ;;
    *) echo "unknown server $s"; exit 1 ;;
  esac
done
for s in $SERVERS; do
  for _ in $(seq 100); do [ -n "$(ss -Hlun "sport = :${PORT[$s]}")" ] && break; sleep 0.2; done
done
sleep 1
# Knot pins its UDP worker itself; re-pin every thread of every server to SERVER_CPU
desc() { local c; echo "$1"; for c in $(pgrep -P "$1"); do desc "$c"; done; }
for s in $SERVERS; do for p in $(desc "${PID[$s]}"); do for t in /proc/$p/task/*; do taskset -pc "$SERVER_CPU" "${t##*/}" >/dev/null 2>&1; done; done; done
echo "servers up: $SERVERS (raw results: $RAW)"
printf 'round\tphase\tserver\tqps\tlost\tp50_ms\tp99_ms\tresp_bytes\tserver_cpu_pct\n' > "$RAW"
HZ=$(getconf CLK_TCK)
ticks() { local t=0 p; for p in $(desc "$1"); do [ -r /proc/$p/stat ] && t=$((t + $(sed 's/.*) //' /proc/$p/stat | awk '{print $12+$13}'))); done; echo $t; }
perf() { # round phase server args...
  local r=$1 ph=$2 s=$3; shift 3
  local c0 c1 o=$OUT/tmp.out
  c0=$(ticks "${PID[$s]}")
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$DATA/queries-mix.txt" -c 1 -T 1 -b 4096 "$@" > "$o" 2>&1
  c1=$(ticks "${PID[$s]}")
  local qps lost resp rt cpu p50=- p99=-
  qps=$(awk '/Queries per second:/{printf "%.0f", $4}' "$o"); lost=$(awk '/Queries lost:/{print $3}' "$o")
  resp=$(awk -F'[ ,]+' '/Average packet size/{print $8}' "$o"); rt=$(awk '/Run time/{print $4}' "$o")
  cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v t="${rt:-1}" 'BEGIN{printf "%.0f", (b-a)/hz/t*100}')
  if [ "$ph" = latency ]; then
    read -r p50 p99 < <(awk '/^> [A-Z]+ /{ print $NF*1000 }' "$o" | sort -g | awk '{v[NR]=$1} END{ if(NR==0){print "- -"; exit} i=int(NR*0.5); j=int(NR*0.99); if(i<1)i=1; if(j<1)j=1; printf "%.3f %.3f\n", v[i], v[j] }')
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$ph" "$s" "$qps" "$lost" "$p50" "$p99" "$resp" "$cpu" >> "$RAW"
  printf '  r%s %-8s %-10s qps=%-7s lost=%-6s p50=%-6s p99=%-6s resp=%sB cpu=%s%%\n' "$r" "$ph" "$s" "$qps" "$lost" "$p50" "$p99" "$resp" "$cpu"
  sleep 1
}
# warm-up: JIT, Roster's answer cache
for s in $SERVERS; do taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$DATA/queries-mix.txt" -l 3 > /dev/null 2>&1; done
set -- $SERVERS; LIST=("$@"); K=${#LIST[@]}
for ((r = 1; r <= ROUNDS; r++)); do
  echo "== round $r"
  for ((i = 0; i < K; i++)); do s=${LIST[$(((i + r - 1) % K))]}; perf "$r" closed "$s" -q 100 -l "$DUR"; done
  for ((i = 0; i < K; i++)); do s=${LIST[$(((i + r - 1) % K))]}; perf "$r" latency "$s" -q 1000 -Q "$LAT_RATE" -t 1 -l "$LAT_DUR" -v; done
done
for s in roster roster-thread roster-stgc; do [ -n "${PID[$s]:-}" ] && kill "${PID[$s]}" 2>/dev/null; done; sleep 0.5 # (kill 0 would end this script)
STATS=$(for f in roster roster-thread roster-stgc; do [ -f "$OUT/run/$f.log" ] && sed -n "s/^roster: /$f: /p" "$OUT/run/$f.log"; done)
echo "$STATS"
node bench/dns/summarize.ts "$RAW" "bench/dns/run.sh (ROUNDS=$ROUNDS DUR=$DUR LAT_RATE=$LAT_RATE MUTATE=$MUTATE)" "$STATS" > bench/dns/RESULTS.md
cat bench/dns/RESULTS.md
