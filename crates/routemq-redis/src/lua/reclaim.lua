-- reclaim.lua: handles expired reservations of one queue.
-- KEYS[1] ready list   KEYS[2] reserved zset   KEYS[3] jobs hash (bodies and
-- "{id}:meta" fields)   KEYS[4] failed list   KEYS[5] failed index hash
-- KEYS[6] notify list   KEYS[7] the queue's set of held uniqueness keys
-- KEYS[8] rate hash (its group_concurrency)   KEYS[9] the prefix of the queue's
-- finished records (each record is KEYS[9] .. ':' .. id, same hash tag)
-- ARGV[1] now (ms)   ARGV[2] at most this many reservations per call
-- ARGV[3] connection name   ARGV[4] queue name   ARGV[5] how long a cancelled
-- record is kept (ms)
-- Guarantee: atomic. Each reservation whose deadline is <= now leaves the reserved
-- zset: a job with a cancel request ("{id}:cancel", see cancel.lua) is removed
-- (its uniqueness lock released, every field deleted) and recorded as cancelled,
-- whatever its attempts (never failed, never claimable again); otherwise, with
-- attempts left it goes to the tail of the ready list (a grouped job: of
-- its group's list), otherwise to the
-- failed store with a reason (releasing its uniqueness lock; a job that goes
-- back keeps its lock, as it still exists); a grouped job's reservation (token with
-- a 'g') frees one of its group's running slots either way. A job of a chain or
-- batch that is cancelled or failed here has its workflow effects applied in the
-- same step (flow_settled, 'c' or 'f'); one that goes back changes nothing of its
-- workflow. Returns {released,
-- failed, cancelled, handled}: cancelled ones count in neither of the first two;
-- handled is every expired reservation taken (also those whose job had no
-- metadata left), so a caller loops while it equals the limit.
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
local released, failed, cancelled = 0, 0, 0
local back = {}
for i = 1, #expired do
  local member = expired[i]
  redis.call('ZREM', KEYS[2], member)
  local id, token = string.match(member, '^(.*)|([^|]*)$')
  if not id then id, token = member, '' end
  local got = job_get(KEYS[3], { meta_field(id), id .. ':cancel' })
  local meta = got[1]
  if string.find(token, 'g', 1, true) then
    group_slot_freed(KEYS[1], KEYS[8], KEYS[6], job_field(KEYS[3], id .. ':group'))
  end
  if meta then
    local attempts, tries, _, tail = parse_meta(meta)
    if got[2] then
      release_unique(KEYS[7], id, tail)
      drop_job(KEYS[3], id)
      keep_finished(KEYS[9] .. ':' .. id, 'c', meta, now, tonumber(ARGV[5]))
      flow_settled(KEYS[1], KEYS[3], id, tail, 'c', now)
      cancelled = cancelled + 1
    elseif attempts >= tries then
      to_failed(KEYS[3], KEYS[4], KEYS[5], id, ARGV[3], ARGV[4],
        string.format('lease expired on attempt %d of %d: the worker stopped or hung before finishing the job', attempts, tries),
        now, KEYS[7])
      flow_settled(KEYS[1], KEYS[3], id, tail, 'f', now)
      failed = failed + 1
    else
      job_set(KEYS[3], { meta_field(id), pack_meta(attempts, tries, now, tail) })
      back[#back + 1] = id
      released = released + 1
    end
  end
end
if #back > 0 then
  make_ready(KEYS[1], KEYS[3], back)
  notify(KEYS[6], #back)
end
return {released, failed, cancelled, #expired}
