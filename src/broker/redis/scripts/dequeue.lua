-- Takes the oldest job of the first non-empty queue and leases it.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  clock shift (ms; see clock() in lib.lua)
-- ARGV[3]  lease (ms)
-- ARGV[4]  worker id
-- ARGV[5]  grant: names this take (asked again after a lost reply, it
--          returns the same job)
-- ARGV[6..] queue names, in the order to try them
-- returns  {id, attempt, the job hash as field/value pairs}, nil, or 'more'
--          (call again)
local queues = {}
for i = 6, #ARGV do
  queues[#queues + 1] = ARGV[i]
end
local now = clock(ARGV[2])
return take(ARGV[1], KEYS[1], now, now + tonumber(ARGV[3]), ARGV[4], ARGV[5], queues)
