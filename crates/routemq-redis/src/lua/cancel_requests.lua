-- cancel_requests.lua: which of some reserved jobs of one queue have a cancel
-- request (read only).
-- KEYS[1] reserved zset   KEYS[2] jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua)
-- ARGV: pairs of id, token.
-- Guarantee: changes nothing. Returns the ids whose "{id}:cancel" field exists
-- and whose "id|token" is still in the reserved zset (current leases only), in
-- ARGV order. One HMGET per bucket and 1,000 leases (job_get); a ZSCORE only per
-- flagged job.
local fields = {}
for i = 1, #ARGV, 2 do fields[#fields + 1] = ARGV[i] .. ':cancel' end
local out = {}
local got = job_get(KEYS[2], fields)
for k = 1, #fields do
  if got[k] then
    local a = 2 * k - 1
    if redis.call('ZSCORE', KEYS[1], ARGV[a] .. '|' .. ARGV[a + 1]) then
      out[#out + 1] = ARGV[a]
    end
  end
end
return out
