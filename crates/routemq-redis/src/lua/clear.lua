-- clear.lua: deletes every waiting, ready, delayed and reserved job of one queue,
-- and its batches.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] reserved zset
-- KEYS[4] jobs hash (names the buckets of bodies and metadata, and their set; lib.lua)   KEYS[5] the queue's set of held
-- uniqueness keys (each lock is KEYS[5] .. ':' .. key)   KEYS[6] the queue's set
-- of waiting jobs (chain links, callbacks; their order index is KEYS[6] ..
-- ':order')   KEYS[7] the queue's batch index (zset batch id -> expiry; each
-- record is KEYS[1] .. ':batch:' .. id, its job set the record's name .. ':jobs',
-- see lib.lua)
-- Fair groups: every group list in the rotation or parked, the rotation, the
-- parked lanes, the groups' running counts and the grouped flag go too (see
-- groups.lua); limits, caps, windows and holds stay (clear_limit.lua removes them).
-- Guarantee: atomic; the failed store is left alone; holders of reservations get
-- LeaseLost afterwards (their "id|token" members are gone); every uniqueness lock of the queue goes
-- with the jobs that held it; run records and cancel requests go with the jobs
-- hash (every listed bucket is deleted; the set of buckets stays, for a driver
-- that listed a bucket leaves the SADD out of its next pushes there, and its gone
-- names leave it by sweep_buckets.lua an hour later); waiting jobs go with the
-- waiting set and the jobs hash; every batch of the
-- queue (record and job set) is deleted, so it is unknown afterwards (the global
-- batch index keeps a stale entry until a listing drops it); finished jobs' kept
-- records ("…:done:{id}") stay until they expire, and so does the queue's
-- throughput history ("…:history:{hour}", see record_history.lua): it records what
-- happened, not jobs. Returns how many jobs.
local n = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
  + redis.call('SCARD', KEYS[6])
local rotation = KEYS[1] .. ':groups'
local lanes = redis.call('LRANGE', rotation, 0, -1)
local parked = redis.call('ZRANGE', KEYS[1] .. ':parked', 0, -1)
for i = 1, #parked do lanes[#lanes + 1] = parked[i] end
for i = 1, #lanes do
  if lanes[i] ~= '' then
    local list = group_list(KEYS[1], lanes[i])
    n = n + redis.call('LLEN', list)
    redis.call('UNLINK', list)
  end
end
redis.call('UNLINK', rotation, KEYS[1] .. ':grouped', KEYS[1] .. ':parked', KEYS[1] .. ':active')
local held = redis.call('SMEMBERS', KEYS[5])
for i = 1, #held do
  redis.call('DEL', KEYS[5] .. ':' .. held[i])
end
local batches = redis.call('ZRANGE', KEYS[7], 0, -1)
for i = 1, #batches do
  local rec = batch_record(KEYS[1], batches[i])
  redis.call('UNLINK', rec, rec .. ':jobs')
end
local buckets = redis.call('SMEMBERS', KEYS[4] .. ':buckets')
for i = 1, #buckets, CHUNK do
  redis.call('UNLINK', unpack(buckets, i, math.min(i + CHUNK - 1, #buckets)))
end
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6],
  KEYS[6] .. ':order', KEYS[7])
return n
