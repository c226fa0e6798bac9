-- set_limit.lua: sets (or replaces) a queue's rate limit, queue-wide or per
-- group, and wakes its idle workers (a higher limit may open a window at once).
-- KEYS[1] rate hash (jobs, per_ms, held_until, per_group, group_concurrency)
-- KEYS[2] notify list   KEYS[3] ready list (names the parked lanes, see groups.lua)
-- ARGV[1] jobs per window   ARGV[2] window (ms)   ARGV[3] '1': per group, '0': queue-wide
-- Guarantee: atomic; the hash no longer expires (a hold alone made it expire),
-- its held_until, cap and the windows' logs are kept; every parked lane rejoins
-- the rotation (the next claim parks again whatever is still blocked). Returns 1.
redis.call('HMSET', KEYS[1], 'jobs', ARGV[1], 'per_ms', ARGV[2])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'per_group', '1')
else
  redis.call('HDEL', KEYS[1], 'per_group')
end
redis.call('PERSIST', KEYS[1])
unpark(KEYS[3], '+inf', 100000)
notify(KEYS[2], 1)
return 1
