/**
 * @module Atomic Lua scripts of the ACL store. KEYS (every script): 1 index, 2 aclTokens,
 * 3 aclSecrets, 4 aclPolicies, 5 aclPolicyNames, 6 aclRoles, 7 aclRoleNames, 8 aclBootstrap,
 * 9 aclRev. ARGV[1] is the key prefix; ARGV[2] the aclEvents channel. Every change INCRs the
 * global index and aclRev and publishes the new revision. Errors are short codes the store maps
 * to Consul's texts.
 */

const BUMP = `
local function bump()
  local rev = redis.call('INCR', KEYS[9])
  redis.call('PUBLISH', ARGV[2], rev)
end
`;

/** ARGV: 3 mode (create|update|seed|bootstrap), 4 accessor, 5 digest, 6 JSON, 7 bootstrap reset index ('' = none). → index. */
export const ACL_TOKEN_PUT = BUMP + `
local mode, acc, h, body = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local old = redis.call('HGET', KEYS[2], acc)
local created
if mode == 'seed' and old then return 0 end
if mode == 'bootstrap' then
  local b = redis.call('GET', KEYS[8])
  if b then
    if ARGV[7] == '' then return redis.error_reply('BOOTSTRAPPED ' .. b) end
    if ARGV[7] ~= b then return redis.error_reply('BADRESET ' .. b) end
  end
end
if mode == 'update' then
  if not old then return redis.error_reply('NOTFOUND') end
  local c, _, oh = string.match(old, '^(%d+)\\n(%d+)\\n([^\\n]*)\\n')
  if oh ~= h then return redis.error_reply('SECRETCHANGE') end
  created = c
else
  if old then return redis.error_reply('ACCESSORUSED') end
  if redis.call('HEXISTS', KEYS[3], h) == 1 then return redis.error_reply('SECRETUSED') end
end
local i = redis.call('INCR', KEYS[1])
created = created or tostring(i)
redis.call('HSET', KEYS[2], acc, created .. '\\n' .. i .. '\\n' .. h .. '\\n' .. body)
redis.call('HSET', KEYS[3], h, acc)
if mode == 'bootstrap' then redis.call('SET', KEYS[8], i) end
bump()
return i
`;

/** ARGV: 3 accessor. → index, or 0 when there was no such token. */
export const ACL_TOKEN_DELETE = BUMP + `
local old = redis.call('HGET', KEYS[2], ARGV[3])
if not old then return 0 end
local _, _, oh = string.match(old, '^(%d+)\\n(%d+)\\n([^\\n]*)\\n')
redis.call('HDEL', KEYS[2], ARGV[3])
if oh then redis.call('HDEL', KEYS[3], oh) end
local i = redis.call('INCR', KEYS[1])
bump()
return i
`;

/**
 * Policies and roles. ARGV: 3 kind (policy|role), 4 mode (create|update|seed), 5 id, 6 lower-cased name, 7 JSON,
 * 8 (update) rules may change: '1'/'0' (the builtin policy refuses). → index.
 */
export const ACL_NAMED_PUT = BUMP + `
local hash, names = KEYS[4], KEYS[5]
if ARGV[3] == 'role' then hash, names = KEYS[6], KEYS[7] end
local mode, id, name, body = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local old = redis.call('HGET', hash, id)
if mode == 'seed' and old then return 0 end
local holder = redis.call('HGET', names, name)
local created
if mode == 'update' then
  if not old then return redis.error_reply('NOTFOUND') end
  if holder and holder ~= id then return redis.error_reply('NAMECLASH') end
  local c, _, oldname = string.match(old, '^(%d+)\\n(%d+)\\n([^\\n]*)\\n')
  created = c
  if oldname ~= name then redis.call('HDEL', names, oldname) end
else
  if old then return redis.error_reply('IDUSED') end
  if holder then return redis.error_reply('NAMEEXISTS') end
end
local i = redis.call('INCR', KEYS[1])
created = created or tostring(i)
redis.call('HSET', hash, id, created .. '\\n' .. i .. '\\n' .. name .. '\\n' .. body)
redis.call('HSET', names, name, id)
bump()
return i
`;

/** ARGV: 3 kind (policy|role), 4 id. → index, or 0 when there was none. */
export const ACL_NAMED_DELETE = BUMP + `
local hash, names = KEYS[4], KEYS[5]
if ARGV[3] == 'role' then hash, names = KEYS[6], KEYS[7] end
local old = redis.call('HGET', hash, ARGV[4])
if not old then return 0 end
local _, _, oldname = string.match(old, '^(%d+)\\n(%d+)\\n([^\\n]*)\\n')
redis.call('HDEL', hash, ARGV[4])
if oldname then redis.call('HDEL', names, oldname) end
local i = redis.call('INCR', KEYS[1])
bump()
return i
`;
