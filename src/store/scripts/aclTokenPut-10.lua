-- aclTokenPut: creates, updates, seeds or bootstraps a token. ARGV: 2 mode (create|update|seed|bootstrap), 3 accessor,
-- 4 digest, 5 JSON, 6 bootstrap reset index ('' = none). Returns the new index.
-- KEYS[1] index, KEYS[2] aclTokens, KEYS[3] aclSecrets, KEYS[4] aclPolicies, KEYS[5] aclPolicyNames, KEYS[6] aclRoles, KEYS[7] aclRoleNames,
-- KEYS[8] aclBootstrap, KEYS[9] aclRev, KEYS[10] hints stream
-- ARGV[1] key prefix; every change INCRs the index and aclRev and appends the new revision to the hints (@include acl-common).
-- Errors are short codes the store (src/store/acl-store.ts) maps to Consul's texts.
-- @include acl-common
local mode, acc, h, body = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local old = redis.call('HGET', KEYS[2], acc)
local created
if mode == 'seed' and old then return 0 end
if mode == 'bootstrap' then
  local b = redis.call('GET', KEYS[8])
  if b then
    if ARGV[6] == '' then return redis.error_reply('BOOTSTRAPPED ' .. b) end
    if ARGV[6] ~= b then return redis.error_reply('BADRESET ' .. b) end
  end
end
if mode == 'update' then
  if not old then return redis.error_reply('NOTFOUND') end
  local c, _, oh = string.match(old, '^(%d+)\n(%d+)\n([^\n]*)\n')
  if oh ~= h then return redis.error_reply('SECRETCHANGE') end
  created = c
else
  if old then return redis.error_reply('ACCESSORUSED') end
  if redis.call('HEXISTS', KEYS[3], h) == 1 then return redis.error_reply('SECRETUSED') end
end
local i = redis.call('INCR', KEYS[1])
created = created or tostring(i)
redis.call('HSET', KEYS[2], acc, created .. '\n' .. i .. '\n' .. h .. '\n' .. body)
redis.call('HSET', KEYS[3], h, acc)
if mode == 'bootstrap' then redis.call('SET', KEYS[8], i) end
bump()
return i
