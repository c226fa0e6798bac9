-- cancel_batch.lua: cancels a batch.
-- KEYS[1] ready list (names the workflow keys, see lib.lua)   KEYS[2] jobs hash
-- KEYS[3] the batch's record (hash, KEYS[1] .. ':batch:' .. id; its job set is
-- KEYS[3] .. ':jobs')   KEYS[4] delayed zset   KEYS[5] notify list
-- ARGV[1] batch id   ARGV[2] now (ms)
-- Guarantee: atomic. A batch whose record is gone returns {'none'}. A batch
-- cancelled or finished already changes nothing. Otherwise it is marked
-- cancelled, its jobs not started (delayed or ready) are removed, recorded as
-- cancelled and counted cancelled (batch_cancel); running ones are left to end and
-- be counted then; when nothing is pending any more the batch finishes
-- (batch_finish_if_done: finally released, then and catch removed). Returns the
-- record as batch_reply does.
local b, now = ARGV[1], tonumber(ARGV[2])
local got = redis.call('HMGET', KEYS[3], 'total', 'finished_at_ms', 'cancelled_batch')
if not got[1] then return {'none'} end
if not got[2] and got[3] ~= '1' then
  batch_cancel(KEYS[1], KEYS[2], b, now)
  batch_finish_if_done(KEYS[1], KEYS[2], b, now)
end
return batch_reply(KEYS[1], b)
