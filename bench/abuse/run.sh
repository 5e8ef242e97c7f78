#!/usr/bin/env bash
# The abuse campaign (issue 11): every attack of bench/abuse/*.ts against a real agent on loopback, bounded in count and
# time. Each script prints a markdown table of what it measured; this script runs them one after the other.
#   bench/abuse/run.sh            # all
#   bench/abuse/run.sh http dns   # a subset (file names without .ts)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.node/bin:$PATH"
[ -d dist ] || make build >/dev/null
which=("$@")
if [ ${#which[@]} -eq 0 ]; then for f in bench/abuse/*.ts; do which+=("$(basename "$f" .ts)"); done; fi
for b in "${which[@]}"; do
  echo "=== abuse: $b ($(date -u +%H:%M:%S))"
  node "bench/abuse/$b.ts"
done
