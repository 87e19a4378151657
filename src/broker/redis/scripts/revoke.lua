-- Cancels a job that has not started (queued, scheduled, retrying); for a
-- running one, with terminate, flags it for its worker to kill.
-- KEYS[1]  {ns}:index
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  job id
-- ARGV[3]  now (ms)
-- ARGV[4]  "1": terminate a running job
-- returns  {"revoked"}, {"terminating", worker}, {"running", worker},
--          {"final", state}, or {"unknown"}
local p, id = ARGV[1], ARGV[2]
local jk = p .. 'job:' .. id
local f = redis.call('HMGET', jk, 'state', 'queue', 'ttl', 'job', 'worker')
local state = f[1]
if not state then
  return {'unknown'}
end
if state == 'running' then
  if ARGV[4] ~= '1' then
    return {'running', f[5] or ''}
  end
  redis.call('HSET', jk, 'revoke', '1')
  return {'terminating', f[5] or ''}
end
if state == 'queued' then
  redis.call('LREM', p .. 'pending:' .. f[2], 0, id)
  redis.call('LREM', p .. 'blocked:' .. (f[4] or ''), 0, id)
elseif state == 'scheduled' or state == 'retrying' then
  redis.call('ZREM', p .. 'delayed', id)
else
  return {'final', state}
end
local ttl = tonumber(f[3]) or 86400000
redis.call('HSET', jk, 'state', 'revoked', 'finished', ARGV[3], 'error', 'revoked')
redis.call('HDEL', jk, 'due')
redis.call('PEXPIRE', jk, ttl)
redis.call('ZADD', p .. 'done', tonumber(ARGV[3]) + ttl, id)
return {'revoked'}
