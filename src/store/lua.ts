/**
 * @module Lua scripts for every multi-key catalog write. Each runs atomically on Redis.
 *
 * Record encoding (see src/store/codec.ts): nodes and services are `C\nM\n<json body>`, checks
 * are `C\nM\n<status>\n<output as JSON string>\n<json body>`, where C/M are CreateIndex and
 * ModifyIndex and the body holds every other field. A write whose body (and status/output) is
 * unchanged is a no-op: it allocates no index and publishes nothing.
 *
 * Common KEYS (all scripts): 1 index, 2 crev, 3 nodes, 4 tables, 5 serviceIndex, 6 change stream,
 * 7 ttl zset, 8 checkState hash, 9 output-flush zset. ARGV[1] is the key prefix; per-node keys
 * are `<prefix>:svc:<node>` and `<prefix>:chk:<node>` (same hash tag, so same slot).
 * Every script that changed something returns {index, 1}; otherwise {currentIndex, 0}.
 * Change events are JSON: {"i":index,"r":crev,"n":[nodes],"s":[service names],"t":"nsc",
 * "d":[{"n":node,"f":0|1,"s":[service IDs],"c":[check IDs]}]}: f=1 when the node record changed or
 * the node was removed (re-read it whole), else only the listed services and checks changed.
 * Each is appended, in the same atomic step as the change, to the change stream (XADD, field `e`,
 * MAXLEN ~ STREAM_MAXLEN): entries are in index order and their `r` runs 1, 2, 3... without a hole,
 * which is how a reader tells a trimmed or recreated stream from a live one (src/catalog/syncer.ts).
 */

/** Entries the change stream keeps (approximately: MAXLEN ~ trims whole macro-nodes). */
export const STREAM_MAXLEN = 100_000;

const COMMON = `
local K_INDEX, K_CREV, K_NODES, K_TABLES, K_SVCIDX, K_STREAM, K_TTL, K_CHKSTATE, K_OUTQ = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local PREFIX = ARGV[1]
local idx = nil
local touchedNodes, touchedSvcs, tables = {}, {}, {}
-- Per-node deltas for subscribers: f = the node record itself changed (re-read it whole),
-- s / c = IDs of services / checks written or removed (re-read just those).
local function delta(node)
  local d = touchedNodes[node]
  if not d then d = {f = false, s = {}, c = {}}; touchedNodes[node] = d end
  return d
end
local function touchNode(node) delta(node).f = true end
local function touchId(node, kind, id) delta(node)[kind][id] = true end
local function idList(set)
  local out = {}
  for id in pairs(set) do out[#out + 1] = cjson.encode(id) end
  return '[' .. table.concat(out, ',') .. ']'
end
local function nextIdx()
  if not idx then idx = redis.call('INCR', K_INDEX) end
  return idx
end
local function split3(v)
  local c, m, rest = string.match(v, '^(%d+)\\n(%d+)\\n(.*)$')
  return tonumber(c), tonumber(m), rest
end
local function splitCheck(v)
  local c, m, st, out, body = string.match(v, '^(%d+)\\n(%d+)\\n(%a+)\\n([^\\n]*)\\n(.*)$')
  return tonumber(c), tonumber(m), st, out, body
end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function touchSvc(name) if type(name) == 'string' and name ~= '' then touchedSvcs[string.lower(name)] = true end end
local function finish()
  if not idx then return {tonumber(redis.call('GET', K_INDEX) or '0'), 0} end
  local crev = redis.call('INCR', K_CREV)
  local nodes, svcs, t, deltas = {}, {}, '', {}
  for n, d in pairs(touchedNodes) do
    nodes[#nodes + 1] = n
    deltas[#deltas + 1] = '{"n":' .. cjson.encode(n) .. ',"f":' .. (d.f and 1 or 0) .. ',"s":' .. idList(d.s) .. ',"c":' .. idList(d.c) .. '}'
  end
  for s in pairs(touchedSvcs) do svcs[#svcs + 1] = s; redis.call('HSET', K_SVCIDX, s, idx) end
  for tb in pairs(tables) do redis.call('HSET', K_TABLES, tb, idx); t = t .. string.sub(tb, 1, 1) end
  local ev = '{"i":' .. idx .. ',"r":' .. crev .. ',"n":' .. (#nodes > 0 and cjson.encode(nodes) or '[]') .. ',"s":' .. (#svcs > 0 and cjson.encode(svcs) or '[]') .. ',"t":"' .. t .. '","d":[' .. table.concat(deltas, ',') .. ']}'
  redis.call('XADD', K_STREAM, 'MAXLEN', '~', '${STREAM_MAXLEN}', '*', 'e', ev)
  return {idx, 1}
end
local function serviceNameOf(body)
  local ok, d = pcall(cjson.decode, body)
  if ok and type(d) == 'table' then return d.Service end
  return nil
end
local function removeCheck(nodeKey, chkKey, id)
  redis.call('HDEL', chkKey, id)
  redis.call('ZREM', K_TTL, nodeKey .. '\\0' .. id)
  redis.call('ZREM', K_OUTQ, nodeKey .. '\\0' .. id)
  redis.call('HDEL', K_CHKSTATE, nodeKey .. '\\0' .. id)
end
`;

/**
 * register: upserts a node with services and checks (agent and catalog register).
 * ARGV[2] = JSON {node, nodeBody|null, services:[{id,name,body}], checks:[{id,serviceId,status,output,body,keep,ttlMs}],
 *   replaceChecksFor: serviceID|null, requireNode: bool}
 * Returns {index, changed} or an error `Missing node registration`.
 */
export const REGISTER = COMMON + `
local req = cjson.decode(ARGV[2])
local node = req.node
local svcKey, chkKey = PREFIX .. ':svc:' .. node, PREFIX .. ':chk:' .. node
local oldNode = redis.call('HGET', K_NODES, node)
if req.nodeBody and req.nodeBody ~= cjson.null then
  if oldNode then
    local c, m, body = split3(oldNode)
    if body ~= req.nodeBody then
      redis.call('HSET', K_NODES, node, c .. '\\n' .. nextIdx() .. '\\n' .. req.nodeBody)
      touchNode(node); tables.nodes = true
      -- node address or meta changes every instance on it
      for _, v in ipairs(redis.call('HVALS', svcKey)) do local _, _, b = split3(v); touchSvc(serviceNameOf(b)) end
    end
  else
    local i = nextIdx()
    redis.call('HSET', K_NODES, node, i .. '\\n' .. i .. '\\n' .. req.nodeBody)
    touchNode(node); tables.nodes = true
  end
elseif not oldNode then
  return redis.error_reply('Missing node registration')
end
for _, s in ipairs(req.services or {}) do
  local old = redis.call('HGET', svcKey, s.id)
  if old then
    local c, m, body = split3(old)
    if body ~= s.body then
      redis.call('HSET', svcKey, s.id, c .. '\\n' .. nextIdx() .. '\\n' .. s.body)
      touchSvc(serviceNameOf(body)); touchSvc(s.name); touchId(node, 's', s.id); tables.services = true
    end
  else
    local i = nextIdx()
    redis.call('HSET', svcKey, s.id, i .. '\\n' .. i .. '\\n' .. s.body)
    touchSvc(s.name); touchId(node, 's', s.id); tables.services = true
  end
end
local keepIds = {}
local now = nil
for _, ch in ipairs(req.checks or {}) do
  keepIds[ch.id] = true
  local old = redis.call('HGET', chkKey, ch.id)
  local status, output = ch.status, ch.output
  local isNew = true
  if old then
    local c, m, st, out, body = splitCheck(old)
    isNew = false
    if ch.keep then status, output = st, out end
    if st ~= status or out ~= output or body ~= ch.body then
      redis.call('HSET', chkKey, ch.id, c .. '\\n' .. nextIdx() .. '\\n' .. status .. '\\n' .. output .. '\\n' .. ch.body)
      touchId(node, 'c', ch.id); tables.checks = true
      if ch.serviceName ~= '' then touchSvc(ch.serviceName) else for _, v in ipairs(redis.call('HVALS', svcKey)) do local _, _, b = split3(v); touchSvc(serviceNameOf(b)) end end
    end
  else
    local i = nextIdx()
    redis.call('HSET', chkKey, ch.id, i .. '\\n' .. i .. '\\n' .. status .. '\\n' .. output .. '\\n' .. ch.body)
    touchId(node, 'c', ch.id); tables.checks = true
    if ch.serviceName ~= '' then touchSvc(ch.serviceName) else for _, v in ipairs(redis.call('HVALS', svcKey)) do local _, _, b = split3(v); touchSvc(serviceNameOf(b)) end end
  end
  if ch.ttlMs and ch.ttlMs > 0 and isNew then
    now = now or nowMs()
    redis.call('ZADD', K_TTL, now + ch.ttlMs, node .. '\\0' .. ch.id)
  end
end
if req.replaceChecksFor and req.replaceChecksFor ~= cjson.null then
  local all = redis.call('HGETALL', chkKey)
  for i = 1, #all, 2 do
    local id = all[i]
    if not keepIds[id] then
      local _, _, _, _, body = splitCheck(all[i + 1])
      local ok, d = pcall(cjson.decode, body)
      if ok and d.ServiceID == req.replaceChecksFor then
        removeCheck(node, chkKey, id); nextIdx(); touchId(node, 'c', id); tables.checks = true; touchSvc(d.ServiceName)
      end
    end
  end
end
return finish()
`;

/**
 * deregister: ARGV[2] = node, ARGV[3] = kind ('node' | 'service' | 'check'), ARGV[4] = id.
 * Removing a service removes its checks; removing a node removes everything on it.
 * Returns {index, 1}, or {index, 0} when the target did not exist.
 */
export const DEREGISTER = COMMON + `
local node, kind, id = ARGV[2], ARGV[3], ARGV[4]
local svcKey, chkKey = PREFIX .. ':svc:' .. node, PREFIX .. ':chk:' .. node
if kind == 'node' then
  if redis.call('HEXISTS', K_NODES, node) == 0 then return finish() end
  for _, v in ipairs(redis.call('HVALS', svcKey)) do local _, _, b = split3(v); touchSvc(serviceNameOf(b)) end
  for _, cid in ipairs(redis.call('HKEYS', chkKey)) do removeCheck(node, chkKey, cid) end
  redis.call('DEL', svcKey, chkKey)
  redis.call('HDEL', K_NODES, node)
  nextIdx(); touchNode(node); tables.nodes = true; tables.services = true; tables.checks = true
elseif kind == 'service' then
  local old = redis.call('HGET', svcKey, id)
  if not old then return finish() end
  local _, _, body = split3(old)
  touchSvc(serviceNameOf(body))
  redis.call('HDEL', svcKey, id)
  local all = redis.call('HGETALL', chkKey)
  for i = 1, #all, 2 do
    local _, _, _, _, cb = splitCheck(all[i + 1])
    local ok, d = pcall(cjson.decode, cb)
    if ok and d.ServiceID == id then removeCheck(node, chkKey, all[i]); touchId(node, 'c', all[i]); tables.checks = true end
  end
  nextIdx(); touchId(node, 's', id); tables.services = true
else
  local old = redis.call('HGET', chkKey, id)
  if not old then return finish() end
  local _, _, _, _, cb = splitCheck(old)
  local ok, d = pcall(cjson.decode, cb)
  if ok and d.ServiceName and d.ServiceName ~= '' then touchSvc(d.ServiceName)
  else for _, v in ipairs(redis.call('HVALS', svcKey)) do local _, _, b = split3(v); touchSvc(serviceNameOf(b)) end end
  removeCheck(node, chkKey, id)
  nextIdx(); touchId(node, 'c', id); tables.checks = true
end
return finish()
`;

/**
 * updateCheck: sets a check's status and output.
 * ARGV[2] node, ARGV[3] checkID, ARGV[4] status, ARGV[5] output (JSON string), ARGV[6] ttlMs (re-arm
 * the TTL deadline when > 0; fails with 'not TTL' if the check has no TTL), ARGV[7] output-only
 * write interval in ms (0 = write at once).
 * Returns {index, 1} written, {index, 0} unchanged, {index, 2} output deferred, {index, -1} unknown check,
 * {index, -2} not a TTL check.
 */
export const UPDATE_CHECK = COMMON + `
local node, id, status, output, ttlMs, interval = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local chkKey, svcKey = PREFIX .. ':chk:' .. node, PREFIX .. ':svc:' .. node
local old = redis.call('HGET', chkKey, id)
local cur = tonumber(redis.call('GET', K_INDEX) or '0')
if not old then return {cur, -1} end
local c, m, st, out, body = splitCheck(old)
local member = node .. '\\0' .. id
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
redis.call('HSET', chkKey, id, c .. '\\n' .. nextIdx() .. '\\n' .. status .. '\\n' .. output .. '\\n' .. body)
redis.call('HSET', K_CHKSTATE, member .. '|w', now)
redis.call('HDEL', K_CHKSTATE, member .. '|o')
redis.call('ZREM', K_OUTQ, member)
touchId(node, 'c', id); tables.checks = true
local ok, d = pcall(cjson.decode, body)
if ok and d.ServiceName and d.ServiceName ~= '' then touchSvc(d.ServiceName)
else for _, v in ipairs(redis.call('HVALS', svcKey)) do local _, _, b = split3(v); touchSvc(serviceNameOf(b)) end end
return finish()
`;

/**
 * sweep: expires TTL checks whose deadline passed (critical, "TTL expired", with Consul's "(last output
 * before timeout follows): ..." when the check had output) and flushes deferred
 * output-only updates that are due. Safe to run from any number of agents at once.
 * ARGV[2] = max items per call. Returns {index, changed}.
 */
export const SWEEP = COMMON + `
local now = nowMs()
local max = tonumber(ARGV[2])
local expired = redis.call('ZRANGEBYSCORE', K_TTL, '-inf', now, 'LIMIT', 0, max)
local TTL_OUT = cjson.encode('TTL expired')
for _, member in ipairs(expired) do
  redis.call('ZREM', K_TTL, member)
  local node, id = string.match(member, '^(.-)%z(.*)$')
  local chkKey, svcKey = PREFIX .. ':chk:' .. node, PREFIX .. ':svc:' .. node
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
      redis.call('HSET', chkKey, id, c .. '\\n' .. nextIdx() .. '\\n' .. 'critical' .. '\\n' .. newOut .. '\\n' .. body)
      touchId(node, 'c', id); tables.checks = true
      local ok, d = pcall(cjson.decode, body)
      if ok and d.ServiceName and d.ServiceName ~= '' then touchSvc(d.ServiceName)
      else for _, v in ipairs(redis.call('HVALS', svcKey)) do local _, _, b = split3(v); touchSvc(serviceNameOf(b)) end end
    end
  end
end
local due = redis.call('ZRANGEBYSCORE', K_OUTQ, '-inf', now, 'LIMIT', 0, max)
for _, member in ipairs(due) do
  redis.call('ZREM', K_OUTQ, member)
  local node, id = string.match(member, '^(.-)%z(.*)$')
  local chkKey = PREFIX .. ':chk:' .. node
  local pending = redis.call('HGET', K_CHKSTATE, member .. '|o')
  local old = redis.call('HGET', chkKey, id)
  if pending and old then
    local c, m, st, out, body = splitCheck(old)
    if out ~= pending then
      redis.call('HSET', chkKey, id, c .. '\\n' .. nextIdx() .. '\\n' .. st .. '\\n' .. pending .. '\\n' .. body)
      touchId(node, 'c', id); tables.checks = true
      local ok, d = pcall(cjson.decode, body)
      if ok and d.ServiceName and d.ServiceName ~= '' then touchSvc(d.ServiceName) end
    end
    redis.call('HSET', K_CHKSTATE, member .. '|w', now)
    redis.call('HDEL', K_CHKSTATE, member .. '|o')
  end
end
return finish()
`;
