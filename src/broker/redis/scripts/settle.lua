-- Settles unique-key claims once their enqueue is over: confirms a claim
-- whose job went in (held then for its whole window), or releases one
-- whose job did not (a tick another beat had). A claim that holds another
-- id is left alone. (common.lua is prepended.)
-- KEYS[1..n] {ns}:unique:<key>
-- ARGV[1]  clock shift (unused; every script takes it)
-- ARGV[2..] per key: "confirm" or "release", then the job id
-- returns  per key: "ok", or the claim that holds it ("" when none)
local out = {}
for i, key in ipairs(KEYS) do
  local mode, id = ARGV[2 * i], ARGV[2 * i + 1]
  local held = redis.call('GET', key)
  local state, at, holder, queue = string.match(held or '', '^(%a) (%d+) (%S+) (%S+)$')
  if holder ~= id then
    out[#out + 1] = held or ''
  else
    if mode == 'release' then
      redis.call('DEL', key)
    elseif state == 'p' then
      redis.call('SET', key, 'c ' .. at .. ' ' .. id .. ' ' .. queue, 'KEEPTTL')
    end
    out[#out + 1] = 'ok'
  end
end
return out
