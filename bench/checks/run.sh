#!/usr/bin/env bash
# Checks benchmark: 10,000 HTTP checks at a 10 s interval (1,000 checks/s) with one, then two `roster worker`
# processes; writes bench/checks/RESULTS.md.   bench/checks/run.sh [checks] [interval-s] [measure-s]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.node/bin:$PATH"
[ -f dist/src/cli/main.js ] || npx tsc -p tsconfig.build.json
exec node bench/checks/bench.ts "${1:-10000}" "${2:-10}" "${3:-30}"
