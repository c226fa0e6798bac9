-- push_batch.lua: stores a batch (record, jobs, callbacks) on one queue.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] jobs hash   KEYS[4] notify
-- list   KEYS[5] the queue's set of waiting jobs (and, named from it, their order
-- index KEYS[5] .. ':order')   KEYS[6] the queue's batch index (zset batch id ->
-- when its record expires, ms)   KEYS[7] the batch's
-- record (hash, KEYS[1] .. ':batch:' .. id)   KEYS[8] the batch's set of jobs not
-- settled (KEYS[7] .. ':jobs'); see lib.lua for the layout
-- ARGV[1] batch id   ARGV[2] now (ms)   ARGV[3] name   ARGV[4] allow_failures
-- ('1'/'0')   ARGV[5] how long the record is kept once finished (ms)   ARGV[6] how
-- long a cancelled job's record is kept (ms)   ARGV[7] then id   ARGV[8] catch id
-- ARGV[9] finally id ('' for none)   ARGV[10] N jobs   ARGV[11] R ready jobs
-- ARGV[12] D delayed jobs   ARGV[13] C callbacks, then sections laid out by the
-- caller: 2(N + C) values for the jobs hash (id, body with its metadata in front,
-- body_with_meta; each job's metadata with its tail "|w|b|batch id", the
-- callbacks' without) | R ready ids
-- in order | D pairs due ms, id | C callback ids | N job ids.
-- Guarantee: atomic: the batch is stored whole or not at all. A batch whose
-- record exists already changes nothing and returns {'exists'}. Otherwise the
-- record is written (counters: total = pending = N, the rest 0; created_at_ms =
-- now), the batch enters the queue's index (score '+inf' until it finishes;
-- entries whose record expired are dropped from it here), the jobs are stored
-- as push.lua stores them (ready ones at the tail of the ready list in order,
-- the others delayed) and listed in KEYS[8], the callbacks are stored waiting
-- (in KEYS[5] and its order index only), idle workers are woken; a batch
-- without jobs finishes at once (then and finally released, see
-- batch_finish_if_done). The global index of batches (routemq:batches) is
-- written by the caller before this script, as a separate command: if that
-- write is lost the batch still works, only listing and lookup by id miss it.
-- Returns the record as batch_reply does.
local b, now = ARGV[1], tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[7]) == 1 then return {'exists'} end
local n, r, d, c = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local args = argv_reader(14)
local section = args.section
redis.call('HMSET', KEYS[7], 'name', ARGV[3], 'total', n, 'pending', n, 'succeeded', 0,
  'failed', 0, 'cancelled', 0, 'allow_failures', ARGV[4], 'cancelled_batch', '0',
  'created_at_ms', now, 'keep_ms', ARGV[5], 'cancelled_keep_ms', ARGV[6],
  'then', ARGV[7], 'catch', ARGV[8], 'finally', ARGV[9])
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', '(' .. now)
redis.call('ZADD', KEYS[6], '+inf', b)
if n + c > 0 then job_set(KEYS[3], args.take(2 * (n + c))) end
if r > 0 then section('RPUSH', KEYS[1], r) end
if d > 0 then section('ZADD', KEYS[2], 2 * d) end
if c > 0 then
  local ids = {}
  for i = 1, c do ids[i] = ARGV[args.at + i - 1] end
  add_waiting(KEYS[5], ids, now)
  args.at = args.at + c
end
if n > 0 then
  section('SADD', KEYS[8], n)
  notify(KEYS[4], n)
else
  batch_finish_if_done(KEYS[1], KEYS[3], b, now)
end
return batch_reply(KEYS[1], b)
