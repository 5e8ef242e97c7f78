-- eurekaState: what one eviction round reads. ARGV: 2 window seconds, 3 max expired returned.
-- Returns {now, leases, renewal buckets (flat), expired ids with their nodes (flat)}; buckets older than the window are dropped.
-- KEYS[1] eurekaLeases (zset id → deadline), KEYS[2] eurekaLeaseDur (id → 'ms\0node'), KEYS[3] eurekaRenews (second → count), KEYS[4] eurekaEvictor
-- ARGV[1] key prefix (unused), then the script's own. Times are Redis's clock.
-- @include now-ms
local now = nowMs()
local sec = math.floor(now / 1000)
local win = tonumber(ARGV[2])
local b = redis.call('HGETALL', KEYS[3])
local keep = {}
for i = 1, #b, 2 do
  if tonumber(b[i]) < sec - win - 1 then redis.call('HDEL', KEYS[3], b[i]) else keep[#keep + 1] = b[i]; keep[#keep + 1] = b[i + 1] end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local exp = {}
for _, id in ipairs(ids) do
  local d = redis.call('HGET', KEYS[2], id) or ''
  exp[#exp + 1] = id
  exp[#exp + 1] = string.match(d, '^%d+%z(.*)$') or ''
end
return {now, redis.call('ZCARD', KEYS[1]), keep, exp}
