-- userEvent: records a user event. KEYS: see kv-common.lua.
-- ARGV[2] event ID  ARGV[3] event JSON with LTime 0 (stamped here when 0)  ARGV[4] 1 = stamp LTime
-- Keeps the newest 256; an ID already stored is a no-op. Returns the stored JSON or false.
-- @include kv-common
local id, body = ARGV[2], ARGV[3]
if redis.call('HSETNX', K_UEVIDS, id, 1) == 0 then return false end
local d = cjson.decode(body)
local lt = tonumber(d.LTime or 0) or 0
if ARGV[4] == '1' or lt == 0 then
  lt = redis.call('INCR', K_UELT)
else
  local cur = tonumber(redis.call('GET', K_UELT) or '0')
  if lt > cur then redis.call('SET', K_UELT, lt) end
end
local stamped = string.gsub(body, '"LTime":%d+', '"LTime":' .. lt, 1)
redis.call('RPUSH', K_UEV, stamped)
local len = redis.call('LLEN', K_UEV)
if len > 256 then
  for _, old in ipairs(redis.call('LRANGE', K_UEV, 0, len - 257)) do
    local ok, od = pcall(cjson.decode, old)
    if ok and od.ID then redis.call('HDEL', K_UEVIDS, od.ID) end
  end
  redis.call('LTRIM', K_UEV, len - 256, -1)
end
addHint(K_HINTS, 'kv', '{"i":0,"e":1}')
return stamped
