-- groups.lua: fair groups and their controls (cap, per-group windows, group
-- holds); appended to lib.lua in front of every script that needs helpers.
-- Uses no KEYS of its own: every key below is named from the ready list's or the
-- rate hash's name (so it shares the queue's hash tag and slot).
--
-- A grouped job has a field "{id}:group" in the jobs hash; while ready it waits in
-- its group's list `ready .. ':group:' .. g`, not in the ready list.
-- `ready .. ':groups'` is the rotation: lanes with ready jobs that may be claimed
-- now, in turn, each once, '' standing for the ungrouped ready list; it exists
-- only while a group is in it. (A group whose list was empty joins it on a push
-- even when blocked; the next claim that reaches it parks it.) `ready .. ':parked'` (zset g -> server ms) holds
-- the blocked lanes (group held, its window full, at its cap) with the time to
-- look at them again: a group with ready jobs is in exactly one of the two.
-- `ready .. ':grouped'` is set once the queue has had a grouped job: only then do
-- promotions, releases and reclaims read group fields. `ready .. ':active'`
-- (hash g -> reserved jobs) counts each group's running jobs, cap or not: +1 when
-- claimed (the token then carries a 'g'), -1 when the reservation ends, always
-- behind the reserved-zset fence. `rate .. ':holds'` (hash g -> hold end, server
-- ms), `rate_log .. ':' .. g` (group g's window under a per-group limit) and
-- `rate .. ':windows'` (zset g -> when g's log expires, so clear_limit finds them).
-- Guarantee: pure helpers; the only writes are the ones the calling script asks for.

local function group_list(ready, g)
  return ready .. ':group:' .. g
end

-- Puts group `g` at the rotation's end ('' first when it starts the rotation).
local function join_rotation(ready, g)
  local rotation = ready .. ':groups'
  if redis.call('LLEN', rotation) == 0 then
    redis.call('RPUSH', rotation, '', g)
  else
    redis.call('RPUSH', rotation, g)
  end
end

-- Appends `ids` (in order) to group `g`'s list; a group whose list was empty
-- joins the rotation at its end (a parked group's list is never empty).
local function ready_in_group(ready, g, ids)
  local list = group_list(ready, g)
  local was = redis.call('LLEN', list)
  chunked('RPUSH', list, ids)
  if was == 0 then join_rotation(ready, g) end
end

-- Makes `ids` ready, in order: each grouped one in its group's list, the others
-- at the tail of the ready list. A queue that never had a grouped job costs one
-- EXISTS.
local function make_ready(ready, jobs, ids)
  if #ids == 0 then return end
  if redis.call('EXISTS', ready .. ':grouped') == 0 then
    chunked('RPUSH', ready, ids)
    return
  end
  local fields = {}
  for i = 1, #ids do fields[i] = ids[i] .. ':group' end
  local groups = job_get(jobs, fields)
  local plain, by, order = {}, {}, {}
  for i = 1, #ids do
    local g = groups[i]
    if g then
      if not by[g] then
        by[g] = {}
        order[#order + 1] = g
      end
      local l = by[g]
      l[#l + 1] = ids[i]
    else
      plain[#plain + 1] = ids[i]
    end
  end
  if #plain > 0 then chunked('RPUSH', ready, plain) end
  for i = 1, #order do ready_in_group(ready, order[i], by[order[i]]) end
end

-- Moves up to `limit` parked lanes due by `now` (server ms; '+inf': all) back
-- to the rotation's end. Returns how many moved.
local function unpark(ready, now, limit)
  local parked = ready .. ':parked'
  local due = redis.call('ZRANGEBYSCORE', parked, '-inf', now, 'LIMIT', 0, limit)
  for i = 1, #due do
    redis.call('ZREM', parked, due[i])
    if redis.call('EXISTS', group_list(ready, due[i])) == 1 then join_rotation(ready, due[i]) end
  end
  return #due
end

-- Ends one reservation of group `g` (nil: an ungrouped job, nothing to do). Call
-- only after the job's reserved-zset member was removed (the owner fence). When
-- the queue has a cap (in `rate`) and this end takes the group from its cap to
-- just under it, its parked lane rejoins the rotation and one idle worker is
-- woken on `notify_key` (a lane also parked for another reason is parked again
-- by the next claim).
local function group_slot_freed(ready, rate, notify_key, g)
  if not g then return end
  local active = ready .. ':active'
  local n = redis.call('HINCRBY', active, g, -1)
  if n <= 0 then redis.call('HDEL', active, g) end
  local cap = redis.call('HGET', rate, 'group_concurrency')
  local parked = ready .. ':parked'
  if cap and n == tonumber(cap) - 1 and redis.call('ZSCORE', parked, g) then
    redis.call('ZREM', parked, g)
    join_rotation(ready, g)
    notify(notify_key, 1)
  end
end

-- What ending a reservation does besides its owner fence (the ZREM of "id|token",
-- which the caller did and which succeeded): the ack's steps, shared by ack.lua,
-- finish.lua, and release.lua for a job with a cancel request. A token ending in
-- 'u' (a job holding its uniqueness lock until finished) releases the lock if it
-- still names the job; a token with a 'g' frees one of the group's running slots
-- (group_slot_freed). `meta`: the job's metadata when the caller read it already
-- (nil: read here, only for a 'u' token). The caller deletes the job's fields.
-- A token ending in a digit (claim.lua's nonce and counter, every plain job)
-- marks nothing: one byte read, no search.
local function reservation_done(jobs, unique_index, ready, rate, notify_key, id, token, meta)
  local mark = string.byte(token, -1)
  if not mark or mark <= 57 then return end
  if mark == 117 then -- 'u'
    if meta == nil then meta = job_field(jobs, meta_field(id)) end
    local _, _, _, tail = parse_meta(meta)
    release_unique(unique_index, id, tail)
  end
  if string.find(token, 'g', 1, true) then
    group_slot_freed(ready, rate, notify_key, job_field(jobs, id .. ':group'))
  end
end

-- Takes waiting job `id` out of its group `g`'s list (`g` nil or false: the ready
-- list), O(list length); a group list left empty leaves the rotation and the
-- parked lanes (and the rotation goes when only the ungrouped lane '' is left).
-- Returns true when the id was found there.
local function unready(ready, id, g)
  if not g then return redis.call('LREM', ready, 1, id) > 0 end
  local list = group_list(ready, g)
  local found = redis.call('LREM', list, 1, id) > 0
  if redis.call('LLEN', list) == 0 then
    local rotation = ready .. ':groups'
    redis.call('LREM', rotation, 0, g)
    redis.call('ZREM', ready .. ':parked', g)
    if redis.call('LLEN', rotation) == 1 and redis.call('LINDEX', rotation, 0) == '' then
      redis.call('DEL', rotation)
    end
  end
  return found
end

-- When group `g` may be claimed from again (server ms), or nil when now; `ctl`
-- (see take_turns) says what to look at. Expired holds are dropped here.
local function lane_blocked(ready, g, ctl)
  local at
  if ctl.holds then
    local h = redis.call('HGET', ctl.holds, g)
    if h then
      h = tonumber(h)
      if h > ctl.now then at = h else redis.call('HDEL', ctl.holds, g) end
    end
  end
  if ctl.jobs then
    local log = ctl.log .. ':' .. g
    redis.call('ZREMRANGEBYSCORE', log, '-inf', '(' .. (ctl.now - ctl.per))
    local e = redis.call('ZREVRANGE', log, ctl.jobs - 1, ctl.jobs - 1, 'WITHSCORES')
    if e[2] then
      local open = tonumber(e[2]) + ctl.per + 1
      if not at or open > at then at = open end
    end
  end
  if ctl.cap and tonumber(redis.call('HGET', ready .. ':active', g) or '0') >= ctl.cap then
    -- A slot frees when a job ends (which unparks the lane); the time is a fallback.
    local fallback = ctl.now + 1000
    if not at or fallback > at then at = fallback end
  end
  return at
end

-- Records a start of `lane` in its window under a per-group limit.
local function log_start(lane, ctl, member)
  local log = ctl.log
  if lane ~= '' then
    log = log .. ':' .. lane
    redis.call('ZADD', ctl.windows, ctl.now + ctl.per, lane)
  end
  redis.call('ZADD', log, ctl.now, member)
  redis.call('PEXPIRE', log, ctl.per)
end

-- Takes up to `want` ready ids of a queue whose rotation is not empty, one per
-- lane in turn; a lane with ids left goes to the rotation's end ('' only while
-- groups remain). An id without a body (a foreign payload) is taken only while
-- `spare` fresh ids last; otherwise it is put back and taking stops.
-- `ctl` (nil when the queue has no cap, group hold or per-group limit):
-- {now = server ms, cap = n|nil, holds = key|nil, jobs/per/log/windows (per-group
-- limit)|nil, room = ungrouped window's room|nil, nonce, k0 = tokens so far}.
-- A group found blocked, or blocked by the job just taken, is parked (never put
-- back in the rotation); the ungrouped lane with no room keeps its place but gives
-- nothing (taking stops when it is the only lane left). Each group's running count
-- goes up per id taken; under a per-group limit each start is logged in its lane's
-- window (member nonce .. token number). Returns the ids and their lanes in order.
local function take_turns(ready, jobs, want, spare, ctl)
  local rotation = ready .. ':groups'
  local ids, lanes = {}, {}
  while #ids < want do
    local lane = redis.call('LPOP', rotation)
    if not lane then break end
    local list, at = ready, nil
    if lane ~= '' then
      list = group_list(ready, lane)
      if ctl then at = lane_blocked(ready, lane, ctl) end
    end
    if at then
      redis.call('ZADD', ready .. ':parked', at, lane)
    elseif lane == '' and ctl and ctl.room and ctl.room <= 0 then
      if redis.call('LLEN', rotation) == 0 then break end
      redis.call('RPUSH', rotation, '')
    else
      local id = redis.call('LPOP', list)
      if id and not job_has(jobs, id) then
        if spare == 0 then
          redis.call('LPUSH', list, id)
          redis.call('LPUSH', rotation, lane)
          break
        end
        spare = spare - 1
      end
      if id then
        ids[#ids + 1] = id
        lanes[#lanes + 1] = lane
        if lane ~= '' then redis.call('HINCRBY', ready .. ':active', lane, 1) end
        if ctl and ctl.jobs then log_start(lane, ctl, ctl.nonce .. (ctl.k0 + #ids)) end
        if lane == '' and ctl and ctl.room then ctl.room = ctl.room - 1 end
      end
      if lane == '' then
        if redis.call('LLEN', rotation) > 0 then redis.call('RPUSH', rotation, '') end
      elseif redis.call('LLEN', list) > 0 then
        local next_at = ctl and lane_blocked(ready, lane, ctl)
        if next_at then
          redis.call('ZADD', ready .. ':parked', next_at, lane)
        else
          redis.call('RPUSH', rotation, lane)
        end
      end
    end
  end
  if redis.call('LLEN', rotation) == 1 and redis.call('LINDEX', rotation, 0) == '' then
    redis.call('DEL', rotation)
  end
  return ids, lanes
end

-- Moves up to `limit` due delayed jobs (score <= now) to the tail of the ready list
-- (a grouped job: of its group's list), oldest due time first. Returns how many moved.
local function promote(ready, delayed, now, limit, jobs)
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
  if #due > 0 then
    chunked('ZREM', delayed, due)
    make_ready(ready, jobs, due)
  end
  return #due
end
