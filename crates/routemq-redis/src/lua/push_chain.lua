-- push_chain.lua: stores a chain (its links and its catch) on one queue.
-- KEYS[1] ready list   KEYS[2] delayed zset   KEYS[3] jobs hash   KEYS[4] notify
-- list   KEYS[5] the queue's set of waiting jobs (and, named from it, their order
-- index KEYS[5] .. ':order'; see lib.lua)
-- ARGV[1] N jobs (the links in order, then the catch if any)   ARGV[2] the first
-- link's due time (ms)   ARGV[3] now (ms), then 2N values for the jobs hash, in
-- job order: id, body with its metadata in front (body_with_meta in lib.lua).
-- The caller writes each link's
-- metadata with its workflow tail "|w|c|next|catch" (none when the link has
-- neither a next link nor a catch) and the catch's without one (see parse_meta).
-- Guarantee: atomic: every job of the chain is stored or none. The first link is
-- stored as push.lua stores a job (delayed when due after now, otherwise at the
-- tail of the ready list); every other job (links 2.., the catch) is waiting: in
-- KEYS[5] (and its order index, in chain order) and in no list or zset, until the settlement of the link before it (or
-- the failure of a link, for the catch) releases it (flow_settled in lib.lua).
-- Idle workers are woken. Returns N.
local n, due, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local at = 4
job_set(KEYS[3], argv_reader(at).take(2 * n))
local first = ARGV[at]
if due > now then
  redis.call('ZADD', KEYS[2], due, first)
else
  redis.call('RPUSH', KEYS[1], first)
end
local waiting = {}
for k = 1, n - 1 do waiting[k] = ARGV[at + 2 * k] end
add_waiting(KEYS[5], waiting, now)
notify(KEYS[4], 1)
return n
