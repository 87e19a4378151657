-- Deletes the queue's failed jobs (the oldest first) or its queued ones
-- (those waiting for a concurrency slot too), up to bound.bulk_batch a call.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- ARGV[5]  "failed", "queue", or "these": the failed jobs named next
-- ARGV[6..] these: pairs of a failed job's id and when it failed (ms), as
--          maintenance chose them to keep the namespace's failed jobs within
--          their bound; one failed at another time (retried and failed
--          again) or gone is left alone
-- returns  how many were deleted (bound.bulk_batch: call again)
local ids = {}
if ARGV[5] == 'failed' then
  ids = redis.call('ZRANGE', FAILED, 0, bound.bulk_batch - 1)
  if #ids > 0 then
    redis.call('ZREM', FAILED, unpack(ids))
  end
elseif ARGV[5] == 'these' then
  for i = 6, #ARGV, 2 do
    if tonumber(redis.call('ZSCORE', FAILED, ARGV[i])) == tonumber(ARGV[i + 1]) then
      redis.call('ZREM', FAILED, ARGV[i])
      ids[#ids + 1] = ARGV[i]
    end
  end
else
  ids = redis.call('RPOP', PENDING, bound.bulk_batch) or {}
  local waiting = {}
  if #ids < bound.bulk_batch then
    waiting = redis.call('ZRANGE', BLOCKED, 0, bound.bulk_batch - #ids - 1)
  end
  for _, member in ipairs(waiting) do
    redis.call('ZREM', BLOCKED, member)
    local id = string.match(member, '%z%d+%z(.*)$')
    if rec_hget(id, 'blk') == member then ids[#ids + 1] = id end
  end
end
for _, id in ipairs(ids) do
  rec_del(id)
  redis.call('ZREM', INDEX, id)
end
return #ids
