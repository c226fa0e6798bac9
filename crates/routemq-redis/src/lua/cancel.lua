-- cancel.lua: cancels one job of one queue, wherever it is.
-- KEYS[1] ready list (names the group keys, see groups.lua, and the workflow
-- keys, see lib.lua)   KEYS[2] delayed zset
-- KEYS[3] reserved zset   KEYS[4] jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua)
-- KEYS[5] the queue's set of held uniqueness keys (locks: KEYS[5] .. ':' .. key)
-- KEYS[6] the job's finished record (string "{queue keys}:done:{id}")
-- KEYS[7] the queue's set of waiting jobs (chain links, callbacks; their order
-- index KEYS[7] .. ':order' is named from it)
-- ARGV[1] id   ARGV[2] now (ms)   ARGV[3] how long the cancelled record is kept (ms)
-- Guarantee: atomic. A stored job (one with metadata) that waits for its chain
-- or batch (in KEYS[7]) leaves that set and its order index; it is then removed
-- like any job not started (below) and released by nothing afterwards. A stored
-- job that is reserved (found by scanning the reserved zset, O(reserved jobs))
-- gets a cancel request, field "{id}:cancel" = '1' (deleted with the job;
-- release.lua and reclaim.lua then end it as cancelled) and the reply is
-- {2, ''}. A stored job not started (waiting, delayed, in the ready list, or in its
-- group's list, O(list length): a group list left empty leaves the rotation and
-- the parked lanes, see unready) is removed completely (every field; its
-- uniqueness lock released if it names the job, whatever the scope), recorded
-- as cancelled at KEYS[6] for ARGV[3] ms, its workflow effects applied as
-- cancelled (flow_settled: a batch counts it cancelled, which may finish the
-- batch; a chain releases nothing), and the reply is {1, ''}. A job not stored
-- whose finished record exists: {3, the record's state ('s', 'c'; anything else
-- is the record's first field, for the caller to report)}; nothing changes.
-- Otherwise {0, ''}.
local id, now = ARGV[1], tonumber(ARGV[2])
local got = job_get(KEYS[4], { meta_field(id), id .. ':group' })
local meta, g = got[1], got[2]
if not meta then
  local rec = redis.call('GET', KEYS[6])
  if rec then return {3, string.match(rec, '^([^|]*)') or ''} end
  return {0, ''}
end
if not unwait(KEYS[7], id) then
  if find_reservation(KEYS[3], id) then
    job_set(KEYS[4], { id .. ':cancel', '1' })
    return {2, ''}
  end
  if redis.call('ZREM', KEYS[2], id) == 0 then
    if not unready(KEYS[1], id, g) and g then unready(KEYS[1], id, nil) end
  end
end
local _, _, _, tail = parse_meta(meta)
release_unique(KEYS[5], id, tail)
drop_job(KEYS[4], id)
keep_finished(KEYS[6], 'c', meta, now, tonumber(ARGV[3]))
flow_settled(KEYS[1], KEYS[4], id, tail, 'c', now)
return {1, ''}
