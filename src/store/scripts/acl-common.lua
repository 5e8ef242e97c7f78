-- bump(): the ACL revision moves on and is appended to the hints stream, KEYS[10] (@include acl-common).
-- @include hints
local function bump()
  local rev = redis.call('INCR', KEYS[9])
  addHint(KEYS[10], 'acl', rev)
end
