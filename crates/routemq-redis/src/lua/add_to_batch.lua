-- add_to_batch.lua: adds jobs to a batch that has not finished.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] jobs hash   KEYS[4] notify
-- list   KEYS[5] the batch's record (hash, KEYS[1] .. ':batch:' .. id)   KEYS[6]
-- the batch's set of jobs not settled (KEYS[5] .. ':jobs'); see lib.lua
-- ARGV[1] batch id   ARGV[2] now (ms)   ARGV[3] N jobs   ARGV[4] R ready jobs
-- ARGV[5] D delayed jobs, then sections laid out by the caller: 2N values for the
-- jobs hash (id, body with its metadata, tail "|w|b|batch id", in front; see
-- body_with_meta in lib.lua) | R
-- ready ids in order | D pairs due ms, id | N job ids.
-- Guarantee: atomic. A batch whose record is gone (never stored, expired,
-- cleared) changes nothing and returns {'unknown'}; one that finished,
-- {'finished'}; one cancelled (by cancel_batch or by a failure without
-- allow_failures), {'cancelled'}. Otherwise the jobs are stored as push.lua stores
-- them (ready ones at the tail of the ready list, the others delayed), listed in
-- KEYS[6], counted in total and pending, idle workers are woken, and the record
-- is returned as batch_reply does.
local b = ARGV[1]
local got = redis.call('HMGET', KEYS[5], 'total', 'finished_at_ms', 'cancelled_batch')
if not got[1] then return {'unknown'} end
if got[2] then return {'finished'} end
if got[3] == '1' then return {'cancelled'} end
local n, r, d = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if n == 0 then return batch_reply(KEYS[1], b) end
local args = argv_reader(6)
local section = args.section
job_set(KEYS[3], args.take(2 * n))
if r > 0 then section('RPUSH', KEYS[1], r) end
if d > 0 then section('ZADD', KEYS[2], 2 * d) end
section('SADD', KEYS[6], n)
redis.call('HINCRBY', KEYS[5], 'total', n)
redis.call('HINCRBY', KEYS[5], 'pending', n)
notify(KEYS[4], n)
return batch_reply(KEYS[1], b)
