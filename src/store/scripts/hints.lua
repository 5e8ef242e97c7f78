-- Shared by the scripts that append a change hint (@include hints): the KV, session, user-event, snapshot
-- restore and ACL scripts. addHint(stream, field, value, ...) appends {r, field = value, ...} to the hints stream
-- (src/store/keys.ts `hints`, MAXLEN ~ HINTS_MAXLEN) in the changing script's atomic step. `r` is the last
-- entry's plus one (1 on a new stream): the readers (src/store/hint-log.ts) tell a trimmed, deleted or
-- recreated stream by a hole or a step back in it.
local function addHint(stream, ...)
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  local r = 1
  if last[1] then r = (tonumber(last[1][2][2]) or 0) + 1 end
  redis.call('XADD', stream, 'MAXLEN', '~', '{{HINTS_MAXLEN}}', '*', 'r', r, ...)
  return r
end
