-- Registers a live worker (or beat) until it has been silent for the ttl,
-- by the broker's clock; drops the registrations of silent ones.
-- (common.lua is prepended.)
-- KEYS[1]  {ns}:workers
-- KEYS[2]  {ns}:worker:<id>: what the worker reports
-- ARGV[1]  clock shift (ms; see clock())
-- ARGV[2]  ttl (ms)
-- ARGV[3]  worker id
-- ARGV[4]  what it reports (JSON)
-- returns  the broker's time (ms)
local now = clock(ARGV[1])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ms(now - tonumber(ARGV[2])))
return ms(now)
