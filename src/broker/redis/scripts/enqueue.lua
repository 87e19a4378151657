-- Enqueues a batch of jobs on the queue. (common.lua and lib.lua are
-- prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- ARGV[5..] the jobs, each as add() in lib.lua reads it
-- returns  {1 if the queue is known to the namespace (else 0: the caller
--          lists it), then each job's id}
local now = clock(ARGV[2])
local acc = accumulator()
local out = {0}
local i = 5
while i <= #ARGV do
  local id
  i, id = add(now, ARGV, i, acc)
  out[#out + 1] = id
end
out[1] = flush(acc)
return out
