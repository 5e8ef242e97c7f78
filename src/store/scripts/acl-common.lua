-- bump(): the ACL revision moves on and is published (@include acl-common).
local function bump()
  local rev = redis.call('INCR', KEYS[9])
  redis.call('PUBLISH', ARGV[2], rev)
end
