-- ack.lua: removes finished jobs of one queue, fenced by owner token.
-- KEYS[1] reserved zset   KEYS[2] jobs hash (bodies and "{id}:meta" fields)
-- ARGV: pairs of id, token.
-- Guarantee: atomic. A job is removed only if "id|token" is still in the reserved
-- zset (its current owner acks it); other jobs are left untouched and their ids
-- returned as lost.
local done, lost = {}, {}
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('ZREM', KEYS[1], id .. '|' .. ARGV[i + 1]) == 1 then
    done[#done + 1] = id
    done[#done + 1] = meta_field(id)
  else
    lost[#lost + 1] = id
  end
end
if #done > 0 then
  chunked('HDEL', KEYS[2], done)
end
return lost
