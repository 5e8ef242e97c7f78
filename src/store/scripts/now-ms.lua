-- nowMs(): Redis's clock in milliseconds (@include now-ms). Scripts use Redis's time, never a caller's.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
