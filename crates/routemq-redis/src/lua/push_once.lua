-- push_once.lua: stores jobs of one queue, each unless it is already there or was
-- stored by this script recently: the idempotent push of a relay (a
-- transactional outbox) that may push the same job again after a crash.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] jobs hash   KEYS[4] notify
-- list   KEYS[5] pushed-once zset (job id -> when this script stored it, ms)
-- ARGV[1] now (ms)   ARGV[2] how long an id is remembered (ms), then per job
-- six: id, payload, max_tries, due (ms; <= now = ready now), group ('' = none),
-- marker (what is remembered: the id, or a failed-store retry's marker)
-- Guarantee: atomic. Each job, in order, is stored (as push.lua stores it: body
-- and meta in the jobs hash, ready at the tail of the ready list or of its
-- group's list, or delayed) only when its id is neither in the jobs hash nor its
-- marker remembered; its marker is then remembered for ARGV[2] ms, so a second
-- push within that time is a no-op even after the job ran and was acknowledged
-- (a job named twice in one call is stored once). Entries older than that are
-- dropped. Returns per job 1 when stored, 0 when it was a repeat; one wake-up
-- token per job stored.
local now, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. (now - keep))
local stored, n = {}, 0
for i = 3, #ARGV, 6 do
  local id, payload, tries, due = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local group, marker = ARGV[i + 4], ARGV[i + 5]
  if redis.call('ZSCORE', KEYS[5], marker) or job_has(KEYS[3], id) then
    stored[#stored + 1] = 0
  else
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
    stored[#stored + 1] = 1
    n = n + 1
  end
end
if n > 0 then notify(KEYS[4], n) end
return stored
