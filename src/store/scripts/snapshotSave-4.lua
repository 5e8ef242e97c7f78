-- snapshotSave: DUMPs every data key of the datacenter at one index (one atomic step: one point in time).
-- KEYS[1] index  KEYS[2] nodes  KEYS[3] kv  KEYS[4] sessions
-- ARGV[1] key prefix
-- Returns {index, timeMs, nodes, services, checks, kv, sessions, name1, dump1, name2, dump2, ...}.
-- @include snapshot-common
local out = {tonumber(redis.call('GET', KEYS[1]) or '0'), nowMs(), redis.call('HLEN', KEYS[2]), 0, 0, redis.call('HLEN', KEYS[3]), redis.call('HLEN', KEYS[4])}
local svcP, chkP = KEY.services(''), KEY.checks('')
scan(esc(PREFIX) .. ':*', function(k)
  -- Keys with a TTL are leases (the gossip reconciler's), not state: a restore must not make them permanent.
  if not isData(k) or redis.call('PTTL', k) ~= -1 then return end
  if string.sub(k, 1, #svcP) == svcP then out[4] = out[4] + redis.call('HLEN', k)
  elseif string.sub(k, 1, #chkP) == chkP then out[5] = out[5] + redis.call('HLEN', k) end
  out[#out + 1] = string.sub(k, #PREFIX + 2)
  out[#out + 1] = redis.call('DUMP', k)
end)
return out
