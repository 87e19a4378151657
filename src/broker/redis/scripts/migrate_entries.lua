-- Converts beat's state of the layout before version 2 (a hash per entry,
-- {ns}:schedule:<entry>, listed in the set {ns}:schedules) into fields of
-- {ns}:entries, from where each beat moves its entries to their queues
-- (beat.rs). Those keys are built here, undeclared: a one-time step on a
-- server that ran the old layout. (common.lua is prepended.)
-- KEYS[1]  {ns}:schedules: the old set of entry keys
-- KEYS[2]  {ns}:entries
-- ARGV[1]  clock shift (unused)
-- ARGV[2]  the key prefix, {ns}:
-- returns  how many entries were converted
local p = ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local fields = redis.call('HGETALL', key)
  if #fields > 0 then
    redis.call('HSET', KEYS[2], string.sub(key, #p + #'schedule:' + 1), cmsgpack.pack(unflat(fields)))
    n = n + 1
  end
  redis.call('DEL', key)
end
redis.call('DEL', KEYS[1])
return n
