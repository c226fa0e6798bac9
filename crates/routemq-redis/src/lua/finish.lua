-- finish.lua: ends one reserved job as succeeded with a kept record
-- (ack_and_keep) or as cancelled by its worker (ack_cancelled), fenced by owner
-- token.
-- KEYS[1] reserved zset   KEYS[2] jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua)
-- KEYS[3] the queue's set of held uniqueness keys (locks: KEYS[3] .. ':' .. key)
-- KEYS[4] ready list (names the group keys, see groups.lua)   KEYS[5] rate hash
-- KEYS[6] notify list   KEYS[7] the job's finished record (string
-- "{queue keys}:done:{id}", see keep_finished in lib.lua)
-- ARGV[1] id   ARGV[2] token   ARGV[3] state: 's' succeeded, 'c' cancelled
-- ARGV[4] now (ms)   ARGV[5] how long the record is kept (ms; <= 0: not kept)
-- ARGV[6] '1' when a result follows, '0' when none   ARGV[7] the result (bytes)
-- Guarantee: atomic; returns 0 and changes nothing unless "id|token" is still in
-- the reserved zset. Otherwise exactly what ack.lua does for the job (uniqueness
-- lock released for a 'u' token, group slot freed for a 'g' token, every field of
-- the job deleted: see reservation_done), and in the same step the record
-- "state|attempts|max_tries|now|has_result|result" is SET with PX ARGV[5], so it
-- expires by itself. A job of a chain or batch (a workflow tail in its metadata,
-- read here anyway) then has its workflow effects applied as settled 's'
-- (succeeded) or 'c' (cancelled), see flow_settled. Returns 1.
local id, token = ARGV[1], ARGV[2]
if redis.call('ZREM', KEYS[1], id .. '|' .. token) == 0 then return 0 end
local meta = job_field(KEYS[2], meta_field(id))
reservation_done(KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], id, token, meta)
drop_job(KEYS[2], id)
local result
if ARGV[6] == '1' then result = ARGV[7] end
keep_finished(KEYS[7], ARGV[3], meta, tonumber(ARGV[4]), tonumber(ARGV[5]), result)
local _, _, _, tail = parse_meta(meta)
if is_flow(tail) then
  flow_settled(KEYS[4], KEYS[2], id, tail, ARGV[3] == 's' and 's' or 'c', tonumber(ARGV[4]))
end
return 1
