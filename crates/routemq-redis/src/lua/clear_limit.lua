-- clear_limit.lua: removes a queue's rate limit, its window and any hold, and
-- wakes its idle workers.
-- KEYS[1] rate hash   KEYS[2] rate log zset   KEYS[3] notify list
-- Guarantee: atomic; claims are unlimited from the next one on. Returns 1 when
-- the queue had a limit or a hold, else 0 (nothing changes then).
local had = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
if had == 1 then notify(KEYS[3], 1) end
return had
