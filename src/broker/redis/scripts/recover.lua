-- Requeues running jobs whose lease lapsed: their worker is gone. A job
-- lost max_redeliveries times is a poison job and fails as "worker lost";
-- one whose termination was asked for (revoke --terminate) is revoked.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  now (ms)
-- returns  pairs: id, new state ("queued", "failed" or "revoked"); at most
--          100 per call
local p = ARGV[1]
local now = ARGV[2]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 100)
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local jk = p .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'state', 'queue', 'maxred', 'revoke', 'ttl', 'job', 'maxconc')
  if f[1] == 'running' then
    release(p, id, f[6], tonumber(f[7]))
    local state
    if f[4] == '1' then
      state = 'revoked'
      local ttl = tonumber(f[5]) or 86400000
      redis.call('HSET', jk, 'state', 'revoked', 'finished', now, 'error', 'revoked: terminated (its worker was lost)')
      redis.call('HDEL', jk, 'revoke')
      redis.call('PEXPIRE', jk, ttl)
      redis.call('ZADD', p .. 'done', tonumber(now) + ttl, id)
    else
      local lost = redis.call('HINCRBY', jk, 'lost', 1)
      if lost >= (tonumber(f[3]) or 3) then
        state = 'failed'
        redis.call('HSET', jk, 'state', 'failed', 'finished', now,
          'error', 'worker lost: its worker stopped renewing the lease ' .. lost .. ' times')
        redis.call('ZADD', p .. 'failed', now, id)
      else
        state = 'queued'
        redis.call('HSET', jk, 'state', 'queued')
        redis.call('HDEL', jk, 'worker')
        redis.call('RPUSH', p .. 'pending:' .. f[2], id)
        redis.call('PUBLISH', p .. 'wake', f[2])
      end
    end
    out[#out + 1] = id
    out[#out + 1] = state
  end
end
return out
