-- checkPrune: removes the liveness marks of check workers that stopped beating (run at worker start).
-- KEYS[1] checkState hash
-- Returns how many marks were removed.
-- @include now-ms
local now = nowMs()
local cursor, n = '0', 0
repeat
  local r = redis.call('HSCAN', KEYS[1], cursor, 'MATCH', '~w|*', 'COUNT', 1000)
  cursor = r[1]
  for i = 1, #r[2], 2 do
    if tonumber(r[2][i + 1]) < now then redis.call('HDEL', KEYS[1], r[2][i]); n = n + 1 end
  end
until cursor == '0'
return n
