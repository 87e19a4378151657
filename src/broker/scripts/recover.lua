-- Requeues running jobs whose lease lapsed: their worker is gone. A job
-- lost max_redeliveries times is a poison job and fails as "worker lost".
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  now (ms)
-- returns  pairs: id, new state ("queued" or "failed"); at most 100 per call
local p = ARGV[1]
local now = ARGV[2]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 100)
local out = {}
local woken = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local jk = p .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'state', 'queue', 'maxred')
  if f[1] == 'running' then
    local lost = redis.call('HINCRBY', jk, 'lost', 1)
    if lost >= (tonumber(f[3]) or 3) then
      redis.call('HSET', jk, 'state', 'failed', 'finished', now,
        'error', 'worker lost: its worker stopped renewing the lease ' .. lost .. ' times')
      redis.call('ZADD', p .. 'failed', now, id)
      out[#out + 1] = id
      out[#out + 1] = 'failed'
    else
      redis.call('HSET', jk, 'state', 'queued')
      redis.call('HDEL', jk, 'worker')
      redis.call('RPUSH', p .. 'pending:' .. f[2], id)
      woken[f[2]] = true
      out[#out + 1] = id
      out[#out + 1] = 'queued'
    end
  end
end
for q in pairs(woken) do
  redis.call('PUBLISH', p .. 'wake', q)
end
return out
