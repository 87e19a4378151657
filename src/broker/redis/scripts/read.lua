-- Reads job records of the queue; a finished job whose result has outlived
-- its ttl reads as gone, whether or not purge_results.lua has swept it yet.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- ARGV[5..] job ids
-- returns  per id, the record's fields as HGETALL gave them (empty: no such job)
local now = clock(ARGV[2])
local out = {}
for i = 5, #ARGV do
  local until_ms = tonumber(redis.call('ZSCORE', DONE, ARGV[i]))
  if until_ms and until_ms <= now then
    out[#out + 1] = {}
  else
    out[#out + 1] = rec_hgetall(ARGV[i])
  end
end
return out
