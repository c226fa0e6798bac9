-- schedule_upsert.lua: creates or replaces one schedule's definition.
-- KEYS[1] the schedule's state hash (fields def, key, next, last, last_job)
-- ARGV[1] definition JSON   ARGV[2] spec key (spec and queue)   ARGV[3] next run
-- (ms) for a new or changed schedule
-- Guarantee: atomic. The definition is replaced; when the stored spec key equals
-- ARGV[2] the state (next, last, last_job) is kept, otherwise next is set to
-- ARGV[3] (last and last_job kept). Returns 0 created, 1 kept, 2 rescheduled.
local old = redis.call('HGET', KEYS[1], 'key')
if old == ARGV[2] then
  redis.call('HSET', KEYS[1], 'def', ARGV[1])
  return 1
end
redis.call('HMSET', KEYS[1], 'def', ARGV[1], 'key', ARGV[2], 'next', ARGV[3])
if old then return 2 end
return 0
