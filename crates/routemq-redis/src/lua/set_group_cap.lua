-- set_group_cap.lua: sets (or replaces) the cap on each group's running jobs of
-- a queue and wakes its idle workers (a higher cap may free slots at once).
-- KEYS[1] rate hash (jobs, per_ms, held_until, per_group, group_concurrency)
-- KEYS[2] notify list   KEYS[3] ready list (names the parked lanes, see groups.lua)
-- ARGV[1] the cap (1 to 100 000, checked by the caller)
-- Guarantee: atomic; the hash no longer expires (a hold alone made it expire);
-- the groups' running counts ('{ready}:active', kept whether or not a cap is
-- set) count against the cap at once; every parked lane rejoins the rotation
-- (the next claim parks again whatever is still blocked). Returns 1.
redis.call('HSET', KEYS[1], 'group_concurrency', ARGV[1])
redis.call('PERSIST', KEYS[1])
unpark(KEYS[3], '+inf', 100000)
notify(KEYS[2], 1)
return 1
