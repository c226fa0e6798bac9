-- clear_limit.lua: removes a queue's rate limit, its windows (the queue's and
-- every group's), its group cap and every hold (the queue's and its groups'), and
-- wakes its idle workers.
-- KEYS[1] rate hash   KEYS[2] rate log zset   KEYS[3] notify list
-- KEYS[4] ready list (names the parked lanes, see groups.lua)
-- Group windows are KEYS[2] .. ':' .. g for each g in KEYS[1] .. ':windows';
-- group holds the hash KEYS[1] .. ':holds'.
-- Guarantee: atomic; claims are unlimited from the next one on (every parked
-- lane rejoins the rotation). Returns 1 when the queue had a limit, a cap or a
-- hold, else 0 (nothing changes then but a lane parked by nothing).
local holds, windows = KEYS[1] .. ':holds', KEYS[1] .. ':windows'
local had = redis.call('EXISTS', KEYS[1]) + redis.call('EXISTS', holds) + redis.call('EXISTS', windows)
local groups = redis.call('ZRANGE', windows, 0, -1)
for i = 1, #groups do redis.call('DEL', KEYS[2] .. ':' .. groups[i]) end
redis.call('DEL', KEYS[1], KEYS[2], holds, windows)
unpark(KEYS[4], '+inf', 100000)
if had > 0 then
  notify(KEYS[3], 1)
  return 1
end
return 0
