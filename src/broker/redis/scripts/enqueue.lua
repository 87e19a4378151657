-- Enqueues a batch of jobs, each on its own terms: a held unique key makes
-- that job a duplicate, the others still go in. (lib.lua is prepended.)
-- KEYS[1]  {ns}:index (routes the call to the namespace's slot)
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4..] the jobs, each as add() in lib.lua reads it
-- returns  per job: id, duplicate (0 or 1); a duplicate's id is the holder's
local p = ARGV[1]
local now = clock(ARGV[2])
local acc = accumulator()
local out = {}
local i = 4
while i <= #ARGV do
  local id, dup
  i, id, dup = add(p, now, ARGV, i, acc)
  out[#out + 1] = id
  out[#out + 1] = dup
end
flush(p, acc)
return out
