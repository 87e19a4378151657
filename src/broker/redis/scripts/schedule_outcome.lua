-- Records the final outcome of a scheduled run on its entry, unless a later
-- one is recorded already; an entry beat never handled is left alone.
-- KEYS[1]  {ns}:schedule:<entry>
-- ARGV[1]  field: "ok" (last success) or "fail" (last failure)
-- ARGV[2]  when the run ended (ms)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if cur and cur >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
