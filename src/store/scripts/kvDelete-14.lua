-- kvDelete: deletes a key or a prefix. KEYS: see kv-common.lua.
-- ARGV[2] key or prefix  ARGV[3] mode (one|cas|recurse)  ARGV[4] cas index
-- Returns {index, ok}; a missing key is ok.
-- @include kv-common
local key, mode, casIdx = ARGV[2], ARGV[3], tonumber(ARGV[4])
if mode == 'recurse' then
  local lo, hi = prefixRange(key)
  local ks = redis.call('ZRANGEBYLEX', K_KEYS, lo, hi)
  for _, k in ipairs(ks) do
    local old = redis.call('HGET', K_KV, k)
    local s = ''
    if old then local _c, _m, _l, _f, ss = parse(old); s = ss end
    delKey(k, s)
  end
  local i = finish()
  return {i or curIdx(), 1}
end
local old = redis.call('HGET', K_KV, key)
if not old then return {curIdx(), 1} end
local c, m, l, f, s = parse(old)
if mode == 'cas' and m ~= casIdx then return {curIdx(), 0} end
delKey(key, s)
return {finish(), 1}
