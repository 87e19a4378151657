-- Extends the leases a worker holds on the queue, and reports the ones it
-- lost.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- ARGV[5]  lease (ms): the new expiry is that long from now
-- ARGV[6]  worker id
-- ARGV[7..] triples: job id, attempt, grant (the run's lease token)
-- returns  triples: id, grant, "lost" (redelivered, gone, or its lease
--          lapsed: a run whose worker stalled past its lease is not revived)
--          or "revoked" (revoke --terminate asked for it: the lease is kept
--          until the worker records the kill)
local now = clock(ARGV[2])
local expiry = now + tonumber(ARGV[5])
local out = {}
for i = 7, #ARGV, 3 do
  local id, grant = ARGV[i], ARGV[i + 2]
  local f = rec_hmget(id, 'state', 'grant', 'revoke', 'job', 'maxconc')
  local held = tonumber(redis.call('ZSCORE', LEASES, id))
  if f[1] == 'running' and f[2] == grant and held and held >= now then
    redis.call('ZADD', LEASES, 'XX', expiry, id)
    if f[5] then hold(f[4], id, expiry, now) end
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
