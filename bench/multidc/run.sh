#!/usr/bin/env bash
# Two datacenters on loopback: cross-DC DNS (cold/cached), ?dc= overhead, prepared-query failover time.
# Appends its table to bench/multidc/RESULTS.md.   bench/multidc/run.sh [names=300] [requests=2000] [flips=10]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.node/bin:$PATH"
{ echo; echo "Machine: 2 vCPU AMD EPYC, 24 GiB, shared with other work; $(node --version); $(redis-server --version | cut -d' ' -f3)"; node bench/multidc/run.ts "$@"; } | tee -a bench/multidc/RESULTS.md
