-- failed_retry.lua: moves one failed job back to its queue, attempts reset.
-- KEYS[1] failed list   KEYS[2] failed index hash   KEYS[3] ready list
-- KEYS[4] jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua)   KEYS[5] notify list
-- ARGV[1] id   ARGV[2] the record the caller read (compare-and-swap)
-- ARGV[3] payload (decoded from the record by the caller)   ARGV[4] max_tries
-- ARGV[5] now (ms)   ARGV[6] the job's group ('' = none, from the record)
-- Guarantee: atomic; returns 0 and changes nothing if the indexed record is no
-- longer ARGV[2]. Otherwise the record leaves the failed list and index and the job
-- is appended with 0 attempts to the ready list or, grouped, to its group's list
-- (see groups.lua). Returns 1.
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[2], id)
redis.call('LREM', KEYS[1], 1, ARGV[2])
job_set(KEYS[4], { id, body_with_meta(ARGV[3], pack_meta(0, tonumber(ARGV[4]), tonumber(ARGV[5]))) })
local group = ARGV[6] or ''
if group ~= '' then
  job_set(KEYS[4], { id .. ':group', group })
  redis.call('SET', KEYS[3] .. ':grouped', '1')
  ready_in_group(KEYS[3], group, { id })
else
  redis.call('RPUSH', KEYS[3], id)
end
notify(KEYS[5], 1)
return 1
