-- cancel_requests.lua: which of some reserved jobs of one queue have a cancel
-- request (read only).
-- KEYS[1] reserved zset   KEYS[2] jobs hash (bodies and "{id}:meta" fields)
-- ARGV: pairs of id, token.
-- Guarantee: changes nothing. Returns the ids whose "{id}:cancel" field exists
-- and whose "id|token" is still in the reserved zset (current leases only), in
-- ARGV order. One HMGET per 1,000 leases; a ZSCORE only per flagged job.
local fields = {}
for i = 1, #ARGV, 2 do fields[#fields + 1] = ARGV[i] .. ':cancel' end
local out = {}
for i = 1, #fields, CHUNK do
  local got = redis.call('HMGET', KEYS[2], unpack(fields, i, math.min(i + CHUNK - 1, #fields)))
  for k = 1, #got do
    if got[k] then
      local a = 2 * (i + k - 1) - 1
      if redis.call('ZSCORE', KEYS[1], ARGV[a] .. '|' .. ARGV[a + 1]) then
        out[#out + 1] = ARGV[a]
      end
    end
  end
end
return out
