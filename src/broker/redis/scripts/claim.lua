-- Claims unique keys (idempotency keys: the namespace's, whatever the
-- queue) for jobs about to be enqueued. The job goes in afterwards, in its
-- queue's slot, and the claim is then confirmed (settle.lua); a claim
-- still pending whose job never arrived (its enqueuer died) is taken over
-- later by passing it as expected. docs/cluster-layout.md has the protocol.
-- (common.lua is prepended.)
-- KEYS[1..n] {ns}:unique:<key>
-- ARGV[1]  clock shift (ms; see clock())
-- ARGV[2..] per key: job id, its queue, the window (ms), and the claim
--          expected there ("": the key must be free)
-- returns  {now (ms), then per key "claimed", or the claim that holds it:
--          "p <ms claimed> <id> <queue>" (pending) or "c ..." (confirmed);
--          a claim of taskq before 0.2 is a bare id, confirmed}
local now = clock(ARGV[1])
local out = {ms(now)}
for i, key in ipairs(KEYS) do
  local a = 2 + (i - 1) * 4
  local id, queue, window, expected = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local held = redis.call('GET', key)
  if not held or held == expected then
    redis.call('SET', key, 'p ' .. ms(now) .. ' ' .. id .. ' ' .. queue, 'PX', window)
    out[#out + 1] = 'claimed'
  else
    out[#out + 1] = held
  end
end
return out
