-- aclNamedDelete: deletes a policy or role. ARGV: 2 kind (policy|role), 3 id. Returns the new index, or 0 when there was none.
-- KEYS[1] index, KEYS[2] aclTokens, KEYS[3] aclSecrets, KEYS[4] aclPolicies, KEYS[5] aclPolicyNames, KEYS[6] aclRoles, KEYS[7] aclRoleNames,
-- KEYS[8] aclBootstrap, KEYS[9] aclRev, KEYS[10] hints stream
-- ARGV[1] key prefix; every change INCRs the index and aclRev and appends the new revision to the hints (@include acl-common).
-- Errors are short codes the store (src/store/acl-store.ts) maps to Consul's texts.
-- @include acl-common
local hash, names = KEYS[4], KEYS[5]
if ARGV[2] == 'role' then hash, names = KEYS[6], KEYS[7] end
local old = redis.call('HGET', hash, ARGV[3])
if not old then return 0 end
local _, _, oldname = string.match(old, '^(%d+)\n(%d+)\n([^\n]*)\n')
redis.call('HDEL', hash, ARGV[3])
if oldname then redis.call('HDEL', names, oldname) end
local i = redis.call('INCR', KEYS[1])
bump()
return i
