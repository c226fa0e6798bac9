-- clear.lua: deletes every ready, delayed and reserved job of one queue.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] reserved zset
-- KEYS[4] jobs hash (bodies and metadata)
-- Guarantee: atomic; the failed store is left alone; holders of reservations get
-- LeaseLost afterwards (their "id|token" members are gone). Returns how many jobs.
local n = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return n
