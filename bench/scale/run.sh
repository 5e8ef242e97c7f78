#!/usr/bin/env bash
# Catalog growth table (issue 19): one agent + one private redis-server, catalog grown to 10,000, 50,000 and
# 200,000 instances; registration rate, RSS/heap, Redis bytes per instance, agent start, DNS for a 1,000-instance
# service, blocking-query wakes (5,000 / 10,000 watchers; at 50,000 also as many as the open-file limit allows).
# Then bench/scale/park.ts: RSS and JS heap of a fresh agent with 10,000 parked watchers.
# Bounded: every stage stops registering after 240 s, every wake round after 60 s; a full run takes ~10-15 min.
#   bench/scale/run.sh                               # this tree → bench/scale/results-after.json
#   SCALE_ROOT=/tmp/base-watch SCALE_LABEL=before bench/scale/run.sh   # another built tree (e.g. main)
# Then bench/scale/RESULTS.md is rewritten from every results-*.json present.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.node/bin:$PATH"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
for t in redis-server dnsperf node; do command -v $t >/dev/null || { echo "missing $t (make bench-deps)"; exit 1; }; done
root="${SCALE_ROOT:-$PWD}"
[ -f "$root/dist/src/cli/main.js" ] || (cd "$root" && npx tsc -p tsconfig.build.json)
SCALE_ROOT="$root" timeout 1500 node bench/scale/bench.ts
SCALE_ROOT="$root" timeout 300 node bench/scale/park.ts
node bench/scale/report.ts
