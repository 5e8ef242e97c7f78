-- checkResult: Consul's StatusHandler thresholds. Counts consecutive successes and failures of a check
-- (field `<member>|s` = "succ,fail"; both start at their thresholds, so the first result applies at once),
-- releases the run lock and says which status to write.
-- KEYS[1] checkState hash
-- ARGV[1] member `<node>\0<checkID>`  ARGV[2] raw status (passing|warning|critical)
-- ARGV[3] SuccessBeforePassing  ARGV[4] FailuresBeforeWarning  ARGV[5] FailuresBeforeCritical
-- Returns the status to write, or '' while a threshold is not reached yet.
local m, st = ARGV[1], ARGV[2]
local sbp, fbw, fbc = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local succ, fail = sbp, fbc
local v = redis.call('HGET', KEYS[1], m .. '|s')
if v then
  local a, b = string.match(v, '^(%d+),(%d+)$')
  succ, fail = tonumber(a), tonumber(b)
end
local out = ''
if st == 'passing' or st == 'warning' then
  succ = math.min(succ + 1, 1000000); fail = 0
  if succ >= sbp then out = st end
else
  fail = math.min(fail + 1, 1000000); succ = 0
  if fail >= fbc then out = 'critical' elseif fail >= fbw then out = 'warning' end
end
redis.call('HSET', KEYS[1], m .. '|s', succ .. ',' .. fail)
redis.call('HDEL', KEYS[1], m .. '|l')
return out
