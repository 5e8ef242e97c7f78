-- queryPut: creates or replaces a prepared query under Consul's rules (names unique case-insensitively, a name may
-- not be another query's ID, one empty-name template). ARGV: 1 id, 2 mode (create|update), 3 nameKey, 4 JSON, 5 name.
-- Returns {1, createIndex, modifyIndex}, or {0, Consul's error text}.
-- KEYS[1] index, KEYS[2] queries (id → record), KEYS[3] queryNames (n:<lower name> → id), KEYS[4] queriesRev
-- Record: `createIndex\nmodifyIndex\nnameKey\njson` (src/store/query-store.ts).
local old = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[2] == 'update' and not old then return {0, "Cannot modify non-existent prepared query: '" .. ARGV[1] .. "'"} end
if ARGV[2] == 'create' and old then return {0, 'ID already in use'} end
local nk = ARGV[3]
if nk ~= '' then
  local owner = redis.call('HGET', KEYS[3], nk)
  if owner and owner ~= ARGV[1] then
    if nk == 'n:' then return {0, 'a query template with an empty name already exists'} end
    return {0, "name '" .. ARGV[5] .. "' aliases an existing query name"}
  end
  local asid = string.sub(nk, 3)
  if asid ~= ARGV[1] and redis.call('HEXISTS', KEYS[2], asid) == 1 then return {0, "name '" .. ARGV[5] .. "' aliases an existing query ID"} end
end
local idx = redis.call('INCR', KEYS[1])
local create = idx
if old then
  local c, _, onk = string.match(old, '^(%d+)\n(%d+)\n([^\n]*)\n')
  create = tonumber(c)
  if onk ~= '' and redis.call('HGET', KEYS[3], onk) == ARGV[1] then redis.call('HDEL', KEYS[3], onk) end
end
if nk ~= '' then redis.call('HSET', KEYS[3], nk, ARGV[1]) end
redis.call('HSET', KEYS[2], ARGV[1], create .. '\n' .. idx .. '\n' .. nk .. '\n' .. ARGV[4])
redis.call('SET', KEYS[4], idx)
return {1, create, idx}
