-- Moves scheduled and retrying jobs that are due to their queues.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:delayed
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- returns  {moved, next due (ms) or "", now (ms)}; at most bound.move_batch
--          per call, so a next due not after now means: call again
local p = ARGV[1]
local now = clock(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms(now), 'LIMIT', 0, bound.move_batch)
local woken = {}
local moved = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local jk = id
  local f = rec_hmget(jk, 'state', 'queue')
  if f[1] == 'scheduled' or f[1] == 'retrying' then
    rec_hset(jk, 'state', 'queued')
    rec_hdel(jk, 'due')
    redis.call('LPUSH', p .. 'pending:' .. f[2], id)
    woken[f[2]] = true
    moved = moved + 1
  end
end
for q in pairs(woken) do
  wake(p, q)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {moved, nxt[2] or '', ms(now)}
