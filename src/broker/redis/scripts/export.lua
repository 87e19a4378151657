-- Reads the oldest jobs of a namespace in the layout before version 3
-- (every job in {ns}:jobs and the namespace's sets), for layout.rs to move
-- them to their queues' slots (import.lua) and then delete them here
-- (drop.lua). (common.lua is prepended.)
-- KEYS[1..6] {ns}:index, jobs, done, delayed, leases, failed
-- ARGV[1]  clock shift (unused)
-- ARGV[2]  how many
-- returns  per job: {id, queue, the record packed, its score in index,
--          done, delayed, leases and failed ("" where it is not in one)}
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  local packed = redis.call('HGET', KEYS[2], id)
  local job = {id, '', packed or ''}
  if packed then job[2] = cmsgpack.unpack(packed).queue or '' end
  for k = 1, 6 do
    if k ~= 2 then job[#job + 1] = redis.call('ZSCORE', KEYS[k], id) or '' end
  end
  out[#out + 1] = job
end
return out
