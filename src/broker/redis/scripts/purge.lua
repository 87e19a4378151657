-- Deletes failed jobs, or the jobs queued on one queue, up to 1000 a call.
-- KEYS[1]  {ns}:failed, or {ns}:pending:<queue>
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  "failed" or "queue"
-- returns  how many were deleted (1000: call again)
local p = ARGV[1]
local ids
if ARGV[2] == 'failed' then
  ids = redis.call('ZRANGE', KEYS[1], 0, 999)
  if #ids > 0 then
    redis.call('ZREM', KEYS[1], unpack(ids))
  end
else
  ids = redis.call('RPOP', KEYS[1], 1000) or {}
end
for _, id in ipairs(ids) do
  redis.call('DEL', p .. 'job:' .. id)
  redis.call('ZREM', p .. 'index', id)
end
return #ids
