-- kvTxn: the KV operations of a transaction (Consul's /v1/txn). KEYS: see kv-common.lua.
-- ARGV[2] JSON {ops: [{verb, key, v (ARGV position of the value or 0), flags, index, session}], dry}  ARGV[3..] values
-- Operations see each other's writes; every operation runs and every failure is reported; nothing is written
-- unless every operation succeeds (nor ever with `dry`: a check only); all writes share one index.
-- Returns {0, opIndex1 (0-based), what1, opIndex2, what2, ...} on failure, else
-- {1, index, k1, e1 | '', vflag1, op1, ...} where vflag is 1 when the result carries its value and op is
-- the (0-based) operation it belongs to.
-- @include kv-common
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
local PENDING = '\0pending'
for i, op in ipairs(ops) do
  curOp = i - 1
  local k, verb = op.key, op.verb
  local old = cur(k)
  local c, m, l, f, s, v
  if old then c, m, l, f, s, v = parse(old) end
  local value = op.v > 0 and ARGV[op.v] or ''
  local flags = op.flags or '0'
  local idxArg = tonumber(op.index or 0) or 0
  local idxText = tostring(op.index or '0') -- the exact decimal, for messages (idxArg is a double)
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
        if (not old) or s ~= op.session then fail = 'failed to unlock key "' .. k .. '", lock isn\'t held, or is held by another session'
        else newS = '' end
      end
    end
    if not fail and not (old and f == flags and v == value and newL == l and newS == s) then
      put(k, encode(c or PENDING, PENDING, newL, flags, newS, value))
    end
    if not fail then result(k, cur(k), false) end
  elseif verb == 'get' then
    if not old then fail = 'key "' .. k .. '" doesn\'t exist'
    else result(k, old, true) end
  elseif verb == 'get-tree' then
    for _, kk in ipairs(keysUnder(k)) do result(kk, cur(kk), true) end
  elseif verb == 'check-index' then
    if not old then fail = 'key "' .. k .. '" doesn\'t exist'
    elseif m ~= idxArg then fail = 'current modify index ' .. tostring(m) .. ' != ' .. idxText
    else result(k, old, false) end
  elseif verb == 'check-session' then
    if not old then fail = 'key "' .. k .. '" doesn\'t exist'
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
