#!/usr/bin/env bash
# Big services (issue 19 §2): one service with 1,000 instances in a 50,000-instance catalog.
#   1. in-process: cache-miss time after a check flip, CPU per flip, CPU per query (bench/dns/big.ts)
#   2. load against Roster's DnsServer on 127.0.0.1 (server on CPU 1, dnsperf on CPU 0) while an
#      instance of the service flips 10 times a second: SRV over TCP, and A with EDNS 4096 over UDP.
#
#   bench/dns/big.sh                      # ROUNDS=2 DUR=8 MUTATE=10
# Output: appended to bench/dns/RESULTS-big.md (+ raw dnsperf output under bench/.work/dns-big/).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.node/bin:$PATH"
ROUNDS=${ROUNDS:-2}; DUR=${DUR:-8}; MUTATE=${MUTATE:-10}; BIG=${BIG:-1000}; TOTAL=${TOTAL:-50000}
CLIENT_CPU=${CLIENT_CPU:-0}; SERVER_CPU=${SERVER_CPU:-1}; PORT=${PORT:-5350}
for t in dnsperf taskset node; do command -v $t >/dev/null || { echo "missing $t (apt-get install dnsperf util-linux)"; exit 1; }; done
OUT=$ROOT/bench/.work/dns-big/$(date -u +%Y%m%d-%H%M%S); mkdir -p "$OUT"
RES=bench/dns/RESULTS-big.md
SPID=
BPID=
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; [ -n "$BPID" ] && kill "$BPID" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== in-process (taskset -c $SERVER_CPU node bench/dns/big.ts)"
timeout 600 taskset -c "$SERVER_CPU" node bench/dns/big.ts --big "$BIG" --total "$TOTAL" > "$OUT/inproc.md" 2>&1
cat "$OUT/inproc.md"

printf 'big.service.consul SRV\n' > "$OUT/q-srv.txt"
printf 'big.service.consul A\n' > "$OUT/q-a.txt"
taskset -c "$SERVER_CPU" node bench/dns/roster-server.ts --port "$PORT" --mutate "$MUTATE" --big "$BIG" --total "$TOTAL" > "$OUT/server.log" 2>&1 &
SPID=$!
taskset -c "$SERVER_CPU" node bench/dns/bare-tcp-server.ts --port $((PORT + 1)) > "$OUT/bare.log" 2>&1 &
BPID=$!
for _ in $(seq 150); do [ -n "$(ss -Hltn "sport = :$PORT")" ] && break; sleep 0.2; done
sleep 1
# warm-up
taskset -c "$CLIENT_CPU" node bench/dns/tcp-load.ts --port "$PORT" -l 2 > /dev/null 2>&1
taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$OUT/q-a.txt" -e -l 2 -q 20 > /dev/null 2>&1
ROWS=()
for ((r = 1; r <= ROUNDS; r++)); do
  for kind in srv-tcp bare-tcp a-edns; do
    o=$OUT/$kind-$r.out
    if [ $kind != a-edns ]; then
      p=$PORT; [ $kind = bare-tcp ] && p=$((PORT + 1))
      taskset -c "$CLIENT_CPU" node bench/dns/tcp-load.ts --port "$p" --name big.service.consul --type SRV -c 4 -q 16 -l "$DUR" > "$o" 2>&1
      read -r qps lost lat size < <(sed -n 's/^qps=\([0-9]*\) replies=[0-9]* errors=\([0-9]*\) avg_ms=\([0-9.]*\) p99_ms=[0-9.]* resp=\([0-9]*\)B$/\1 \2 \3 \4/p' "$o")
    else
      taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$OUT/q-a.txt" -c 1 -q 100 -l "$DUR" -e > "$o" 2>&1
      qps=$(awk '/Queries per second:/{printf "%.0f", $4}' "$o"); lost=$(awk '/Queries lost:/{print $3}' "$o")
      lat=$(awk '/Average Latency/{print $4*1000}' "$o"); size=$(awk -F'[ ,]+' '/Average packet size/{print $8}' "$o")
    fi
    echo "  r$r $kind qps=$qps lost=$lost avg_latency_ms=$lat resp=${size}B"
    ROWS+=("| $r | $kind | $qps | $lost | $lat | $size |")
  done
done
kill "$SPID" "$BPID"; wait "$SPID" 2>/dev/null; SPID=; BPID=
{
  echo
  echo "## Run of $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) vCPU, $(uname -r); Node $(node -v); $(dnsperf -h 2>&1 | awk '/^Version/{print; exit}')."
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ). Command: \`bench/dns/big.sh\` (ROUNDS=$ROUNDS DUR=$DUR MUTATE=$MUTATE BIG=$BIG TOTAL=$TOTAL). Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "### In-process (\`node bench/dns/big.ts\`, pinned to CPU $SERVER_CPU)"
  echo
  cat "$OUT/inproc.md"
  echo
  echo "### Load over sockets, Roster on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU, instance flips ${MUTATE}/s"
  echo
  echo "srv-tcp: \`node bench/dns/tcp-load.ts -c 4 -q 16\` (4 connections × 16 pipelined queries; dnsperf drops TCP replies over 4 KiB), \`big.service.consul SRV\`; bare-tcp: the same load against \`bench/dns/bare-tcp-server.ts\` (a bare Node TCP server returning a fixed reply of the same size: the ceiling); a-edns: \`dnsperf -e -c 1 -q 100\` (EDNS 4096), \`big.service.consul A\`."
  echo
  echo "| round | query | QPS | lost / errors | avg latency ms | reply bytes |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Server: $(sed -n 's/^roster: //p' "$OUT/server.log")"
} > "$OUT/results.md"
# Appended: RESULTS-big.md keeps every run (the first ones are the before/after of issue 19 §2).
[ -s "$RES" ] || echo "# Big-service DNS benchmark (issue 19 §2)" > "$RES"
cat "$OUT/results.md" >> "$RES"
cat "$OUT/results.md"
