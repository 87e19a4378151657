-- Requeues the queue's running jobs whose lease lapsed: their worker is
-- gone. A job lost max_redeliveries times is a poison job and fails as
-- "worker lost"; one whose termination was asked for (revoke --terminate)
-- is revoked.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- ARGV[5]  failed_max, ARGV[6] failed_ttl (ms): the failed set's bounds
-- returns  {failed jobs dropped to keep the failed set bounded, then pairs:
--          id, new state ("queued", "failed" or "revoked")}; at most
--          bound.move_batch jobs per call
-- A lapsed run is over: its grant no longer hands anything over, and its
-- key goes (a take's key lives only while its run does). (Here, not in
-- lib.lua: only this script uses it, and every script makes lib.lua's
-- functions again on each call.)
local function ungrant(id, grant)
  if grant then
    redis.call('HDEL', GRANTS, grant)
    rec_hdel(id, 'grant')
  end
end

local function rec_hincrby(id, name, by)
  local r = rec_load(id) or {}
  local v = (tonumber(r[name]) or 0) + tonumber(by)
  r[name] = string.format('%d', v)
  rec_save(id, r)
  return v
end

local now = clock(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', LEASES, '-inf', '(' .. ms(now), 'LIMIT', 0, bound.move_batch)
local dropped = 0
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', LEASES, id)
  local f = rec_hmget(id, 'state', 'queue', 'maxred', 'revoke', 'ttl', 'job', 'maxconc', 'sched', 'grant',
    'attempts', 'worker', 'started')
  if f[1] == 'running' then
    ungrant(id, f[9])
    release(now, id, f[6], tonumber(f[7]))
    local state
    if f[4] == '1' then
      state = 'revoked'
      local ttl = tonumber(f[5]) or bound.result_ttl
      rec_hset(id, 'state', 'revoked', 'finished', ms(now), 'error', 'revoked: terminated (its worker was lost)')
      rec_hdel(id, 'revoke')
      redis.call('ZADD', DONE, now + ttl, id)
    else
      local lost = rec_hincrby(id, 'lost', 1)
      if lost >= (tonumber(f[3]) or bound.max_redeliveries) then
        state = 'failed'
        rec_hset(id, 'state', 'failed', 'finished', ms(now),
          'error', 'worker lost: its worker stopped renewing the lease ' .. lost .. ' times')
        dropped = dropped + add_failed(now, id, tonumber(ARGV[5]), tonumber(ARGV[6]))
        if f[8] then schedule_outcome(f[6], false, now) end
      else
        state = 'queued'
        remember_attempt(id, {n = tonumber(f[10]), outcome = 'lost', started = f[12] or nil, finished = ms(now),
          error = 'its worker stopped renewing the lease', worker = f[11] or nil})
        rec_hset(id, 'state', 'queued')
        rec_hdel(id, 'worker')
        redis.call('RPUSH', PENDING, id)
        wake()
      end
    end
    tally(now, f[6], state == 'queued' and 'lost' or state)
    out[#out + 1] = id
    out[#out + 1] = state
  end
end
table.insert(out, 1, dropped)
return out
