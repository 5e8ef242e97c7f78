-- sessionCreate: KEYS: see kv-common.lua.
-- A session is stored in hash `sessions` as `<CreateIndex>\n<json>`; the JSON holds Consul's fields plus
-- private `_node` (lower-cased), `_ttlMs`, `_lockDelayMs` and `_checks` (linked check IDs). Sessions with
-- a TTL have a deadline (create/renew + 2×TTL) in `sessionExpiry`.
-- ARGV[2] id  ARGV[3] lower-cased node  ARGV[4] session JSON (without indexes)
-- Errors: `Missing node registration`, `Missing check '<id>' registration`, `Check '<id>' is in critical state`.
-- Returns the index.
-- @include kv-common
-- @include session-check-status
local id, node, body = ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', K_NODES, node) == 0 then return redis.error_reply('Missing node registration') end
local d = cjson.decode(body)
for _, cid in ipairs(d._checks or {}) do
  local st = checkStatus(node, cid)
  if not st then return redis.error_reply("Missing check '" .. cid .. "' registration") end
  if st == 'critical' then return redis.error_reply("Check '" .. cid .. "' is in critical state") end
end
local i = nextIdx()
redis.call('HSET', K_SESS, id, i .. '\n' .. body)
local ttl = tonumber(d._ttlMs or 0) or 0
if ttl > 0 then redis.call('ZADD', K_SEXP, nowMs() + 2 * ttl, id) end
redis.call('SADD', snode(node), id)
sessChanged = true
finish()
return i
