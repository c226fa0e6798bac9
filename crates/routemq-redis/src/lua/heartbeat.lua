-- heartbeat.lua: records a worker's heartbeat.
-- KEYS[1] workers zset (id -> expiry ms)   KEYS[2] workers info hash (id -> JSON)
-- ARGV[1] worker id   ARGV[2] expiry (ms)   ARGV[3] info JSON
-- Guarantee: atomic; both keys agree.
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
