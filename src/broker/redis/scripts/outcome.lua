-- Stamps a final outcome, now, on a schedule entry whose runs go to this
-- queue: a scheduled workflow's run, which ends after the job that started
-- it. (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua
-- says.)
-- ARGV[5]  the entry
-- ARGV[6]  1 succeeded, 0 failed
-- returns  1
schedule_outcome(ARGV[5], ARGV[6] == '1', clock(ARGV[2]))
return 1
