-- Beat's state of the schedule entries whose job runs on the queue; a state
-- kept past its 'keep' (no tick came: the entry was removed from every
-- config) is forgotten here.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- returns  per entry: its name, then its state's fields as field/value pairs
local now = clock(ARGV[2])
local out = {}
local all = redis.call('HGETALL', ENTRIES)
for i = 1, #all, 2 do
  local s = cmsgpack.unpack(all[i + 1])
  if tonumber(s.keep) and tonumber(s.keep) < now then
    redis.call('HDEL', ENTRIES, all[i])
  else
    out[#out + 1] = {all[i], flat(s)}
  end
end
return out
