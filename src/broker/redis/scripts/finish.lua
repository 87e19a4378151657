-- Records how an attempt ended, if its worker still holds the lease; with
-- it, atomically, enqueues the hook job the outcome triggers, stamps a
-- scheduled run's final outcome on its schedule entry, and takes the next
-- job for the slot it freed. Asked again after a lost reply, it reports the
-- outcome recorded and hands over the same next job. (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  clock shift (ms; see clock() in lib.lua)
-- ARGV[3]  job id
-- ARGV[4]  worker id
-- ARGV[5]  grant of the run (its lease token)
-- ARGV[6]  succeeded | failed | retrying | revoked | requeue
-- ARGV[7]  retrying: due this long after the attempt ended (ms)
-- ARGV[8]  succeeded, revoked: result ttl (ms)
-- ARGV[9]  succeeded: "1" to delete the record (ignore_result)
-- ARGV[10] how long the attempt ran (ms; "" = it never started)
-- ARGV[11] how long ago it ended (ms)
-- ARGV[12..15] exit code, http status, error, output ("" = none)
-- ARGV[16] output bytes in all
-- ARGV[17] lease (ms) for the next job
-- ARGV[18] grant of the next take
-- ARGV[19] failed_max, ARGV[20] failed_ttl (ms): the failed set's bounds
-- ARGV[21] h: how many entries the hook job takes (0: no hook)
-- ARGV[22..21+h] the hook job, as add() in lib.lua reads it
-- ARGV[22+h..] queues to take the next job from, in order (none: take none)
-- returns  {1 recorded or 0 lease lost (nothing written), failed jobs
--          dropped to keep the failed set bounded, the next job as take()
--          returns it}
local p, id = ARGV[1], ARGV[3]
local now = clock(ARGV[2])
local hook = tonumber(ARGV[21])
local dropped = 0
local token = ARGV[5]

local function record()
  local jk = p .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'state', 'grant', 'attempts', 'queue', 'job', 'maxconc', 'sched', 'fin')
  if f[1] ~= 'running' or f[2] ~= token then
    -- this very outcome, recorded by an earlier call whose reply was lost
    if f[8] == token then return 1 end
    return 0
  end
  redis.call('ZREM', KEYS[1], id)
  ungrant(p, jk, token)
  release(p, now, id, f[5], tonumber(f[6]))
  local kind = ARGV[6]
  if kind == 'requeue' then
    -- a worker shutting down: front of the line, the attempt not counted
    redis.call('HSET', jk, 'state', 'queued', 'fin', token)
    redis.call('HINCRBY', jk, 'attempts', -1)
    redis.call('HDEL', jk, 'worker', 'started')
    redis.call('RPUSH', p .. 'pending:' .. f[4], id)
    wake(p, f[4])
    return 1
  end
  if hook > 0 then
    local acc = accumulator()
    add(p, now, ARGV, 22, acc)
    flush(p, acc)
  end
  local finished = now - tonumber(ARGV[11])
  if f[7] and (kind == 'succeeded' or kind == 'failed') then
    schedule_outcome(p, f[5], kind == 'succeeded', finished)
  end
  if kind == 'succeeded' and ARGV[9] == '1' then
    redis.call('DEL', jk)
    redis.call('ZREM', p .. 'index', id)
    return 1
  end
  redis.call('HSET', jk, 'state', kind, 'finished', ms(finished), 'fin', token)
  redis.call('HDEL', jk, 'revoke')
  if ARGV[10] ~= '' then
    redis.call('HSET', jk, 'started', ms(finished - tonumber(ARGV[10])))
  end
  local names = {'exit', 'http', 'error', 'output'}
  for j, name in ipairs(names) do
    local v = ARGV[11 + j]
    if v ~= '' then
      redis.call('HSET', jk, name, v)
    else
      redis.call('HDEL', jk, name)
    end
  end
  redis.call('HSET', jk, 'outlen', ARGV[16])
  if kind == 'succeeded' or kind == 'revoked' then
    redis.call('PEXPIRE', jk, ARGV[8])
    redis.call('ZADD', p .. 'done', now + tonumber(ARGV[8]), id)
  elseif kind == 'failed' then
    dropped = add_failed(p, now, id, tonumber(ARGV[19]), tonumber(ARGV[20]))
  elseif kind == 'retrying' then
    local due = ms(math.max(now, finished + tonumber(ARGV[7])))
    redis.call('HSET', jk, 'due', due)
    redis.call('ZADD', p .. 'delayed', due, id)
  end
  return 1
end

local recorded = record()
local queues = {}
for i = 22 + hook, #ARGV do
  queues[#queues + 1] = ARGV[i]
end
return {recorded, dropped, take(p, KEYS[1], now, now + tonumber(ARGV[17]), ARGV[4], ARGV[18], queues)}
