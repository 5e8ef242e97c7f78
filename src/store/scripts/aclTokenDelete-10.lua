-- aclTokenDelete: deletes a token. ARGV: 2 accessor. Returns the new index, or 0 when there was no such token.
-- KEYS[1] index, KEYS[2] aclTokens, KEYS[3] aclSecrets, KEYS[4] aclPolicies, KEYS[5] aclPolicyNames, KEYS[6] aclRoles, KEYS[7] aclRoleNames,
-- KEYS[8] aclBootstrap, KEYS[9] aclRev, KEYS[10] hints stream
-- ARGV[1] key prefix; every change INCRs the index and aclRev and appends the new revision to the hints (@include acl-common).
-- Errors are short codes the store (src/store/acl-store.ts) maps to Consul's texts.
-- @include acl-common
local old = redis.call('HGET', KEYS[2], ARGV[2])
if not old then return 0 end
local _, _, oh = string.match(old, '^(%d+)\n(%d+)\n([^\n]*)\n')
redis.call('HDEL', KEYS[2], ARGV[2])
if oh then redis.call('HDEL', KEYS[3], oh) end
local i = redis.call('INCR', KEYS[1])
bump()
return i
