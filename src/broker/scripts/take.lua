-- Shared by dequeue.lua and finish.lua (prepended to each): taking the next
-- job for a free slot.
--
-- take(p, leases, now, expiry, worker, queues) takes the oldest job of the
-- first non-empty queue in `queues` and leases it to `worker` until `expiry`.
-- Jobs found past their expiry on the way are marked expired and skipped.
-- Returns {id, attempt, the job hash as field/value pairs}, or nil.
local function take(p, leases, now, expiry, worker, queues)
  for _, q in ipairs(queues) do
    local pk = p .. 'pending:' .. q
    -- bounded, to keep the script short behind a pile of expired jobs
    for _ = 1, 100 do
      local id = redis.call('RPOP', pk)
      if not id then break end
      local jk = p .. 'job:' .. id
      local f = redis.call('HMGET', jk, 'state', 'exp', 'attempts', 'ttl')
      -- anything else is a stale entry (revoked, deleted): dropped
      if f[1] == 'queued' then
        if f[2] and tonumber(f[3]) == 0 and tonumber(f[2]) <= now then
          local ttl = tonumber(f[4]) or 86400000
          redis.call('HSET', jk, 'state', 'expired', 'finished', tostring(now),
            'error', 'expired: not started before its expiry')
          redis.call('PEXPIRE', jk, ttl)
          redis.call('ZADD', p .. 'done', now + ttl, id)
        else
          local attempt = redis.call('HINCRBY', jk, 'attempts', 1)
          redis.call('HSET', jk, 'state', 'running', 'worker', worker, 'started', tostring(now))
          redis.call('HDEL', jk, 'finished', 'exit', 'http', 'error', 'output', 'due')
          redis.call('ZADD', leases, expiry, id)
          return {id, attempt, redis.call('HGETALL', jk)}
        end
      end
    end
  end
  return nil
end
