-- kvSet: writes one key. KEYS: see kv-common.lua.
-- ARGV[2] key  ARGV[3] value  ARGV[4] flags  ARGV[5] mode (set|cas|acquire|release)  ARGV[6] cas index  ARGV[7] session
-- Returns {index, ok}: ok 1 = written (or an identical no-op), 0 = refused (cas mismatch, lock held, lock-delay).
-- An unknown session on acquire/release is the error `invalid session "<id>"`.
-- @include kv-common
local key, value, flags, mode, casIdx, sid = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local old = redis.call('HGET', K_KV, key)
local c, m, l, f, s, v
if old then c, m, l, f, s, v = parse(old) end
if mode == 'cas' then
  if casIdx == 0 and old then return {curIdx(), 0} end
  if casIdx > 0 and ((not old) or m ~= casIdx) then return {curIdx(), 0} end
end
local newL, newS = l or 0, s or ''
if mode == 'acquire' or mode == 'release' then
  if redis.call('HEXISTS', K_SESS, sid) == 0 then return redis.error_reply('invalid session "' .. sid .. '"') end
end
if mode == 'acquire' then
  local d = tonumber(redis.call('HGET', K_DELAY, key) or '0')
  if d > 0 then
    if d > nowMs() then return {curIdx(), 0} end
    redis.call('HDEL', K_DELAY, key)
  end
  if old and s ~= '' and s ~= sid then return {curIdx(), 0} end
  if (not old) or s ~= sid then newL = (l or 0) + 1; newS = sid end
elseif mode == 'release' then
  if (not old) or s ~= sid then return {curIdx(), 0} end
  newS = ''
end
if old and f == flags and v == value and newL == l and newS == s then return {curIdx(), 1} end
local i = nextIdx()
redis.call('HSET', K_KV, key, encode(c or i, i, newL, flags, newS, value))
if not old then
  redis.call('ZADD', K_KEYS, 0, key)
  if redis.call('HDEL', K_TOMBIDX, key) == 1 then redis.call('ZREM', K_TOMBS, key) end
end
if s and s ~= '' and s ~= newS then redis.call('SREM', slocks(s), key) end
if newS ~= '' and newS ~= s then redis.call('SADD', slocks(newS), key) end
touchedKeys[1] = key; kvChanged = true
finish()
return {i, 1}
