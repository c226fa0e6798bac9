-- stats.lua: counts for one queue (moving due delayed jobs first, as claim would).
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] reserved zset
-- KEYS[4] jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua)   KEYS[5] failed list
-- KEYS[6] paused flag   KEYS[7] rate hash (jobs, per_ms, held_until, per_group)
-- ARGV[1] now (ms)   ARGV[2] delayed jobs to promote at most
-- Guarantee: O(1) reads per lane (the ready list, and each group with ready jobs,
-- in the rotation or parked)
-- apart from the bounded promotion. Returns {ready, delayed,
-- reserved, failed, ready_at_ms of the oldest ready job or -1, 1 if paused else 0,
-- the rate limit's jobs or nil, its per_ms or nil, its per_group ('1') or nil}.
local now = tonumber(ARGV[1])
promote(KEYS[1], KEYS[2], now, tonumber(ARGV[2]), KEYS[4])
local oldest = -1
local function head_of(list)
  local head = redis.call('LINDEX', list, 0)
  if head then
    local meta = job_field(KEYS[4], meta_field(head))
    if meta then
      local _, _, ready_at = parse_meta(meta)
      if oldest < 0 or ready_at < oldest then oldest = ready_at end
    end
  end
end
head_of(KEYS[1])
local ready = redis.call('LLEN', KEYS[1])
-- Grouped ready jobs: every group in the rotation has some, the others none.
local lanes = redis.call('LRANGE', KEYS[1] .. ':groups', 0, -1)
local parked = redis.call('ZRANGE', KEYS[1] .. ':parked', 0, -1)
for i = 1, #parked do lanes[#lanes + 1] = parked[i] end
for i = 1, #lanes do
  if lanes[i] ~= '' then
    local list = group_list(KEYS[1], lanes[i])
    ready = ready + redis.call('LLEN', list)
    head_of(list)
  end
end
return {
  ready,
  redis.call('ZCARD', KEYS[2]),
  redis.call('ZCARD', KEYS[3]),
  redis.call('LLEN', KEYS[5]),
  oldest,
  redis.call('EXISTS', KEYS[6]),
  redis.call('HGET', KEYS[7], 'jobs') or false,
  redis.call('HGET', KEYS[7], 'per_ms') or false,
  redis.call('HGET', KEYS[7], 'per_group') or false,
}
