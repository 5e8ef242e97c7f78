/**
 * @module Lua scripts for the KV store, sessions and user events. Each runs atomically on Redis.
 *
 * KV entry encoding (hash `kv`, key → value): `C\nM\nL\nF\nS\n<raw value bytes>` with CreateIndex,
 * ModifyIndex, LockIndex, Flags (decimal u64), Session ('' = none). Keys are also members of the
 * lexicographic zset `kvKeys` (score 0) for prefix scans; a deleted key leaves a tombstone
 * (`kvTombs` lex zset + `kvTombIndex` hash key → delete index) so that prefix indexes never go back.
 * A write that changes nothing allocates no index and publishes nothing.
 *
 * Common KEYS: 1 index, 2 tables, 3 kv, 4 kvKeys, 5 kvTombs, 6 kvTombIndex, 7 sessions,
 * 8 sessionExpiry, 9 lockDelay, 10 nodes, 11 kvEvents channel, 12 userEvents, 13 userEventIds,
 * 14 userEventLTime. ARGV[1] is the key prefix (per-session `<prefix>:slocks:<id>`, per-node
 * `<prefix>:snode:<node>`, checks `<prefix>:chk:<node>`).
 * Change events on kvEvents are JSON {"i":index,"k":[keys],"s":1 (sessions changed),"e":1 (user event)}.
 */


export const KV_COMMON = `
local K_INDEX, K_TABLES, K_KV, K_KEYS, K_TOMBS, K_TOMBIDX, K_SESS, K_SEXP, K_DELAY, K_NODES, K_CHAN, K_UEV, K_UEVIDS, K_UELT =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]
local PREFIX = ARGV[1]
local idx = nil
local touchedKeys, kvChanged, sessChanged = {}, false, false
local function nextIdx()
  if not idx then idx = redis.call('INCR', K_INDEX) end
  return idx
end
local function curIdx() return tonumber(redis.call('GET', K_INDEX) or '0') end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- parses an entry: c, m, lockIndex, flags (string), session, value
local function parse(v)
  local p1 = string.find(v, '\\n', 1, true)
  local p2 = string.find(v, '\\n', p1 + 1, true)
  local p3 = string.find(v, '\\n', p2 + 1, true)
  local p4 = string.find(v, '\\n', p3 + 1, true)
  local p5 = string.find(v, '\\n', p4 + 1, true)
  return tonumber(string.sub(v, 1, p1 - 1)), tonumber(string.sub(v, p1 + 1, p2 - 1)), tonumber(string.sub(v, p2 + 1, p3 - 1)),
    string.sub(v, p3 + 1, p4 - 1), string.sub(v, p4 + 1, p5 - 1), string.sub(v, p5 + 1)
end
local function encode(c, m, l, f, s, v) return c .. '\\n' .. m .. '\\n' .. l .. '\\n' .. f .. '\\n' .. s .. '\\n' .. v end
local function slocks(sid) return PREFIX .. ':slocks:' .. sid end
local function snode(n) return PREFIX .. ':snode:' .. n end
local function delKey(k, s)
  redis.call('HDEL', K_KV, k)
  redis.call('ZREM', K_KEYS, k)
  redis.call('ZADD', K_TOMBS, 0, k)
  redis.call('HSET', K_TOMBIDX, k, nextIdx())
  if s ~= '' then redis.call('SREM', slocks(s), k) end
  touchedKeys[#touchedKeys + 1] = k; kvChanged = true
end
local function prefixRange(p)
  if p == '' then return '-', '+' end
  return '[' .. p, '[' .. p .. '\\255'
end
-- invalidates a session: its locks are released (or deleted with Behavior delete) and get lock-delay
local function invalidate(sid)
  local raw = redis.call('HGET', K_SESS, sid)
  if not raw then return end
  local nl = string.find(raw, '\\n', 1, true)
  local d = cjson.decode(string.sub(raw, nl + 1))
  local now = nowMs()
  local delay = tonumber(d._lockDelayMs or 0) or 0
  for _, k in ipairs(redis.call('SMEMBERS', slocks(sid))) do
    local old = redis.call('HGET', K_KV, k)
    if old then
      local c, m, l, f, s, v = parse(old)
      if s == sid then
        if d.Behavior == 'delete' then delKey(k, '')
        else
          redis.call('HSET', K_KV, k, encode(c, nextIdx(), l, f, '', v))
          touchedKeys[#touchedKeys + 1] = k; kvChanged = true
        end
        if delay > 0 then redis.call('HSET', K_DELAY, k, now + delay) end
      end
    end
  end
  redis.call('DEL', slocks(sid))
  redis.call('HDEL', K_SESS, sid)
  redis.call('ZREM', K_SEXP, sid)
  if d._node then redis.call('SREM', snode(d._node), sid) end
  nextIdx(); sessChanged = true
end
local function finish(extra)
  if not idx then return nil end
  if kvChanged then redis.call('HSET', K_TABLES, 'kv', idx) end
  if sessChanged then redis.call('HSET', K_TABLES, 'sessions', idx) end
  local ev = '{"i":' .. idx
  if #touchedKeys > 0 then ev = ev .. ',"k":' .. cjson.encode(touchedKeys) end
  if sessChanged then ev = ev .. ',"s":1' end
  if extra then ev = ev .. extra end
  redis.call('PUBLISH', K_CHAN, ev .. '}')
  return idx
end
`;

/**
 * kvSet: ARGV[2] key, [3] value, [4] flags, [5] mode (set|cas|acquire|release), [6] cas index, [7] session.
 * Returns {index, ok}: ok 1 = written (or an identical no-op), 0 = refused (cas mismatch, lock held, lock-delay).
 * An unknown session on acquire/release is the error `invalid session "<id>"`.
 */
export const KV_SET = KV_COMMON + `
local key, value, flags, mode, casIdx, sid = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local old = redis.call('HGET', K_KV, key)
local c, m, l, f, s, v
if old then c, m, l, f, s, v = parse(old) end
if mode == 'cas' then
  if casIdx == 0 and old then return {curIdx(), 0} end
  if casIdx > 0 and ((not old) or m ~= casIdx) then return {curIdx(), 0} end
end
local newL, newS = l or 0, s or ''
if mode == 'acquire' or mode == 'release' then
  if redis.call('HEXISTS', K_SESS, sid) == 0 then return redis.error_reply('invalid session "' .. sid .. '"') end
end
if mode == 'acquire' then
  local d = tonumber(redis.call('HGET', K_DELAY, key) or '0')
  if d > 0 then
    if d > nowMs() then return {curIdx(), 0} end
    redis.call('HDEL', K_DELAY, key)
  end
  if old and s ~= '' and s ~= sid then return {curIdx(), 0} end
  if (not old) or s ~= sid then newL = (l or 0) + 1; newS = sid end
elseif mode == 'release' then
  if (not old) or s ~= sid then return {curIdx(), 0} end
  newS = ''
end
if old and f == flags and v == value and newL == l and newS == s then return {curIdx(), 1} end
local i = nextIdx()
redis.call('HSET', K_KV, key, encode(c or i, i, newL, flags, newS, value))
if not old then
  redis.call('ZADD', K_KEYS, 0, key)
  if redis.call('HDEL', K_TOMBIDX, key) == 1 then redis.call('ZREM', K_TOMBS, key) end
end
if s and s ~= '' and s ~= newS then redis.call('SREM', slocks(s), key) end
if newS ~= '' and newS ~= s then redis.call('SADD', slocks(newS), key) end
touchedKeys[1] = key; kvChanged = true
finish()
return {i, 1}
`;

/**
 * kvDelete: ARGV[2] key or prefix, [3] mode (one|cas|recurse), [4] cas index.
 * Returns {index, ok}; a missing key is ok.
 */
export const KV_DELETE = KV_COMMON + `
local key, mode, casIdx = ARGV[2], ARGV[3], tonumber(ARGV[4])
if mode == 'recurse' then
  local lo, hi = prefixRange(key)
  local ks = redis.call('ZRANGEBYLEX', K_KEYS, lo, hi)
  for _, k in ipairs(ks) do
    local old = redis.call('HGET', K_KV, k)
    local s = ''
    if old then local _c, _m, _l, _f, ss = parse(old); s = ss end
    delKey(k, s)
  end
  local i = finish()
  return {i or curIdx(), 1}
end
local old = redis.call('HGET', K_KV, key)
if not old then return {curIdx(), 1} end
local c, m, l, f, s = parse(old)
if mode == 'cas' and m ~= casIdx then return {curIdx(), 0} end
delKey(key, s)
return {finish(), 1}
`;

/**
 * kvGet: ARGV[2] key or prefix, [3] mode (one|prefix).
 * one → {kvTableIndex, entry|false, index of the key's deletion or 0}; prefix → {kvTableIndex, tombMax, k1, e1, k2, e2, ...} sorted by key.
 */
export const KV_GET = KV_COMMON + `
local key, mode = ARGV[2], ARGV[3]
local t = tonumber(redis.call('HGET', K_TABLES, 'kv') or '0')
if mode == 'one' then return {t, redis.call('HGET', K_KV, key) or false, tonumber(redis.call('HGET', K_TOMBIDX, key) or '0')} end
local lo, hi = prefixRange(key)
local tmax = 0
local tombs = redis.call('ZRANGEBYLEX', K_TOMBS, lo, hi)
if #tombs > 0 then
  for _, x in ipairs(redis.call('HMGET', K_TOMBIDX, unpack(tombs))) do
    local n = tonumber(x or '0') or 0
    if n > tmax then tmax = n end
  end
end
local out = {t, tmax}
local ks = redis.call('ZRANGEBYLEX', K_KEYS, lo, hi)
for i = 1, #ks, 1000 do
  local batch = {}
  for j = i, math.min(i + 999, #ks) do batch[#batch + 1] = ks[j] end
  local vals = redis.call('HMGET', K_KV, unpack(batch))
  for j = 1, #batch do
    if vals[j] then out[#out + 1] = batch[j]; out[#out + 1] = vals[j] end
  end
end
return out
`;

/**
 * kvTxn: the KV operations of a transaction (Consul's /v1/txn). ARGV[2] = JSON {ops: [{verb, key,
 * v (ARGV position of the value or 0), flags, index, session}], dry}; values are ARGV[3..].
 * Operations see each other's writes; every operation runs and every failure is reported; nothing
 * is written unless every operation succeeds (nor ever with `dry`: a check only); all writes share
 * one index. Returns {0, opIndex1 (0-based), what1, opIndex2, what2, ...} on failure, else
 * {1, index, k1, e1 | '', vflag1, op1, ...} where vflag is 1 when the result carries its value and op is
 * the (0-based) operation it belongs to.
 */
export const KV_TXN = KV_COMMON + `
local spec = cjson.decode(ARGV[2])
local ops, dry = spec.ops, spec.dry
local errs = {}
local overlay, order = {}, {}
local now = nil
local function cur(k)
  local o = overlay[k]
  if o ~= nil then if o == false then return nil end return o end
  return redis.call('HGET', K_KV, k)
end
local function put(k, v)
  if overlay[k] == nil then order[#order + 1] = k end
  overlay[k] = v
end
local function keysUnder(p)
  local lo, hi = prefixRange(p)
  local set, out = {}, {}
  for _, k in ipairs(redis.call('ZRANGEBYLEX', K_KEYS, lo, hi)) do set[k] = true end
  for k, v in pairs(overlay) do if string.sub(k, 1, #p) == p then set[k] = (v ~= false) or nil end end
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end
local results = {}
local curOp = 0
local function result(k, e, withValue) results[#results + 1] = k; results[#results + 1] = e; results[#results + 1] = withValue and 1 or 0; results[#results + 1] = curOp end
local PENDING = '\\0pending'
for i, op in ipairs(ops) do
  curOp = i - 1
  local k, verb = op.key, op.verb
  local old = cur(k)
  local c, m, l, f, s, v
  if old then c, m, l, f, s, v = parse(old) end
  local value = op.v > 0 and ARGV[op.v] or ''
  local flags = op.flags or '0'
  local idxArg = tonumber(op.index or 0) or 0
  local fail = nil
  if verb == 'set' or verb == 'cas' or verb == 'lock' or verb == 'unlock' then
    local newL, newS = l or 0, s or ''
    if verb == 'cas' and ((idxArg == 0 and old) or (idxArg > 0 and ((not old) or m ~= idxArg))) then
      fail = 'failed to set key "' .. k .. '", index is stale'
    elseif verb == 'lock' or verb == 'unlock' then
      if redis.call('HEXISTS', K_SESS, op.session) == 0 then fail = 'invalid session "' .. op.session .. '"'
      elseif verb == 'lock' then
        local d = tonumber(redis.call('HGET', K_DELAY, k) or '0')
        now = now or nowMs()
        if (d > now) or (old and s ~= '' and s ~= op.session) then fail = 'failed to lock key "' .. k .. '", lock is already held'
        elseif (not old) or s ~= op.session then newL = (l or 0) + 1; newS = op.session end
      else
        if (not old) or s ~= op.session then fail = 'failed to unlock key "' .. k .. '", lock isn\\'t held, or is held by another session'
        else newS = '' end
      end
    end
    if not fail and not (old and f == flags and v == value and newL == l and newS == s) then
      put(k, encode(c or PENDING, PENDING, newL, flags, newS, value))
    end
    if not fail then result(k, cur(k), false) end
  elseif verb == 'get' then
    if not old then fail = 'key "' .. k .. '" doesn\\'t exist'
    else result(k, old, true) end
  elseif verb == 'get-tree' then
    for _, kk in ipairs(keysUnder(k)) do result(kk, cur(kk), true) end
  elseif verb == 'check-index' then
    if not old then fail = 'key "' .. k .. '" doesn\\'t exist'
    elseif m ~= idxArg then fail = 'current modify index ' .. tostring(m) .. ' != ' .. tostring(idxArg)
    else result(k, old, false) end
  elseif verb == 'check-session' then
    if not old then fail = 'key "' .. k .. '" doesn\\'t exist'
    elseif s ~= (op.session or '') then fail = 'current session "' .. s .. '" != given session "' .. (op.session or '') .. '"'
    else result(k, old, false) end
  elseif verb == 'check-not-exists' then
    if old then fail = 'key "' .. k .. '" exists' end
  elseif verb == 'delete' then
    if old then put(k, false) end
  elseif verb == 'delete-cas' then
    if old and m ~= idxArg then fail = 'failed to delete key "' .. k .. '", index is stale'
    elseif old then put(k, false) end
  elseif verb == 'delete-tree' then
    for _, kk in ipairs(keysUnder(k)) do put(kk, false) end
  else
    fail = 'unknown KV verb "' .. tostring(verb) .. '"'
  end
  -- Consul runs every operation and reports every failure; nothing is written if one failed.
  if fail then errs[#errs + 1] = i - 1; errs[#errs + 1] = fail end
end
if #errs > 0 then
  local out = {0}
  for j = 1, #errs do out[#out + 1] = errs[j] end
  return out
end
if dry then return {1, curIdx()} end
-- commit
local wrote = false
for _, k in ipairs(order) do
  local v = overlay[k]
  local stored = redis.call('HGET', K_KV, k)
  if v == false then
    if stored then local _c, _m, _l, _f, ss = parse(stored); delKey(k, ss) end
  else
    local i = nextIdx()
    local c, m, l, f, s, val = parse(v)
    local oc, os = nil, ''
    if stored then local a, _b, _c2, _d, e = parse(stored); oc = a; os = e end
    redis.call('HSET', K_KV, k, encode(oc or i, i, l, f, s, val))
    if not stored then
      redis.call('ZADD', K_KEYS, 0, k)
      if redis.call('HDEL', K_TOMBIDX, k) == 1 then redis.call('ZREM', K_TOMBS, k) end
    end
    if os ~= '' and os ~= s then redis.call('SREM', slocks(os), k) end
    if s ~= '' and s ~= os then redis.call('SADD', slocks(s), k) end
    touchedKeys[#touchedKeys + 1] = k; kvChanged = true
  end
end
local index = finish() or curIdx()
local out = {1, index}
for j = 1, #results, 4 do
  local e = results[j + 1]
  if e then
    local c, m, l, f, s, val = parse(e)
    if c == nil then c = index end
    if m == nil then m = index end
    e = encode(c, m, l, f, s, val)
  end
  out[#out + 1] = results[j]; out[#out + 1] = e or ''; out[#out + 1] = results[j + 2]; out[#out + 1] = results[j + 3]
end
return out
`;
