-- push.lua: stores a batch of jobs on one queue.
-- KEYS[1] ready list      KEYS[2] delayed zset   KEYS[3] jobs hash (id -> payload)
-- KEYS[4] meta hash (id -> "attempts|max_tries|ready_at_ms")   KEYS[5] notify list
-- ARGV[1] now (ms), then per job 4 values: id, payload, max_tries, available_at_ms
--   (available_at_ms <= now means ready at once).
-- Guarantee: all jobs of the call are stored or none; ready ones are appended to the
-- ready list in argument order (FIFO); idle workers are woken. Returns the count.
local now = tonumber(ARGV[1])
local bodies, metas, ready, delayed = {}, {}, {}, {}
local n = 0
for i = 2, #ARGV, 4 do
  local id, payload, tries, at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  bodies[#bodies + 1] = id
  bodies[#bodies + 1] = payload
  metas[#metas + 1] = id
  if at > now then
    metas[#metas + 1] = pack_meta(0, tries, at)
    delayed[#delayed + 1] = at
    delayed[#delayed + 1] = id
  else
    if at <= 0 then at = now end
    metas[#metas + 1] = pack_meta(0, tries, at)
    ready[#ready + 1] = id
  end
  n = n + 1
end
chunked_pairs('HMSET', KEYS[3], bodies)
chunked_pairs('HMSET', KEYS[4], metas)
if #ready > 0 then chunked('RPUSH', KEYS[1], ready) end
if #delayed > 0 then chunked_pairs('ZADD', KEYS[2], delayed) end
notify(KEYS[5], n)
return n
