-- eurekaDrop: ends an instance's lease. ARGV: 2 id. Returns 1 when there was one, else 0.
-- KEYS[1] eurekaLeases (zset id → deadline), KEYS[2] eurekaLeaseDur (id → 'ms\0node'), KEYS[3] eurekaRenews (second → count), KEYS[4] eurekaEvictor
-- ARGV[1] key prefix (unused), then the script's own. Times are Redis's clock.
redis.call('ZREM', KEYS[1], ARGV[2]) return redis.call('HDEL', KEYS[2], ARGV[2])
