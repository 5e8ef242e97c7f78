-- checkStatus(node, id): the status of a check on a node, or nil (@include session-check-status, after kv-common).
local function checkStatus(node, id)
  local v = redis.call('HGET', KEY.checks(node), id)
  if not v then return nil end
  local _c, _m, st = string.match(v, '^(%d+)\n(%d+)\n(%a+)\n')
  return st
end

