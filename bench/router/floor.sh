#!/usr/bin/env bash
# The floor under the router (one command): requests/s of the smallest Node keep-alive proxy with
# node:http's client and with undici's, against the same nginx backend and nginx as a proxy, with
# wrk -t1 -c32, ROUNDS interleaved rounds. Knobs: DUR=5 ROUNDS=3 bench/router/floor.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.node/bin:$PATH"
DUR=${DUR:-5}; ROUNDS=${ROUNDS:-3}
TMP=$(mktemp -d /tmp/roster-bench-floor.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -f "$TMP/nginx.pid" ] && nginx -p "$TMP" -c nginx.conf -e "$TMP/error.log" -s quit 2>/dev/null || true; }
trap cleanup EXIT
freeport() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
B=$(freeport); P=$(freeport); N=$(freeport); U=$(freeport)
cat > "$TMP/nginx.conf" <<NGX
user root; worker_processes 2; pid $TMP/nginx.pid; error_log $TMP/error.log;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$B; keepalive 128; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$B; location / { default_type text/plain; return 200 "ok\n"; } }
  server { listen 127.0.0.1:$P; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGX
nginx -p "$TMP" -c nginx.conf -e "$TMP/error.log"
node bench/router/floor.ts node-http "$N" "$B" & PIDS+=($!)
node bench/router/floor.ts undici "$U" "$B" & PIDS+=($!)
for port in $N $U; do for _ in $(seq 50); do curl -sf "127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done; done
echo "| round | nginx proxy | node:http client | undici client |"
echo "|---|---:|---:|---:|"
for i in $(seq "$ROUNDS"); do
  r() { wrk -t1 -c32 -d"${DUR}s" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
  echo "| $i | $(r $P) | $(r $N) | $(r $U) |"
done
