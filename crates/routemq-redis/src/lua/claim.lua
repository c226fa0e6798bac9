-- claim.lua: claims up to N jobs across queues in priority order, skipping
-- paused and held queues and keeping each queue's rate limit.
-- KEYS: 8 per queue, in priority order: ready list, delayed zset, reserved zset,
--   jobs hash (names the buckets of bodies and "{id}:meta" fields; lib.lua), paused flag (string; present while
--   the queue is paused), set of held uniqueness keys (locks: that key .. ':' .. key),
--   rate hash (jobs, per_ms, held_until, per_group, group_concurrency: present
--   while the queue has a limit, a cap or a hold), rate log zset (start times of
--   the window).
-- ARGV[1] now (ms)   ARGV[2] lease deadline (ms)   ARGV[3] max jobs
-- ARGV[4] token nonce (random; token k = nonce .. k)   ARGV[5] delayed jobs to
-- promote per queue at most   ARGV[6..] fresh ids for adopted foreign payloads
-- (a few; claiming stops before a foreign payload when none is left).
-- Guarantee: atomic. Due delayed jobs move to the ready list first (oldest due
-- first, paused queues included); nothing is claimed from a queue whose paused
-- flag exists or whose hold (held_until, server ms) has not passed (the next
-- queue is tried instead); a queue with a limit of J per P ms gives at most J
-- minus the starts its log holds within the last P ms (server clock, whole ms;
-- a start exactly P ms old still counts, so starts lie more than P ms apart), and each
-- job it gives is logged (member = its token, score = server ms; the log expires
-- P ms after its last start), so at most J start in any window of P ms across
-- every worker. A queue without a rate hash costs one HMGET. Each claimed job
-- leaves the ready list, has its attempt counted and is
-- recorded in the reserved zset as member "id|token" scored by the lease deadline.
-- A ready-list element with no body in the jobs hash is a foreign payload (pushed by
-- another producer, or corrupt): it is adopted under a fresh id (max_tries 1) and
-- claimed like any job, so the worker can fail it with a reason. A job whose
-- metadata carries a uniqueness tail has its lock released here when it is
-- "until started" ("|s|"); one holding its lock until finished ("|f|") gets a
-- token ending in 'u', so ack.lua releases the lock without reading metadata
-- for other jobs. A job of a chain or batch (a workflow tail "|w|…", see
-- parse_meta) gets a token ending in 'w' instead, so the settling scripts apply
-- its workflow effects (flow_settled) without reading metadata for other jobs;
-- the claim itself does nothing more for it.
-- Fair groups: a queue whose rotation ('{ready}:groups', see groups.lua) is not
-- empty gives one job per lane in turn (take_turns), each group's jobs FIFO and
-- the ungrouped ready list one more lane; a queue without it costs one LLEN.
-- Due grouped delayed jobs go to their group's list.
-- Group controls (see groups.lua): parked lanes whose time has come rejoin the
-- rotation first (at most 100; a queue without parked lanes costs one EXISTS).
-- The rate hash's group_concurrency caps each group's reserved jobs; a group hold
-- ('{rate}:holds') stops one group; with per_group = '1' each group has its own
-- window of J per P ('{rate_log}:' .. g) and the queue's log is the ungrouped
-- lane's window (a queue without a rotation is limited by it as a whole). A lane
-- that is, or becomes, blocked is parked instead of kept in the rotation. Each
-- claimed grouped job raises its group's count in '{ready}:active' and gets a
-- token with a 'g' (before any 'u'), so ack, fail, release and reclaim lower it.
-- Returns a flat array, 7 values per job: queue index (1-based), id, token,
-- attempt, max_tries, payload in stored form (the body as stored, which may
-- carry metadata in front: the driver splits it off with src/body.rs's
-- split_body, so the script does not copy the payload out; lib.lua's
-- as_stored), group ('' for an ungrouped job).
local now, deadline, max = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local nonce, promote_limit = ARGV[4], tonumber(ARGV[5])
local fresh = 6
local out = {}
local claimed = 0
for q = 1, #KEYS / 8 do
  if claimed >= max then break end
  local base = (q - 1) * 8
  local ready, delayed, reserved, jobs = KEYS[base + 1], KEYS[base + 2], KEYS[base + 3], KEYS[base + 4]
  promote(ready, delayed, now, promote_limit, jobs)
  local snow = 0
  if redis.call('EXISTS', ready .. ':parked') == 1 then
    snow = server_ms()
    unpark(ready, snow, 100)
  end
  local want = max - claimed
  local log, per, ctl = nil, 0, nil
  local rot = redis.call('LLEN', ready .. ':groups') > 0
  if redis.call('EXISTS', KEYS[base + 5]) == 0 then
    local rate = KEYS[base + 7]
    local gate = redis.call('HMGET', rate, 'jobs', 'per_ms', 'held_until', 'per_group', 'group_concurrency')
    local holds
    if rot and redis.call('EXISTS', rate .. ':holds') == 1 then holds = rate .. ':holds' end
    if gate[1] or gate[3] or gate[5] or holds then
      if snow == 0 then snow = server_ms() end
      if gate[3] and tonumber(gate[3]) > snow then
        want = 0
      else
        local per_group = gate[1] and gate[4] == '1'
        if rot and (gate[5] or holds or per_group) then
          ctl = { now = snow, holds = holds, nonce = nonce, k0 = claimed }
          if gate[5] then ctl.cap = tonumber(gate[5]) end
        end
        if gate[1] then
          local lg, p = KEYS[base + 8], tonumber(gate[2])
          redis.call('ZREMRANGEBYSCORE', lg, '-inf', '(' .. (snow - p))
          local room = math.max(tonumber(gate[1]) - redis.call('ZCARD', lg), 0)
          if ctl and per_group then
            ctl.jobs, ctl.per, ctl.log, ctl.room = tonumber(gate[1]), p, lg, room
            ctl.windows = rate .. ':windows'
            redis.call('ZREMRANGEBYSCORE', ctl.windows, '-inf', '(' .. snow)
          else
            log, per = lg, p
            if room < want then want = room end
          end
        end
      end
    end
  else
    want = 0
  end
  local ids, lanes
  local turns = want > 0 and rot
  if turns then
    ids, lanes = take_turns(ready, jobs, want, #ARGV - fresh + 1, ctl)
  elseif want == 0 then
    ids = {}
  elseif want == 1 then
    local one = redis.call('LPOP', ready)
    ids = one and { one } or {}
  else
    ids = redis.call('LRANGE', ready, 0, want - 1)
  end
  if #ids > 0 then
    -- Bodies (in stored form) and metadata, one HMGET per bucket.
    local bodies, metas, bucket, read = job_claim_read(jobs, ids)
    local adopted = false
    -- Stop before a foreign payload that no fresh id is left for.
    local take, spare = 0, #ARGV - fresh + 1
    for i = 1, #ids do
      if not bodies[i] then
        if spare == 0 then break end
        spare = spare - 1
      end
      take = i
    end
    if turns then
      -- take_turns already took exactly the ids that can be claimed.
    elseif want == 1 then
      if take == 0 then redis.call('LPUSH', ready, ids[1]) end
    else
      redis.call('LTRIM', ready, take, -1)
    end
    -- Tables filled through counters: a `#t` is a search of the table.
    local writes, members, nw, nm, no = {}, {}, 0, 0, #out
    for i = 1, take do
      local id, body = ids[i], bodies[i]
      local lane = lanes and lanes[i] or ''
      local meta, attempts, tries, tail
      local meta_name = read[2 * i]
      if body then
        meta, attempts, tries, tail = meta_claimed(metas[i])
        if tail ~= '' and string.sub(tail, 1, 3) == '|s|' then
          release_unique(KEYS[base + 6], id, tail)
          meta = string.sub(meta, 1, #meta - #tail)
          tail = ''
        end
      else
        body = id
        id = ARGV[fresh]
        fresh = fresh + 1
        attempts, tries, tail = 1, 1, ''
        meta = pack_meta(attempts, tries, now, tail)
        -- Stored framed like any body (body_with_meta), so a payload starting
        -- with byte 0 is not read as metadata; the field written below
        -- outranks the metadata in front.
        writes[nw + 1] = id
        writes[nw + 2] = body_with_meta(body, meta)
        nw = nw + 2
        if lane ~= '' then
          writes[nw + 1] = id .. ':group'
          writes[nw + 2] = lane
          nw = nw + 2
        end
        body = as_stored(body)
        meta_name = meta_field(id)
        adopted = true
      end
      claimed = claimed + 1
      local token = nonce .. decimal(claimed)
      if lane ~= '' then token = token .. 'g' end
      if tail ~= '' then
        if is_flow(tail) then token = token .. 'w' else token = token .. 'u' end
      end
      writes[nw + 1] = meta_name
      writes[nw + 2] = meta
      nw = nw + 2
      members[nm + 1] = deadline
      members[nm + 2] = id .. '|' .. token
      nm = nm + 2
      out[no + 1] = q
      out[no + 2] = id
      out[no + 3] = token
      out[no + 4] = attempts
      out[no + 5] = tries
      out[no + 6] = body
      out[no + 7] = lane
      no = no + 7
    end
    if take > 0 then
      -- Every field written is a claimed job's, in the bucket its body was
      -- read from, unless a foreign payload was adopted under a fresh id.
      if bucket and not adopted then job_set_in(jobs, bucket, writes) else job_set(jobs, writes) end
      chunked_pairs('ZADD', reserved, members)
      if log then
        local starts = {}
        for k = claimed - take + 1, claimed do
          starts[#starts + 1] = snow
          starts[#starts + 1] = nonce .. k
        end
        chunked_pairs('ZADD', log, starts)
        redis.call('PEXPIRE', log, per)
      end
    end
    if take < #ids then break end
  end
end
return out
