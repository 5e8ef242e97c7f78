#!/usr/bin/env bash
# HTTP API benchmark: registrations/s, KV writes/s and reads/s, and the wake time of 10,000 blocking queries
# after one write (with the agent's RSS while they wait); writes bench/api/RESULTS.md.
#   bench/api/run.sh [registrations] [kv-ops] [watchers]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.node/bin:$PATH"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ -f dist/src/cli/main.js ] || npx tsc -p tsconfig.build.json
exec node bench/api/bench.ts "${1:-2000}" "${2:-10000}" "${3:-10000}"
