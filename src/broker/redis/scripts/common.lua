-- Shared by every script (prepended): the broker's clock.

-- The broker's clock in ms: the server's TIME, plus a shift only tests set
-- (ClockShift). Every lease, due time, expiry and TTL is judged by it, never
-- by the clock of the host that calls. (Scripts are replicated by effects,
-- so reading TIME before writing is allowed.)
local function clock(shift)
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + (tonumber(shift) or 0)
end

-- A ms instant as an integer string (tostring would use an exponent past
-- 14 digits).
local function ms(t)
  return string.format('%d', t)
end

-- A table of fields as HGETALL lists a hash: field, value, field, value...
local function flat(r)
  local out = {}
  for k, v in pairs(r) do
    out[#out + 1] = k
    out[#out + 1] = v
  end
  return out
end

-- HGETALL's list back to a table of fields.
local function unflat(list)
  local r = {}
  for i = 1, #list, 2 do r[list[i]] = list[i + 1] end
  return r
end
