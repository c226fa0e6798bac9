-- lib.lua: helpers prepended to every script that needs them, followed by
-- groups.lua (fair groups and their controls), which uses them (Redis 5.0 has no
-- FUNCTION LOAD, so the driver concatenates both files in front of the script text).
--
-- Guarantee: pure helpers; the only writes are the ones the calling script asks for.
-- Variadic calls go through `chunked` so a batch of any size stays under Lua's
-- unpack() limit (LUAI_MAXCSTACK, 8000 values).

local CHUNK = 1000

-- Runs `cmd key v1 v2 ...` over `values` in slices of CHUNK values.
local function chunked(cmd, key, values)
  local n = #values
  local i = 1
  while i <= n do
    local j = math.min(i + CHUNK - 1, n)
    redis.call(cmd, key, unpack(values, i, j))
    i = j + 1
  end
end

-- Like `chunked`, but keeps pairs together (HMSET field value, ZADD score member).
local function chunked_pairs(cmd, key, values)
  local n = #values
  local i = 1
  while i <= n do
    local j = math.min(i + 2 * CHUNK - 1, n)
    redis.call(cmd, key, unpack(values, i, j))
    i = j + 1
  end
end

-- Job metadata packed in one field of the jobs hash, beside the body:
-- field "{id}:meta" = "attempts|max_tries|ready_at_ms" (job ids never contain ':'),
-- followed, for a job holding a uniqueness lock, by a tail "|s|key" (released at
-- claim) or "|f|key" (released when the job is gone). Metadata without a tail
-- (every job that is not unique, and jobs stored by older releases) parses as before.
local function meta_field(id)
  return id .. ':meta'
end

local function parse_meta(meta)
  if not meta then return 0, 1, 0, '' end
  local a, m, r, tail = string.match(meta, '^(%d+)|(%d+)|(%-?%d+)(.*)$')
  if not a then return 0, 1, 0, '' end
  return tonumber(a), tonumber(m), tonumber(r), tail
end

local function pack_meta(attempts, max_tries, ready_at, tail)
  return string.format('%d|%d|%d', attempts, max_tries, ready_at) .. (tail or '')
end

-- Job tracking fields beside a job in the jobs hash: "{id}:run" (its worker's run
-- record: worker, progress, last error and the attempt's token; record_runs.lua)
-- and "{id}:cancel" (a cancel request of the running job; cancel.lua). They go
-- with the job: every removal deletes all of a job's fields (drop_job, or ack.lua's
-- batched HDEL through add_job_fields); clear.lua drops the whole hash.
local function add_job_fields(list, id)
  local n = #list
  list[n + 1] = id
  list[n + 2] = id .. ':meta'
  list[n + 3] = id .. ':group'
  list[n + 4] = id .. ':run'
  list[n + 5] = id .. ':cancel'
end

-- Deletes every field of job `id` from the jobs hash (body, metadata, group, run
-- record, cancel request).
local function drop_job(jobs, id)
  redis.call('HDEL', jobs, id, id .. ':meta', id .. ':group', id .. ':run', id .. ':cancel')
end

-- Keeps a finished job's record at `key` (a string in the queue's slot:
-- "{queue keys}:done:{id}") for `keep_ms` ms (nothing when <= 0), expiring by
-- itself: "state|attempts|max_tries|finished_at_ms|has_result|result", state 's'
-- (succeeded) or 'c' (cancelled), has_result '1' or '0'; the result bytes follow
-- the fifth '|' as they are (binary-safe). `meta`: the job's metadata field.
local function keep_finished(key, state, meta, now, keep_ms, result)
  if keep_ms <= 0 then return end
  local attempts, tries = parse_meta(meta)
  local rec = string.format('%s|%d|%d|%d|', state, attempts, tries, now)
  if result then rec = rec .. '1|' .. result else rec = rec .. '0|' end
  redis.call('SET', key, rec, 'PX', keep_ms)
end

-- The reserved-zset member ("id|token") of job `id` and its lease deadline, or
-- nil when the job is not reserved. The token is not known here, so this scans
-- the reserved zset (ZSCAN with a MATCH on the id: O(reserved jobs), for status
-- and cancel only, never on the claim/ack path).
local function find_reservation(reserved, id)
  local pattern = (string.gsub(id, '[%*%?%[%]\\]', '\\%0')) .. '|*'
  local cursor = '0'
  repeat
    local r = redis.call('ZSCAN', reserved, cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = r[1]
    local items = r[2]
    for i = 1, #items, 2 do
      if string.match(items[i], '^(.*)|[^|]*$') == id then return items[i], items[i + 1] end
    end
  until cursor == '0'
  return nil
end

-- Releases the uniqueness lock named by a meta `tail` of job `id`, only while the
-- lock still names the job. `index` is the queue's set of held keys; each lock is
-- the string `index .. ':' .. key` (same hash tag as the queue's other keys).
local function release_unique(index, id, tail)
  if not tail or tail == '' then return end
  local key = string.match(tail, '^|[sf]|(.*)$')
  if not key then return end
  local lock = index .. ':' .. key
  local holder = redis.call('GET', lock)
  if holder == id then
    redis.call('DEL', lock)
    redis.call('SREM', index, key)
  elseif not holder then
    redis.call('SREM', index, key)
  end
end

-- Wakes idle workers: one token per push, the list trimmed to 64 tokens.
local function notify(key, n)
  if n < 1 then return end
  if n > 64 then n = 64 end
  local t = {}
  for i = 1, n do t[i] = '1' end
  if redis.call('RPUSH', key, unpack(t)) > 64 then
    redis.call('LTRIM', key, -64, -1)
  end
end

local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

local function base64(s)
  local out = {}
  local n = #s
  for i = 1, n, 3 do
    local a, b, c = string.byte(s, i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(v / 262144) % 64
    local c2 = math.floor(v / 4096) % 64
    local c3 = math.floor(v / 64) % 64
    local c4 = v % 64
    out[#out + 1] = string.sub(B64, c1 + 1, c1 + 1) .. string.sub(B64, c2 + 1, c2 + 1)
      .. (b and string.sub(B64, c3 + 1, c3 + 1) or '=')
      .. (c and string.sub(B64, c4 + 1, c4 + 1) or '=')
  end
  return table.concat(out)
end

-- True when `s` is valid UTF-8 (so it can sit in a JSON string as it is).
local function is_utf8(s)
  if not string.find(s, '[\128-\255]') then return true end
  local i, n = 1, #s
  while i <= n do
    local c = string.byte(s, i)
    local len
    if c < 0x80 then len = 1
    elseif c >= 0xC2 and c <= 0xDF then len = 2
    elseif c >= 0xE0 and c <= 0xEF then len = 3
    elseif c >= 0xF0 and c <= 0xF4 then len = 4
    else return false end
    if i + len - 1 > n then return false end
    for k = i + 1, i + len - 1 do
      local d = string.byte(s, k)
      if d < 0x80 or d > 0xBF then return false end
    end
    if len == 3 then
      local d = string.byte(s, i + 1)
      if (c == 0xE0 and d < 0xA0) or (c == 0xED and d > 0x9F) then return false end
    elseif len == 4 then
      local d = string.byte(s, i + 1)
      if (c == 0xF0 and d < 0x90) or (c == 0xF4 and d > 0x8F) then return false end
    end
    i = i + len
  end
  return true
end

-- The failed-store record: {id, connection, queue, payload, exception, failed_at}
-- plus max_tries (so retry restores it), "group" for a grouped job (so retry puts
-- it back in its group) and, for payloads that are not UTF-8 text (MessagePack
-- envelopes, corrupt bytes), "payload_encoding":"base64".
local function failed_record(id, connection, queue, payload, exception, failed_at, max_tries, group)
  local p, enc = payload, ''
  if not is_utf8(payload) then
    p = base64(payload)
    enc = ',"payload_encoding":"base64"'
  end
  return '{"id":' .. cjson.encode(id)
    .. ',"connection":' .. cjson.encode(connection)
    .. ',"queue":' .. cjson.encode(queue)
    .. ',"payload":' .. cjson.encode(p)
    .. enc
    .. ',"exception":' .. cjson.encode(exception)
    .. ',"failed_at":' .. string.format('%d', failed_at)
    .. ',"max_tries":' .. string.format('%d', max_tries)
    .. (group and (',"group":' .. cjson.encode(group)) or '')
    .. '}'
end

-- Moves job `id` (already out of the ready list / reserved set) to the failed store,
-- releasing its uniqueness lock (`unique_index`: the queue's set of held keys).
local function to_failed(jobs, failed_list, failed_index, id, connection, queue, exception, now, unique_index)
  local mf = meta_field(id)
  local got = redis.call('HMGET', jobs, id, mf, id .. ':group')
  local _, max_tries, _, tail = parse_meta(got[2])
  release_unique(unique_index, id, tail)
  local record = failed_record(id, connection, queue, got[1] or '', exception, now, max_tries, got[3] or nil)
  redis.call('LPUSH', failed_list, record)
  redis.call('HSET', failed_index, id, record)
  drop_job(jobs, id)
end

-- The server's clock in milliseconds: rate limits and holds are kept on it, so
-- every worker counts against the same clock (Redis 5+ replicates a script's
-- effects, so a script may write after reading TIME).
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
