-- Shared by the KV, session and user-event scripts (@include kv-common).
--
-- KV entry encoding (hash `kv`, key → value): `C\nM\nL\nF\nS\n<raw value bytes>` with CreateIndex,
-- ModifyIndex, LockIndex, Flags (decimal u64), Session ('' = none). Keys are also members of the
-- lexicographic zset `kvKeys` (score 0) for prefix scans; a deleted key leaves a tombstone
-- (`kvTombs` lex zset + `kvTombIndex` hash key → delete index) so that prefix indexes never go back.
-- A write that changes nothing allocates no index and appends no hint.
--
-- KEYS[1] index  KEYS[2] tables  KEYS[3] kv  KEYS[4] kvKeys  KEYS[5] kvTombs  KEYS[6] kvTombIndex  KEYS[7] sessions
-- KEYS[8] sessionExpiry  KEYS[9] lockDelay  KEYS[10] nodes  KEYS[11] hints stream  KEYS[12] userEvents
-- KEYS[13] userEventIds  KEYS[14] userEventLTime
-- ARGV[1] key prefix (per-session and per-node keys come from KEY.*, generated from src/store/keys.ts)
-- Every change appends a hint (field `kv`) to the hints stream, in the same atomic step (@include hints):
-- JSON {"i":index,"k":[keys],"s":1 (sessions changed),"e":1 (user event)}.
local K_INDEX, K_TABLES, K_KV, K_KEYS, K_TOMBS, K_TOMBIDX, K_SESS, K_SEXP, K_DELAY, K_NODES, K_HINTS, K_UEV, K_UEVIDS, K_UELT =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]
local PREFIX = ARGV[1]
-- @include keys
-- @include hints
local idx = nil
local touchedKeys, kvChanged, sessChanged = {}, false, false
local function nextIdx()
  if not idx then idx = redis.call('INCR', K_INDEX) end
  return idx
end
local function curIdx() return tonumber(redis.call('GET', K_INDEX) or '0') end
-- @include now-ms
-- parses an entry: c, m, lockIndex, flags (string), session, value
local function parse(v)
  local p1 = string.find(v, '\n', 1, true)
  local p2 = string.find(v, '\n', p1 + 1, true)
  local p3 = string.find(v, '\n', p2 + 1, true)
  local p4 = string.find(v, '\n', p3 + 1, true)
  local p5 = string.find(v, '\n', p4 + 1, true)
  return tonumber(string.sub(v, 1, p1 - 1)), tonumber(string.sub(v, p1 + 1, p2 - 1)), tonumber(string.sub(v, p2 + 1, p3 - 1)),
    string.sub(v, p3 + 1, p4 - 1), string.sub(v, p4 + 1, p5 - 1), string.sub(v, p5 + 1)
end
local function encode(c, m, l, f, s, v) return c .. '\n' .. m .. '\n' .. l .. '\n' .. f .. '\n' .. s .. '\n' .. v end
local function slocks(sid) return KEY.sessionLocks(sid) end
local function snode(n) return KEY.sessionsByNode(n) end
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
  return '[' .. p, '[' .. p .. '\255'
end
-- invalidates a session: its locks are released (or deleted with Behavior delete) and get lock-delay
local function invalidate(sid)
  local raw = redis.call('HGET', K_SESS, sid)
  if not raw then return end
  local nl = string.find(raw, '\n', 1, true)
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
  addHint(K_HINTS, 'kv', ev .. '}')
  return idx
end
