-- Reads the queue's per-job statistics (lib.lua's tally writes them) as
-- cells of minutes (the last hour) and of hours (the last 24 h), by the
-- broker's clock. A minute counts in its hour too: a minute of the last
-- hour, and an older one not yet added to its hour (its job has not ended
-- an attempt since), are given as a cell of each. Fields past every window
-- are deleted: a job that stopped running leaves nothing behind a day later.
-- (common.lua and lib.lua are prepended; KEYS and ARGV[1..4] as lib.lua
-- says.)
-- returns  {now (ms), then per cell: the job, 'm' or 'h', the bucket's
--          number, its counters as a JSON object}
local now = clock(ARGV[2])
local m, h = math.floor(now / 60000), math.floor(now / 3600000)
local out = {ms(now)}
local function cell(job, scale, bucket, counters)
  out[#out + 1] = job
  out[#out + 1] = scale
  out[#out + 1] = ms(bucket)
  out[#out + 1] = counters
end
local all = redis.call('HGETALL', STATS)
for i = 1, #all, 2 do
  local job, scale = string.match(all[i], '^(.*)|([mh])%d+$')
  local c = cmsgpack.unpack(all[i + 1])
  local hour = (scale == 'm') and math.floor(c[1] / 60) or c[1]
  if job and hour > h - 24 and hour <= h then
    local counters = cjson.encode(c[2])
    if scale == 'm' and c[1] > m - 60 and c[1] <= m then
      cell(job, 'm', c[1], counters)
    end
    cell(job, 'h', hour, counters)
  elseif not job or hour <= h - 24 then
    redis.call('HDEL', STATS, all[i])
  end
end
return out
