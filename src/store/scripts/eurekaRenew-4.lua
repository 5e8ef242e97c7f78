-- eurekaRenew: extends a lease by its duration and counts the renewal in this second's bucket. ARGV: 2 id.
-- Returns 1 = renewed, 0 = no lease.
-- KEYS[1] eurekaLeases (zset id → deadline), KEYS[2] eurekaLeaseDur (id → 'ms\0node'), KEYS[3] eurekaRenews (second → count), KEYS[4] eurekaEvictor
-- ARGV[1] key prefix (unused), then the script's own. Times are Redis's clock.
-- @include now-ms
local now = nowMs()
local d = redis.call('HGET', KEYS[2], ARGV[2])
if not d or not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
local ms = tonumber(string.match(d, '^(%d+)'))
redis.call('ZADD', KEYS[1], now + ms, ARGV[2])
redis.call('HINCRBY', KEYS[3], tostring(math.floor(now / 1000)), 1)
return 1
