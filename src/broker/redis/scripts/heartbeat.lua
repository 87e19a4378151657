-- Registers a live worker (or beat) until it has been silent for the ttl,
-- by the broker's clock; drops the registrations of silent ones.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:workers
-- KEYS[12] {ns}:worker:<id>: what the worker reports (after the fixed keys)
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4]  ttl (ms)
-- ARGV[5]  worker id
-- ARGV[6]  what it reports (JSON)
-- returns  the broker's time (ms)
local now = clock(ARGV[2])
redis.call('SET', KEYS[12], ARGV[6], 'PX', ARGV[4])
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ms(now - tonumber(ARGV[4])))
return ms(now)
