-- ack.lua: removes finished jobs of one queue, fenced by owner token.
-- KEYS[1] reserved zset   KEYS[2] jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua)
-- KEYS[3] the queue's set of held uniqueness keys (locks: KEYS[3] .. ':' .. key)
-- KEYS[4] ready list (names the group keys, see groups.lua)   KEYS[5] rate hash
-- KEYS[6] notify list
-- ARGV: pairs of id, token. A token ending in 'u' (given by claim.lua to a job
-- that holds a lock) makes the script read the job's metadata and release it;
-- other acks never touch lock keys. A token with a 'g' (a grouped job) makes it
-- read the job's group and free one of the group's running slots. A token ending
-- in 'w' (a job of a chain or batch) makes it read the job's metadata and apply
-- its workflow effects (flow_settled in lib.lua: the next link released, the
-- batch's counters and callbacks), with the server's clock (TIME, read once per
-- call, only then) as now.
-- Guarantee: atomic. A job is removed only if "id|token" is still in the reserved
-- zset (its current owner acks it); other jobs are left untouched and their ids
-- returned as lost. A removed job's uniqueness lock is released if it still names
-- the job; a removed grouped job's group count drops by one (a capped group back
-- under its cap rejoins the rotation and wakes one idle worker); the job's body,
-- metadata, group, run record and cancel request go in one drop_jobs (see
-- reservation_done and add_job_fields). An ack keeps no finished record
-- (finish.lua does). Plain jobs pay nothing for workflows.
local reserved, jobs, unique, ready, rate, notify_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local done, lost, nd = {}, {}, 0
local now
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  local token = ARGV[i + 1]
  if redis.call('ZREM', reserved, id .. '|' .. token) == 1 then
    reservation_done(jobs, unique, ready, rate, notify_key, id, token)
    if string.byte(token, -1) == 119 then -- 'w'
      now = now or server_ms()
      local _, _, _, tail = parse_meta(job_field(jobs, meta_field(id)))
      flow_settled(ready, jobs, id, tail, 's', now)
    end
    nd = nd + 1
    done[nd] = id
  else
    lost[#lost + 1] = id
  end
end
if nd > 0 then
  drop_jobs(jobs, done)
end
return lost
