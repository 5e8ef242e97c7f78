#!/usr/bin/env bash
# ACL cost: the guard in-process (bench/acl/micro.ts), then ACLs off vs on side by side with real agents:
# DNS QPS (dnsperf) and HTTP reads (wrk); writes bench/acl/RESULTS.md.
#   bench/acl/run.sh            ROUNDS=6 DUR=5 bench/acl/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.node/bin:$PATH"
[ -f dist/src/cli/main.js ] || npx tsc -p tsconfig.build.json
MICRO="$(node bench/acl/micro.ts)"
echo "$MICRO"
MICRO="$MICRO" node bench/acl/bench.ts
