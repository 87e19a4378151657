-- Stores jobs moved from the layout before version 3 (export.lua) in this
-- queue, each with its place in the queue's sets; a queued one goes to the
-- back of the line (moved oldest first, they keep their order). A job
-- already here is left as it is, so moving again is harmless.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua
-- says.)
-- ARGV[5..] per job 7: id, the record packed, its score in index, done,
--          delayed, leases and failed ("" where it is not in one)
-- returns  1 if the queue is known to the namespace, else 0
local pushed = false
for i = 5, #ARGV, 7 do
  local id = ARGV[i]
  if redis.call('HEXISTS', JOBS, id) == 0 then
    redis.call('HSET', JOBS, id, ARGV[i + 1])
    for k, set in ipairs({INDEX, DONE, DELAYED, LEASES, FAILED}) do
      local score = ARGV[i + 1 + k]
      if score ~= '' then redis.call('ZADD', set, score, id) end
    end
    if cmsgpack.unpack(ARGV[i + 1]).state == 'queued' then
      redis.call('LPUSH', PENDING, id)
      pushed = true
    end
  end
end
if pushed then wake() end
return redis.call('EXISTS', KNOWN)
