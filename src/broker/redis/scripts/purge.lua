-- Deletes failed jobs, or the jobs queued on one queue, up to
-- bound.bulk_batch a call. (lib.lua is prepended.)
-- KEYS[1]  {ns}:failed, or {ns}:pending:<queue>
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4]  "failed" or "queue"
-- returns  how many were deleted (bound.bulk_batch: call again)
local p = ARGV[1]
local ids
if ARGV[4] == 'failed' then
  ids = redis.call('ZRANGE', KEYS[1], 0, bound.bulk_batch - 1)
  if #ids > 0 then
    redis.call('ZREM', KEYS[1], unpack(ids))
  end
else
  ids = redis.call('RPOP', KEYS[1], bound.bulk_batch) or {}
end
for _, id in ipairs(ids) do
  rec_del(id)
  redis.call('ZREM', INDEX, id)
end
return #ids
