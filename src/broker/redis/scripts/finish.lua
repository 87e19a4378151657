-- Records how an attempt ended, if its worker still holds the lease; with
-- it, atomically, puts the hook job the outcome triggers in the outbox,
-- stamps a scheduled run's final outcome on its schedule entry, and takes
-- the next job of this queue for the slot it freed. Asked again after a
-- lost reply, it reports the outcome recorded and hands over the same next
-- job. (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as
-- lib.lua says.)
-- ARGV[5..] per attempt, two arguments (several slots' finishes in one
--          call: finishes.rs): how long its finish waited in the worker
--          for this call (ms, added to ended_ago), then what to record and
--          take, as a JSON object (FinishArg in transitions.rs); a field
--          left out is none:
--          id, worker      the job and the worker that ran it
--          grant           grant of the run (its lease token)
--          kind            succeeded | failed | retrying | revoked | requeue
--          delay           retrying: due this long after the attempt ended (ms)
--          ttl             succeeded, revoked: result ttl (ms)
--          delete          succeeded: true to delete the record (ignore_result),
--                          leaving a tombstone for ttl: {gone, job, finished}
--          ran             how long the attempt ran (ms; none: never started)
--          ended_ago       how long ago it ended (ms)
--          exit, http, error, output   what it left ("" or none: nothing)
--          outlen          output bytes in all
--          step_output     a workflow step's job: what its run's next step
--                          reads (none: the output), and step_cut, true
--                          if that was cut to its tail
--          failed_max, failed_ttl (ms)   the failed set's bounds
--          hook            the hook job, as outbox.rs writes it
--          next            the next take from this queue: {lease (ms),
--                          grant} (none: take none)
-- returns  per attempt, in ARGV's order, as far as it got (once its loops
--          took more than one take's bound of steps, the rest are left for
--          the caller's next call; the first is always handled), either a
--          script error's text (that attempt's alone; Redis 7) or {1
--          recorded or 0 lease lost (nothing written), failed jobs dropped
--          to keep the failed set bounded, the outbox entry made for the
--          hook job ("" none: the caller enqueues it, then removes the
--          entry), the outbox entry made for a workflow's step job's final
--          outcome ("": none; the caller applies it to its run, then
--          removes the entry), the next job as take() returns it}
local now = clock(ARGV[2])

-- A workflow's step job's final outcome, for its run (runs.lua's advance),
-- as a StepReport in JSON: marked '@' in the outbox.
local function report_for(o, rec, kind)
  local wf = cjson.decode(rec.wf)
  local r = {run = wf.run, step = wf.step, id = o.id, job = rec.job, state = kind,
    output = o.step_output or o.output or '', truncated = o.step_cut or false}
  if rec.params then r.params = cjson.decode(rec.params) end
  if o.exit then r.exit_code = o.exit end
  return ms(now) .. ' @' .. cjson.encode(r)
end

-- Records attempt `o`; returns 1 recorded (or 0 lease lost), failed jobs
-- dropped, and the outbox entries made for its hook and its run.
local function record(o)
  local id, token = o.id, o.grant
  local dropped, entry, report = 0, '', ''
  local jk = id
  -- the record is read and written once: this is every job's path
  local r = rec_load(jk)
  if not r or r.state ~= 'running' or r.grant ~= token then
    -- this very outcome, recorded by an earlier call whose reply was lost
    if r and r.fin == token then return 1, 0, '', '' end
    return 0, 0, '', ''
  end
  redis.call('ZREM', LEASES, id)
  redis.call('HDEL', GRANTS, token)
  r.grant = nil
  release(now, id, r.job, tonumber(r.maxconc))
  local kind = o.kind
  if kind == 'requeue' then
    -- a worker shutting down: front of the line, the attempt not counted
    rec_put(r, 'state', 'queued', 'fin', token, 'attempts', (tonumber(r.attempts) or 0) - 1)
    r.worker, r.started = nil, nil
    rec_save(jk, r)
    redis.call('RPUSH', PENDING, id)
    wake()
    return 1, dropped, entry, report
  end
  if o.hook then
    -- stamped, so that maintenance leaves a fresh one to this worker
    entry = ms(now) .. ' ' .. o.hook
    redis.call('RPUSH', OUTBOX, entry)
  end
  if r.wf and (kind == 'succeeded' or kind == 'failed' or kind == 'revoked') then
    report = report_for(o, r, kind)
    redis.call('RPUSH', OUTBOX, report)
  end
  local finished = now - o.ended_ago
  if kind == 'retrying' then
    add_attempt(r, {n = tonumber(r.attempts), outcome = 'retried', started = o.ran and ms(finished - o.ran),
      finished = ms(finished), exit = o.exit, http = o.http,
      error = clip(o.error, 300), worker = r.worker or nil})
  end
  if kind == 'revoked' then
    -- cut short: its run time says nothing of the job's
    tally(now, r.job, kind)
  else
    tally(now, r.job, kind == 'retrying' and 'retried' or kind, o.ran)
  end
  if r.sched and (kind == 'succeeded' or kind == 'failed') then
    schedule_outcome(r.job, kind == 'succeeded', finished)
  end
  if kind == 'succeeded' and o.delete then
    -- in the record's place, until its ttl is over (purge_results.lua)
    packed_save(JOBS, jk, {gone = '1', job = r.job, finished = ms(finished)})
    redis.call('ZADD', DONE, now + o.ttl, id)
    redis.call('ZREM', INDEX, id)
    return 1, dropped, entry, report
  end
  rec_put(r, 'state', kind, 'finished', ms(finished), 'fin', token, 'outlen', o.outlen)
  r.revoke = nil
  if o.ran then
    rec_put(r, 'started', ms(finished - o.ran))
  end
  for _, name in ipairs({'exit', 'http', 'error', 'output'}) do
    local v = o[name]
    if v and v ~= '' then
      rec_put(r, name, v)
    else
      r[name] = nil
    end
  end
  if kind == 'retrying' then
    local due = ms(math.max(now, finished + o.delay))
    rec_put(r, 'due', due)
    rec_save(jk, r)
    redis.call('ZADD', DELAYED, due, id)
    return 1, dropped, entry, report
  end
  rec_save(jk, r)
  if kind == 'succeeded' or kind == 'revoked' then
    redis.call('ZADD', DONE, now + o.ttl, id)
  elseif kind == 'failed' then
    -- after the save: add_failed may delete records, this one among them
    dropped = add_failed(now, id, o.failed_max, o.failed_ttl)
  end
  return 1, dropped, entry, report
end

-- Attempt `o` recorded, and its slot's next job taken.
local function one(o)
  local recorded, dropped, entry, report = record(o)
  local nxt = o.next
  return {recorded, dropped, entry, report, nxt and take(now, now + nxt.lease, o.worker, nxt.grant)}
end

local replies = {}
for i = 5, #ARGV, 2 do
  if i > 5 and spent >= bound.take_steps then break end
  local o = cjson.decode(ARGV[i + 1])
  o.ended_ago = o.ended_ago + tonumber(ARGV[i])
  -- A script error of one attempt (a damaged record: this script's own,
  -- 'user_script:<line>: ...') is its own, sent as its reply's text. A
  -- command the server refused (out of memory, no disk, a replica) fails
  -- the call, as it would fail a finish alone: raised again as Redis 7
  -- raises it, a table whose err the server answers with (Redis's pcall
  -- gives the text). On 6.2 (no redis.REDIS_VERSION) every error fails
  -- the call, as before.
  local ok, reply = pcall(one, o)
  if not ok then
    if not redis.REDIS_VERSION or type(reply) ~= 'string' or not string.find(reply, '^user_script:') then
      error(redis.REDIS_VERSION and type(reply) == 'string' and {err = reply} or reply, 0)
    end
  end
  replies[#replies + 1] = reply
end
return replies
