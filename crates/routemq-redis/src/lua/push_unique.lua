-- push_unique.lua: stores one job under a uniqueness key, atomically with its lock.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] jobs hash (bodies and
-- "{id}:meta" fields)   KEYS[4] notify list   KEYS[5] the queue's set of held
-- uniqueness keys   KEYS[6] the lock (string KEYS[5] .. ':' .. key, holding the
-- holder's job id)
-- ARGV[1] id   ARGV[2] payload   ARGV[3] max_tries   ARGV[4] due time (ms)
-- ARGV[5] now (ms)   ARGV[6] scope: 's' released at claim, 'f' when the job is
-- gone   ARGV[7] lock time to live (ms)   ARGV[8] '1' to debounce
-- ARGV[9] the key   ARGV[10] '1' to renew the lock's time to live on debounce
-- ARGV[11] the job's group ('' = none; a debounced holder keeps its own)
-- Guarantee: atomic. The key is held while the lock exists and the job it names
-- still has metadata in the jobs hash; a held key stores nothing and returns
-- {holder, 1}, or, debouncing a holder never claimed (0 attempts), gives the
-- holder this payload, max_tries and due time (moving it between the ready list
-- and the delayed zset) and returns {holder, 2}. A free key (no lock, expired,
-- or its job gone) is locked for this job (SET PX) and recorded in KEYS[5], the
-- job is stored as push.lua would with a "|scope|key" metadata tail, idle workers
-- are woken, and {id, 0} is returned.
local id, due, now = ARGV[1], tonumber(ARGV[4]), tonumber(ARGV[5])
local ready_at = math.max(due, now)
local holder = redis.call('GET', KEYS[6])
if holder then
  local meta = job_field(KEYS[3], meta_field(holder))
  if meta then
    local attempts, _, _, tail = parse_meta(meta)
    if ARGV[8] ~= '1' or attempts > 0 then
      return {holder, 1}
    end
    if not redis.call('ZSCORE', KEYS[2], holder) then
      -- Due already: it waits in the ready list or its group's list (O(its
      -- length), only here); a group list left empty leaves the rotation.
      unready(KEYS[1], holder, job_field(KEYS[3], holder .. ':group'))
    end
    if due > now then
      redis.call('ZADD', KEYS[2], due, holder)
    else
      redis.call('ZREM', KEYS[2], holder)
      make_ready(KEYS[1], KEYS[3], { holder })
    end
    -- The holder may have a "{id}:meta" field (released unstarted, or stored
    -- by an older release), which would outrank the body's: both are written.
    local m = pack_meta(0, tonumber(ARGV[3]), ready_at, tail)
    job_set(KEYS[3], { holder, body_with_meta(ARGV[2], m), meta_field(holder), m })
    if ARGV[10] == '1' then
      redis.call('PEXPIRE', KEYS[6], ARGV[7])
    end
    notify(KEYS[4], 1)
    return {holder, 2}
  end
end
redis.call('SET', KEYS[6], id, 'PX', ARGV[7])
redis.call('SADD', KEYS[5], ARGV[9])
job_set(KEYS[3], { id,
  body_with_meta(ARGV[2], pack_meta(0, tonumber(ARGV[3]), ready_at, '|' .. ARGV[6] .. '|' .. ARGV[9])) })
if ARGV[11] ~= '' then
  job_set(KEYS[3], { id .. ':group', ARGV[11] })
  redis.call('SET', KEYS[1] .. ':grouped', '1')
end
if due > now then
  redis.call('ZADD', KEYS[2], due, id)
elseif ARGV[11] ~= '' then
  ready_in_group(KEYS[1], ARGV[11], { id })
else
  redis.call('RPUSH', KEYS[1], id)
end
notify(KEYS[4], 1)
return {id, 0}
