-- list_jobs.lua: one page of one queue's jobs in one state (read only).
-- KEYS[1] ready list (names the group lanes, see groups.lua)   KEYS[2] delayed
-- zset   KEYS[3] reserved zset   KEYS[4] jobs hash (bodies and "{id}:meta"
-- fields)   KEYS[5] the queue's set of waiting jobs   KEYS[6] their order index
-- (zset, KEYS[5] .. ':order', see add_waiting in lib.lua)
-- ARGV[1] state: 'ready', 'delayed', 'running' or 'waiting'   ARGV[2] how many
-- jobs of the listing to skip   ARGV[3] how many to return at most (the caller
-- caps it at MAX_LIST_PAGE)
-- Order: ready: the ready list from its head (claim order), then each group's
-- lane (its list from its head), lanes sorted by group name; delayed: by due
-- time (the zset's score, ties by id); running: by lease deadline (the reserved
-- zset's score; members are "id|token"); waiting: as stored (the order index;
-- see add_waiting in lib.lua).
-- Guarantee: changes nothing; one consistent snapshot. Cost: O(offset + limit)
-- reads of lists and zsets (LLEN/ZCARD first, so no range starts past the end),
-- plus, for ready jobs past the ungrouped list, O(G log G) for the G groups
-- with ready jobs (their names, sorted); one HMGET per bucket for the page's bodies and
-- metadata. Waiting jobs stored before the order index existed (the index and
-- the set differ in size) are listed from the whole set sorted by (ready_at, id):
-- O(waiting jobs), only until those jobs are gone.
-- Returns a flat array, 4 values per job: id, body or false, metadata
-- ("attempts|max_tries|ready_at_ms[tail]") or false, score (due ms for delayed,
-- lease deadline ms for running) or false.
local state = ARGV[1]
local skip, want = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids, scores = {}, {}

-- Takes the page's part of list `list` (skipping what is left of `skip`).
local function from_list(list)
  if want <= 0 then return end
  local n = redis.call('LLEN', list)
  if skip >= n then
    skip = skip - n
    return
  end
  local got = redis.call('LRANGE', list, skip, skip + want - 1)
  skip = 0
  for i = 1, #got do
    ids[#ids + 1] = got[i]
    scores[#scores + 1] = false
  end
  want = want - #got
end

-- Takes the page of zset `zset` by rank (ascending score); `member_id` turns a
-- member into its job id.
local function from_zset(zset, member_id)
  if skip >= redis.call('ZCARD', zset) then return end
  local got = redis.call('ZRANGE', zset, skip, skip + want - 1, 'WITHSCORES')
  for i = 1, #got, 2 do
    ids[#ids + 1] = member_id(got[i])
    scores[#scores + 1] = got[i + 1]
  end
end

local function same(m) return m end

if state == 'ready' then
  from_list(KEYS[1])
  if want > 0 then
    local lanes, seen = {}, {}
    local function add(g)
      if g ~= '' and not seen[g] then
        seen[g] = true
        lanes[#lanes + 1] = g
      end
    end
    local rotation = redis.call('LRANGE', KEYS[1] .. ':groups', 0, -1)
    for i = 1, #rotation do add(rotation[i]) end
    local parked = redis.call('ZRANGE', KEYS[1] .. ':parked', 0, -1)
    for i = 1, #parked do add(parked[i]) end
    table.sort(lanes)
    for i = 1, #lanes do
      if want <= 0 then break end
      from_list(group_list(KEYS[1], lanes[i]))
    end
  end
elseif state == 'delayed' then
  from_zset(KEYS[2], same)
elseif state == 'running' then
  from_zset(KEYS[3], function(m) return string.match(m, '^(.*)|[^|]*$') or m end)
elseif state == 'waiting' then
  local order = KEYS[6]
  if redis.call('ZCARD', order) == redis.call('SCARD', KEYS[5]) then
    from_zset(order, same)
    for i = 1, #scores do scores[i] = false end
  else
    local all = redis.call('SMEMBERS', KEYS[5])
    local at = {}
    local fields = {}
    for k = 1, #all do fields[k] = meta_field(all[k]) end
    local got = job_get(KEYS[4], fields)
    for k = 1, #all do
      local _, _, ready_at = parse_meta(got[k] or nil)
      at[all[k]] = ready_at
    end
    table.sort(all, function(a, b)
      if at[a] ~= at[b] then return at[a] < at[b] end
      return a < b
    end)
    for i = skip + 1, math.min(skip + want, #all) do
      ids[#ids + 1] = all[i]
      scores[#scores + 1] = false
    end
  end
else
  return redis.error_reply('unknown state ' .. state)
end

local out = {}
if #ids == 0 then return out end
local fields = {}
for i = 1, #ids do
  fields[2 * i - 1] = ids[i]
  fields[2 * i] = meta_field(ids[i])
end
local got = job_get(KEYS[4], fields)
for i = 1, #ids do
  out[#out + 1] = ids[i]
  out[#out + 1] = got[2 * i - 1]
  out[#out + 1] = got[2 * i]
  out[#out + 1] = scores[i]
end
return out
