-- Beat: handles one tick of a schedule entry, once however many beats ask.
-- The tick is claimed only if it is later than the entry's last one; then
-- the run is enqueued, or skipped when its job is at max_concurrent. The
-- entry's state is kept in the slot of the queue its job runs on.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua
-- says.)
-- ARGV[5]  tick (ms)
-- ARGV[6]  spec: the schedule and zone the tick was computed with
-- ARGV[7]  missed ticks before this one, to count as skipped
-- ARGV[8]  max_concurrent of the job ("" = none)
-- ARGV[9]  the entry: the job's name (whose running runs count against the limit)
-- ARGV[10] when the entry's state may be forgotten if no tick comes (ms):
--          a removed entry's state does not stay forever (schedules.lua)
-- ARGV[11] the id holding the run's unique key, claimed by another
--          enqueue ("" none): the tick is recorded as a duplicate
-- ARGV[12] how early a tick may be asked for (ms)
-- ARGV[13] "1" if the entry is paused: the tick is recorded and counted as
--          skipped ("paused"), with no run
-- ARGV[14] h: entries of the run to enqueue (0: record the tick only)
-- ARGV[15..14+h] the run, as add() in lib.lua reads it
-- returns  {"early"} (the tick's instant is more than that ahead of the
--          broker's clock: nothing claimed), {"already"} (another beat had
--          it), {"recorded", "", 1 if the queue is known to the namespace},
--          {"paused", "", the same}, {"skipped"} (previous run still active),
--          {"duplicate", holder id} or {"enqueued", id, 1 if the queue is
--          known to the namespace}
local entry = ARGV[9]
local tick, now = tonumber(ARGV[5]), clock(ARGV[2])
if tick > now + tonumber(ARGV[12]) then
  return {'early'}
end
local s = packed_load(ENTRIES, entry) or {}
local last = tonumber(s.last)
if last and last >= tick then
  return {'already'}
end
s.last, s.spec, s.keep = ARGV[5], ARGV[6], ARGV[10]
local function count(name, by)
  s[name] = string.format('%d', (tonumber(s[name]) or 0) + by)
end
if tonumber(ARGV[7]) > 0 then
  count('skipped', tonumber(ARGV[7]))
  s.last_skip = 'no beat ran at the time'
end
if ARGV[13] == '1' then
  count('skipped', 1)
  s.last_skip = 'paused'
  packed_save(ENTRIES, entry, s)
  return {'paused', '', redis.call('EXISTS', KNOWN)}
end
local h = tonumber(ARGV[14])
if h == 0 then
  packed_save(ENTRIES, entry, s)
  return {'recorded', '', redis.call('EXISTS', KNOWN)}
end
local limit = tonumber(ARGV[8])
if limit and select(2, running(entry, now)) >= limit then
  count('skipped', 1)
  s.last_skip = 'previous run still active'
  packed_save(ENTRIES, entry, s)
  return {'skipped'}
end
if ARGV[11] ~= '' then
  packed_save(ENTRIES, entry, s)
  return {'duplicate', ARGV[11]}
end
local acc = accumulator()
local _, id = add(now, ARGV, 15, acc)
local known = flush(acc)
s.job = id
count('fired', 1)
packed_save(ENTRIES, entry, s)
return {'enqueued', id, known}
