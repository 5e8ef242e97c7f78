-- leaseAcquire: takes or renews a lease (the gossip reconciler's: one agent writes serfHealth).
-- KEYS[1] lease key
-- ARGV[1] holder (node name)  ARGV[2] lease ms
-- Returns 1 when ARGV[1] holds the lease (taken or renewed), 0 when another holder has it.
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
