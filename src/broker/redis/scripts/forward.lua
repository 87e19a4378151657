-- Moves the queue's scheduled and retrying jobs that are due to it.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- returns  {moved, next due (ms) or "", now (ms)}; at most bound.move_batch
--          per call, so a next due not after now means: call again
local now = clock(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', DELAYED, '-inf', ms(now), 'LIMIT', 0, bound.move_batch)
local moved = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', DELAYED, id)
  local state = rec_hget(id, 'state')
  if state == 'scheduled' or state == 'retrying' then
    rec_hset(id, 'state', 'queued')
    rec_hdel(id, 'due')
    redis.call('LPUSH', PENDING, id)
    moved = moved + 1
  end
end
if moved > 0 then wake() end
local nxt = redis.call('ZRANGE', DELAYED, 0, 0, 'WITHSCORES')
return {moved, nxt[2] or '', ms(now)}
