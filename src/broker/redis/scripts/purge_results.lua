-- Forgets jobs whose result ttl has passed (their hash expires by itself;
-- this drops them from the index). (lib.lua is prepended.)
-- KEYS[1]  {ns}:done
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- returns  how many were forgotten; at most bound.bulk_batch per call (that
--          many: call again)
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms(clock(ARGV[2])), 'LIMIT', 0, bound.bulk_batch)
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', INDEX, id)
  rec_del(id)
end
return #ids
