-- Beat's state of every schedule entry; a state kept past its 'keep' (no
-- tick came: the entry was removed from every config) is forgotten here.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:entries (KEYS[4] too)
-- ARGV[1..3] as every script (see lib.lua)
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
