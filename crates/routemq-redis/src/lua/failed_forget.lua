-- failed_forget.lua: deletes one failed job.
-- KEYS[1] failed list   KEYS[2] failed index hash
-- ARGV[1] id
-- Guarantee: atomic; removes the record from both the list and the index. Returns 1,
-- or 0 when no such failed job exists.
local record = redis.call('HGET', KEYS[2], ARGV[1])
if not record then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('LREM', KEYS[1], 1, record)
return 1
