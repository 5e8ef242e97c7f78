-- eurekaGrant: starts (or restarts) a lease. ARGV: 2 id, 3 node, 4 duration ms. Returns Redis time, ms.
-- KEYS[1] eurekaLeases (zset id → deadline), KEYS[2] eurekaLeaseDur (id → 'ms\0node'), KEYS[3] eurekaRenews (second → count), KEYS[4] eurekaEvictor
-- ARGV[1] key prefix (unused), then the script's own. Times are Redis's clock.
-- @include now-ms
local now = nowMs()
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4] .. '\0' .. ARGV[3])
return now
