-- failed_prune.lua: deletes failed jobs of one queue that failed before a cutoff.
-- KEYS[1] failed list (newest at the head)   KEYS[2] failed index hash
-- ARGV[1] cutoff (ms)   ARGV[2] at most this many per call
-- Guarantee: atomic. Walks from the tail (oldest) and stops at the first record
-- that failed at or after the cutoff, or whose failed_at cannot be read. Returns
-- how many it deleted; a caller loops while that equals the limit.
local cutoff, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local n = 0
while n < limit do
  local record = redis.call('LINDEX', KEYS[1], -1)
  if not record then break end
  local ok, decoded = pcall(cjson.decode, record)
  if not ok or type(decoded) ~= 'table' or type(decoded.failed_at) ~= 'number' then break end
  if decoded.failed_at >= cutoff then break end
  redis.call('RPOP', KEYS[1])
  if type(decoded.id) == 'string' and redis.call('HGET', KEYS[2], decoded.id) == record then
    redis.call('HDEL', KEYS[2], decoded.id)
  end
  n = n + 1
end
return n
