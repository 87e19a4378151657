-- Shared by the scripts of a queue (prepended to each, after common.lua).
-- A queue's keys share its hash tag {ns/q} (src/broker/keys.rs), so a
-- script of one queue runs in one slot, and is given every key it touches:
--
-- KEYS[1..14] the queue's keys, in the order of QUEUE_KEYS in keys.rs
-- ARGV[1]  the namespace's wake-up channel, {ns}:wake
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
-- ARGV[4]  the queue's name
-- A script's own arguments follow, from ARGV[5].
local bound = cjson.decode(ARGV[3])
-- Steps this call's bounded loops took so far (take, unblock, add_failed's
-- drops): finish.lua, carrying several slots' finishes, leaves the rest to
-- the next call once they pass one take's bound.
local spent = 0
local QUEUE = ARGV[4]

-- queued ids: LPUSH to enqueue, RPOP to take (RPUSH: to the front)
local PENDING = KEYS[1]
-- Job records: one field per job, its id, holding the job's fields packed
-- (cmsgpack). These mirror the hash commands a record once was: a missing
-- field reads as false, as HMGET's nil does in Lua.
local JOBS = KEYS[2]
-- per grant of a run under way, the job it took
local GRANTS = KEYS[3]
-- per schedule entry whose job runs here, beat's state of it, packed as job
-- records are: last tick, spec, last job, fired and skipped counts, the last
-- skip's reason, the last success and failure (ok, fail), and until when it
-- is kept (keep) if no tick comes.
local ENTRIES = KEYS[4]
-- sorted sets of ids: every live one by enqueue time; finished ones by
-- result expiry; scheduled and retrying ones by due time; running ones by
-- lease expiry; failed ones by failure time
local INDEX = KEYS[5]
local DONE = KEYS[6]
local DELAYED = KEYS[7]
local LEASES = KEYS[8]
local FAILED = KEYS[9]
-- per job name with max_concurrent, its runs holding a slot and the expiry
-- of their leases, packed ({id = expiry}): a lapsed lease frees its slot
local RUNNING = KEYS[10]
-- jobs waiting for a concurrency slot: members '<job>\0<ms, 15 digits>\0<id>'
-- at score 0, so a job's waiting ones are a lex range, oldest first
local BLOCKED = KEYS[11]
-- hook jobs an outcome triggered, for the caller to enqueue on their own
-- queue (another slot) and then remove: an entry left by a lost worker is
-- enqueued by maintenance (enqueueing a known id twice is harmless)
local OUTBOX = KEYS[12]
-- set once the queue is listed in the namespace's {ns}:queues
local KNOWN = KEYS[13]

-- Per job, its statistics (src/broker/stats.rs), in two rings of packed
-- (cmsgpack) fields: '<job>|m<minute mod 60>' holds {minute, {counter = n}}
-- for one minute of Unix time, '<job>|h<hour mod 24>' {hour, counters} for
-- an hour. An ending is counted in its minute only; a minute's field found
-- holding an older minute is first added to that minute's hour, so the hot
-- path writes one field, and an hour's field once a minute per job
-- (stats.lua reads a minute not yet added as part of its hour). The hash
-- never grows past 84 fields per job; stats.lua deletes the stale ones.
local STATS = KEYS[14]

local function add_to_hour(now, name, minute, counters)
  local h = math.floor(minute / 60)
  if h <= math.floor(now / 3600000) - 24 then return end
  local field = name .. '|h' .. (h % 24)
  local packed = redis.call('HGET', STATS, field)
  local c = packed and cmsgpack.unpack(packed)
  if not c or c[1] ~= h then c = {h, {}} end
  for k, n in pairs(counters) do c[2][k] = (c[2][k] or 0) + n end
  redis.call('HSET', STATS, field, cmsgpack.pack(c))
end

-- Counts one ending of job `name` ('succeeded', 'failed', 'retried',
-- 'expired', 'revoked', 'lost') at `now`, with its run time `ran` (ms) if
-- it is timed (nil: not).
local function tally(now, name, ending, ran)
  local m = math.floor(now / 60000)
  local field = name .. '|m' .. (m % 60)
  local packed = redis.call('HGET', STATS, field)
  local c = packed and cmsgpack.unpack(packed)
  if c and c[1] ~= m then
    add_to_hour(now, name, c[1], c[2])
    c = nil
  end
  c = c or {m, {}}
  local n = c[2]
  n[ending] = (n[ending] or 0) + 1
  if ran then
    n.ms = (n.ms or 0) + ran
    local d = 'd' .. math.floor(math.log(ran + 1) / math.log(2) * 4)
    n[d] = (n[d] or 0) + 1
  end
  redis.call('HSET', STATS, field, cmsgpack.pack(c))
end

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

-- Sets fields of a loaded record, which its caller saves once after all
-- its changes.
local function rec_put(r, ...)
  local args = {...}
  for i = 1, #args, 2 do
    local v = args[i + 1]
    -- ms instants are past 14 digits, where tostring would write an exponent
    if type(v) == 'number' and v == math.floor(v) then v = string.format('%d', v) end
    r[args[i]] = tostring(v)
  end
end

local function rec_hset(id, ...)
  local r = rec_load(id) or {}
  rec_put(r, ...)
  rec_save(id, r)
end

-- At most n bytes of s, not cutting a UTF-8 character.
local function clip(s, n)
  if not s or #s <= n then return s end
  return (string.gsub(string.sub(s, 1, n), '[\192-\255][\128-\191]*$', ''))
end

-- An attempt that another follows (retried, or lost with its worker) joins
-- the record's history, a JSON list of the newest 20 (job::MAX_HISTORY);
-- the last attempt is the record's own fields.
local function add_attempt(r, entry)
  local list = r.hist and cjson.decode(r.hist) or {}
  list[#list + 1] = entry
  while #list > 20 do table.remove(list, 1) end
  r.hist = cjson.encode(list)
end

local function remember_attempt(id, entry)
  local r = rec_load(id)
  if not r then return end
  add_attempt(r, entry)
  rec_save(id, r)
end

local function rec_hdel(id, ...)
  local r = rec_load(id)
  if not r then return end
  for _, name in ipairs({...}) do r[name] = nil end
  rec_save(id, r)
end

-- The record as HGETALL gave it.
local function rec_hgetall(id)
  return flat(rec_load(id) or {})
end

local function rec_del(id)
  redis.call('HDEL', JOBS, id)
end

-- Wake-ups are best effort: a server that refuses the channel (an ACL user
-- without channel rights) must not fail a script after its writes. Idle
-- workers look again within a second anyway.
local function wake()
  redis.pcall('PUBLISH', ARGV[1], QUEUE)
end

-- The runs of job `name` holding a concurrency slot, those whose lease
-- lapsed left out; and how many there are.
local function running(name, now)
  local runs = packed_load(RUNNING, name) or {}
  local n = 0
  for id, expiry in pairs(runs) do
    if tonumber(expiry) < now then runs[id] = nil else n = n + 1 end
  end
  return runs, n
end

local function save_running(name, runs)
  if next(runs) == nil then
    redis.call('HDEL', RUNNING, name)
  else
    packed_save(RUNNING, name, runs)
  end
end

-- A run of `name` holds (or renews) a slot until `expiry`.
local function hold(name, id, expiry, now)
  local runs = running(name, now)
  runs[id] = ms(expiry)
  save_running(name, runs)
end

-- A job waits for a slot of its kind: its place is kept in its record
-- ('blk'), so a revoke can take it out of line.
local function block(id, name, now)
  local member = name .. '\0' .. string.format('%015d', now) .. '\0' .. id
  redis.call('ZADD', BLOCKED, 0, member)
  rec_hset(id, 'blk', member)
end

-- Lets jobs waiting for a concurrency slot of job `name` back to the front
-- of the queue, as many as there are free slots. take() calls it again
-- whenever it drops a job of a limited kind (expired, revoked), so a waiting
-- job that cannot run never strands the ones behind it. Letting one too
-- many back is harmless: take() parks it again.
local function unblock(now, name, limit)
  local _, n = running(name, now)
  local free = limit - n
  -- bounded, to keep the script short behind a pile of stale entries
  for _ = 1, bound.unblock_steps do
    if free <= 0 then return end
    spent = spent + 1
    local first = redis.call('ZRANGEBYLEX', BLOCKED, '[' .. name .. '\0', '(' .. name .. '\1', 'LIMIT', 0, 1)[1]
    if not first then return end
    redis.call('ZREM', BLOCKED, first)
    -- (Lua 5.1's patterns write \0 as %z)
    local waiting = string.match(first, '%z%d+%z(.*)$')
    local f = rec_hmget(waiting, 'state', 'blk')
    if f[1] == 'queued' and f[2] == first then
      rec_hdel(waiting, 'blk')
      redis.call('RPUSH', PENDING, waiting)
      wake()
      free = free - 1
    end
  end
end

-- Frees the concurrency slot a job of a limited kind held (`name`, `limit`
-- from its record; no limit: nothing to do) and lets the next waiting job go.
local function release(now, id, name, limit)
  if not limit then return end
  local runs = running(name, now)
  runs[id] = nil
  save_running(name, runs)
  unblock(now, name, limit)
end

-- Stamps a scheduled run's final outcome on its schedule entry (the dead
-- man's switch of inspect and the metrics), unless a later one is there; an
-- entry no beat ever handled is left alone.
local function schedule_outcome(name, ok, at)
  local s = packed_load(ENTRIES, name)
  if not s then return end
  local field = ok and 'ok' or 'fail'
  local cur = tonumber(s[field])
  if not cur or cur < at then
    s[field] = ms(at)
    packed_save(ENTRIES, name, s)
  end
end

-- Puts a job in the queue's failed set, which is bounded (failed_max
-- entries, failed_ttl ms; Sidekiq's dead set rule): the oldest beyond either
-- bound are deleted. The bound is the namespace's: maintenance trims across
-- queues (a queue alone never holds more). Returns how many were dropped (at
-- most bound.failed_drop_batch per call).
local function add_failed(now, id, max, ttl)
  local most = bound.failed_drop_batch
  redis.call('ZADD', FAILED, now, id)
  local old = redis.call('ZRANGEBYSCORE', FAILED, '-inf', '(' .. ms(now - ttl), 'LIMIT', 0, most)
  local over = redis.call('ZCARD', FAILED) - #old - max
  if over > 0 then
    local more = redis.call('ZRANGE', FAILED, #old, #old + math.min(over, most - #old) - 1)
    for _, x in ipairs(more) do old[#old + 1] = x end
  end
  spent = spent + #old
  for _, x in ipairs(old) do
    redis.call('ZREM', FAILED, x)
    redis.call('ZREM', INDEX, x)
    rec_del(x)
  end
  return #old
end

-- What take() sends of the job it leases, as field/value pairs: its request
-- (the fields `request_from` in fields.rs reads), not the rest of its
-- record, which would only be sent to be dropped (each field is an
-- allocation of the worker's for every job).
local function request(r)
  local out = {}
  for _, k in ipairs({'job', 'queue', 'args', 'params', 'delay', 'expires', 'ukey', 'uwin', 'sched', 'trigger', 'wf',
    'maxred', 'maxconc', 'ttl'}) do
    local v = r[k]
    if v then
      out[#out + 1] = k
      out[#out + 1] = v
    end
  end
  return out
end

local function leased(id)
  local r = rec_load(id) or {}
  return {id, tonumber(r.attempts), request(r)}
end

-- take(now, expiry, worker, grant) takes the oldest job of the queue and
-- leases it to `worker` until `expiry`. Jobs found past their expiry on the
-- way are marked expired and skipped (a job that ever started never
-- expires); a job whose kind is at its max_concurrent waits in BLOCKED
-- until a slot frees (a lapsed lease frees its slot).
-- `grant` names this take and the run it starts: a caller that lost the
-- reply asks again with the same grant and gets the same job, its lease
-- renewed from now, instead of leaving it leased to nobody. A grant whose
-- run is over takes afresh.
-- A job that expires here keeps its record for its 'ttl' (bound.result_ttl
-- if its record has none).
-- Returns {id, attempt, request fields}, nil (nothing queued), or 'more' (it
-- looked at bound.take_steps entries: call again).
local function take(now, expiry, worker, grant)
  local granted = redis.call('HGET', GRANTS, grant)
  if granted then
    local f = rec_hmget(granted, 'state', 'grant', 'job', 'maxconc')
    if f[1] == 'running' and f[2] == grant then
      redis.call('ZADD', LEASES, 'XX', expiry, granted)
      if f[4] then hold(f[3], granted, expiry, now) end
      return leased(granted)
    end
    redis.call('HDEL', GRANTS, grant)
  end
  -- bounded, to keep the script short behind a pile of expired or waiting
  -- jobs; the caller asks again on 'more'
  for _ = 1, bound.take_steps do
    spent = spent + 1
    local id = redis.call('RPOP', PENDING)
    if not id then return nil end
    -- the record is read and written once: this is every job's path
    local r = rec_load(id)
    local limit = r and tonumber(r.maxconc)
    if not r or r.state ~= 'queued' then
      -- a stale entry (revoked, deleted): dropped, its slot passed on
      if limit then unblock(now, r.job, limit) end
    elseif r.exp and not r.ran and tonumber(r.exp) <= now then
      local ttl = tonumber(r.ttl) or bound.result_ttl
      rec_put(r, 'state', 'expired', 'finished', ms(now), 'error', 'expired: not started before its expiry')
      rec_save(id, r)
      tally(now, r.job, 'expired')
      redis.call('ZADD', DONE, now + ttl, id)
      if limit then unblock(now, r.job, limit) end
    else
      local n = 0
      if limit then n = select(2, running(r.job, now)) end
      if limit and n >= limit then
        block(id, r.job, now)
      else
        if limit then hold(r.job, id, expiry, now) end
        local attempt = (tonumber(r.attempts) or 0) + 1
        rec_put(r, 'attempts', attempt, 'state', 'running', 'worker', worker, 'started', ms(now), 'ran', '1',
          'grant', grant)
        r.finished, r.exit, r.http, r.error, r.output, r.outlen, r.due, r.fin = nil, nil, nil, nil, nil, nil, nil, nil
        rec_save(id, r)
        redis.call('ZADD', LEASES, expiry, id)
        redis.call('HSET', GRANTS, grant, id)
        return {id, attempt, request(r)}
      end
    end
  end
  return 'more'
end

-- add(now, argv, i, acc) stores the job encoded in argv at index i: id,
-- delay ("" none, "+ms" after now, "@ms" at that instant), expires (ms
-- after it is due, or ""), n, then n field/value pairs of its request. It
-- is enqueued at `now` on this queue. A job whose id is already here is left
-- as it is (a hook job enqueued again from an outbox). Its unique key, if
-- any, was claimed by the caller (the claim is the namespace's). Writes
-- that can be batched go into acc (see flush). Returns the index after the
-- job and the job's id.
local function add(now, argv, i, acc)
  local id, delay, expires = argv[i], argv[i + 1], argv[i + 2]
  local n = tonumber(argv[i + 3])
  local first = i + 4
  local after = first + 2 * n
  local due = now
  local sign = string.sub(delay, 1, 1)
  if sign == '+' then
    due = now + tonumber(string.sub(delay, 2))
  elseif sign == '@' then
    due = math.max(now, tonumber(string.sub(delay, 2)))
  end
  local enq = ms(now)
  local r = {queue = QUEUE, enq = enq, attempts = '0', lost = '0'}
  rec_put(r, unpack(argv, first, after - 1))
  r.state = 'queued'
  if due > now then
    r.state, r.due = 'scheduled', ms(due)
  end
  if expires ~= '' then
    r.exp = ms(due + tonumber(expires))
  end
  -- written once, and only if new: an id already here is left as it is
  if redis.call('HSETNX', JOBS, id, cmsgpack.pack(r)) == 0 then
    return after, id
  end
  if due > now then
    redis.call('ZADD', DELAYED, due, id)
  else
    acc.push[#acc.push + 1] = id
  end
  acc.index[#acc.index + 1] = enq
  acc.index[#acc.index + 1] = id
  return after, id
end

local function accumulator()
  return {push = {}, index = {}}
end

-- Writes what add() batched: one ZADD, one LPUSH and a wake-up. Returns 1
-- if the queue is known to the namespace, else 0 (the caller lists it).
local function flush(acc)
  if #acc.index > 0 then
    redis.call('ZADD', INDEX, unpack(acc.index))
  end
  if #acc.push > 0 then
    -- LPUSH pushes in argument order, so the first id stays first out (RPOP)
    redis.call('LPUSH', PENDING, unpack(acc.push))
    wake()
  end
  return redis.call('EXISTS', KNOWN)
end
