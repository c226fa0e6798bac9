-- schedule_fire.lua: fires one step of a schedule, or runs it now: moves its next
-- run and stores the step's jobs, claimable now.
-- KEYS[1] the schedule's state hash (fields def, key, next, last, last_job)
-- KEYS[2] the queue's ready list   KEYS[3] its jobs hash   KEYS[4] its notify list
-- ARGV[1] expected next run (ms), or '' to run now without a check or a move
-- ARGV[2] new next run (ms; ignored when ARGV[1] is '')   ARGV[3] last run (ms)
-- ARGV[4] now (ms)   ARGV[5] N jobs, then N triples: id, payload, max_tries
-- Guarantee: atomic, and all in the queue's slot. When the state hash is missing
-- nothing changes and {-1} is returned; when its next run is not ARGV[1] nothing
-- changes and {0, stored next} is returned. Otherwise next becomes ARGV[2], the
-- jobs are stored and appended to the ready list in order (idle workers woken),
-- and with N > 0 last becomes ARGV[3] and last_job the last job's id; returns {1}.
-- So of many calls with the same expected next run, exactly one stores its jobs.
local next_run = redis.call('HGET', KEYS[1], 'next')
if not next_run then return {-1} end
if ARGV[1] ~= '' then
  if next_run ~= ARGV[1] then return {0, tonumber(next_run)} end
  redis.call('HSET', KEYS[1], 'next', ARGV[2])
end
local n = tonumber(ARGV[5])
if n == 0 then return {1} end
local now = tonumber(ARGV[4])
local ids = {}
for i = 0, n - 1 do
  local id, payload, max_tries = ARGV[6 + 3 * i], ARGV[7 + 3 * i], tonumber(ARGV[8 + 3 * i])
  job_set(KEYS[3], { id, body_with_meta(payload, pack_meta(0, max_tries, now)) })
  ids[#ids + 1] = id
end
chunked('RPUSH', KEYS[2], ids)
redis.call('HMSET', KEYS[1], 'last', ARGV[3], 'last_job', ids[#ids])
notify(KEYS[4], n)
return {1}
