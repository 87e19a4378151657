-- Takes the oldest job of the queue and leases it. (common.lua and lib.lua
-- are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- ARGV[5]  lease (ms)
-- ARGV[6]  worker id
-- ARGV[7]  grant: names this take (asked again after a lost reply, it
--          returns the same job)
-- returns  {id, attempt, the job's fields as field/value pairs}, nil, or 'more'
--          (it looked at bound.take_steps entries: call again)
local now = clock(ARGV[2])
return take(now, now + tonumber(ARGV[5]), ARGV[6], ARGV[7])
