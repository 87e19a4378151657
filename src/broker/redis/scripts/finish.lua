-- Records how an attempt ended, if its worker still holds the lease; with
-- it, atomically, puts the hook job the outcome triggers in the outbox,
-- stamps a scheduled run's final outcome on its schedule entry, and takes
-- the next job of this queue for the slot it freed. Asked again after a
-- lost reply, it reports the outcome recorded and hands over the same next
-- job. (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as
-- lib.lua says.)
-- ARGV[5]  what to record and take, as a JSON object (FinishArg in
--          transitions.rs); a field left out is none:
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
-- returns  {1 recorded or 0 lease lost (nothing written), failed jobs
--          dropped to keep the failed set bounded, the outbox entry made
--          for the hook job ("" none: the caller enqueues it, then removes
--          the entry), the outbox entry made for a workflow's step job's
--          final outcome ("" none: the caller applies it to its run, then
--          removes the entry), the next job as take() returns it}
local o = cjson.decode(ARGV[5])
local now = clock(ARGV[2])
local id, token = o.id, o.grant
local dropped = 0
local entry = ''
local report = ''

-- A workflow's step job's final outcome, for its run (runs.lua's advance),
-- as a StepReport in JSON: marked '@' in the outbox.
local function report_for(f, kind)
  local wf = cjson.decode(f[9])
  local r = {run = wf.run, step = wf.step, id = id, job = f[5], state = kind,
    output = o.step_output or o.output or '', truncated = o.step_cut or false}
  if f[10] then r.params = cjson.decode(f[10]) end
  if o.exit then r.exit_code = o.exit end
  return ms(now) .. ' @' .. cjson.encode(r)
end

local function record()
  local jk = id
  local f = rec_hmget(jk, 'state', 'grant', 'attempts', 'queue', 'job', 'maxconc', 'sched', 'fin', 'wf', 'params',
    'worker')
  if f[1] ~= 'running' or f[2] ~= token then
    -- this very outcome, recorded by an earlier call whose reply was lost
    if f[8] == token then return 1 end
    return 0
  end
  redis.call('ZREM', LEASES, id)
  ungrant(jk, token)
  release(now, id, f[5], tonumber(f[6]))
  local kind = o.kind
  if kind == 'requeue' then
    -- a worker shutting down: front of the line, the attempt not counted
    rec_hset(jk, 'state', 'queued', 'fin', token)
    rec_hincrby(jk, 'attempts', -1)
    rec_hdel(jk, 'worker', 'started')
    redis.call('RPUSH', PENDING, id)
    wake()
    return 1
  end
  if o.hook then
    -- stamped, so that maintenance leaves a fresh one to this worker
    entry = ms(now) .. ' ' .. o.hook
    redis.call('RPUSH', OUTBOX, entry)
  end
  if f[9] and (kind == 'succeeded' or kind == 'failed' or kind == 'revoked') then
    report = report_for(f, kind)
    redis.call('RPUSH', OUTBOX, report)
  end
  local finished = now - o.ended_ago
  if kind == 'retrying' then
    remember_attempt(jk, {n = tonumber(f[3]), outcome = 'retried', started = o.ran and ms(finished - o.ran),
      finished = ms(finished), exit = o.exit, http = o.http,
      error = clip(o.error, 300), worker = f[11] or nil})
  end
  if kind == 'revoked' then
    -- cut short: its run time says nothing of the job's
    tally(now, f[5], kind)
  else
    tally(now, f[5], kind == 'retrying' and 'retried' or kind, o.ran)
  end
  if f[7] and (kind == 'succeeded' or kind == 'failed') then
    schedule_outcome(f[5], kind == 'succeeded', finished)
  end
  if kind == 'succeeded' and o.delete then
    -- in the record's place, until its ttl is over (purge_results.lua)
    packed_save(JOBS, jk, {gone = '1', job = f[5], finished = ms(finished)})
    redis.call('ZADD', DONE, now + o.ttl, id)
    redis.call('ZREM', INDEX, id)
    return 1
  end
  rec_hset(jk, 'state', kind, 'finished', ms(finished), 'fin', token)
  rec_hdel(jk, 'revoke')
  if o.ran then
    rec_hset(jk, 'started', ms(finished - o.ran))
  end
  for _, name in ipairs({'exit', 'http', 'error', 'output'}) do
    local v = o[name]
    if v and v ~= '' then
      rec_hset(jk, name, v)
    else
      rec_hdel(jk, name)
    end
  end
  rec_hset(jk, 'outlen', o.outlen)
  if kind == 'succeeded' or kind == 'revoked' then
    redis.call('ZADD', DONE, now + o.ttl, id)
  elseif kind == 'failed' then
    dropped = add_failed(now, id, o.failed_max, o.failed_ttl)
  elseif kind == 'retrying' then
    local due = ms(math.max(now, finished + o.delay))
    rec_hset(jk, 'due', due)
    redis.call('ZADD', DELAYED, due, id)
  end
  return 1
end

local recorded = record()
local nxt = o.next
return {recorded, dropped, entry, report, nxt and take(now, now + nxt.lease, o.worker, nxt.grant)}
