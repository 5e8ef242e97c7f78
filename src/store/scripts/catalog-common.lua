-- Shared by every catalog script (@include catalog-common): KEYS, record codecs, change tracking, finish().
--
-- Record encoding (src/store/codec.ts): nodes and services are `C\nM\n<json body>`, checks are
-- `C\nM\n<status>\n<output as JSON string>\n<json body>` (C/M = CreateIndex/ModifyIndex). A write whose
-- body (and status/output) is unchanged is a no-op: it allocates no index and appends nothing.
--
-- KEYS[1] index  KEYS[2] crev  KEYS[3] nodes  KEYS[4] tables  KEYS[5] serviceIndex  KEYS[6] change stream
-- KEYS[7] ttl zset  KEYS[8] checkState hash  KEYS[9] output-flush zset
-- ARGV[1] key prefix (per-node keys come from KEY.services / KEY.checks, generated from src/store/keys.ts)
--
-- finish() returns {index, 1} when something changed, else {currentIndex, 0}, and appends the change
-- event {"i","r","n","s","t","d"} to the stream (MAXLEN ~ STREAM_MAXLEN) in the same atomic step:
-- `r` runs 1, 2, 3... without a hole (src/catalog/syncer.ts tells a trimmed or recreated stream by it).
local K_INDEX, K_CREV, K_NODES, K_TABLES, K_SVCIDX, K_STREAM, K_TTL, K_CHKSTATE, K_OUTQ = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local PREFIX = ARGV[1]
-- @include keys
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
  local c, m, rest = string.match(v, '^(%d+)\n(%d+)\n(.*)$')
  return tonumber(c), tonumber(m), rest
end
local function splitCheck(v)
  local c, m, st, out, body = string.match(v, '^(%d+)\n(%d+)\n(%a+)\n([^\n]*)\n(.*)$')
  return tonumber(c), tonumber(m), st, out, body
end
-- @include now-ms
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
  redis.call('XADD', K_STREAM, 'MAXLEN', '~', '{{STREAM_MAXLEN}}', '*', 'e', ev)
  return {idx, 1}
end
local function serviceNameOf(body)
  local ok, d = pcall(cjson.decode, body)
  if ok and type(d) == 'table' then return d.Service end
  return nil
end
local function removeCheck(nodeKey, chkKey, id)
  redis.call('HDEL', chkKey, id)
  redis.call('ZREM', K_TTL, nodeKey .. '\0' .. id)
  redis.call('ZREM', K_OUTQ, nodeKey .. '\0' .. id)
  redis.call('HDEL', K_CHKSTATE, nodeKey .. '\0' .. id)
end
-- Every service on a node changed (the node's address, meta or a node check did).
local function touchNodeServices(svcKey)
  for _, v in ipairs(redis.call('HVALS', svcKey)) do local _, _, b = split3(v); touchSvc(serviceNameOf(b)) end
end
-- A check changed: its service's instances changed; a node check (no service) changes every service on the node.
local function touchCheckService(svcKey, serviceName)
  if type(serviceName) == 'string' and serviceName ~= '' then touchSvc(serviceName) else touchNodeServices(svcKey) end
end
