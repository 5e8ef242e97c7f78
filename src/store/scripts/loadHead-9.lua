-- loadHead: the head of a full load (src/store/catalog-store.ts loadAll) in one atomic step, as one JSON string:
-- {"n": node names, "i": index, "r": catalog revision, "t": tables, "s": service indexes} (t and s as flat
-- name, index, name, index... lists). Reads only. One string instead of HKEYS's 20,000-element array: ioredis
-- decodes an array element by element in one synchronous piece (10–20 ms at 20,000 nodes), a string at once,
-- and JSON.parse reads it in about a millisecond.
-- KEYS: see catalog-common.lua.
-- Returns the JSON string.
-- @include catalog-common
return cjson.encode({
  n = redis.call('HKEYS', K_NODES),
  i = redis.call('GET', K_INDEX) or '0',
  r = redis.call('GET', K_CREV) or '0',
  t = redis.call('HGETALL', K_TABLES),
  s = redis.call('HGETALL', K_SVCIDX),
})
