-- checkClaim: lets one iteration (slot) of a check run at most once, and never two runs of one check at a time.
-- KEYS[1] checkState hash
-- ARGV[1] member `<node>\0<checkID>`  ARGV[2] slot (scheduled time, ms)  ARGV[3] run lock ms  ARGV[4] worker id
-- Returns 1 (run it), 0 (slot already claimed: a stalled or duplicate job), -1 (a run is in flight on a
-- live worker). A run lock held by a worker whose heartbeat (`~w|<id>`) lapsed is taken over, so a
-- SIGKILLed worker delays its checks by at most one heartbeat TTL.
-- @include now-ms
local now = nowMs()
local m, slot, lockMs, wid = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local last = tonumber(redis.call('HGET', KEYS[1], m .. '|r') or '0')
if slot <= last then return 0 end
local lk = redis.call('HGET', KEYS[1], m .. '|l')
if lk then
  local exp, holder = string.match(lk, '^(%d+):(.*)$')
  if exp and tonumber(exp) > now then
    local alive = tonumber(redis.call('HGET', KEYS[1], '~w|' .. holder) or '0')
    if alive > now then return -1 end
  end
end
redis.call('HSET', KEYS[1], m .. '|r', slot, m .. '|l', (now + lockMs) .. ':' .. wid)
return 1
