-- workers.lua: live workers, dropping expired heartbeats.
-- KEYS[1] workers zset   KEYS[2] workers info hash
-- ARGV[1] now (ms)
-- Guarantee: atomic; expired entries leave both keys. Returns the info JSON of
-- every live worker.
local now = tonumber(ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #dead > 0 then
  chunked('ZREM', KEYS[1], dead)
  chunked('HDEL', KEYS[2], dead)
end
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
if #live == 0 then return {} end
local out = {}
for i = 1, #live, CHUNK do
  local j = math.min(i + CHUNK - 1, #live)
  local infos = redis.call('HMGET', KEYS[2], unpack(live, i, j))
  for k = 1, #infos do
    if infos[k] then out[#out + 1] = infos[k] end
  end
end
return out
