-- Registers a live worker (or beat) until it has been silent for the ttl,
-- by the broker's clock; drops the registrations of silent ones.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:workers
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  clock shift (ms; see clock() in lib.lua)
-- ARGV[3]  ttl (ms)
-- ARGV[4]  worker id
-- ARGV[5]  what it reports (JSON)
-- returns  the broker's time (ms)
local now = clock(ARGV[2])
redis.call('SET', ARGV[1] .. 'worker:' .. ARGV[4], ARGV[5], 'PX', ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ms(now - tonumber(ARGV[3])))
return ms(now)
