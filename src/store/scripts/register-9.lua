-- register: upserts a node with services and checks (agent and catalog register).
-- KEYS: see catalog-common.lua.
-- ARGV[2] JSON {node, nodeBody|null, services:[{id,name,body}], checks:[{id,serviceId,serviceName,status,output,body,keep,ttlMs}],
--         replaceChecksFor: serviceID|null, requireNode: bool}
-- Returns {index, changed}, or the error `Missing node registration`.
-- @include catalog-common
local req = cjson.decode(ARGV[2])
local node = req.node
local svcKey, chkKey = KEY.services(node), KEY.checks(node)
local oldNode = redis.call('HGET', K_NODES, node)
if req.nodeBody and req.nodeBody ~= cjson.null then
  if oldNode then
    local c, m, body = split3(oldNode)
    if body ~= req.nodeBody then
      redis.call('HSET', K_NODES, node, c .. '\n' .. nextIdx() .. '\n' .. req.nodeBody)
      touchNode(node); tables.nodes = true
      -- node address or meta changes every instance on it
      touchNodeServices(svcKey)
    end
  else
    local i = nextIdx()
    redis.call('HSET', K_NODES, node, i .. '\n' .. i .. '\n' .. req.nodeBody)
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
      redis.call('HSET', svcKey, s.id, c .. '\n' .. nextIdx() .. '\n' .. s.body)
      touchSvc(serviceNameOf(body)); touchSvc(s.name); touchId(node, 's', s.id); tables.services = true
    end
  else
    local i = nextIdx()
    redis.call('HSET', svcKey, s.id, i .. '\n' .. i .. '\n' .. s.body)
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
      redis.call('HSET', chkKey, ch.id, c .. '\n' .. nextIdx() .. '\n' .. status .. '\n' .. output .. '\n' .. ch.body)
      touchId(node, 'c', ch.id); tables.checks = true
      touchCheckService(svcKey, ch.serviceName)
    end
  else
    local i = nextIdx()
    redis.call('HSET', chkKey, ch.id, i .. '\n' .. i .. '\n' .. status .. '\n' .. output .. '\n' .. ch.body)
    touchId(node, 'c', ch.id); tables.checks = true
    touchCheckService(svcKey, ch.serviceName)
  end
  if ch.ttlMs and ch.ttlMs > 0 and isNew then
    now = now or nowMs()
    redis.call('ZADD', K_TTL, now + ch.ttlMs, node .. '\0' .. ch.id)
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
