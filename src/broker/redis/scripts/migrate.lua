-- Converts job records of the layout before version 2 (a hash per job,
-- {ns}:job:<id>) into fields of {ns}:jobs, a batch of the index at a time.
-- Those keys are built here, undeclared: a one-time step on a server that
-- ran the old layout, which itself built them. (lib.lua is prepended.)
-- KEYS[1]  {ns}:index: every live job's id
-- KEYS[2]  {ns}:jobs
-- ARGV[1..3] as every script (see lib.lua)
-- ARGV[4]  rank in the index to start at
-- returns  the rank to go on from, or -1 when the index is done
local p, from = ARGV[1], tonumber(ARGV[4])
local ids = redis.call('ZRANGE', KEYS[1], from, from + bound.bulk_batch - 1)
for _, id in ipairs(ids) do
  local old = p .. 'job:' .. id
  local fields = redis.call('HGETALL', old)
  if #fields > 0 then
    redis.call('HSET', KEYS[2], id, cmsgpack.pack(unflat(fields)))
    redis.call('DEL', old)
  end
end
if #ids < bound.bulk_batch then return -1 end
return from + #ids
