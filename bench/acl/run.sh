#!/usr/bin/env bash
# ACLs off vs on, side by side: DNS QPS (dnsperf) and HTTP reads (wrk); writes bench/acl/RESULTS.md.
#   bench/acl/run.sh            ROUNDS=5 DUR=10 bench/acl/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.node/bin:$PATH"
[ -f dist/src/cli/main.js ] || npx tsc -p tsconfig.build.json
exec node bench/acl/bench.ts
