-- failed_forget.lua: deletes failed jobs of one queue by id.
-- KEYS[1] failed list   KEYS[2] failed index hash
-- ARGV: ids (one for `routemq failed forget`, a chunk of a handoff's batch)
-- Guarantee: atomic; each id's record goes from both the list and the index, an
-- id with no failed job is passed over. Returns how many records it removed.
local removed = 0
for i = 1, #ARGV do
  local record = redis.call('HGET', KEYS[2], ARGV[i])
  if record then
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('LREM', KEYS[1], 1, record)
    removed = removed + 1
  end
end
return removed
