-- updateCheck: sets a check's status and output.
-- KEYS: see catalog-common.lua.
-- ARGV[2] node  ARGV[3] checkID  ARGV[4] status  ARGV[5] output (JSON string)
-- ARGV[6] ttlMs: re-arm the TTL deadline when > 0 (-2 if the check is not a TTL check)
-- ARGV[7] output-only write interval in ms (0 = write at once)
-- Returns {index, 1} written, {index, 0} unchanged, {index, 2} output deferred, {index, -1} unknown check,
-- {index, -2} not a TTL check.
-- @include catalog-common
local node, id, status, output, ttlMs, interval = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local chkKey, svcKey = KEY.checks(node), KEY.services(node)
local old = redis.call('HGET', chkKey, id)
local cur = tonumber(redis.call('GET', K_INDEX) or '0')
if not old then return {cur, -1} end
local c, m, st, out, body = splitCheck(old)
local member = node .. '\0' .. id
if ttlMs > 0 then
  local ok, d = pcall(cjson.decode, body)
  if not ok or d.Type ~= 'ttl' then return {cur, -2} end
  redis.call('ZADD', K_TTL, nowMs() + ttlMs, member)
end
if st == status and out == output then
  redis.call('ZREM', K_OUTQ, member)
  return {cur, 0}
end
local now = nowMs()
if st == status and interval > 0 then
  local last = tonumber(redis.call('HGET', K_CHKSTATE, member .. '|w') or '0')
  if now - last < interval then
    redis.call('HSET', K_CHKSTATE, member .. '|o', output)
    if not redis.call('ZSCORE', K_OUTQ, member) then redis.call('ZADD', K_OUTQ, last + interval, member) end
    return {cur, 2}
  end
end
redis.call('HSET', chkKey, id, c .. '\n' .. nextIdx() .. '\n' .. status .. '\n' .. output .. '\n' .. body)
redis.call('HSET', K_CHKSTATE, member .. '|w', now)
redis.call('HDEL', K_CHKSTATE, member .. '|o')
redis.call('ZREM', K_OUTQ, member)
touchId(node, 'c', id); tables.checks = true
local ok, d = pcall(cjson.decode, body)
touchCheckService(svcKey, ok and d.ServiceName)
return finish()
