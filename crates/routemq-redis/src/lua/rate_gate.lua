-- rate_gate.lua: how long until a claim may take jobs of a queue again, for the
-- idle wait (a full window or a hold).
-- KEYS[1] rate hash (jobs, per_ms, held_until)   KEYS[2] rate log zset
-- Guarantee: reads only. Returns 0 when a claim may take jobs now (no limit, room
-- in the window, no hold), else the milliseconds (server clock) until the hold
-- ends and the J-th newest start leaves the window of P ms.
local g = redis.call('HMGET', KEYS[1], 'jobs', 'per_ms', 'held_until')
if not g[1] and not g[3] then return 0 end
local now = server_ms()
local at = 0
if g[3] and tonumber(g[3]) > now then at = tonumber(g[3]) end
if g[1] then
  local jobs, per = tonumber(g[1]), tonumber(g[2])
  local e = redis.call('ZREVRANGE', KEYS[2], jobs - 1, jobs - 1, 'WITHSCORES')
  if e[2] and tonumber(e[2]) >= now - per then
    local open = tonumber(e[2]) + per + 1
    if open > at then at = open end
  end
end
if at <= now then return 0 end
return at - now
