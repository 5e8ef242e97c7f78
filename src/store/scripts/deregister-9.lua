-- deregister: removes a node (and everything on it), a service (and its checks) or a check.
-- KEYS: see catalog-common.lua.
-- ARGV[2] node  ARGV[3] kind ('node' | 'service' | 'check')  ARGV[4] id
-- Returns {index, 1}, or {index, 0} when the target did not exist.
-- @include catalog-common
local node, kind, id = ARGV[2], ARGV[3], ARGV[4]
local svcKey, chkKey = KEY.services(node), KEY.checks(node)
if kind == 'node' then
  if redis.call('HEXISTS', K_NODES, node) == 0 then return finish() end
  touchNodeServices(svcKey)
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
  touchCheckService(svcKey, ok and d.ServiceName)
  removeCheck(node, chkKey, id)
  nextIdx(); touchId(node, 'c', id); tables.checks = true
end
return finish()
