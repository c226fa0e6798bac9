-- set_limit.lua: sets (or replaces) a queue's rate limit and wakes its idle
-- workers (a higher limit may open the window at once).
-- KEYS[1] rate hash (jobs, per_ms, held_until)   KEYS[2] notify list
-- ARGV[1] jobs per window   ARGV[2] window (ms)
-- Guarantee: atomic; the hash no longer expires (a hold alone made it expire),
-- its held_until and the window's log are kept. Returns 1.
redis.call('HMSET', KEYS[1], 'jobs', ARGV[1], 'per_ms', ARGV[2])
redis.call('PERSIST', KEYS[1])
notify(KEYS[2], 1)
return 1
