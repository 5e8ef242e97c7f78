#!/usr/bin/env bash
# DNS QPS with per-query metrics on (as the agent runs) vs off (issue 16: within 3 %), side by side:
# two bench/dns/roster-server.ts processes on the same catalog (1,000 services × 3 instances, 10
# changes/s), both pinned to CPU 1, dnsperf on CPU 0, closed loop (100 outstanding), the order of
# the two alternating each round. Prints each run and the medians; writes bench/dns/RESULTS-metrics.md.
#
#   bench/dns/metrics.sh            # 5 rounds × 10 s each
#   ROUNDS=3 DUR=6 bench/dns/metrics.sh
#   OFF_FLAG=on bench/dns/metrics.sh   # A/A: both servers record metrics (how far apart two equal servers land here)
#   SWAP=1 bench/dns/metrics.sh        # the metrics-off server started first, on the other port (cancels a positional bias)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/.node/bin:$PATH"
ROUNDS=${ROUNDS:-5}; DUR=${DUR:-10}; MUTATE=${MUTATE:-10}; CLIENT_CPU=${CLIENT_CPU:-0}; SERVER_CPU=${SERVER_CPU:-1}
for t in dnsperf taskset node; do command -v $t >/dev/null || { echo "missing $t (apt-get install dnsperf util-linux)"; exit 1; }; done
node bench/dns/gen-data.ts >/dev/null
DATA=$ROOT/bench/.work/dns
OUT=$DATA/metrics-$(date -u +%Y%m%d-%H%M%S); mkdir -p "$OUT"
declare -A PORT=([on]=5350 [off]=5351) PID
STARTS="on off"
if [ "${SWAP:-0}" = 1 ]; then PORT=([on]=5351 [off]=5350); STARTS="off on"; fi
cleanup() { for p in "${PID[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
for m in $STARTS; do
  flag=$m; [ "$m" = off ] && flag=${OFF_FLAG:-off}
  taskset -c "$SERVER_CPU" node bench/dns/roster-server.ts --port "${PORT[$m]}" --mutate "$MUTATE" --metrics "$flag" > "$OUT/$m.log" 2>&1 & PID[$m]=$!
done
for m in on off; do for _ in $(seq 100); do [ -n "$(ss -Hlun "sport = :${PORT[$m]}")" ] && break; sleep 0.2; done; done
for m in on off; do taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$m]}" -d "$DATA/queries-mix.txt" -l 3 > /dev/null 2>&1; done
RAW=$OUT/raw.tsv; : > "$RAW"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order="on off"; else order="off on"; fi
  for m in $order; do
    q=$(taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$m]}" -d "$DATA/queries-mix.txt" -c 1 -T 1 -q 100 -l "$DUR" 2>&1 | awk '/Queries per second:/{printf "%.0f", $4}')
    printf '%s\t%s\t%s\n' "$r" "$m" "$q" >> "$RAW"
    printf '  round %s metrics %-3s %s qps\n' "$r" "$m" "$q"
    sleep 1
  done
done
med() { awk -v m="$1" '$2==m{print $3}' "$RAW" | sort -n | awk '{v[NR]=$1} END{print (NR%2)? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ON=$(med on); OFF=$(med off)
DIFF=$(awk -v a="$ON" -v b="$OFF" 'BEGIN{printf "%+.1f", (a-b)/b*100}')
# Each round's on/off pair ran back to back: the median of their ratios is less sensitive to the machine's load swings.
RATIO=$(awk '$2=="on"{on[$1]=$3} $2=="off"{off[$1]=$3} END{for (r in on) if (off[r]>0) print (on[r]-off[r])/off[r]*100}' "$RAW" | sort -g | awk '{v[NR]=$1} END{printf "%+.1f", (NR%2)? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')
{
  echo "# DNS QPS, metrics on vs off"
  echo
  echo "\`bench/dns/metrics.sh\` (ROUNDS=$ROUNDS DUR=${DUR}s MUTATE=$MUTATE OFF_FLAG=${OFF_FLAG:-off} SWAP=${SWAP:-0}), $(date -u +%Y-%m-%d), $(nproc) vCPU $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), shared with other work (numbers move by a few % between runs)."
  echo "Closed loop, 100 queries outstanding, the query mix of bench/dns (1,000 services × 3 instances, $MUTATE catalog changes/s); server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU."
  echo
  echo "| round | metrics on (qps) | metrics off (qps) | on vs off |"
  echo "|---|---|---|---|"
  for ((r = 1; r <= ROUNDS; r++)); do
    a=$(awk -v r=$r '$1==r&&$2=="on"{print $3}' "$RAW"); b=$(awk -v r=$r '$1==r&&$2=="off"{print $3}' "$RAW")
    echo "| $r | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN{ if (b>0) printf "%+.1f %%", (a-b)/b*100 }') |"
  done
  echo "| **median** | **$ON** | **$OFF** | **${RATIO} %** (median of the rounds) |"
  echo
  echo "Metrics on vs off: **${DIFF} %** (medians), **${RATIO} %** (median of the per-round pairs)."
} > "$OUT/RESULTS.md"
[ "${OFF_FLAG:-off}" = off ] && [ "${SWAP:-0}" = 0 ] && cp "$OUT/RESULTS.md" bench/dns/RESULTS-metrics.md
cat "$OUT/RESULTS.md"
