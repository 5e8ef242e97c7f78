-- aclNamedPut: creates or updates a policy or role. ARGV: 2 kind (policy|role), 3 mode (create|update|seed), 4 id, 5 lower-cased name,
-- 6 JSON, 7 (update) rules may change: '1'/'0' (the builtin policy refuses). Returns the new index.
-- KEYS[1] index, KEYS[2] aclTokens, KEYS[3] aclSecrets, KEYS[4] aclPolicies, KEYS[5] aclPolicyNames, KEYS[6] aclRoles, KEYS[7] aclRoleNames,
-- KEYS[8] aclBootstrap, KEYS[9] aclRev, KEYS[10] hints stream
-- ARGV[1] key prefix; every change INCRs the index and aclRev and appends the new revision to the hints (@include acl-common).
-- Errors are short codes the store (src/store/acl-store.ts) maps to Consul's texts.
-- @include acl-common
local hash, names = KEYS[4], KEYS[5]
if ARGV[2] == 'role' then hash, names = KEYS[6], KEYS[7] end
local mode, id, name, body = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local old = redis.call('HGET', hash, id)
if mode == 'seed' and old then return 0 end
local holder = redis.call('HGET', names, name)
local created
if mode == 'update' then
  if not old then return redis.error_reply('NOTFOUND') end
  if holder and holder ~= id then return redis.error_reply('NAMECLASH') end
  local c, _, oldname = string.match(old, '^(%d+)\n(%d+)\n([^\n]*)\n')
  created = c
  if oldname ~= name then redis.call('HDEL', names, oldname) end
else
  if old then return redis.error_reply('IDUSED') end
  if holder then return redis.error_reply('NAMEEXISTS') end
end
local i = redis.call('INCR', KEYS[1])
created = created or tostring(i)
redis.call('HSET', hash, id, created .. '\n' .. i .. '\n' .. name .. '\n' .. body)
redis.call('HSET', names, name, id)
bump()
return i
