-- Reads the queue's per-job statistics (lib.lua's tally writes them): the
-- buckets of the last hour's minutes and the last 24 h's hours, by the
-- broker's clock. A field holding a bucket past its window is deleted (a
-- write would begin it afresh anyway): a job that stopped running leaves
-- nothing behind a day later.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua
-- says.)
-- returns  {now (ms), then per bucket in its window: the job, 'm' or 'h',
--          the bucket's number, its counters as a JSON object}
local now = clock(ARGV[2])
local m, h = math.floor(now / 60000), math.floor(now / 3600000)
local out = {ms(now)}
local all = redis.call('HGETALL', STATS)
for i = 1, #all, 2 do
  local job, scale = string.match(all[i], '^(.*)|([mh])%d+$')
  local c = cmsgpack.unpack(all[i + 1])
  local latest = (scale == 'm') and m or h
  local span = (scale == 'm') and 60 or 24
  if job and c[1] > latest - span and c[1] <= latest then
    out[#out + 1] = job
    out[#out + 1] = scale
    out[#out + 1] = ms(c[1])
    out[#out + 1] = cjson.encode(c[2])
  elseif not job or c[1] <= latest - span then
    redis.call('HDEL', STATS, all[i])
  end
end
return out
