-- hold_group.lua: holds one group of a queue: claims take none of its jobs for
-- a while (the queue's other lanes still deliver).
-- KEYS[1] rate hash (the holds are the hash KEYS[1] .. ':holds', group -> hold
-- end in server ms)   KEYS[2] ready list (names the rotation and parked lanes,
-- see groups.lua)
-- ARGV[1] the group   ARGV[2] how long (ms)
-- Guarantee: atomic. The group's hold ends at server now + ARGV[2] unless it ends
-- later already (a shorter hold never cuts a longer one short); the holds hash
-- expires when its last hold ends, so holds leave nothing behind. A group in the
-- rotation is parked until the hold's end at once (a parked one keeps the later
-- of its two times). Returns the hold's end (server ms).
local g = ARGV[1]
local holds = KEYS[1] .. ':holds'
local now = server_ms()
local want = now + tonumber(ARGV[2])
local held = tonumber(redis.call('HGET', holds, g) or '0')
if want > held then
  redis.call('HSET', holds, g, want)
  held = want
end
if redis.call('PTTL', holds) < held - now + 1 then
  redis.call('PEXPIRE', holds, held - now + 1)
end
local ready = KEYS[2]
local rotation = ready .. ':groups'
local parked = ready .. ':parked'
if redis.call('LREM', rotation, 1, g) == 1 then
  redis.call('ZADD', parked, held, g)
  if redis.call('LLEN', rotation) == 1 then redis.call('DEL', rotation) end
else
  local at = redis.call('ZSCORE', parked, g)
  if at and tonumber(at) < held then redis.call('ZADD', parked, held, g) end
end
return held
