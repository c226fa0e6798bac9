-- status.lua: where one job of one queue is (read only).
-- KEYS[1] delayed zset   KEYS[2] reserved zset   KEYS[3] jobs hash (bodies and
-- "{id}:meta" fields)   KEYS[4] the job's finished record (string
-- "{queue keys}:done:{id}", see keep_finished in lib.lua)   KEYS[5] the queue's
-- set of waiting jobs (chain links and callbacks, see lib.lua)
-- ARGV[1] id
-- Guarantee: changes nothing; one consistent view. Returns a flat array:
-- {'d', meta, run record, due ms} for a delayed job; {'a', meta, run record} for
-- a job waiting for its chain or batch (in KEYS[5]); {'r', meta, run record,
-- reserved member "id|token", lease deadline ms, cancel request '1' or nil} for a
-- reserved one (found by scanning the reserved zset, O(reserved jobs)); {'w', meta,
-- run record} for any other stored job (ready: in the ready list or its group's
-- list); {'f', the finished record's head "state|attempts|max_tries|finished_at_ms|
-- has_result" (the whole record when it has no such head)} for a job not stored
-- with a kept record; {} when nothing is known. A missing run record is nil.
local id = ARGV[1]
local got = job_get(KEYS[3], { meta_field(id), id .. ':run', id .. ':cancel' })
local meta, run = got[1], got[2]
if not meta then
  local rec = redis.call('GET', KEYS[4])
  if not rec then return {} end
  return {'f', string.match(rec, '^([^|]*|[^|]*|[^|]*|[^|]*|[^|]*)|') or rec}
end
local due = redis.call('ZSCORE', KEYS[1], id)
if due then return {'d', meta, run, due} end
if redis.call('SISMEMBER', KEYS[5], id) == 1 then return {'a', meta, run} end
local member, deadline = find_reservation(KEYS[2], id)
if member then return {'r', meta, run, member, deadline, got[3]} end
return {'w', meta, run}
