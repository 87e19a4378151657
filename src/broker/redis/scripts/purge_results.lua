-- Forgets jobs whose result ttl has passed (their hash expires by itself;
-- this drops them from the index). (lib.lua is prepended.)
-- KEYS[1]  {ns}:done
-- ARGV[1]  key prefix "{ns}:"
-- ARGV[2]  clock shift (ms; see clock() in lib.lua)
-- returns  how many were forgotten; at most 1000 per call
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms(clock(ARGV[2])), 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', p .. 'index', id)
  redis.call('DEL', p .. 'job:' .. id)
end
return #ids
