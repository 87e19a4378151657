-- Takes the oldest job of the first non-empty queue and leases it.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4]  lease (ms)
-- ARGV[5]  worker id
-- ARGV[6]  grant: names this take (asked again after a lost reply, it
--          returns the same job)
-- ARGV[7..] queue names, in the order to try them
-- returns  {id, attempt, the job's fields as field/value pairs}, nil, or 'more'
--          (it looked at bound.take_steps entries: call again)
local queues = {}
for i = 7, #ARGV do
  queues[#queues + 1] = ARGV[i]
end
local now = clock(ARGV[2])
return take(ARGV[1], KEYS[1], now, now + tonumber(ARGV[4]), ARGV[5], ARGV[6], queues)
