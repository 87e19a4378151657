-- Requeues failed jobs of the queue, attempts reset; the last error and
-- output stay in the record until the next attempt starts.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- ARGV[5]  "all": up to bound.bulk_batch jobs of the failed set (that
--          many: call again); "ids": the ids below
-- ARGV[6..] job ids
-- returns  pairs: id, "requeued", or its state when not failed ("unknown"
--          when there is no such job)
local ids = {}
if ARGV[5] == 'all' then
  ids = redis.call('ZRANGE', FAILED, 0, bound.bulk_batch - 1)
else
  for i = 6, #ARGV do
    ids[#ids + 1] = ARGV[i]
  end
end
local out = {}
local woken = false
for _, id in ipairs(ids) do
  local state = rec_hget(id, 'state')
  out[#out + 1] = id
  if state == 'failed' then
    -- its last failure joins its history before the fields go
    local f = rec_hmget(id, 'attempts', 'started', 'finished', 'exit', 'http', 'error', 'worker')
    remember_attempt(id, {n = tonumber(f[1]), outcome = 'failed', started = f[2] or nil, finished = f[3] or nil,
      exit = f[4] or nil, http = f[5] or nil, error = clip(f[6] or nil, 300), worker = f[7] or nil})
    redis.call('ZREM', FAILED, id)
    rec_hset(id, 'state', 'queued', 'attempts', '0', 'lost', '0')
    rec_hdel(id, 'worker', 'due', 'finished', 'started')
    redis.call('LPUSH', PENDING, id)
    woken = true
    out[#out + 1] = 'requeued'
  else
    out[#out + 1] = state or 'unknown'
  end
end
if woken then wake() end
return out
