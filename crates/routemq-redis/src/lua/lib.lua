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

-- Reads ARGV in consecutive sections from index `at`: `reader.section(cmd, key,
-- count)` runs `cmd key` over the next `count` arguments in slices of 2 * CHUNK
-- (pairs stay together), `reader.take(count)` returns them as a table, and
-- `reader.at` is the next unread index. The push
-- scripts lay out their jobs this way (push.lua, push_batch.lua, add_to_batch.lua).
local function argv_reader(at)
  local reader = { at = at }
  function reader.section(cmd, key, count)
    local last = reader.at + count - 1
    local i = reader.at
    while i <= last do
      local j = math.min(i + 2 * CHUNK - 1, last)
      redis.call(cmd, key, unpack(ARGV, i, j))
      i = j + 1
    end
    reader.at = last + 1
  end
  -- The next `count` arguments as a table (for job_set).
  function reader.take(count)
    local t = {}
    for i = 1, count do t[i] = ARGV[reader.at + i - 1] end
    reader.at = reader.at + count
    return t
  end
  return reader
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

-- Job fields in time buckets. A job's fields (its body "{id}", "{id}:meta",
-- "{id}:group", "{id}:run", "{id}:cancel") live in one hash per 256 ms of job
-- ids, `jobs .. ':' .. bucket`, not in one hash per queue: a queue's single hash
-- grew with the queue and Redis rehashes a growing hash one bucket per command,
-- so a deep queue's every lookup probed two tables for millions of commands
-- (ARCHITECTURE.md, "Cost as the queue grows"). A UUIDv7 id ("tttttttt-tttt-7…",
-- the first 12 hex digits its millisecond timestamp) goes to the bucket named by
-- its first 10 of them (ms / 256); any other id to `jobs .. ':other'`. The rule
-- reads bytes 1-15 of a field, which are its id's (job ids never contain ':', and
-- the suffixes have no '-' or '7'), so every field of a job lands beside its body.
-- src/keys.rs (`job_hash`) holds the same rule; tests/job_buckets.rs checks that
-- both put every push path's jobs in the same bucket.
-- `jobs .. ':buckets'` is the set of buckets that may hold fields (clear.lua
-- removes them); a script's write adds its bucket. A bucket, once listed, stays
-- listed while it exists and until its 256 ms ended an hour before a sweep
-- (sweep_buckets.lua) finds it gone: a delete that empties one leaves it listed,
-- so a driver that listed the bucket it pushes to now may leave its SADD out
-- (RedisDriver::push, ARCHITECTURE.md "A single push lists its bucket once").
-- `jobs` itself is where releases before the buckets kept every field: it is
-- still read (a field found in no bucket is looked up there while it exists) and
-- deleted from, never written, so jobs stored before an upgrade keep working.
-- Names are kept per script run, by jobs hash and then by the field's first 15
-- bytes (all the rule reads), so a field whose prefix was seen costs one short
-- substring and one table lookup: the fields of one job, and the jobs of one
-- claim or ack, share it or a few.
local bucket_names = {}
local function job_hash(jobs, f)
  local names = bucket_names[jobs]
  if not names then
    names = {}
    bucket_names[jobs] = names
  end
  local p = string.sub(f, 1, 15)
  local name = names[p]
  if name then return name end
  if string.byte(f, 15) == 55 and string.byte(f, 9) == 45 and string.byte(f, 14) == 45 then
    name = jobs .. ':' .. string.sub(f, 1, 8) .. string.sub(f, 10, 11)
  else
    name = jobs .. ':other'
  end
  names[p] = name
  return name
end

-- Whether the pre-bucket hash `jobs` exists, asked once per script run (a run
-- never writes it, and a stale `true` costs only an HMGET of a missing key).
local legacy_jobs = {}
local function has_legacy(jobs)
  local v = legacy_jobs[jobs]
  if v == nil then
    v = redis.call('EXISTS', jobs) == 1
    legacy_jobs[jobs] = v
  end
  return v
end

-- Groups `fields` (or the field of each pair when `step` is 2) by bucket: the
-- distinct buckets in first-seen order, and per bucket the positions in `fields`
-- (nil when there is one bucket: every caller then uses `fields` as it is).
local function by_bucket(jobs, fields, step)
  local n = #fields
  if n == 0 then return {}, nil end
  -- The usual case, a claim's or an ack's jobs in one bucket: no positions kept.
  local first, i = job_hash(jobs, fields[1]), 1 + step
  while i <= n and job_hash(jobs, fields[i]) == first do i = i + step end
  if i > n then return { first }, nil end
  local order, at = {}, {}
  for i = 1, n, step do
    local k = job_hash(jobs, fields[i])
    local g = at[k]
    if not g then
      g = {}
      at[k] = g
      order[#order + 1] = k
    end
    g[#g + 1] = i
  end
  return order, at
end

-- The entries of `list` at positions pos[from..to], in that order; with
-- `width` 2, each entry and the one after it (a field and its value).
local function pick(list, pos, from, to, width)
  local part = {}
  for j = from, to do
    part[#part + 1] = list[pos[j]]
    if width == 2 then part[#part + 1] = list[pos[j] + 1] end
  end
  return part
end

-- Reads the fields of `fields` at positions `pos` from hash `key` (one HMGET
-- per CHUNK of them) into `out`, at the same positions.
local function hmget_at(key, fields, pos, out)
  for i = 1, #pos, CHUNK do
    local last = math.min(i + CHUNK - 1, #pos)
    local got = redis.call('HMGET', key, unpack(pick(fields, pos, i, last, 1)))
    for j = i, last do out[pos[j]] = got[j - i + 1] end
  end
end

-- The values of `fields` in hash `key`, in order (false where absent): one
-- HMGET per CHUNK of them.
local function hmget_all(key, fields)
  if #fields <= CHUNK then return redis.call('HMGET', key, unpack(fields)) end
  local out = {}
  for i = 1, #fields, CHUNK do
    local last = math.min(i + CHUNK - 1, #fields)
    local got = redis.call('HMGET', key, unpack(fields, i, last))
    for j = i, last do out[j] = got[j - i + 1] end
  end
  return out
end

-- The values stored in the buckets for jobs-hash fields `fields`, in order
-- (false where absent): one HMGET per bucket (and per CHUNK fields).
local function read_buckets(jobs, fields)
  local order, at = by_bucket(jobs, fields, 1)
  -- One bucket (the usual claim): the fields as they are.
  if #order == 1 then return hmget_all(order[1], fields) end
  local out = {}
  for b = 1, #order do hmget_at(order[b], fields, at[order[b]], out) end
  return out
end

-- A job's body field carries the metadata it was stored with, so a queued job
-- is one field, not two (ARCHITECTURE.md, "Cost as the queue grows"): a body
-- written by this release is "\0" .. #meta .. "|" .. meta .. payload
-- (body_with_meta). The field "{id}:meta", once a claim, a release or a
-- reclaim writes it, is the job's metadata and the prefix is stale; until then
-- the prefix is. A body not starting with byte 0 is a payload as it is: a job
-- stored by a release before this one, which always wrote "{id}:meta" (a
-- payload of such a job starting with byte 0 would be misread; RouteMQ's
-- envelopes start with '{' or a MessagePack map). src/body.rs holds the same
-- framing for the bulk push and job_envelope; tests/job_buckets.rs checks that
-- every push path frames a body the same way.
-- job_get and job_field hide the framing: a body reads as its payload and an
-- absent "{id}:meta" as its body's prefix. A claim alone reads bodies in
-- stored form (job_claim_read) and leaves the split to the driver.
local function body_with_meta(payload, meta)
  return '\0' .. #meta .. '|' .. meta .. payload
end

-- The number of one or two digits at position `at` of `s` when a '|' follows
-- it, and that '|''s position; nil otherwise.
local function short_field(s, at)
  local d1, d2, d3 = string.byte(s, at, at + 2)
  if not d1 or d1 < 48 or d1 > 57 then return nil end
  if d2 == 124 then return d1 - 48, at + 1 end
  if d2 and d2 >= 48 and d2 <= 57 and d3 == 124 then
    return (d1 - 48) * 10 + d2 - 48, at + 2
  end
end

-- Where the metadata in front of stored body `v` starts and ends (nil when `v`
-- has no such framing). The length is the number short_field reads, read here
-- from the same one string.byte call that checks the leading 0: going through
-- short_field (a second string.byte and a call) cost about 830 server
-- instructions a drained job under `cargo xtask drain-cost`.
local function frame_of(v)
  local b1, b2, b3, b4 = string.byte(v, 1, 4)
  if b1 ~= 0 then return nil end
  local at, last
  -- A length of one or two digits (metadata under 100 bytes, nearly all) is
  -- read from the bytes; a pattern and tonumber cost twice as much.
  if b3 == 124 and b2 and b2 >= 48 and b2 <= 57 then
    at = 4
    last = at + b2 - 48 - 1
  elseif b4 == 124 and b2 and b2 >= 48 and b2 <= 57 and b3 >= 48 and b3 <= 57 then
    at = 5
    last = at + (b2 - 48) * 10 + b3 - 48 - 1
  else
    local len
    len, at = string.match(v, '^(%d+)|()', 2)
    if not len then return nil end
    last = at + tonumber(len) - 1
  end
  if last > #v then return nil end
  return at, last
end

-- A stored body's payload and the metadata in front of it (nil for none).
local function split_body(v)
  if not v then return v, nil end
  local at, last = frame_of(v)
  if not at then return v, nil end
  return string.sub(v, last + 1), string.sub(v, at, last)
end

-- A payload in the form of a stored body, which reads back as the payload
-- (src/body.rs split_body, split_body above): as it is, unless it starts with
-- byte 0, which then gets an empty frame in front.
local function as_stored(payload)
  if string.byte(payload, 1) == 0 then return '\0' .. '0|' .. payload end
  return payload
end

-- The id whose metadata field `f` is ("{id}:meta"), or nil.
local function meta_owner(f)
  if string.sub(f, -5) == ':meta' then return string.sub(f, 1, -6) end
end

-- The values of jobs-hash fields `fields`, in order (false where absent), with
-- bodies read as their payloads and an absent "{id}:meta" read from its body's
-- prefix: one HMGET per bucket (and per CHUNK fields); then, for fields still
-- absent while the pre-bucket hash exists, one there (its bodies, written by
-- older releases, have no prefix); then one more read of the bodies whose
-- metadata is asked for alone and is in no "{id}:meta" field.
local function job_get(jobs, fields)
  local out = read_buckets(jobs, fields)
  local read, folded = {}, {}
  for i = 1, #fields do
    local f = fields[i]
    if not string.find(f, ':', 1, true) then
      read[f] = true
      local payload, meta = split_body(out[i])
      out[i] = payload
      folded[f] = meta
    end
  end
  local missing = {}
  for i = 1, #fields do
    if not out[i] then
      local id = meta_owner(fields[i])
      local meta = id and folded[id]
      if meta then out[i] = meta else missing[#missing + 1] = i end
    end
  end
  if #missing == 0 then return out end
  if has_legacy(jobs) then hmget_at(jobs, fields, missing, out) end
  local need, need_at
  for _, i in ipairs(missing) do
    local id = not out[i] and meta_owner(fields[i])
    if id and not read[id] then
      if not need then need, need_at = {}, {} end
      need[#need + 1] = id
      need_at[#need_at + 1] = i
    end
  end
  if need then
    local bodies = read_buckets(jobs, need)
    for k = 1, #need do
      local _, meta = split_body(bodies[k])
      if meta then out[need_at[k]] = meta end
    end
  end
  return out
end

-- The value of one jobs-hash field, or false (read as job_get reads it).
local function job_field(jobs, f)
  return job_get(jobs, { f })[1]
end

-- For a claim: per id in `ids`, its body in stored form (as_stored: the driver
-- splits off any metadata in front, src/body.rs) and its metadata, as job_get
-- reads them (false where the body is absent); the one bucket every id's
-- fields are in, or nil when they span several; and the fields it read (per
-- id, the id and "{id}:meta", so the claim writes the metadata under that
-- name without building it again). Bodies are not split here: a
-- claim hands them on, and copying each payload out of its frame was a
-- claim's largest per-job cost in Lua. Buckets are found per id (a job's
-- fields share its bucket), one HMGET per bucket; job_get for all of them
-- when one needs it (a field only in the pre-bucket hash, a body with neither
-- "{id}:meta" nor metadata in front).
local function job_claim_read(jobs, ids)
  local fields = {}
  for k = 1, #ids do
    fields[2 * k - 1] = ids[k]
    fields[2 * k] = ids[k] .. ':meta'
  end
  local order = by_bucket(jobs, ids, 1)
  local bucket = #order == 1 and order[1] or nil
  local got = bucket and hmget_all(bucket, fields) or read_buckets(jobs, fields)
  local bodies, metas = {}, {}
  for k = 1, #ids do
    local body, meta = got[2 * k - 1], got[2 * k]
    if body and not meta then
      local at, last = frame_of(body)
      meta = at and string.sub(body, at, last)
    end
    if not (body and meta) then
      got = job_get(jobs, fields)
      for j = 1, #ids do
        bodies[j] = got[2 * j - 1] and as_stored(got[2 * j - 1])
        metas[j] = got[2 * j]
      end
      return bodies, metas, bucket, fields
    end
    bodies[k], metas[k] = body, meta
  end
  return bodies, metas, bucket, fields
end

-- Whether one jobs-hash field exists (without reading its value).
local function job_has(jobs, f)
  if redis.call('HEXISTS', job_hash(jobs, f), f) == 1 then return true end
  return has_legacy(jobs) and redis.call('HEXISTS', jobs, f) == 1
end

-- Writes jobs-hash field/value pairs (f1, v1, f2, v2, ...) that all belong in
-- `bucket` (job_hash) there, and lists the bucket in the set of buckets.
local function job_set_in(jobs, bucket, pairs)
  chunked_pairs('HMSET', bucket, pairs)
  redis.call('SADD', jobs .. ':buckets', bucket)
end

-- Writes jobs-hash field/value pairs (f1, v1, f2, v2, ...) to their buckets and
-- lists the buckets in the set of buckets.
local function job_set(jobs, pairs)
  local order, at = by_bucket(jobs, pairs, 2)
  if #order == 1 then return job_set_in(jobs, order[1], pairs) end
  for b = 1, #order do
    local pos = at[order[b]]
    chunked_pairs('HMSET', order[b], pick(pairs, pos, 1, #pos, 2))
  end
  chunked('SADD', jobs .. ':buckets', order)
end

-- Deletes jobs-hash fields `fields` from their buckets (a bucket left empty
-- stays listed until a sweep; see job_hash) and from the pre-bucket hash while
-- it exists.
local function job_del(jobs, fields)
  local order, at = by_bucket(jobs, fields, 1)
  for b = 1, #order do
    local part = fields
    if #order > 1 then
      local pos = at[order[b]]
      part = pick(fields, pos, 1, #pos, 1)
    end
    chunked('HDEL', order[b], part)
  end
  if has_legacy(jobs) then chunked('HDEL', jobs, fields) end
end

-- Job metadata, "attempts|max_tries|ready_at_ms", in front of the body
-- (body_with_meta) and, from the job's first claim, release or reclaim, in the
-- field "{id}:meta" beside it (job ids never contain ':'), which job_get reads
-- first; followed, for a job holding a uniqueness lock, by a tail "|s|key" (released at
-- claim) or "|f|key" (released when the job is gone), or, for a job of a chain or
-- batch (never unique), by a workflow tail "|w|c|next|catch" (a chain link: the
-- ids of the next link and of the chain's catch, '' for none) or "|w|b|batch" (a
-- batch job: its batch id); see flow_settled. Metadata without a tail (every
-- plain job, and jobs stored by older releases) parses as before.
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

-- A whole number from 0 as decimal text: one or two digits from their bytes,
-- more through string.format. Lua 5.1 writes a number as text with
-- sprintf('%.14g'), which costs about ten times a string.char.
local function decimal(n)
  if n < 10 then return string.char(48 + n) end
  if n < 100 then
    local units = n % 10
    return string.char(48 + (n - units) / 10, 48 + units)
  end
  return string.format('%d', n)
end

-- For a claim: metadata `meta` with its attempts raised by one, as
-- pack_meta(attempts + 1, max_tries, ready_at, tail) of parse_meta(meta)
-- would write it, then the new attempts, max_tries and the tail. Attempts and
-- max_tries of one or two digits (nearly every job) are read from the bytes,
-- and the text after the attempts is kept as it is; anything else goes
-- through parse_meta and pack_meta. A pattern with four captures, three
-- tonumber and a string.format a job were the largest part of a claim's own
-- Lua (ARCHITECTURE.md, "A claim reads its metadata from the bytes").
local function meta_claimed(meta)
  local attempts, p1, tries, p2, _, last
  if meta then attempts, p1 = short_field(meta, 1) end
  if attempts then tries, p2 = short_field(meta, p1 + 1) end
  if tries then _, last = string.find(meta, '^%-?%d+', p2 + 1) end
  if not last then
    local a, m, r, tail = parse_meta(meta)
    return pack_meta(a + 1, m, r, tail), a + 1, m, tail
  end
  local tail = last < #meta and string.sub(meta, last + 1) or ''
  return decimal(attempts + 1) .. string.sub(meta, p1), attempts + 1, tries, tail
end

-- Job tracking fields beside a job in the jobs hash: "{id}:run" (its worker's run
-- record: worker, progress, last error and the attempt's token; record_runs.lua)
-- and "{id}:cancel" (a cancel request of the running job; cancel.lua). They go
-- with the job: every removal deletes all of a job's fields (drop_job, or ack.lua's
-- batched job_del through add_job_fields); clear.lua drops every bucket.
local function add_job_fields(list, id)
  local n = #list
  list[n + 1] = id
  list[n + 2] = id .. ':meta'
  list[n + 3] = id .. ':group'
  list[n + 4] = id .. ':run'
  list[n + 5] = id .. ':cancel'
end

-- Deletes every field of the jobs `ids` (add_job_fields) as job_del would,
-- finding buckets per job rather than per field (an ack's five fields a job).
local function drop_jobs(jobs, ids)
  local order, at = by_bucket(jobs, ids, 1)
  for b = 1, #order do
    local part, fields = ids, {}
    if at then
      local pos = at[order[b]]
      part = pick(ids, pos, 1, #pos, 1)
    end
    for j = 1, #part do add_job_fields(fields, part[j]) end
    chunked('HDEL', order[b], fields)
  end
  if has_legacy(jobs) then
    local fields = {}
    for j = 1, #ids do add_job_fields(fields, ids[j]) end
    chunked('HDEL', jobs, fields)
  end
end

-- Deletes every field of job `id` from the jobs hash (body, metadata, group, run
-- record, cancel request).
local function drop_job(jobs, id)
  drop_jobs(jobs, { id })
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
-- Returns the job's metadata tail (a chain or batch job's "|w|…" tail, for
-- flow_settled).
local function to_failed(jobs, failed_list, failed_index, id, connection, queue, exception, now, unique_index)
  local mf = meta_field(id)
  local got = job_get(jobs, { id, mf, id .. ':group' })
  local _, max_tries, _, tail = parse_meta(got[2])
  release_unique(unique_index, id, tail)
  local record = failed_record(id, connection, queue, got[1] or '', exception, now, max_tries, got[3] or nil)
  redis.call('LPUSH', failed_list, record)
  redis.call('HSET', failed_index, id, record)
  drop_job(jobs, id)
  return tail
end

-- The server's clock in milliseconds: rate limits and holds are kept on it, so
-- every worker counts against the same clock (Redis 5+ replicates a script's
-- effects, so a script may write after reading TIME).
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Workflows: chains and batches (contract: routemq-core's driver/workflows.rs).
-- Every name below is derived from the ready list's (so it shares the queue's hash
-- tag and slot; src/keys.rs builds the same names):
--   ready .. ':waiting'            set: ids of waiting jobs (chain links after the
--                                  first, chain and batch callbacks): stored in the
--                                  jobs hash, in no ready list, delayed zset or lane;
--   ready .. ':waiting:order'      zset: the same ids in the order they were stored
--                                  (score now * 1000 + position in the push, capped
--                                  at 999; ties by id), for listing oldest first
--                                  (list_jobs.lua); written and removed with the set
--                                  (add_waiting, unwait);
--   ready .. ':batches'            zset: the queue's batch ids -> when the record
--                                  expires (ms; '+inf' until the batch finishes), so
--                                  clear.lua finds them;
--   ready .. ':batch:' .. b        hash: batch b's record: name, total, pending,
--                                  succeeded, failed, cancelled, allow_failures and
--                                  cancelled_batch ('1'/'0'), created_at_ms,
--                                  finished_at_ms (absent until it finishes), then,
--                                  catch, finally (callback ids; '' once released or
--                                  removed, or when there is none), keep_ms (how long
--                                  the record is kept after it finished),
--                                  cancelled_keep_ms (how long a cancelled job's
--                                  record is kept);
--   ready .. ':batch:' .. b .. ':jobs'  set: batch b's jobs not settled yet (ready,
--                                  delayed or running; a job leaves it when it is
--                                  acknowledged, fails for good, is cancelled or is
--                                  removed by a batch cancel). A claim does not touch
--                                  it: a batch cancel skips the ids it finds in
--                                  neither the delayed zset nor the ready list
--                                  (running: counted when they end).
-- A job of a chain or batch carries a workflow metadata tail (see parse_meta);
-- claim.lua gives it a token ending in 'w', so ack.lua reads the metadata of those
-- jobs only. The settling scripts call flow_settled in their own atomic step.
-- Chain and batch jobs are never unique and never grouped (the dispatch API checks
-- it), so a released job goes to the tail of the ready list as push.lua puts a due
-- job there.

local BATCH_FIELDS = {
  'name', 'total', 'pending', 'succeeded', 'failed', 'cancelled',
  'allow_failures', 'cancelled_batch', 'created_at_ms', 'finished_at_ms',
}

-- True when a metadata tail is a workflow tail.
local function is_flow(tail)
  return tail ~= nil and string.sub(tail, 1, 3) == '|w|'
end

-- Batch b's record (hash), named from the ready list's name.
local function batch_record(ready, b)
  return ready .. ':batch:' .. b
end

-- Batch b's reply: {'ok', name, total, pending, succeeded, failed, cancelled,
-- allow_failures, cancelled_batch, created_at_ms, finished_at_ms or false}.
local function batch_reply(ready, b)
  local got = redis.call('HMGET', batch_record(ready, b), unpack(BATCH_FIELDS))
  local out = {'ok'}
  for i = 1, #BATCH_FIELDS do out[i + 1] = got[i] end
  return out
end

-- Lists `ids` (in order) as waiting jobs stored at `now` (ms): in the waiting set
-- `waiting` and in its order index (`waiting .. ':order'`).
local function add_waiting(waiting, ids, now)
  if #ids == 0 then return end
  chunked('SADD', waiting, ids)
  local scored = {}
  for i = 1, #ids do
    scored[2 * i - 1] = now * 1000 + math.min(i - 1, 999)
    scored[2 * i] = ids[i]
  end
  chunked_pairs('ZADD', waiting .. ':order', scored)
end

-- Takes job `id` out of the waiting set `waiting` and its order index; true when
-- it was waiting.
local function unwait(waiting, id)
  if redis.call('SREM', waiting, id) == 0 then return false end
  redis.call('ZREM', waiting .. ':order', id)
  return true
end

-- Makes waiting job `id` claimable now: out of the waiting set, ready_at = now,
-- at the tail of the ready list, one idle worker woken. Only a job still in the
-- waiting set is released (so each is released at most once, and a waiting job
-- cancelled or cleared meanwhile stays gone). Returns true when released.
local function release_waiting(ready, jobs, id, now)
  if not id or id == '' then return false end
  if not unwait(ready .. ':waiting', id) then return false end
  local mf = meta_field(id)
  local meta = job_field(jobs, mf)
  if not meta then return false end
  local attempts, tries, _, tail = parse_meta(meta)
  job_set(jobs, { mf, pack_meta(attempts, tries, now, tail) })
  redis.call('RPUSH', ready, id)
  notify(ready .. ':notify', 1)
  return true
end

-- Removes waiting job `id` (every field) if it is still waiting.
local function discard_waiting(ready, jobs, id)
  if not id or id == '' then return end
  if unwait(ready .. ':waiting', id) then drop_job(jobs, id) end
end

-- Takes those of `ids` (not settled jobs of one batch) that wait in the delayed
-- zset or the ready list out of it; returns the ones taken. A few are LREMed one
-- by one (O(list length) each); more are filtered out of the ready list in one
-- pass (LRANGE, then the list rewritten in order without them).
local function take_not_started(ready, ids)
  local delayed = ready .. ':delayed'
  local taken, rest = {}, {}
  for i = 1, #ids do
    if redis.call('ZREM', delayed, ids[i]) == 1 then
      taken[#taken + 1] = ids[i]
    else
      rest[#rest + 1] = ids[i]
    end
  end
  if #rest == 0 then return taken end
  if #rest <= 8 then
    for i = 1, #rest do
      if redis.call('LREM', ready, 1, rest[i]) > 0 then taken[#taken + 1] = rest[i] end
    end
    return taken
  end
  local wanted = {}
  for i = 1, #rest do wanted[rest[i]] = true end
  local list = redis.call('LRANGE', ready, 0, -1)
  local kept, found = {}, 0
  for i = 1, #list do
    local id = list[i]
    if wanted[id] then
      wanted[id] = nil
      taken[#taken + 1] = id
      found = found + 1
    else
      kept[#kept + 1] = id
    end
  end
  if found > 0 then
    redis.call('DEL', ready)
    chunked('RPUSH', ready, kept)
  end
  return taken
end

-- Cancels batch b: cancelled_batch = '1'; its jobs not started (delayed or ready)
-- are removed (every field), recorded as cancelled ("…:done:{id}", for the
-- record's cancelled_keep_ms) and counted cancelled (off pending). Running jobs
-- are left to end and be counted then.
local function batch_cancel(ready, jobs, b, now)
  local rec = batch_record(ready, b)
  redis.call('HSET', rec, 'cancelled_batch', '1')
  local set = rec .. ':jobs'
  local taken = take_not_started(ready, redis.call('SMEMBERS', set))
  if #taken == 0 then return end
  local keep = tonumber(redis.call('HGET', rec, 'cancelled_keep_ms') or '0')
  for i = 1, #taken do
    local id = taken[i]
    local meta = job_field(jobs, meta_field(id))
    drop_job(jobs, id)
    keep_finished(ready .. ':done:' .. id, 'c', meta, now, keep)
  end
  chunked('SREM', set, taken)
  redis.call('HINCRBY', rec, 'cancelled', #taken)
  redis.call('HINCRBY', rec, 'pending', -#taken)
end

-- Finishes batch b when nothing is pending and it has not finished yet:
-- finished_at_ms = now; `then` is released when nothing failed or was cancelled,
-- otherwise removed; `finally` is released; a `catch` not released is removed; the
-- record and its job set expire after keep_ms (and the queue's batch index says
-- when). Each callback is released at most once: finishing happens once.
local function batch_finish_if_done(ready, jobs, b, now)
  local rec = batch_record(ready, b)
  local got = redis.call('HMGET', rec, 'pending', 'finished_at_ms', 'failed', 'cancelled',
    'then', 'catch', 'finally', 'keep_ms')
  if not got[1] or tonumber(got[1]) > 0 or got[2] then return end
  redis.call('HSET', rec, 'finished_at_ms', now)
  if got[3] == '0' and got[4] == '0' then
    release_waiting(ready, jobs, got[5], now)
  else
    discard_waiting(ready, jobs, got[5])
  end
  discard_waiting(ready, jobs, got[6])
  release_waiting(ready, jobs, got[7], now)
  redis.call('HMSET', rec, 'then', '', 'catch', '', 'finally', '')
  local keep = tonumber(got[8] or '0')
  if keep < 1 then keep = 1 end
  redis.call('PEXPIRE', rec, keep)
  redis.call('PEXPIRE', rec .. ':jobs', keep)
  redis.call('ZADD', ready .. ':batches', now + keep, b)
end

-- Counts the settlement of job `id` of batch b: outcome 's' succeeded, 'f' failed
-- for good, 'c' cancelled, off pending; only a job still in the batch's job set
-- counts (so each job is counted once, and nothing happens once the record is
-- gone). The first failure releases `catch`; a failure of a batch without
-- allow_failures cancels it (batch_cancel) unless it is cancelled already. Then
-- the batch finishes if nothing is pending.
local function batch_settled(ready, jobs, b, id, outcome, now)
  local rec = batch_record(ready, b)
  if redis.call('SREM', rec .. ':jobs', id) == 0 then return end
  local field = 'cancelled'
  if outcome == 's' then field = 'succeeded' elseif outcome == 'f' then field = 'failed' end
  local n = redis.call('HINCRBY', rec, field, 1)
  redis.call('HINCRBY', rec, 'pending', -1)
  if outcome == 'f' then
    local got = redis.call('HMGET', rec, 'catch', 'allow_failures', 'cancelled_batch')
    if n == 1 and got[1] and got[1] ~= '' then
      release_waiting(ready, jobs, got[1], now)
      redis.call('HSET', rec, 'catch', '')
    end
    if got[2] ~= '1' and got[3] ~= '1' then batch_cancel(ready, jobs, b, now) end
  end
  batch_finish_if_done(ready, jobs, b, now)
end

-- The workflow effects of settling job `id` (whose metadata tail is `tail`):
-- outcome 's' (acknowledged), 'f' (failed for good), 'c' (cancelled). A chain
-- link's ack releases the next link (the last link's ack removes the chain's
-- catch, which can no longer be needed); its failure releases the catch (later
-- links stay waiting); its cancel releases nothing. A batch job's settlement is
-- counted (batch_settled). Anything else (no workflow tail): nothing. Call it in
-- the settling script, after the job's reservation or place was taken.
local function flow_settled(ready, jobs, id, tail, outcome, now)
  if not is_flow(tail) then return end
  local kind, rest = string.match(tail, '^|w|(%a)|(.*)$')
  if kind == 'c' then
    local nxt, catch = string.match(rest, '^([^|]*)|([^|]*)$')
    if not nxt then return end
    if outcome == 's' then
      if nxt ~= '' then
        release_waiting(ready, jobs, nxt, now)
      else
        discard_waiting(ready, jobs, catch)
      end
    elseif outcome == 'f' then
      release_waiting(ready, jobs, catch, now)
    end
  elseif kind == 'b' then
    batch_settled(ready, jobs, rest, id, outcome, now)
  end
end
