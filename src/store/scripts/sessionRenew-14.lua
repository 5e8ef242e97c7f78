-- sessionRenew: re-arms 2×TTL. KEYS: see kv-common.lua.
-- ARGV[2] id
-- Returns the stored session, or false when unknown.
-- @include kv-common
local raw = redis.call('HGET', K_SESS, ARGV[2])
if not raw then return false end
local nl = string.find(raw, '\n', 1, true)
local d = cjson.decode(string.sub(raw, nl + 1))
local ttl = tonumber(d._ttlMs or 0) or 0
if ttl > 0 then redis.call('ZADD', K_SEXP, nowMs() + 2 * ttl, ARGV[2]) end
return raw
