-- Cancels a job of the queue that has not started (queued, scheduled,
-- retrying); for a running one, with terminate, flags it for its worker to
-- kill.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- ARGV[5]  job id
-- ARGV[6]  "1": terminate a running job
-- returns  {"revoked"}, {"terminating", worker}, {"running", worker},
--          {"final", state}, or {"unknown"}
local id = ARGV[5]
local now = clock(ARGV[2])
local f = rec_hmget(id, 'state', 'blk', 'ttl', 'job', 'worker', 'maxconc')
local state = f[1]
if not state then
  return {'unknown'}
end
if state == 'running' then
  if ARGV[6] ~= '1' then
    return {'running', f[5] or ''}
  end
  rec_hset(id, 'revoke', '1')
  return {'terminating', f[5] or ''}
end
if state == 'queued' then
  redis.call('LREM', PENDING, 0, id)
  if f[2] then redis.call('ZREM', BLOCKED, f[2]) end
  -- it may have been let back in line for a freed slot: pass the slot on
  if f[6] then unblock(now, f[4], tonumber(f[6])) end
elseif state == 'scheduled' or state == 'retrying' then
  redis.call('ZREM', DELAYED, id)
else
  return {'final', state}
end
local ttl = tonumber(f[3]) or bound.result_ttl
rec_hset(id, 'state', 'revoked', 'finished', ms(now), 'error', 'revoked')
rec_hdel(id, 'due', 'blk')
redis.call('ZADD', DONE, now + ttl, id)
return {'revoked'}
