-- push_once.lua: stores one job unless it is already there or was stored by this
-- script recently: the idempotent push of a relay (a transactional outbox) that
-- may push the same job again after a crash.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] jobs hash   KEYS[4] notify
-- list   KEYS[5] pushed-once zset (job id -> when this script stored it, ms)
-- ARGV[1] id   ARGV[2] payload   ARGV[3] max_tries   ARGV[4] due (ms; <= now =
-- ready now)   ARGV[5] group ('' = none)   ARGV[6] now (ms)   ARGV[7] how long
-- an id is remembered (ms)
-- Guarantee: atomic. The job is stored (as push.lua stores it: body and meta in
-- the jobs hash, ready at the tail of the ready list or of its group's list, or
-- delayed) only when its id is neither in the jobs hash nor remembered; it is then
-- remembered for ARGV[7] ms, so a second push within that time is a no-op even
-- after the job ran and was acknowledged. Entries older than that are dropped.
-- Returns 1 when stored, 0 when it was a repeat.
local id, payload, tries, due = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local group, now, keep = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local marker = ARGV[8] or id
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. (now - keep))
if redis.call('ZSCORE', KEYS[5], marker) or job_has(KEYS[3], id) then
  return 0
end
local ready_at = due
if ready_at < now then ready_at = now end
job_set(KEYS[3], { id, body_with_meta(payload, pack_meta(0, tries, ready_at)) })
if group ~= '' then
  job_set(KEYS[3], { id .. ':group', group })
  redis.call('SET', KEYS[1] .. ':grouped', '1')
end
if due > now then
  redis.call('ZADD', KEYS[2], due, id)
elseif group ~= '' then
  ready_in_group(KEYS[1], group, { id })
else
  redis.call('RPUSH', KEYS[1], id)
end
redis.call('ZADD', KEYS[5], now, marker)
notify(KEYS[4], 1)
return 1
