-- queryDelete: deletes a prepared query and its name. ARGV: 1 id.
-- Returns {1, index, index}, or {0, Consul's error text}.
-- KEYS[1] index, KEYS[2] queries (id → record), KEYS[3] queryNames (n:<lower name> → id), KEYS[4] queriesRev
-- Record: `createIndex\nmodifyIndex\nnameKey\njson` (src/store/query-store.ts).
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return {0, "Cannot modify non-existent prepared query: '" .. ARGV[1] .. "'"} end
local onk = string.match(old, '^%d+\n%d+\n([^\n]*)\n')
if onk ~= '' and redis.call('HGET', KEYS[3], onk) == ARGV[1] then redis.call('HDEL', KEYS[3], onk) end
redis.call('HDEL', KEYS[2], ARGV[1])
local idx = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[4], idx)
return {1, idx, idx}
