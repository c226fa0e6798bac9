-- record_history.lua: adds per-minute throughput counts to one queue's history.
-- KEYS: the queue's hourly history hashes the deltas fall in, each
--   "{queue keys}:history:{unix hour}" (unix hour = unix minute / 60; see keys.rs),
--   every one in the queue's slot.
-- ARGV[1] how long minutes are kept (ms: HISTORY_KEPT_FOR), then 5 values per
--   delta: the 1-based index in KEYS of its hour's hash, its unix minute, and the
--   processed, failed and retried counts to add (whole numbers >= 0).
-- Layout: field "{minute of the hour}" ('0'..'59') of the hour's hash holds
--   "processed|failed|retried"; one field per minute keeps an hour's hash small
--   (60 fields at most, Redis's compact small-hash encoding).
-- Guarantee: atomic. Each delta is added to its minute's field (read, summed,
-- written back in this one step: deltas for the same minute sum up, nothing is
-- overwritten; a value not in that shape counts as 0). A delta for a minute
-- older than the retention by the server's clock (TIME; minute < now's minute -
-- kept minutes) is skipped. Every hash written expires kept ms after its hour
-- ends (PEXPIRE from the server's clock), so minutes leave by themselves.
-- Returns how many deltas were added.
local kept = tonumber(ARGV[1])
local now = server_ms()
local oldest = math.floor(now / 60000) - math.floor(kept / 60000)
local added, touched = 0, {}
for i = 2, #ARGV, 5 do
  local k, minute = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if minute >= oldest then
    local key = KEYS[k]
    local hour = math.floor(minute / 60)
    local field = tostring(minute - hour * 60)
    local p, f, r = 0, 0, 0
    local old = redis.call('HGET', key, field)
    if old then
      local a, b, c = string.match(old, '^(%d+)|(%d+)|(%d+)$')
      if a then p, f, r = tonumber(a), tonumber(b), tonumber(c) end
    end
    p = p + tonumber(ARGV[i + 2])
    f = f + tonumber(ARGV[i + 3])
    r = r + tonumber(ARGV[i + 4])
    redis.call('HSET', key, field, string.format('%d|%d|%d', p, f, r))
    if not touched[k] then
      touched[k] = true
      redis.call('PEXPIRE', key, (hour + 1) * 3600000 + kept - now)
    end
    added = added + 1
  end
end
return added
