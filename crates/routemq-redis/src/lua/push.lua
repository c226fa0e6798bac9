-- push.lua: stores a batch of jobs on one queue.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] jobs hash (id -> payload
-- with "attempts|max_tries|ready_at_ms" in front, see body_with_meta in lib.lua;
-- "{id}:group" -> group for a grouped job)   KEYS[4] notify list
-- ARGV[1] N jobs   ARGV[2] R ready ungrouped   ARGV[3] D delayed
-- ARGV[4] H group fields   ARGV[5] G groups with ready jobs, then sections laid
-- out by the caller so that no per-job Lua work is needed:
--   N + H pairs for the jobs hash (id, body with its metadata per job, then
--   "{id}:group", group per grouped job)  |  R ready ungrouped ids in FIFO order  |
--   D pairs available_at_ms, id  |  G sections: group, count C, C ids in FIFO order.
-- Guarantee: atomic: all jobs of the call are stored or none; the ready ones are
-- appended in order to the ready list or, grouped, to their group's list (a
-- group joining the rotation, see lib.lua); a call with grouped jobs sets the
-- queue's grouped flag; idle workers are woken. Returns N.
local n, r, d = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local h, g = tonumber(ARGV[4]), tonumber(ARGV[5])
local args = argv_reader(6)
local section = args.section
job_set(KEYS[3], args.take(2 * n + 2 * h))
if r > 0 then section('RPUSH', KEYS[1], r) end
if d > 0 then section('ZADD', KEYS[2], 2 * d) end
if h > 0 then redis.call('SET', KEYS[1] .. ':grouped', '1') end
for _ = 1, g do
  local group, c = ARGV[args.at], tonumber(ARGV[args.at + 1])
  local ids = {}
  for i = 1, c do ids[i] = ARGV[args.at + 1 + i] end
  ready_in_group(KEYS[1], group, ids)
  args.at = args.at + 2 + c
end
notify(KEYS[4], n)
return n
