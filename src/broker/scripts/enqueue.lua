-- Enqueues a batch of jobs, each on its own terms: a held unique key makes
-- that job a duplicate, the others still go in.
-- KEYS[1]  {ns}:index (routes the call to the namespace's slot)
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  now (ms)
-- ARGV[3]  fields per job, 12: id, payload, queue, job name, enqueued (ms),
--          run_at (ms or ""), expires_at (ms or ""), unique key (or ""),
--          unique window (ms), max_redeliveries, max_concurrent (or ""),
--          result ttl (ms)
-- returns  per job: id, duplicate (0 or 1); a duplicate's id is the holder's
local p = ARGV[1]
local now = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local out = {}
local woken = {}
for i = 4, #ARGV, n do
  local id, payload, q, name, enq = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local run_at, exp, ukey, uwin = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
  local maxred, maxconc, ttl = ARGV[i + 9], ARGV[i + 10], ARGV[i + 11]
  local holder = false
  if ukey ~= '' then
    holder = redis.call('GET', p .. 'unique:' .. ukey)
    if not holder then
      redis.call('SET', p .. 'unique:' .. ukey, id, 'PX', uwin)
    end
  end
  if holder then
    out[#out + 1] = holder
    out[#out + 1] = 1
  else
    local jk = p .. 'job:' .. id
    local scheduled = run_at ~= '' and tonumber(run_at) > now
    local state = 'queued'
    if scheduled then state = 'scheduled' end
    redis.call('HSET', jk, 'payload', payload, 'state', state, 'queue', q, 'job', name,
      'attempts', 0, 'lost', 0, 'enq', enq, 'maxred', maxred, 'ttl', ttl)
    if exp ~= '' then redis.call('HSET', jk, 'exp', exp) end
    if maxconc ~= '' then redis.call('HSET', jk, 'maxconc', maxconc) end
    redis.call('ZADD', p .. 'index', enq, id)
    redis.call('SADD', p .. 'queues', q)
    if scheduled then
      redis.call('HSET', jk, 'due', run_at)
      redis.call('ZADD', p .. 'delayed', run_at, id)
    else
      redis.call('LPUSH', p .. 'pending:' .. q, id)
      woken[q] = true
    end
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
for q in pairs(woken) do
  redis.call('PUBLISH', p .. 'wake', q)
end
return out
