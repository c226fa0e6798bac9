-- push.lua: stores a batch of jobs on one queue.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] jobs hash (id -> payload and
-- "{id}:meta" -> "attempts|max_tries|ready_at_ms")   KEYS[4] notify list
-- ARGV[1] N jobs   ARGV[2] R ready   ARGV[3] D delayed, then three sections laid
-- out by the caller so that no per-job Lua work is needed:
--   2N pairs for the jobs hash (id, payload, "{id}:meta", meta per job)  |
--   R ready ids in FIFO order  |  D pairs available_at_ms, id.
-- Guarantee: atomic: all jobs of the call are stored or none; the ready ones are
-- appended to the ready list in order; idle workers are woken. Returns N.
local n, r, d = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local at = 4
local function section(cmd, key, count)
  local last = at + count - 1
  local i = at
  while i <= last do
    local j = math.min(i + 2 * CHUNK - 1, last)
    redis.call(cmd, key, unpack(ARGV, i, j))
    i = j + 1
  end
  at = last + 1
end
section('HMSET', KEYS[3], 4 * n)
if r > 0 then section('RPUSH', KEYS[1], r) end
if d > 0 then section('ZADD', KEYS[2], 2 * d) end
notify(KEYS[4], n)
return n
