-- Shared by the scripts (prepended to each but output.lua). p is the key
-- prefix "{ns}:" throughout.
--
-- Every script takes the same three arguments first; RedisBroker::script
-- (src/broker/redis/call.rs) adds them:
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  clock shift (ms; see clock())
-- ARGV[3]  bounds, JSON: how much one call may do, and the defaults for a
--          job record that lacks the field. Each is a Rust constant (call.rs
--          says why that size), so a caller that calls again after a full
--          batch compares with the same number:
--          take_steps         queue entries one take() looks at ('more' after)
--          unblock_steps      waiting entries one unblock() pops
--          move_batch         jobs forward.lua and recover.lua move per call
--          bulk_batch         jobs purge.lua, purge_results.lua and
--                             retry_failed.lua ("all") handle per call
--          failed_drop_batch  failed jobs one add_failed() drops
--          result_ttl         ms a result is kept if its record has no 'ttl'
--          max_redeliveries   if its record has no 'maxred'
local bound = cjson.decode(ARGV[3])

-- Job records: one field of the hash KEYS[2] ({ns}:jobs) per job, its id,
-- holding the job's fields packed (cmsgpack). Every script is given that
-- key, so no script builds a job's key name (Redis's rule: every key in
-- KEYS). These mirror the hash commands a record once was: a missing field
-- reads as false, as HMGET's nil does in Lua.
local JOBS = KEYS[2]
-- KEYS[3] ({ns}:grants): per grant of a run under way, the job it took.
local GRANTS = KEYS[3]
-- KEYS[4] ({ns}:entries): per schedule entry, beat's state of it, packed
-- as job records are: last tick, spec, last job, fired and skipped counts,
-- the last skip's reason, the last success and failure (ok, fail), and
-- until when it is kept (keep) if no tick comes.
local ENTRIES = KEYS[4]
-- KEYS[5..11]: the namespace's sets, as src/broker/keys.rs lists them.
local INDEX = KEYS[5]
local DONE = KEYS[6]
local DELAYED = KEYS[7]
local LEASES = KEYS[8]
local FAILED = KEYS[9]
local QUEUES = KEYS[10]
local LIMITED = KEYS[11]

local function packed_load(hash, field)
  local packed = redis.call('HGET', hash, field)
  if packed then return cmsgpack.unpack(packed) end
  return nil
end

local function packed_save(hash, field, r)
  redis.call('HSET', hash, field, cmsgpack.pack(r))
end

local function rec_load(id)
  return packed_load(JOBS, id)
end

local function rec_save(id, r)
  packed_save(JOBS, id, r)
end

local function rec_hmget(id, ...)
  local r = rec_load(id) or {}
  local out = {}
  for i, name in ipairs({...}) do
    local v = r[name]
    if v == nil then out[i] = false else out[i] = v end
  end
  return out
end

local function rec_hget(id, name)
  return rec_hmget(id, name)[1]
end

local function rec_hset(id, ...)
  local r = rec_load(id) or {}
  local args = {...}
  for i = 1, #args, 2 do
    local v = args[i + 1]
    -- ms instants are past 14 digits, where tostring would write an exponent
    if type(v) == 'number' and v == math.floor(v) then v = string.format('%d', v) end
    r[args[i]] = tostring(v)
  end
  rec_save(id, r)
end

local function rec_hdel(id, ...)
  local r = rec_load(id)
  if not r then return end
  for _, name in ipairs({...}) do r[name] = nil end
  rec_save(id, r)
end

local function rec_hincrby(id, name, by)
  local r = rec_load(id) or {}
  local v = (tonumber(r[name]) or 0) + tonumber(by)
  r[name] = string.format('%d', v)
  rec_save(id, r)
  return v
end

-- A table of fields as HGETALL lists a hash: field, value, field, value...
local function flat(r)
  local out = {}
  for k, v in pairs(r) do
    out[#out + 1] = k
    out[#out + 1] = v
  end
  return out
end

-- HGETALL's list back to a table of fields.
local function unflat(list)
  local r = {}
  for i = 1, #list, 2 do r[list[i]] = list[i + 1] end
  return r
end

-- The record as HGETALL gave it.
local function rec_hgetall(id)
  return flat(rec_load(id) or {})
end

local function rec_del(id)
  redis.call('HDEL', JOBS, id)
end

-- The broker's clock in ms: the server's TIME, plus a shift only tests set
-- (ClockShift). Every lease, due time, expiry and TTL is judged by it, never
-- by the clock of the host that calls. (Scripts are replicated by effects,
-- so reading TIME before writing is allowed.)
local function clock(shift)
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + (tonumber(shift) or 0)
end

-- A ms instant as an integer string (tostring would use an exponent past
-- 14 digits).
local function ms(t)
  return string.format('%d', t)
end

-- Wake-ups are best effort: a server that refuses the channel (an ACL user
-- without channel rights) must not fail a script after its writes. Idle
-- workers look again within a second anyway.
local function wake(p, q)
  redis.pcall('PUBLISH', p .. 'wake', q)
end

-- Lets jobs waiting for a concurrency slot of job `name` back to the front
-- of their queues, as many as there are free slots. take() calls it again
-- whenever it drops a job of a limited kind (expired, revoked), so a waiting
-- job that cannot run never strands the ones behind it. Letting one too
-- many back is harmless: take() parks it again.
local function unblock(p, now, name, limit)
  local ck = p .. 'conc:' .. name
  redis.call('ZREMRANGEBYSCORE', ck, '-inf', '(' .. ms(now))
  local free = limit - redis.call('ZCARD', ck)
  local bk = p .. 'blocked:' .. name
  -- bounded, to keep the script short behind a pile of stale entries
  for _ = 1, bound.unblock_steps do
    if free <= 0 then return end
    local waiting = redis.call('LPOP', bk)
    if not waiting then return end
    local f = rec_hmget(waiting, 'state', 'queue')
    if f[1] == 'queued' then
      redis.call('RPUSH', p .. 'pending:' .. f[2], waiting)
      wake(p, f[2])
      free = free - 1
    end
  end
end

-- Frees the concurrency slot a job of a limited kind held (`name`, `limit`
-- from its record; no limit: nothing to do) and lets the next waiting job go.
local function release(p, now, id, name, limit)
  if not limit then return end
  redis.call('ZREM', p .. 'conc:' .. name, id)
  unblock(p, now, name, limit)
end

-- Stamps a scheduled run's final outcome on its schedule entry (the dead
-- man's switch of inspect and the metrics), unless a later one is there; an
-- entry no beat ever handled is left alone.
local function schedule_outcome(p, name, ok, at)
  local s = packed_load(ENTRIES, name)
  if not s then return end
  local field = ok and 'ok' or 'fail'
  local cur = tonumber(s[field])
  if not cur or cur < at then
    s[field] = ms(at)
    packed_save(ENTRIES, name, s)
  end
end

-- Puts a job in the failed set, which is bounded (failed_max entries,
-- failed_ttl ms; Sidekiq's dead set rule): the oldest beyond either bound
-- are deleted. Returns how many were dropped (at most
-- bound.failed_drop_batch per call).
local function add_failed(p, now, id, max, ttl)
  local fk = FAILED
  local most = bound.failed_drop_batch
  redis.call('ZADD', fk, now, id)
  local old = redis.call('ZRANGEBYSCORE', fk, '-inf', '(' .. ms(now - ttl), 'LIMIT', 0, most)
  local over = redis.call('ZCARD', fk) - #old - max
  if over > 0 then
    local more = redis.call('ZRANGE', fk, #old, #old + math.min(over, most - #old) - 1)
    for _, x in ipairs(more) do old[#old + 1] = x end
  end
  for _, x in ipairs(old) do
    redis.call('ZREM', fk, x)
    redis.call('ZREM', INDEX, x)
    rec_del(x)
  end
  return #old
end

-- The lease reply of take(): {id, attempt, the job's fields as field/value pairs}.
local function leased(jk, id)
  return {id, tonumber(rec_hget(jk, 'attempts')), rec_hgetall(jk)}
end

-- A run is over (finished, put back, recovered): its grant no longer hands
-- anything over, and its key goes (a take's key lives only while its run does).
local function ungrant(p, jk, grant)
  if grant then
    redis.call('HDEL', GRANTS, grant)
    rec_hdel(jk, 'grant')
  end
end

-- take(p, leases, now, expiry, worker, grant, queues) takes the oldest job
-- of the first non-empty queue in `queues` and leases it to `worker` until
-- `expiry`. Jobs found past their expiry on the way are marked expired and
-- skipped (a job that ever started never expires); a job whose kind is at
-- its max_concurrent waits in `{ns}:blocked:<job>` until a slot frees (a
-- lapsed lease frees its slot).
-- `grant` names this take and the run it starts: a caller that lost the
-- reply asks again with the same grant and gets the same job, its lease
-- renewed from now, instead of leaving it leased to nobody. A grant whose
-- run is over takes afresh.
-- A job that expires here keeps its record for its 'ttl' (bound.result_ttl
-- if its record has none).
-- Returns {id, attempt, hash}, nil (nothing queued), or 'more' (it looked at
-- bound.take_steps entries: call again).
local function take(p, leases, now, expiry, worker, grant, queues)
  if #queues == 0 then return nil end
  local granted = redis.call('HGET', GRANTS, grant)
  if granted then
    local jk = granted
    local f = rec_hmget(jk, 'state', 'grant', 'job', 'maxconc')
    if f[1] == 'running' and f[2] == grant then
      redis.call('ZADD', leases, 'XX', expiry, granted)
      if f[4] then
        redis.call('ZADD', p .. 'conc:' .. f[3], expiry, granted)
      end
      return leased(jk, granted)
    end
    redis.call('HDEL', GRANTS, grant)
  end
  -- bounded, to keep the script short behind a pile of expired or waiting
  -- jobs; the caller asks again on 'more'
  local budget = bound.take_steps
  for _, q in ipairs(queues) do
    local pk = p .. 'pending:' .. q
    while true do
      if budget == 0 then return 'more' end
      budget = budget - 1
      local id = redis.call('RPOP', pk)
      if not id then break end
      local jk = id
      local f = rec_hmget(jk, 'state', 'exp', 'ran', 'ttl', 'job', 'maxconc')
      local limit = tonumber(f[6])
      local ck = p .. 'conc:' .. (f[5] or '')
      if f[1] ~= 'queued' then
        -- a stale entry (revoked, deleted): dropped, its slot passed on
        if limit then unblock(p, now, f[5], limit) end
      elseif f[2] and not f[3] and tonumber(f[2]) <= now then
        local ttl = tonumber(f[4]) or bound.result_ttl
        rec_hset(jk, 'state', 'expired', 'finished', ms(now),
          'error', 'expired: not started before its expiry')
        redis.call('ZADD', DONE, now + ttl, id)
        if limit then unblock(p, now, f[5], limit) end
      else
        if limit then
          redis.call('ZREMRANGEBYSCORE', ck, '-inf', '(' .. ms(now))
        end
        if limit and redis.call('ZCARD', ck) >= limit then
          redis.call('RPUSH', p .. 'blocked:' .. f[5], id)
          redis.call('SADD', LIMITED, f[5])
        else
          if limit then
            redis.call('ZADD', ck, expiry, id)
          end
          rec_hincrby(jk, 'attempts', 1)
          rec_hset(jk, 'state', 'running', 'worker', worker, 'started', ms(now), 'ran', '1',
            'grant', grant)
          rec_hdel(jk, 'finished', 'exit', 'http', 'error', 'output', 'outlen', 'due', 'fin')
          redis.call('ZADD', leases, expiry, id)
          redis.call('HSET', GRANTS, grant, id)
          return leased(jk, id)
        end
      end
    end
  end
  return nil
end

-- add(p, now, argv, i, acc) stores the job encoded in argv at index i:
-- id, queue, delay ("" none, "+ms" after now, "@ms" at that instant),
-- expires (ms after it is due, or ""), unique key (or ""), unique window
-- (ms), n, then n field/value pairs of its request. It is enqueued at `now`.
-- Writes that can be batched go into acc (see flush). Returns the index
-- after the job, the job's id (a duplicate's: the holder's) and 1 for a
-- duplicate, else 0.
local function add(p, now, argv, i, acc)
  local id, q, delay, expires, ukey, uwin = argv[i], argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4], argv[i + 5]
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
  local due = now
  local sign = string.sub(delay, 1, 1)
  if sign == '+' then
    due = now + tonumber(string.sub(delay, 2))
  elseif sign == '@' then
    due = math.max(now, tonumber(string.sub(delay, 2)))
  end
  local jk = id
  local enq = ms(now)
  if due > now then
    rec_hset(jk, 'state', 'scheduled', 'queue', q, 'enq', enq, 'attempts', '0', 'lost', '0',
      'due', ms(due), unpack(argv, first, after - 1))
    redis.call('ZADD', DELAYED, due, id)
  else
    rec_hset(jk, 'state', 'queued', 'queue', q, 'enq', enq, 'attempts', '0', 'lost', '0',
      unpack(argv, first, after - 1))
    acc.push[q] = acc.push[q] or {}
    table.insert(acc.push[q], id)
  end
  if expires ~= '' then
    rec_hset(jk, 'exp', ms(due + tonumber(expires)))
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
    redis.call('ZADD', INDEX, unpack(acc.index))
  end
  for q in pairs(acc.seen) do
    redis.call('SADD', QUEUES, q)
  end
  for q, ids in pairs(acc.push) do
    -- LPUSH pushes in argument order, so the first id stays first out (RPOP)
    redis.call('LPUSH', p .. 'pending:' .. q, unpack(ids))
    wake(p, q)
  end
end
