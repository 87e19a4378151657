-- Records how an attempt ended, if its worker still holds the lease; with
-- it, atomically, enqueues the hook job the outcome triggers, and takes the
-- next job for the slot it freed. (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  job id
-- ARGV[3]  worker id
-- ARGV[4]  attempt
-- ARGV[5]  now (ms)
-- ARGV[6]  succeeded | failed | retrying | revoked | requeue
-- ARGV[7]  retrying: when due (ms)
-- ARGV[8]  succeeded, revoked: result ttl (ms)
-- ARGV[9]  succeeded: "1" to delete the record (ignore_result)
-- ARGV[10..15] started, exit code, http status, error, output, output
--          bytes in all ("" = none)
-- ARGV[16] finished (ms)
-- ARGV[17] lease expiry (ms) for the next job
-- ARGV[18] h: how many entries the hook job takes (0: no hook)
-- ARGV[19..18+h] the hook job, as add() in lib.lua reads it
-- ARGV[19+h..] queues to take the next job from, in order (none: take none)
-- returns  {1 recorded or 0 lease lost (nothing written), the next job as
--          take() returns it, or nil}
local p, id = ARGV[1], ARGV[2]
local now = tonumber(ARGV[5])
local hook = tonumber(ARGV[18])

local function record()
  local jk = p .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'state', 'worker', 'attempts', 'queue', 'job', 'maxconc')
  if f[1] ~= 'running' or f[2] ~= ARGV[3] or f[3] ~= ARGV[4] then
    return 0
  end
  redis.call('ZREM', KEYS[1], id)
  release(p, id, f[5], tonumber(f[6]))
  local kind = ARGV[6]
  if kind == 'requeue' then
    -- a worker shutting down: front of the line, the attempt not counted
    redis.call('HSET', jk, 'state', 'queued')
    redis.call('HINCRBY', jk, 'attempts', -1)
    redis.call('HDEL', jk, 'worker', 'started')
    redis.call('RPUSH', p .. 'pending:' .. f[4], id)
    redis.call('PUBLISH', p .. 'wake', f[4])
    return 1
  end
  if hook > 0 then
    local acc = accumulator()
    add(p, now, ARGV, 19, acc)
    flush(p, acc)
  end
  if kind == 'succeeded' and ARGV[9] == '1' then
    redis.call('DEL', jk)
    redis.call('ZREM', p .. 'index', id)
    return 1
  end
  redis.call('HSET', jk, 'state', kind, 'finished', ARGV[16])
  redis.call('HDEL', jk, 'revoke')
  local names = {'started', 'exit', 'http', 'error', 'output', 'outlen'}
  for j, name in ipairs(names) do
    local v = ARGV[9 + j]
    if v ~= '' then
      redis.call('HSET', jk, name, v)
    elseif name ~= 'started' then
      redis.call('HDEL', jk, name)
    end
  end
  if kind == 'succeeded' or kind == 'revoked' then
    redis.call('PEXPIRE', jk, ARGV[8])
    redis.call('ZADD', p .. 'done', now + tonumber(ARGV[8]), id)
  elseif kind == 'failed' then
    redis.call('ZADD', p .. 'failed', ARGV[5], id)
  elseif kind == 'retrying' then
    redis.call('HSET', jk, 'due', ARGV[7])
    redis.call('ZADD', p .. 'delayed', ARGV[7], id)
  end
  return 1
end

local recorded = record()
local queues = {}
for i = 19 + hook, #ARGV do
  queues[#queues + 1] = ARGV[i]
end
return {recorded, take(p, KEYS[1], now, ARGV[17], ARGV[3], queues)}
