-- Deletes jobs moved to their queues from the layout before version 3
-- (after import.lua: a second move finds them gone). (common.lua is
-- prepended.)
-- KEYS[1..6] {ns}:index, jobs, done, delayed, leases, failed
-- ARGV[1]  clock shift (unused)
-- ARGV[2..] job ids
-- returns  how many
for i = 2, #ARGV do
  redis.call('HDEL', KEYS[2], ARGV[i])
  for k = 1, 6 do
    if k ~= 2 then redis.call('ZREM', KEYS[k], ARGV[i]) end
  end
end
return #ARGV - 1
