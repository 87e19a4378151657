-- Forgets the queue's jobs whose result ttl has passed.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- returns  how many were forgotten; at most bound.bulk_batch per call (that
--          many: call again)
local ids = redis.call('ZRANGEBYSCORE', DONE, '-inf', ms(clock(ARGV[2])), 'LIMIT', 0, bound.bulk_batch)
for _, id in ipairs(ids) do
  redis.call('ZREM', DONE, id)
  redis.call('ZREM', INDEX, id)
  rec_del(id)
end
return #ids
