-- Extends the leases a worker holds, and reports the ones it lost.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  clock shift (ms; see clock() in lib.lua)
-- ARGV[3]  lease (ms): the new expiry is that long from now
-- ARGV[4]  worker id
-- ARGV[5..] pairs: job id, attempt
-- returns  triples: id, attempt, "lost" (redelivered or gone) or "revoked"
--          (revoke --terminate asked for it: the lease is kept until the
--          worker records the kill)
local expiry = clock(ARGV[2]) + tonumber(ARGV[3])
local out = {}
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  local f = redis.call('HMGET', ARGV[1] .. 'job:' .. id, 'state', 'worker', 'attempts', 'revoke', 'job', 'maxconc')
  if f[1] == 'running' and f[2] == ARGV[4] and f[3] == ARGV[i + 1]
      and redis.call('ZSCORE', KEYS[1], id) then
    redis.call('ZADD', KEYS[1], 'XX', expiry, id)
    if f[6] then
      redis.call('ZADD', ARGV[1] .. 'conc:' .. f[5], expiry, id)
    end
    if f[4] == '1' then
      out[#out + 1] = id
      out[#out + 1] = ARGV[i + 1]
      out[#out + 1] = 'revoked'
    end
  else
    out[#out + 1] = id
    out[#out + 1] = ARGV[i + 1]
    out[#out + 1] = 'lost'
  end
end
return out
