-- Reads job records; a finished job whose result has outlived its ttl
-- reads as gone, whether or not purge_results.lua has swept it yet.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:done: finished ids by result expiry (ms)
-- KEYS[2]  {ns}:jobs
-- ARGV[1..3] as every script (see lib.lua)
-- ARGV[4..] job ids
-- returns  per id, the record's fields as HGETALL gave them (empty: no such job)
local now = clock(ARGV[2])
local out = {}
for i = 4, #ARGV do
  local until_ms = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i]))
  if until_ms and until_ms <= now then
    out[#out + 1] = {}
  else
    out[#out + 1] = rec_hgetall(ARGV[i])
  end
end
return out
