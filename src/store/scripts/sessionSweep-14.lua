-- sessionSweep: invalidates sessions whose TTL deadline passed (at most ARGV[2]), and the sessions
-- on the nodes ARGV[5..] whose node is gone or whose linked checks are critical or gone. KEYS: see kv-common.lua.
-- Grace after an outage (Consul's rule: a new leader resets every session's TTL timer): ARGV[3] is
-- the key holding Redis's time of the last sweep; when more than ARGV[4] ms passed since (Redis was
-- frozen, unreachable or failed over, so holders could not renew either), every TTL deadline is first
-- moved to at least now + 2×TTL. Redis's own clock measures the gap. No record of a last sweep while
-- sessions exist (a failover or restore that lost it, an upgrade) counts as a gap too.
-- Safe to run from any number of agents at once. Returns {index, invalidated, graced}.
-- @include kv-common
-- @include session-check-status
local n, graced = 0, 0
local now = nowMs()
local last = tonumber(redis.call('GET', ARGV[3]) or '0') or 0
redis.call('SET', ARGV[3], now)
if (last == 0 and redis.call('ZCARD', K_SEXP) > 0) or (last > 0 and now - last > tonumber(ARGV[4])) then
  for _, sid in ipairs(redis.call('ZRANGE', K_SEXP, 0, -1)) do
    local raw = redis.call('HGET', K_SESS, sid)
    if raw then
      local nl = string.find(raw, '\n', 1, true)
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
        local nl = string.find(raw, '\n', 1, true)
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
