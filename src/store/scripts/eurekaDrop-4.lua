-- eurekaDrop: ARGV: id.
-- KEYS: 1 eurekaLeases (zset id → deadline), 2 eurekaLeaseDur (id → 'ms\0node'), 3 eurekaRenews (second → count), 4 eurekaEvictor
-- ARGV[1] key prefix (unused), then the script's own. Times are Redis's clock.
redis.call('ZREM', KEYS[1], ARGV[2]) return redis.call('HDEL', KEYS[2], ARGV[2])
