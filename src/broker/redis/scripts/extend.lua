-- Extends the leases a worker holds, and reports the ones it lost.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4]  lease (ms): the new expiry is that long from now
-- ARGV[5]  worker id
-- ARGV[6..] triples: job id, attempt, grant (the run's lease token)
-- returns  triples: id, grant, "lost" (redelivered, gone, or its lease
--          lapsed: a run whose worker stalled past its lease is not revived)
--          or "revoked" (revoke --terminate asked for it: the lease is kept
--          until the worker records the kill)
local now = clock(ARGV[2])
local expiry = now + tonumber(ARGV[4])
local out = {}
for i = 6, #ARGV, 3 do
  local id, grant = ARGV[i], ARGV[i + 2]
  local f = rec_hmget(id, 'state', 'grant', 'revoke', 'job', 'maxconc')
  local held = tonumber(redis.call('ZSCORE', KEYS[1], id))
  if f[1] == 'running' and f[2] == grant and held and held >= now then
    redis.call('ZADD', KEYS[1], 'XX', expiry, id)
    if f[5] then
      redis.call('ZADD', ARGV[1] .. 'conc:' .. f[4], expiry, id)
    end
    if f[3] == '1' then
      out[#out + 1] = id
      out[#out + 1] = grant
      out[#out + 1] = 'revoked'
    end
  else
    out[#out + 1] = id
    out[#out + 1] = grant
    out[#out + 1] = 'lost'
  end
end
return out
