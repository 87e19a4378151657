-- Records how an attempt ended, if its worker still holds the lease; with
-- it, atomically, enqueues the hook job the outcome triggers, stamps a
-- scheduled run's final outcome on its schedule entry, and takes the next
-- job for the slot it freed. Asked again after a lost reply, it reports the
-- outcome recorded and hands over the same next job. (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4]  what to record and take, as a JSON object (FinishArg in
--          transitions.rs); a field left out is none:
--          id, worker      the job and the worker that ran it
--          grant           grant of the run (its lease token)
--          kind            succeeded | failed | retrying | revoked | requeue
--          delay           retrying: due this long after the attempt ended (ms)
--          ttl             succeeded, revoked: result ttl (ms)
--          delete          succeeded: true to delete the record (ignore_result)
--          ran             how long the attempt ran (ms; none: never started)
--          ended_ago       how long ago it ended (ms)
--          exit, http, error, output   what it left ("" or none: nothing)
--          outlen          output bytes in all
--          failed_max, failed_ttl (ms)   the failed set's bounds
--          hook            the hook job, as add() in lib.lua reads it
--          next            the next take: {lease (ms), grant, queues in the
--                          order to try them} (none: take none)
-- returns  {1 recorded or 0 lease lost (nothing written), failed jobs
--          dropped to keep the failed set bounded, the next job as take()
--          returns it}
local p, o = ARGV[1], cjson.decode(ARGV[4])
local now = clock(ARGV[2])
local id, token = o.id, o.grant
local dropped = 0

local function record()
  local jk = id
  local f = rec_hmget(jk, 'state', 'grant', 'attempts', 'queue', 'job', 'maxconc', 'sched', 'fin')
  if f[1] ~= 'running' or f[2] ~= token then
    -- this very outcome, recorded by an earlier call whose reply was lost
    if f[8] == token then return 1 end
    return 0
  end
  redis.call('ZREM', KEYS[1], id)
  ungrant(p, jk, token)
  release(p, now, id, f[5], tonumber(f[6]))
  local kind = o.kind
  if kind == 'requeue' then
    -- a worker shutting down: front of the line, the attempt not counted
    rec_hset(jk, 'state', 'queued', 'fin', token)
    rec_hincrby(jk, 'attempts', -1)
    rec_hdel(jk, 'worker', 'started')
    redis.call('RPUSH', p .. 'pending:' .. f[4], id)
    wake(p, f[4])
    return 1
  end
  if o.hook then
    local acc = accumulator()
    add(p, now, o.hook, 1, acc)
    flush(p, acc)
  end
  local finished = now - o.ended_ago
  if f[7] and (kind == 'succeeded' or kind == 'failed') then
    schedule_outcome(p, f[5], kind == 'succeeded', finished)
  end
  if kind == 'succeeded' and o.delete then
    rec_del(jk)
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
    dropped = add_failed(p, now, id, o.failed_max, o.failed_ttl)
  elseif kind == 'retrying' then
    local due = ms(math.max(now, finished + o.delay))
    rec_hset(jk, 'due', due)
    redis.call('ZADD', DELAYED, due, id)
  end
  return 1
end

local recorded = record()
local nxt = o.next
return {recorded, dropped, nxt and take(p, KEYS[1], now, now + nxt.lease, o.worker, nxt.grant, nxt.queues)}
