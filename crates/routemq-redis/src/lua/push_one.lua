-- push_one.lua: stores one ungrouped job on one queue (the single dispatch's
-- script: push.lua does the same for any batch, with more work per call).
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] jobs hash   KEYS[4] notify list
-- ARGV[1] job id   ARGV[2] payload   ARGV[3] "{id}:meta" field   ARGV[4] its value
-- ("0|max_tries|ready_at_ms")   ARGV[5] "" when ready now, else the ms it is due
-- Guarantee: atomic: the body and metadata are stored and the id appended to the
-- ready list, or added to the delayed zset at its due time; an idle worker is
-- woken. Returns 1.
redis.call('HMSET', KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if ARGV[5] == '' then
  redis.call('RPUSH', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
if redis.call('RPUSH', KEYS[4], '1') > 64 then
  redis.call('LTRIM', KEYS[4], -64, -1)
end
return 1
