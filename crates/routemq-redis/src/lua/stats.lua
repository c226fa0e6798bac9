-- stats.lua: counts for one queue (moving due delayed jobs first, as claim would).
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] reserved zset
-- KEYS[4] jobs hash (bodies and "{id}:meta" fields)   KEYS[5] failed list
-- KEYS[6] paused flag   KEYS[7] rate hash (jobs, per_ms, held_until)
-- ARGV[1] now (ms)   ARGV[2] delayed jobs to promote at most
-- Guarantee: O(1) reads apart from the bounded promotion. Returns {ready, delayed,
-- reserved, failed, ready_at_ms of the oldest ready job or -1, 1 if paused else 0,
-- the rate limit's jobs or nil, its per_ms or nil}.
local now = tonumber(ARGV[1])
promote(KEYS[1], KEYS[2], now, tonumber(ARGV[2]))
local oldest = -1
local head = redis.call('LINDEX', KEYS[1], 0)
if head then
  local meta = redis.call('HGET', KEYS[4], meta_field(head))
  if meta then
    local _, _, ready_at = parse_meta(meta)
    oldest = ready_at
  end
end
return {
  redis.call('LLEN', KEYS[1]),
  redis.call('ZCARD', KEYS[2]),
  redis.call('ZCARD', KEYS[3]),
  redis.call('LLEN', KEYS[5]),
  oldest,
  redis.call('EXISTS', KEYS[6]),
  redis.call('HGET', KEYS[7], 'jobs') or false,
  redis.call('HGET', KEYS[7], 'per_ms') or false,
}
