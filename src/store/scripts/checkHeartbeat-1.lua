-- checkHeartbeat: marks a check worker alive until Redis TIME + ttl (ttl 0 removes the mark: clean shutdown).
-- KEYS[1] checkState hash
-- ARGV[1] worker id  ARGV[2] ttl ms
-- Returns the HSET/HDEL count.
-- @include now-ms
if tonumber(ARGV[2]) == 0 then return redis.call('HDEL', KEYS[1], '~w|' .. ARGV[1]) end
return redis.call('HSET', KEYS[1], '~w|' .. ARGV[1], nowMs() + tonumber(ARGV[2]))
