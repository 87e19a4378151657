-- Workflow runs (src/broker/runs.rs has the state machine; redis/runs.rs
-- the reads). Every run of a namespace lives in the one slot {ns/_runs}.
-- (common.lua is prepended.)
-- KEYS[1]  runs: per run id, its state as JSON: state, step (the first
--          step not complete), steps (how many), enq and fin (ms), cause
--          (the report that failed it, JSON), settled (1: follow-ups done),
--          wf (the workflow's name)
-- KEYS[2]  heads: per run id, the run as started (NewRun, JSON)
-- KEYS[3]  steps: '<run>/<step>' the ids it launched (JSON array),
--          '<run>/<step>#n' how many, '<run>/<step>#done' how many succeeded
-- KEYS[4]  members: '<run>/<id>' how that member ended (StepReport, JSON)
-- KEYS[5]  open: runs not settled, by the ms of their last change or look
-- KEYS[6]  index: every run by its start (ms), for list
-- KEYS[7]  expiry: settled runs by when they are deleted (ms)
-- ARGV[1]  clock shift (ms; see clock())
-- ARGV[2]  what to do; its arguments follow:
--   start    id, head, steps, first step's ids (JSON array, '' none),
--            the workflow's name (kept in the state as wf, for counts)
--            returns 1 if stored, 0 if the run exists (then touched, if open)
--   advance  a StepReport (JSON); returns 1 if recorded, 2 if that also
--            completed its step or ended the run
--   launched run, step, ids (JSON array), their count; returns 1 if recorded
--   revoke   id; returns 1 if it was running, 0 if not, nil if unknown
--   settle   id
--   open     idle (ms), limit; returns the ids, marked looked at now
--   purge    returns how many expired runs it deleted (at most 100)
local RUNS = KEYS[1]
local HEADS = KEYS[2]
local STEPS = KEYS[3]
local MEMBERS = KEYS[4]
local OPEN = KEYS[5]
local INDEX = KEYS[6]
local EXPIRY = KEYS[7]
local now = clock(ARGV[1])
local op = ARGV[2]

local function load(id)
  local s = redis.call('HGET', RUNS, id)
  if s then return cjson.decode(s) end
  return nil
end

local function save(id, r)
  redis.call('HSET', RUNS, id, cjson.encode(r))
  if r.settled ~= 1 then redis.call('ZADD', OPEN, now, id) end
end

-- While the current step is launched and every one of its ids succeeded,
-- on to the next; after the last, the run succeeded.
local function move_on(id, r)
  while r.state == 'running' and r.step < r.steps do
    local key = id .. '/' .. r.step
    local need = redis.call('HGET', STEPS, key .. '#n')
    if not need then return end
    local done = tonumber(redis.call('HGET', STEPS, key .. '#done') or '0')
    if done < tonumber(need) then return end
    r.step = r.step + 1
    if r.step >= r.steps then
      r.state = 'succeeded'
      r.fin = ms(now)
    end
  end
end

-- Recorded even in a run that ended meanwhile (revoked during the
-- launch): what it launched is then cancelled, so it must be known.
local function launch(id, r, step, ids, n)
  local key = id .. '/' .. step
  if r.step ~= step or redis.call('HEXISTS', STEPS, key .. '#n') == 1 then
    return 0
  end
  redis.call('HSET', STEPS, key, ids, key .. '#n', n)
  move_on(id, r)
  return 1
end

if op == 'start' then
  local id = ARGV[3]
  local was = load(id)
  if was then
    -- touched: its starter is still at work (enqueue --batch --then)
    if was.settled ~= 1 then redis.call('ZADD', OPEN, now, id) end
    return 0
  end
  redis.call('HSET', HEADS, id, ARGV[4])
  local r = {state = 'running', step = 0, steps = tonumber(ARGV[5]), enq = ms(now), settled = 0, wf = ARGV[7]}
  if ARGV[6] ~= '' then
    launch(id, r, 0, ARGV[6], #cjson.decode(ARGV[6]))
  end
  save(id, r)
  redis.call('ZADD', INDEX, now, id)
  return 1
elseif op == 'advance' then
  local rep = cjson.decode(ARGV[3])
  local r = load(rep.run)
  if not r then return 0 end
  if redis.call('HSETNX', MEMBERS, rep.run .. '/' .. rep.id, ARGV[3]) == 0 then return 0 end
  if rep.state == 'succeeded' then
    redis.call('HINCRBY', STEPS, rep.run .. '/' .. rep.step .. '#done', 1)
  end
  local moved = 1
  if r.state == 'running' then
    local was = r.step
    if rep.state == 'succeeded' then
      move_on(rep.run, r)
    else
      r.state = 'failed'
      r.fin = ms(now)
      r.cause = ARGV[3]
    end
    if r.step ~= was or r.state ~= 'running' then moved = 2 end
  end
  save(rep.run, r)
  return moved
elseif op == 'launched' then
  local id = ARGV[3]
  local r = load(id)
  if not r then return 0 end
  local added = launch(id, r, tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]))
  if added == 1 then save(id, r) end
  return added
elseif op == 'revoke' then
  local id = ARGV[3]
  local r = load(id)
  if not r then return nil end
  if r.state ~= 'running' then return 0 end
  r.state = 'revoked'
  r.fin = ms(now)
  save(id, r)
  return 1
elseif op == 'settle' then
  local id = ARGV[3]
  local r = load(id)
  if not r or r.state == 'running' or r.settled == 1 then return 0 end
  local head = cjson.decode(redis.call('HGET', HEADS, id) or '{}')
  r.settled = 1
  save(id, r)
  redis.call('ZREM', OPEN, id)
  redis.call('ZADD', EXPIRY, now + (tonumber(head.ttl) or 0), id)
  return 1
elseif op == 'open' then
  local ids = redis.call('ZRANGEBYSCORE', OPEN, '-inf', '(' .. ms(now - tonumber(ARGV[3])), 'LIMIT', 0, tonumber(ARGV[4]))
  for _, id in ipairs(ids) do redis.call('ZADD', OPEN, now, id) end
  return ids
elseif op == 'purge' then
  local ids = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', ms(now), 'LIMIT', 0, 100)
  for _, id in ipairs(ids) do
    local r = load(id)
    for s = 0, ((r and r.steps) or 0) - 1 do
      local key = id .. '/' .. s
      local launched = redis.call('HGET', STEPS, key)
      if launched then
        for _, member in ipairs(cjson.decode(launched)) do redis.call('HDEL', MEMBERS, id .. '/' .. member) end
      end
      redis.call('HDEL', STEPS, key, key .. '#n', key .. '#done')
    end
    redis.call('HDEL', RUNS, id)
    redis.call('HDEL', HEADS, id)
    redis.call('ZREM', INDEX, id)
    redis.call('ZREM', EXPIRY, id)
    redis.call('ZREM', OPEN, id)
  end
  return #ids
end
return redis.error_reply('runs.lua: unknown operation ' .. tostring(op))
