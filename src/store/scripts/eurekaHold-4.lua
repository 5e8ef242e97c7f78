-- eurekaHold: Who runs eviction: ARGV = agent, ms.
-- KEYS: 1 eurekaLeases (zset id → deadline), 2 eurekaLeaseDur (id → 'ms\0node'), 3 eurekaRenews (second → count), 4 eurekaEvictor
-- ARGV[1] key prefix (unused), then the script's own. Times are Redis's clock.
local v = redis.call('GET', KEYS[4])
if not v then redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[3]) return 1 end
if v == ARGV[2] then redis.call('PEXPIRE', KEYS[4], ARGV[3]) return 1 end
return 0
