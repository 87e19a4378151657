-- Enqueues a batch of jobs, each on its own terms: a held unique key makes
-- that job a duplicate, the others still go in.
-- KEYS[1]  {ns}:index (routes the call to the namespace's slot)
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  now (ms)
-- ARGV[3..] per job: id, queue, run_at (ms or ""), unique key (or ""),
--          unique window (ms), enqueued (ms), n, then n field/value pairs
--          of the job's request (small values: the hash stays compact)
-- returns  per job: id, duplicate (0 or 1); a duplicate's id is the holder's
local p = ARGV[1]
local now = tonumber(ARGV[2])
local out = {}
local seen = {}
-- per queue, the ids to push; and the index entries: one call each at the end
local push = {}
local index = {}
local i = 3
while i <= #ARGV do
  local id, q, run_at, ukey, uwin, enq = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local n = tonumber(ARGV[i + 6])
  local first = i + 7
  i = first + 2 * n
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
    if scheduled then
      redis.call('HSET', jk, 'state', state, 'queue', q, 'enq', enq, 'attempts', '0', 'lost', '0',
        'due', run_at, unpack(ARGV, first, i - 1))
      redis.call('ZADD', p .. 'delayed', run_at, id)
    else
      redis.call('HSET', jk, 'state', state, 'queue', q, 'enq', enq, 'attempts', '0', 'lost', '0',
        unpack(ARGV, first, i - 1))
      push[q] = push[q] or {}
      table.insert(push[q], id)
    end
    seen[q] = true
    index[#index + 1] = enq
    index[#index + 1] = id
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
if #index > 0 then
  redis.call('ZADD', p .. 'index', unpack(index))
end
for q in pairs(seen) do
  redis.call('SADD', p .. 'queues', q)
end
for q, ids in pairs(push) do
  -- LPUSH pushes in argument order, so the first id stays first out (RPOP)
  redis.call('LPUSH', p .. 'pending:' .. q, unpack(ids))
  redis.call('PUBLISH', p .. 'wake', q)
end
return out
