-- Takes the oldest job of the first non-empty queue and leases it.
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  now (ms)
-- ARGV[3]  lease expiry (ms)
-- ARGV[4]  worker id
-- ARGV[5..] queue names, in the order to try them
-- returns  {id, payload, attempt} or nil; jobs found past their expiry on
--          the way are marked expired and skipped
local p = ARGV[1]
local now = tonumber(ARGV[2])
for i = 5, #ARGV do
  local pk = p .. 'pending:' .. ARGV[i]
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
        redis.call('HSET', jk, 'state', 'expired', 'finished', now,
          'error', 'expired: not started before its expiry')
        redis.call('PEXPIRE', jk, ttl)
        redis.call('ZADD', p .. 'done', now + ttl, id)
      else
        local attempt = redis.call('HINCRBY', jk, 'attempts', 1)
        redis.call('HSET', jk, 'state', 'running', 'worker', ARGV[4], 'started', now)
        redis.call('HDEL', jk, 'finished', 'exit', 'http', 'error', 'output', 'due')
        redis.call('ZADD', KEYS[1], ARGV[3], id)
        return {id, redis.call('HGET', jk, 'payload'), attempt}
      end
    end
  end
end
return false
