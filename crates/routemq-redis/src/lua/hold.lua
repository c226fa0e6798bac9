-- hold.lua: holds a queue: claims take none of its jobs for a while.
-- KEYS[1] rate hash (jobs, per_ms, held_until, per_group, group_concurrency)   KEYS[2] notify list
-- ARGV[1] how long (ms)
-- Guarantee: atomic. held_until becomes server now + ARGV[1] unless it is later
-- already (a shorter hold never cuts a longer one short). A hash holding no limit
-- and no group cap expires when the hold ends, so a hold leaves nothing behind. Returns the hold's
-- end (server ms).
local now = server_ms()
local want = now + tonumber(ARGV[1])
local held = tonumber(redis.call('HGET', KEYS[1], 'held_until') or '0')
if want > held then
  redis.call('HSET', KEYS[1], 'held_until', want)
  held = want
end
if redis.call('HEXISTS', KEYS[1], 'jobs') == 0
  and redis.call('HEXISTS', KEYS[1], 'group_concurrency') == 0 then
  redis.call('PEXPIRE', KEYS[1], held - now + 1)
end
return held
