-- remove_worker.lua: removes a worker's heartbeat.
-- KEYS[1] workers zset   KEYS[2] workers info hash
-- ARGV[1] worker id
-- Guarantee: atomic; both keys agree.
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
