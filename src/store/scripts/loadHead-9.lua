-- loadHead: the head of a full load (src/store/catalog-store.ts loadAll) in one atomic step, in pieces that each
-- decode in well under a millisecond: {meta, node name parts, service index parts}. meta is JSON {"i": index,
-- "r": catalog revision, "t": flat list of table, index...}; each part is a JSON list of up to 1,000 node names, or
-- of up to 500 service, index pairs (flat). Reads only. (HKEYS's 20,000-element reply costs ioredis's decoder
-- 10–20 ms in one synchronous piece; one JSON string of it, 5 ms of JSON.parse.)
-- KEYS: see catalog-common.lua.
-- Returns {meta, {parts}, {parts}}.
-- @include catalog-common
local function parts(list, step)
  local out = {}
  for i = 1, #list, step do
    local part = {}
    for j = i, math.min(#list, i + step - 1) do part[#part + 1] = list[j] end
    out[#out + 1] = cjson.encode(part)
  end
  return out
end
local meta = cjson.encode({ i = redis.call('GET', K_INDEX) or '0', r = redis.call('GET', K_CREV) or '0', t = redis.call('HGETALL', K_TABLES) })
return { meta, parts(redis.call('HKEYS', K_NODES), 1000), parts(redis.call('HGETALL', K_SVCIDX), 1000) }
