-- Converts beat's state of the layout before version 2 (a hash per entry,
-- {ns}:schedule:<entry>, listed in the set {ns}:schedules) into fields of
-- {ns}:entries. Those keys are built here, undeclared: a one-time step on
-- a server that ran the old layout. An entry gets its 'keep' at its next
-- tick (reading its expiry would need a command the least-privilege user
-- does not have).
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:schedules: the old set of entry keys
-- KEYS[4]  {ns}:entries
-- ARGV[1..3] as every script (see lib.lua)
-- returns  how many entries were converted
local p = ARGV[1]
-- in the new layout this key is not used at all
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local fields = redis.call('HGETALL', key)
  if #fields > 0 then
    packed_save(ENTRIES, string.sub(key, #p + #'schedule:' + 1), unflat(fields))
    n = n + 1
  end
  redis.call('DEL', key)
end
redis.call('DEL', KEYS[1])
return n
