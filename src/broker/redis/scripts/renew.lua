-- Renews a lock held by its token (the move to a new key layout,
-- layout.rs). (common.lua is prepended.)
-- KEYS[1]  the lock
-- ARGV[1]  clock shift (unused)
-- ARGV[2]  the holder's token
-- ARGV[3]  how long it lasts from now (ms)
-- returns  1 if renewed, 0 if another holds it or none does
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
