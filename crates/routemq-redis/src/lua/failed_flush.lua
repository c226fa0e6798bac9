-- failed_flush.lua: deletes every failed job of one queue.
-- KEYS[1] failed list   KEYS[2] failed index hash
-- Guarantee: atomic. Returns how many records the list held.
local n = redis.call('LLEN', KEYS[1])
redis.call('UNLINK', KEYS[1], KEYS[2])
return n
