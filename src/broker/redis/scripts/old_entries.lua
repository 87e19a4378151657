-- Beat's state of entries as taskq before 0.2 kept them (in the
-- namespace's slot, not knowing the entry's queue), until a beat moves each
-- to its queue (beat.rs); a state kept past its 'keep' is forgotten here.
-- (common.lua is prepended.)
-- KEYS[1]  {ns}:entries
-- ARGV[1]  clock shift (ms; see clock())
-- returns  per entry: its name, then its state's fields as field/value pairs
local now = clock(ARGV[1])
local out = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local s = cmsgpack.unpack(all[i + 1])
  if tonumber(s.keep) and tonumber(s.keep) < now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    out[#out + 1] = {all[i], flat(s)}
  end
end
return out
