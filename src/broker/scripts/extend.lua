-- Extends the leases a worker holds.
-- KEYS[1]  {ns}:leases
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  new lease expiry (ms)
-- ARGV[3]  worker id
-- ARGV[4..] pairs: job id, attempt
-- returns  the ids whose lease is lost (redelivered, revoked or gone)
local lost = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local f = redis.call('HMGET', ARGV[1] .. 'job:' .. id, 'state', 'worker', 'attempts')
  if f[1] == 'running' and f[2] == ARGV[3] and f[3] == ARGV[i + 1]
      and redis.call('ZSCORE', KEYS[1], id) then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
  else
    lost[#lost + 1] = id
  end
end
return lost
