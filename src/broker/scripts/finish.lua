-- Records how an attempt ended, if its worker still holds the lease, and
-- takes the next job for the slot it freed. (take.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  job id
-- ARGV[3]  worker id
-- ARGV[4]  attempt
-- ARGV[5]  now (ms)
-- ARGV[6]  succeeded | failed | retrying | requeue
-- ARGV[7]  retrying: when due (ms)
-- ARGV[8]  succeeded: result ttl (ms)
-- ARGV[9]  succeeded: "1" to delete the record (ignore_result)
-- ARGV[10..14] started, exit code, http status, error, output ("" = none)
-- ARGV[15] finished (ms)
-- ARGV[16] lease expiry (ms) for the next job
-- ARGV[17..] queues to take the next job from, in order (none: take none)
-- returns  {1 recorded or 0 lease lost (nothing written), the next job as
--          take() returns it, or nil}
local p, id = ARGV[1], ARGV[2]

local function next_job()
  local queues = {}
  for i = 17, #ARGV do
    queues[#queues + 1] = ARGV[i]
  end
  return take(p, KEYS[1], tonumber(ARGV[5]), ARGV[16], ARGV[3], queues)
end

local function record()
  local jk = p .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'state', 'worker', 'attempts', 'queue')
  if f[1] ~= 'running' or f[2] ~= ARGV[3] or f[3] ~= ARGV[4] then
    return 0
  end
  redis.call('ZREM', KEYS[1], id)
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
  if kind == 'succeeded' and ARGV[9] == '1' then
    redis.call('DEL', jk)
    redis.call('ZREM', p .. 'index', id)
    return 1
  end
  redis.call('HSET', jk, 'state', kind, 'finished', ARGV[15])
  local names = {'started', 'exit', 'http', 'error', 'output'}
  for j, name in ipairs(names) do
    local v = ARGV[9 + j]
    if v ~= '' then
      redis.call('HSET', jk, name, v)
    elseif name ~= 'started' then
      redis.call('HDEL', jk, name)
    end
  end
  if kind == 'succeeded' then
    redis.call('PEXPIRE', jk, ARGV[8])
    redis.call('ZADD', p .. 'done', tonumber(ARGV[5]) + tonumber(ARGV[8]), id)
  elseif kind == 'failed' then
    redis.call('ZADD', p .. 'failed', ARGV[5], id)
  elseif kind == 'retrying' then
    redis.call('HSET', jk, 'due', ARGV[7])
    redis.call('ZADD', p .. 'delayed', ARGV[7], id)
  end
  return 1
end

local recorded = record()
return {recorded, next_job()}
