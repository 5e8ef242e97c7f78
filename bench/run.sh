#!/usr/bin/env bash
# Runs every Roster benchmark, one after the other; each prints its own table and writes RESULTS.md in its folder.
#   bench/run.sh                 # all
#   bench/run.sh registration dns checks api router gossip   # a subset
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.node/bin:$PATH"
which=("$@"); [ ${#which[@]} -gt 0 ] || which=(registration dns checks api router gossip abuse scale eureka multidc)
for b in "${which[@]}"; do
  echo "=== $b ($(date -u +%H:%M:%S))"
  case "$b" in
    registration) node bench/registration.ts 1000 ;;
    gossip) node bench/gossip-sim.ts ;;
    *) if [ -x "bench/$b/run.sh" ]; then "bench/$b/run.sh"; else echo "bench/$b/run.sh missing" >&2; fi ;;
  esac
done
