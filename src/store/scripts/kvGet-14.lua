-- kvGet: reads a key or a prefix. KEYS: see kv-common.lua.
-- ARGV[2] key or prefix  ARGV[3] mode (one|prefix)
-- Returns one → {kvTableIndex, entry|false, index of the key's deletion or 0};
-- prefix → {kvTableIndex, tombMax, k1, e1, k2, e2, ...} sorted by key.
-- @include kv-common
local key, mode = ARGV[2], ARGV[3]
local t = tonumber(redis.call('HGET', K_TABLES, 'kv') or '0')
if mode == 'one' then return {t, redis.call('HGET', K_KV, key) or false, tonumber(redis.call('HGET', K_TOMBIDX, key) or '0')} end
local lo, hi = prefixRange(key)
local tmax = 0
local tombs = redis.call('ZRANGEBYLEX', K_TOMBS, lo, hi)
if #tombs > 0 then
  for _, x in ipairs(redis.call('HMGET', K_TOMBIDX, unpack(tombs))) do
    local n = tonumber(x or '0') or 0
    if n > tmax then tmax = n end
  end
end
local out = {t, tmax}
local ks = redis.call('ZRANGEBYLEX', K_KEYS, lo, hi)
for i = 1, #ks, 1000 do
  local batch = {}
  for j = i, math.min(i + 999, #ks) do batch[#batch + 1] = ks[j] end
  local vals = redis.call('HMGET', K_KV, unpack(batch))
  for j = 1, #batch do
    if vals[j] then out[#out + 1] = batch[j]; out[#out + 1] = vals[j] end
  end
end
return out
