-- eurekaRenew: ARGV: id. 1 = renewed, 0 = no lease. Counts the renewal in this second's bucket.
-- KEYS: 1 eurekaLeases (zset id → deadline), 2 eurekaLeaseDur (id → 'ms\0node'), 3 eurekaRenews (second → count), 4 eurekaEvictor
-- ARGV[1] key prefix (unused), then the script's own. Times are Redis's clock.
-- @include now-ms
local now = nowMs()
local d = redis.call('HGET', KEYS[2], ARGV[2])
if not d or not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
local ms = tonumber(string.match(d, '^(%d+)'))
redis.call('ZADD', KEYS[1], now + ms, ARGV[2])
redis.call('HINCRBY', KEYS[3], tostring(math.floor(now / 1000)), 1)
return 1
