-- Cancels a job that has not started (queued, scheduled, retrying); for a
-- running one, with terminate, flags it for its worker to kill.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:index
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4]  job id
-- ARGV[5]  "1": terminate a running job
-- returns  {"revoked"}, {"terminating", worker}, {"running", worker},
--          {"final", state}, or {"unknown"}
local p, id = ARGV[1], ARGV[4]
local now = clock(ARGV[2])
local jk = id
local f = rec_hmget(jk, 'state', 'queue', 'ttl', 'job', 'worker', 'maxconc')
local state = f[1]
if not state then
  return {'unknown'}
end
if state == 'running' then
  if ARGV[5] ~= '1' then
    return {'running', f[5] or ''}
  end
  rec_hset(jk, 'revoke', '1')
  return {'terminating', f[5] or ''}
end
if state == 'queued' then
  redis.call('LREM', p .. 'pending:' .. f[2], 0, id)
  redis.call('LREM', p .. 'blocked:' .. (f[4] or ''), 0, id)
  -- it may have been let back in line for a freed slot: pass the slot on
  if f[6] then unblock(p, now, f[4], tonumber(f[6])) end
elseif state == 'scheduled' or state == 'retrying' then
  redis.call('ZREM', DELAYED, id)
else
  return {'final', state}
end
local ttl = tonumber(f[3]) or bound.result_ttl
rec_hset(jk, 'state', 'revoked', 'finished', ms(now), 'error', 'revoked')
rec_hdel(jk, 'due')
redis.call('ZADD', DONE, now + ttl, id)
return {'revoked'}
