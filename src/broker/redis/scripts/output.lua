-- Publishes running attempts' output so far (for `taskq logs -f`), where
-- the run still holds the lease.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua says.)
-- ARGV[5..] per run: job id, grant (the run's lease token), output tail,
--          bytes in all
-- returns  how many were written
local written = 0
for i = 5, #ARGV, 4 do
  local f = rec_hmget(ARGV[i], 'state', 'grant')
  if f[1] == 'running' and f[2] == ARGV[i + 1] then
    rec_hset(ARGV[i], 'output', ARGV[i + 2], 'outlen', ARGV[i + 3])
    written = written + 1
  end
end
return written
