-- Beat: handles one tick of a schedule entry, once however many beats ask.
-- The tick is claimed only if it is later than the entry's last one; then
-- the run is enqueued, or skipped when its job is at max_concurrent.
-- (lib.lua is prepended.)
-- KEYS[1]  {ns}:entries (KEYS[4] too; the entry's state is the field ARGV[8])
-- ARGV[1..3] prefix, clock shift, bounds: as every script (see lib.lua)
-- ARGV[4]  tick (ms)
-- ARGV[5]  spec: the schedule and zone the tick was computed with
-- ARGV[6]  missed ticks before this one, to count as skipped
-- ARGV[7]  max_concurrent of the job ("" = none)
-- ARGV[8]  the entry: the job's name (whose running runs count against the limit)
-- ARGV[9]  when the entry's state may be forgotten if no tick comes (ms):
--          a removed entry's state does not stay forever (schedules.lua)
-- ARGV[10] h: entries of the run to enqueue (0: record the tick only)
-- ARGV[11..10+h] the run, as add() in lib.lua reads it
-- ARGV[11+h] how early a tick may be asked for (ms)
-- returns  {"early"} (the tick's instant is more than that ahead of the
--          broker's clock: nothing claimed), {"already"} (another beat had
--          it), {"recorded"}, {"skipped"}
--          (previous run still active), {"duplicate", holder id} or
--          {"enqueued", id}
local p, entry = ARGV[1], ARGV[8]
local tick, now = tonumber(ARGV[4]), clock(ARGV[2])
if tick > now + tonumber(ARGV[#ARGV]) then
  return {'early'}
end
local s = packed_load(ENTRIES, entry) or {}
local last = tonumber(s.last)
if last and last >= tick then
  return {'already'}
end
s.last, s.spec, s.keep = ARGV[4], ARGV[5], ARGV[9]
local function count(name, by)
  s[name] = string.format('%d', (tonumber(s[name]) or 0) + by)
end
if tonumber(ARGV[6]) > 0 then
  count('skipped', tonumber(ARGV[6]))
  s.last_skip = 'no beat ran at the time'
end
local h = tonumber(ARGV[10])
if h == 0 then
  packed_save(ENTRIES, entry, s)
  return {'recorded'}
end
local limit = tonumber(ARGV[7])
if limit then
  local ck = p .. 'conc:' .. entry
  redis.call('ZREMRANGEBYSCORE', ck, '-inf', '(' .. ms(now))
  if redis.call('ZCARD', ck) >= limit then
    count('skipped', 1)
    s.last_skip = 'previous run still active'
    packed_save(ENTRIES, entry, s)
    return {'skipped'}
  end
end
local acc = accumulator()
local _, id, dup = add(p, now, ARGV, 11, acc)
if dup == 1 then
  packed_save(ENTRIES, entry, s)
  return {'duplicate', id}
end
flush(p, acc)
s.job = id
count('fired', 1)
packed_save(ENTRIES, entry, s)
return {'enqueued', id}
