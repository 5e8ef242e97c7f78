-- snapshotCommit: replaces the live keys by the staged ones of a verified restore, in one atomic step:
-- sets the index to max(current, restored, floor)+1 (stamping table, service and KV modify indexes with it),
-- INCRs the epoch (every agent reloads authoritatively), shifts the deadlines (TTL checks, sessions,
-- deferred outputs) by the time since the snapshot, and appends the restore to both streams (catalog log, hints).
-- KEYS[1] index  KEYS[2] crev  KEYS[3] epoch  KEYS[4] change stream  KEYS[5] hints stream  KEYS[6] tables
-- KEYS[7] serviceIndex  KEYS[8] ttl  KEYS[9] sessionExpiry  KEYS[10] outq  KEYS[11] kv
-- ARGV[1] prefix  ARGV[2] token  ARGV[3] staged key count  ARGV[4] restored index  ARGV[5] snapshot's Redis time (ms)
-- ARGV[6] floor index
-- ARGV[7] aclRev key: the ACL revision goes to max(live, restored)+1, so that no agent takes the restored revision
-- for one it has already loaded; the hint below (a new epoch) makes every agent reload its ACL policies and tokens.
-- Returns {index, epoch, staged keys, replaced live keys}.
-- @include snapshot-common
-- @include hints
local TOKEN, N, RIDX, RTIME, FLOOR = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local stage = PREFIX .. ':restore:' .. TOKEN .. ':'
local staged, live = {}, {}
scan(esc(stage) .. '*', function(k) staged[#staged + 1] = k end)
if #staged ~= N then return redis.error_reply('staged snapshot incomplete: ' .. #staged .. ' of ' .. N .. ' keys') end
scan(esc(PREFIX) .. ':*', function(k) if isData(k) then live[#live + 1] = k end end)
local ACLREV = ARGV[7]
local aclRevLive = tonumber(redis.call('GET', ACLREV) or '0') or 0
for _, k in ipairs(live) do redis.call('UNLINK', k) end
for _, k in ipairs(staged) do
  local dst = PREFIX .. ':' .. string.sub(k, #stage + 1)
  redis.call('RENAME', k, dst)
  redis.call('PERSIST', dst)
end
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local idx = math.max(cur, RIDX, FLOOR) + 1
redis.call('SET', KEYS[1], idx)
local crev = redis.call('INCR', KEYS[2])
local epoch = redis.call('INCR', KEYS[3])
local aclRev = math.max(aclRevLive, tonumber(redis.call('GET', ACLREV) or '0') or 0) + 1
redis.call('SET', ACLREV, aclRev)
for _, t in ipairs({'nodes', 'services', 'checks', 'kv', 'sessions'}) do redis.call('HSET', KEYS[6], t, idx) end
for _, t in ipairs(redis.call('HKEYS', KEYS[6])) do redis.call('HSET', KEYS[6], t, idx) end
for _, s in ipairs(redis.call('HKEYS', KEYS[7])) do redis.call('HSET', KEYS[7], s, idx) end
-- KV entries (lines C, M, L, F, S, then the value) are stamped modified at the restore's index: KV blocking queries
-- (whose index is the entries' ModifyIndex) then see a newer index, and a CAS with a pre-restore index fails.
local kv = redis.call('HGETALL', KEYS[11])
for i = 1, #kv, 2 do
  local c, rest = string.match(kv[i + 1], '^(%d+)\n%d+\n(.*)$')
  if c then redis.call('HSET', KEYS[11], kv[i], c .. '\n' .. idx .. '\n' .. rest) end
end
local shift = nowMs() - RTIME
if shift ~= 0 then
  for z = 8, 10 do
    local all = redis.call('ZRANGE', KEYS[z], 0, -1, 'WITHSCORES')
    for i = 1, #all, 2 do redis.call('ZADD', KEYS[z], tonumber(all[i + 1]) + shift, all[i]) end
  end
end
-- The change log carries the new epoch: every agent's reader replaces its view authoritatively as it reads this.
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '{{STREAM_MAXLEN}}', '*', 'epoch', epoch, 'e', '{"i":' .. idx .. ',"r":' .. crev .. ',"n":[],"s":[],"t":"nsc","d":[]}')
-- The hints carry it too: every agent wakes every KV, session and event watcher and reloads its ACL policies.
addHint(KEYS[5], 'epoch', epoch, 'kv', '{"i":' .. idx .. ',"s":1,"e":1,"a":1}')
return {idx, epoch, #staged, #live}
