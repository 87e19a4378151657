-- Requeues running jobs whose lease lapsed: their worker is gone. A job
-- lost max_redeliveries times is a poison job and fails as "worker lost";
-- one whose termination was asked for (revoke --terminate) is revoked.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4]  failed_max, ARGV[5] failed_ttl (ms): the failed set's bounds
-- returns  {failed jobs dropped to keep the failed set bounded, then pairs:
--          id, new state ("queued", "failed" or "revoked")}; at most
--          bound.move_batch jobs per call
local p = ARGV[1]
local now = clock(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ms(now), 'LIMIT', 0, bound.move_batch)
local dropped = 0
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local jk = id
  local f = rec_hmget(jk, 'state', 'queue', 'maxred', 'revoke', 'ttl', 'job', 'maxconc', 'sched', 'grant')
  if f[1] == 'running' then
    ungrant(p, jk, f[9])
    release(p, now, id, f[6], tonumber(f[7]))
    local state
    if f[4] == '1' then
      state = 'revoked'
      local ttl = tonumber(f[5]) or bound.result_ttl
      rec_hset(jk, 'state', 'revoked', 'finished', ms(now), 'error', 'revoked: terminated (its worker was lost)')
      rec_hdel(jk, 'revoke')
      redis.call('ZADD', DONE, now + ttl, id)
    else
      local lost = rec_hincrby(jk, 'lost', 1)
      if lost >= (tonumber(f[3]) or bound.max_redeliveries) then
        state = 'failed'
        rec_hset(jk, 'state', 'failed', 'finished', ms(now),
          'error', 'worker lost: its worker stopped renewing the lease ' .. lost .. ' times')
        dropped = dropped + add_failed(p, now, id, tonumber(ARGV[4]), tonumber(ARGV[5]))
        if f[8] then schedule_outcome(p, f[6], false, now) end
      else
        state = 'queued'
        rec_hset(jk, 'state', 'queued')
        rec_hdel(jk, 'worker')
        redis.call('RPUSH', p .. 'pending:' .. f[2], id)
        wake(p, f[2])
      end
    end
    out[#out + 1] = id
    out[#out + 1] = state
  end
end
table.insert(out, 1, dropped)
return out
