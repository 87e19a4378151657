-- Requeues failed jobs, attempts reset; the last error and output stay in
-- the record until the next attempt starts. (lib.lua is prepended.)
-- KEYS[1]  {ns}:failed
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4]  "all": up to bound.bulk_batch jobs of the failed set (that
--          many: call again); "ids": the ids below
-- ARGV[5..] job ids
-- returns  pairs: id, "requeued", or its state when not failed ("unknown"
--          when there is no such job)
local p = ARGV[1]
local ids = {}
if ARGV[4] == 'all' then
  ids = redis.call('ZRANGE', KEYS[1], 0, bound.bulk_batch - 1)
else
  for i = 5, #ARGV do
    ids[#ids + 1] = ARGV[i]
  end
end
local out = {}
local woken = {}
for _, id in ipairs(ids) do
  local jk = id
  local f = rec_hmget(jk, 'state', 'queue')
  out[#out + 1] = id
  if f[1] == 'failed' then
    redis.call('ZREM', KEYS[1], id)
    rec_hset(jk, 'state', 'queued', 'attempts', '0', 'lost', '0')
    rec_hdel(jk, 'worker', 'due', 'finished', 'started')
    redis.call('LPUSH', p .. 'pending:' .. f[2], id)
    woken[f[2]] = true
    out[#out + 1] = 'requeued'
  else
    out[#out + 1] = f[1] or 'unknown'
  end
end
for q in pairs(woken) do
  wake(p, q)
end
return out
