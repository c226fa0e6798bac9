-- release.lua: gives a job back, fenced by owner token, keeping its attempt count
-- (or giving the claim's attempt back).
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] reserved zset
-- KEYS[4] jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua)   KEYS[5] notify list
-- KEYS[6] rate hash (its group_concurrency)   KEYS[7] the queue's set of held
-- uniqueness keys   KEYS[8] the job's finished record (string, see keep_finished)
-- ARGV[1] id   ARGV[2] token   ARGV[3] now (ms)   ARGV[4] available-at (ms)
-- ARGV[5] 1: the attempt the claim counted is given back (release_uncounted), 0: kept
-- ARGV[6] how long a cancelled record is kept (ms)
-- Guarantee: atomic; returns 0 and changes nothing unless the caller owns the job.
-- A job with a cancel request ("{id}:cancel", see cancel.lua) is not given back:
-- it is removed as an ack removes it (uniqueness lock, group slot, every field)
-- and recorded as cancelled at KEYS[8] for ARGV[6] ms, and a job of a chain or
-- batch has its workflow effects applied as cancelled (flow_settled); returns 1.
-- A job given back changes nothing of its chain or batch.
-- Otherwise the job (keeping its uniqueness lock and its run record, whose error
-- is its last error) goes to the tail of the ready list, or of its group's list for a grouped job
-- (available-at <= now), or into
-- the delayed zset, and idle workers are woken; a grouped job (token with a 'g')
-- frees one of its group's running slots (see group_slot_freed). Returns 1.
local id, now, at = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('ZREM', KEYS[3], id .. '|' .. ARGV[2]) == 0 then return 0 end
local mf = meta_field(id)
local got = job_get(KEYS[4], { mf, id .. ':cancel' })
if got[2] then
  reservation_done(KEYS[4], KEYS[7], KEYS[1], KEYS[6], KEYS[5], id, ARGV[2], got[1])
  drop_job(KEYS[4], id)
  keep_finished(KEYS[8], 'c', got[1], now, tonumber(ARGV[6]))
  local _, _, _, tail = parse_meta(got[1])
  flow_settled(KEYS[1], KEYS[4], id, tail, 'c', now)
  return 1
end
local attempts, tries, _, tail = parse_meta(got[1])
if ARGV[5] == '1' and attempts > 0 then attempts = attempts - 1 end
if at <= now then
  make_ready(KEYS[1], KEYS[4], { id })
  job_set(KEYS[4], { mf, pack_meta(attempts, tries, now, tail) })
else
  redis.call('ZADD', KEYS[2], at, id)
  job_set(KEYS[4], { mf, pack_meta(attempts, tries, at, tail) })
end
if string.find(ARGV[2], 'g', 1, true) then
  group_slot_freed(KEYS[1], KEYS[6], KEYS[5], job_field(KEYS[4], id .. ':group'))
end
notify(KEYS[5], 1)
return 1
