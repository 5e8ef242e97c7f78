#!/usr/bin/env bash
# Eureka benchmark: full and delta registry fetches/s with 10,000 instances (JSON, gzip), renewals/s, and the time
# from an Eureka register to a DNS answer; writes bench/eureka/RESULTS.md.
#   bench/eureka/run.sh [instances] [seconds-per-phase]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.node/bin:$PATH"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ -f dist/src/eureka/index.js ] || npx tsc -p tsconfig.build.json
exec node bench/eureka/bench.ts "${1:-10000}" "${2:-10}"
