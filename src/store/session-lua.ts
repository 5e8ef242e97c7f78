/**
 * @module Lua scripts for sessions and user events (same KEYS layout as src/store/kv-lua.ts).
 *
 * A session is stored in hash `sessions` as `<CreateIndex>\n<json>`; the JSON holds Consul's
 * fields plus private `_node` (lower-cased), `_ttlMs`, `_lockDelayMs` and `_checks` (linked check IDs).
 * Sessions with a TTL have a deadline (create/renew + 2×TTL) in `sessionExpiry`.
 */
import { KV_COMMON } from './kv-lua.ts';

const CHECK_STATUS = `
local function checkStatus(node, id)
  local v = redis.call('HGET', PREFIX .. ':chk:' .. node, id)
  if not v then return nil end
  local _c, _m, st = string.match(v, '^(%d+)\\n(%d+)\\n(%a+)\\n')
  return st
end
`;

/**
 * sessionCreate: ARGV[2] id, [3] lower-cased node, [4] session JSON (without indexes).
 * Errors: `Missing node registration`, `Missing check '<id>' registration`, `Check '<id>' is in critical state`.
 * Returns the index.
 */
export const SESSION_CREATE = KV_COMMON + CHECK_STATUS + `
local id, node, body = ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', K_NODES, node) == 0 then return redis.error_reply('Missing node registration') end
local d = cjson.decode(body)
for _, cid in ipairs(d._checks or {}) do
  local st = checkStatus(node, cid)
  if not st then return redis.error_reply("Missing check '" .. cid .. "' registration") end
  if st == 'critical' then return redis.error_reply("Check '" .. cid .. "' is in critical state") end
end
local i = nextIdx()
redis.call('HSET', K_SESS, id, i .. '\\n' .. body)
local ttl = tonumber(d._ttlMs or 0) or 0
if ttl > 0 then redis.call('ZADD', K_SEXP, nowMs() + 2 * ttl, id) end
redis.call('SADD', snode(node), id)
sessChanged = true
finish()
return i
`;

/** sessionRenew: ARGV[2] id. Returns the stored session or false when unknown; re-arms 2×TTL. */
export const SESSION_RENEW = KV_COMMON + `
local raw = redis.call('HGET', K_SESS, ARGV[2])
if not raw then return false end
local nl = string.find(raw, '\\n', 1, true)
local d = cjson.decode(string.sub(raw, nl + 1))
local ttl = tonumber(d._ttlMs or 0) or 0
if ttl > 0 then redis.call('ZADD', K_SEXP, nowMs() + 2 * ttl, ARGV[2]) end
return raw
`;

/** sessionDestroy: ARGV[2] id. Invalidates the session (releasing or deleting its locks). Returns the index. */
export const SESSION_DESTROY = KV_COMMON + `
invalidate(ARGV[2])
return finish() or curIdx()
`;

/**
 * sessionSweep: invalidates sessions whose TTL deadline passed (at most ARGV[2]), and the sessions
 * on the nodes ARGV[5..] whose node is gone or whose linked checks are critical or gone.
 * Grace after an outage (Consul's rule: a new leader resets every session's TTL timer): ARGV[3] is
 * the key holding Redis's time of the last sweep; when more than ARGV[4] ms passed since (Redis was
 * frozen, unreachable or failed over, so holders could not renew either), every TTL deadline is first
 * moved to at least now + 2×TTL. Redis's own clock measures the gap, so a sweep queued before a freeze
 * and run after it grants the grace before it expires anything. No record of a last sweep while sessions
 * exist (a failover or restore that lost it, an upgrade) counts as a gap too.
 * Safe to run from any number of agents at once. Returns {index, invalidated, graced}.
 */
export const SESSION_SWEEP = KV_COMMON + CHECK_STATUS + `
local n, graced = 0, 0
local now = nowMs()
local last = tonumber(redis.call('GET', ARGV[3]) or '0') or 0
redis.call('SET', ARGV[3], now)
if (last == 0 and redis.call('ZCARD', K_SEXP) > 0) or (last > 0 and now - last > tonumber(ARGV[4])) then
  for _, sid in ipairs(redis.call('ZRANGE', K_SEXP, 0, -1)) do
    local raw = redis.call('HGET', K_SESS, sid)
    if raw then
      local nl = string.find(raw, '\\n', 1, true)
      local d = cjson.decode(string.sub(raw, nl + 1))
      local dl = now + 2 * (tonumber(d._ttlMs or 0) or 0)
      if dl > now and (tonumber(redis.call('ZSCORE', K_SEXP, sid)) or 0) < dl then
        redis.call('ZADD', K_SEXP, dl, sid); graced = graced + 1
      end
    end
  end
end
local expired = redis.call('ZRANGEBYSCORE', K_SEXP, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, sid in ipairs(expired) do invalidate(sid); n = n + 1 end
for a = 5, #ARGV do
  local node = ARGV[a]
  local gone = redis.call('HEXISTS', K_NODES, node) == 0
  for _, sid in ipairs(redis.call('SMEMBERS', snode(node))) do
    local raw = redis.call('HGET', K_SESS, sid)
    if not raw then redis.call('SREM', snode(node), sid)
    else
      local bad = gone
      if not bad then
        local nl = string.find(raw, '\\n', 1, true)
        local d = cjson.decode(string.sub(raw, nl + 1))
        for _, cid in ipairs(d._checks or {}) do
          local st = checkStatus(node, cid)
          if (not st) or st == 'critical' then bad = true end
        end
      end
      if bad then invalidate(sid); n = n + 1 end
    end
  end
end
return {finish() or curIdx(), n, graced}
`;

/**
 * userEvent: ARGV[2] event ID, [3] event JSON with LTime 0 (stamped here when 0), [4] 1 = stamp LTime.
 * Keeps the newest 256; an ID already stored is a no-op. Returns the stored JSON or false.
 */
export const USER_EVENT = KV_COMMON + `
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
redis.call('PUBLISH', K_CHAN, '{"i":0,"e":1}')
return stamped
`;
