-- Shared by the scripts that take, end or add jobs (prepended to each).
-- p is the key prefix "{ns}:" throughout.

-- Frees the concurrency slot a job of a limited kind held (`name`, `limit`
-- from its hash; no limit: nothing to do) and lets the oldest job waiting
-- for such a slot back to the front of its queue.
local function release(p, id, name, limit)
  if not limit then return end
  redis.call('ZREM', p .. 'conc:' .. name, id)
  local waiting = redis.call('LPOP', p .. 'blocked:' .. name)
  if waiting then
    local q = redis.call('HGET', p .. 'job:' .. waiting, 'queue')
    if q then
      redis.call('RPUSH', p .. 'pending:' .. q, waiting)
      redis.call('PUBLISH', p .. 'wake', q)
    end
  end
end

-- take(p, leases, now, expiry, worker, queues) takes the oldest job of the
-- first non-empty queue in `queues` and leases it to `worker` until `expiry`.
-- Jobs found past their expiry on the way are marked expired and skipped; a
-- job whose kind is at its max_concurrent waits in `{ns}:blocked:<job>`
-- until a slot frees (a lapsed lease frees its slot).
-- Returns {id, attempt, the job hash as field/value pairs}, or nil.
local function take(p, leases, now, expiry, worker, queues)
  for _, q in ipairs(queues) do
    local pk = p .. 'pending:' .. q
    -- bounded, to keep the script short behind a pile of expired jobs
    for _ = 1, 100 do
      local id = redis.call('RPOP', pk)
      if not id then break end
      local jk = p .. 'job:' .. id
      local f = redis.call('HMGET', jk, 'state', 'exp', 'attempts', 'ttl', 'job', 'maxconc')
      -- anything else is a stale entry (revoked, deleted): dropped
      if f[1] == 'queued' then
        local limit = tonumber(f[6])
        local ck = p .. 'conc:' .. (f[5] or '')
        if limit then
          redis.call('ZREMRANGEBYSCORE', ck, '-inf', '(' .. now)
        end
        if f[2] and tonumber(f[3]) == 0 and tonumber(f[2]) <= now then
          local ttl = tonumber(f[4]) or 86400000
          redis.call('HSET', jk, 'state', 'expired', 'finished', tostring(now),
            'error', 'expired: not started before its expiry')
          redis.call('PEXPIRE', jk, ttl)
          redis.call('ZADD', p .. 'done', now + ttl, id)
        elseif limit and redis.call('ZCARD', ck) >= limit then
          redis.call('RPUSH', p .. 'blocked:' .. f[5], id)
        else
          if limit then
            redis.call('ZADD', ck, expiry, id)
          end
          local attempt = redis.call('HINCRBY', jk, 'attempts', 1)
          redis.call('HSET', jk, 'state', 'running', 'worker', worker, 'started', tostring(now))
          redis.call('HDEL', jk, 'finished', 'exit', 'http', 'error', 'output', 'outlen', 'due')
          redis.call('ZADD', leases, expiry, id)
          return {id, attempt, redis.call('HGETALL', jk)}
        end
      end
    end
  end
  return nil
end

-- add(p, now, argv, i, acc) stores the job encoded in argv at index i:
-- id, queue, run_at (ms or ""), unique key (or ""), unique window (ms),
-- enqueued (ms), n, then n field/value pairs of its request. Writes that can
-- be batched go into acc (see flush). Returns the index after the job, the
-- job's id (a duplicate's: the holder's) and 1 for a duplicate, else 0.
local function add(p, now, argv, i, acc)
  local id, q, run_at, ukey, uwin, enq = argv[i], argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4], argv[i + 5]
  local n = tonumber(argv[i + 6])
  local first = i + 7
  local after = first + 2 * n
  if ukey ~= '' then
    local holder = redis.call('GET', p .. 'unique:' .. ukey)
    if holder then
      return after, holder, 1
    end
    redis.call('SET', p .. 'unique:' .. ukey, id, 'PX', uwin)
  end
  local jk = p .. 'job:' .. id
  if run_at ~= '' and tonumber(run_at) > now then
    redis.call('HSET', jk, 'state', 'scheduled', 'queue', q, 'enq', enq, 'attempts', '0', 'lost', '0',
      'due', run_at, unpack(argv, first, after - 1))
    redis.call('ZADD', p .. 'delayed', run_at, id)
  else
    redis.call('HSET', jk, 'state', 'queued', 'queue', q, 'enq', enq, 'attempts', '0', 'lost', '0',
      unpack(argv, first, after - 1))
    acc.push[q] = acc.push[q] or {}
    table.insert(acc.push[q], id)
  end
  acc.seen[q] = true
  acc.index[#acc.index + 1] = enq
  acc.index[#acc.index + 1] = id
  return after, id, 0
end

local function accumulator()
  return {push = {}, index = {}, seen = {}}
end

-- Writes what add() batched: one ZADD, and one LPUSH and wake-up per queue.
local function flush(p, acc)
  if #acc.index > 0 then
    redis.call('ZADD', p .. 'index', unpack(acc.index))
  end
  for q in pairs(acc.seen) do
    redis.call('SADD', p .. 'queues', q)
  end
  for q, ids in pairs(acc.push) do
    -- LPUSH pushes in argument order, so the first id stays first out (RPOP)
    redis.call('LPUSH', p .. 'pending:' .. q, unpack(ids))
    redis.call('PUBLISH', p .. 'wake', q)
  end
end
