-- Shared by the snapshot scripts (@include snapshot-common): ARGV[1] is the key prefix; scan() walks
-- every key matching a pattern; isData(k) says whether a key belongs in a snapshot (the DC's data, not
-- its counters, BullMQ queues, streams or restore staging area).
local PREFIX = ARGV[1]
-- @include keys
local function esc(s) return (string.gsub(s, '[%*%?%[%]\\]', '\\%0')) end
local function scan(pat, fn)
  local c = '0'
  repeat
    local r = redis.call('SCAN', c, 'MATCH', pat, 'COUNT', 1000)
    c = r[1]
    for _, k in ipairs(r[2]) do fn(k) end
  until c == '0'
end
local SKIP = {index = true, crev = true, epoch = true}
-- A key that belongs in a snapshot: the DC's data, not its counters, queues, streams or staging area.
local function isData(k)
  local suffix = string.sub(k, #PREFIX + 2)
  if SKIP[suffix] or string.sub(suffix, 1, 5) == 'bull:' or string.sub(suffix, 1, 8) == 'restore:' then return false end
  return redis.call('TYPE', k).ok ~= 'stream'
end
-- @include now-ms
