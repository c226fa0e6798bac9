-- fail.lua: moves a reserved job to the failed store, fenced by owner token.
-- KEYS[1] reserved zset   KEYS[2] jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua)
-- KEYS[3] failed list (routemq:queue:failed:{q})   KEYS[4] failed index hash
-- KEYS[5] the queue's set of held uniqueness keys (locks: KEYS[5] .. ':' .. key)
-- KEYS[6] ready list (names the group keys, see groups.lua)   KEYS[7] rate hash
-- KEYS[8] notify list
-- ARGV[1] id   ARGV[2] token   ARGV[3] now (ms)   ARGV[4] exception
-- ARGV[5] connection name   ARGV[6] queue name
-- Guarantee: atomic; returns 0 and changes nothing unless the caller owns the job.
-- Otherwise the record is pushed at the head of the failed list (newest first) and
-- indexed by id, the job's body and metadata are removed and its uniqueness lock
-- (if it holds one) released; a grouped job (token with a 'g') frees one of its
-- group's running slots (see group_slot_freed). A job of a chain or batch has its
-- workflow effects applied as failed for good (flow_settled: the chain's catch
-- released; the batch's counters, catch and cancel). Returns 1.
local id = ARGV[1]
if redis.call('ZREM', KEYS[1], id .. '|' .. ARGV[2]) == 0 then return 0 end
local g
if string.find(ARGV[2], 'g', 1, true) then g = job_field(KEYS[2], id .. ':group') end
local tail = to_failed(KEYS[2], KEYS[3], KEYS[4], id, ARGV[5], ARGV[6], ARGV[4], tonumber(ARGV[3]), KEYS[5])
group_slot_freed(KEYS[6], KEYS[7], KEYS[8], g)
if is_flow(tail) then flow_settled(KEYS[6], KEYS[2], id, tail, 'f', tonumber(ARGV[3])) end
return 1
