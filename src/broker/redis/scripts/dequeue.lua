-- Takes the oldest job of the first non-empty queue and leases it.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  now (ms)
-- ARGV[3]  lease expiry (ms)
-- ARGV[4]  worker id
-- ARGV[5..] queue names, in the order to try them
-- returns  {id, attempt, the job hash as field/value pairs} or nil
local queues = {}
for i = 5, #ARGV do
  queues[#queues + 1] = ARGV[i]
end
return take(ARGV[1], KEYS[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], queues)
