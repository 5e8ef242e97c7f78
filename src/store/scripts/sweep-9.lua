-- sweep: expires TTL checks whose deadline passed (critical, "TTL expired", with Consul's
-- "(last output before timeout follows): ..." when the check had output) and flushes deferred
-- output-only updates that are due. Safe to run from any number of agents at once.
-- KEYS: see catalog-common.lua.
-- ARGV[2] max items per call
-- Returns {index, changed}.
-- @include catalog-common
local now = nowMs()
local max = tonumber(ARGV[2])
local expired = redis.call('ZRANGEBYSCORE', K_TTL, '-inf', now, 'LIMIT', 0, max)
local TTL_OUT = cjson.encode('TTL expired')
for _, member in ipairs(expired) do
  redis.call('ZREM', K_TTL, member)
  local node, id = string.match(member, '^(.-)%z(.*)$')
  local chkKey, svcKey = KEY.checks(node), KEY.services(node)
  local old = redis.call('HGET', chkKey, id)
  if old then
    local c, m, st, out, body = splitCheck(old)
    -- Consul: "TTL expired", or "TTL expired (last output before timeout follows): <last output>".
    local last = redis.call('HGET', K_CHKSTATE, member .. '|o') or out
    -- A deferred output-only update must not overwrite the expiry later.
    redis.call('HDEL', K_CHKSTATE, member .. '|o'); redis.call('ZREM', K_OUTQ, member)
    local ok0, lastText = pcall(cjson.decode, last)
    local newOut = TTL_OUT
    if ok0 and type(lastText) == 'string' and lastText ~= '' and string.sub(lastText, 1, 11) ~= 'TTL expired' then
      newOut = cjson.encode('TTL expired (last output before timeout follows): ' .. lastText)
    end
    if st ~= 'critical' or out ~= newOut then
      redis.call('HSET', chkKey, id, c .. '\n' .. nextIdx() .. '\n' .. 'critical' .. '\n' .. newOut .. '\n' .. body)
      touchId(node, 'c', id); tables.checks = true
      local ok, d = pcall(cjson.decode, body)
      touchCheckService(svcKey, ok and d.ServiceName)
    end
  end
end
local due = redis.call('ZRANGEBYSCORE', K_OUTQ, '-inf', now, 'LIMIT', 0, max)
for _, member in ipairs(due) do
  redis.call('ZREM', K_OUTQ, member)
  local node, id = string.match(member, '^(.-)%z(.*)$')
  local chkKey = KEY.checks(node)
  local pending = redis.call('HGET', K_CHKSTATE, member .. '|o')
  local old = redis.call('HGET', chkKey, id)
  if pending and old then
    local c, m, st, out, body = splitCheck(old)
    if out ~= pending then
      redis.call('HSET', chkKey, id, c .. '\n' .. nextIdx() .. '\n' .. st .. '\n' .. pending .. '\n' .. body)
      touchId(node, 'c', id); tables.checks = true
      local ok, d = pcall(cjson.decode, body)
      if ok and d.ServiceName and d.ServiceName ~= '' then touchSvc(d.ServiceName) end
    end
    redis.call('HSET', K_CHKSTATE, member .. '|w', now)
    redis.call('HDEL', K_CHKSTATE, member .. '|o')
  end
end
return finish()
