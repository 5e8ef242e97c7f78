-- eurekaHold: who runs eviction. ARGV: 2 agent, 3 ms. Returns 1 when this agent holds (or took) the role, else 0.
-- KEYS[1] eurekaLeases (zset id → deadline), KEYS[2] eurekaLeaseDur (id → 'ms\0node'), KEYS[3] eurekaRenews (second → count), KEYS[4] eurekaEvictor
-- ARGV[1] key prefix (unused), then the script's own. Times are Redis's clock.
local v = redis.call('GET', KEYS[4])
if not v then redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[3]) return 1 end
if v == ARGV[2] then redis.call('PEXPIRE', KEYS[4], ARGV[3]) return 1 end
return 0
