-- Publishes running attempts' output so far (for `taskq logs -f`), where
-- the run still holds the lease.
-- KEYS[1]  {ns}:leases (routes the call to the namespace's slot)
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua,
--          not prepended here: only the prefix is read)
-- ARGV[4..] per run: job id, grant (the run's lease token), output tail,
--          bytes in all
-- returns  how many were written
local written = 0
for i = 4, #ARGV, 4 do
  local jk = ARGV[i]
  local f = rec_hmget(jk, 'state', 'grant')
  if f[1] == 'running' and f[2] == ARGV[i + 1] then
    rec_hset(jk, 'output', ARGV[i + 2], 'outlen', ARGV[i + 3])
    written = written + 1
  end
end
return written
