-- Converts job records of the layout before version 2 (a hash per job,
-- {ns}:job:<id>) into fields of {ns}:jobs, a batch of the index at a time;
-- layout.rs then moves them to their queues. Those keys are built here,
-- undeclared: a one-time step on a server that ran the old layout, which
-- itself built them. (common.lua is prepended.)
-- KEYS[1]  {ns}:index: every live job's id
-- KEYS[2]  {ns}:jobs
-- ARGV[1]  clock shift (unused)
-- ARGV[2]  the key prefix, {ns}:
-- ARGV[3]  rank in the index to start at
-- ARGV[4]  how many to convert
-- returns  the rank to go on from, or -1 when the index is done
local p, from, batch = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local ids = redis.call('ZRANGE', KEYS[1], from, from + batch - 1)
for _, id in ipairs(ids) do
  local old = p .. 'job:' .. id
  local fields = redis.call('HGETALL', old)
  if #fields > 0 then
    redis.call('HSET', KEYS[2], id, cmsgpack.pack(unflat(fields)))
    redis.call('DEL', old)
  end
end
if #ids < batch then return -1 end
return from + #ids
