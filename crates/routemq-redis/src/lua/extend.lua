-- extend.lua: extends a lease, fenced by owner token.
-- KEYS[1] reserved zset
-- ARGV[1] id   ARGV[2] token   ARGV[3] now (ms)   ARGV[4] new deadline (ms)
-- Guarantee: atomic; returns 0 and changes nothing unless the caller owns the job
-- and its lease has not expired yet; otherwise sets the new deadline and returns 1.
local member = ARGV[1] .. '|' .. ARGV[2]
local score = redis.call('ZSCORE', KEYS[1], member)
if not score or tonumber(score) < tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[4], member)
return 1
