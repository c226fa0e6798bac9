-- record_runs.lua: stores running attempts' run records of one queue, fenced by
-- owner token.
-- KEYS[1] reserved zset   KEYS[2] jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua)
-- ARGV: triples of id, token, record (the caller's encoding: worker, progress,
-- error and the token, so a reader can tell the current attempt's record).
-- Guarantee: atomic. Each record is written to field "{id}:run" of the jobs hash
-- only while "id|token" is in the reserved zset (a stale lease's is skipped); the
-- field goes with the job (see add_job_fields / drop_job in lib.lua). Returns
-- how many were written.
local writes = {}
for i = 1, #ARGV, 3 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i] .. '|' .. ARGV[i + 1]) then
    writes[#writes + 1] = ARGV[i] .. ':run'
    writes[#writes + 1] = ARGV[i + 2]
  end
end
if #writes > 0 then job_set(KEYS[2], writes) end
return #writes / 2
