-- rate_gate.lua: how long until a claim may take jobs of a queue again, for the
-- idle wait (a hold or a full window).
-- KEYS[1] rate hash (jobs, per_ms, held_until, per_group)   KEYS[2] rate log zset
-- Guarantee: reads only. Returns {hold, window, per_group}: the milliseconds
-- (server clock) until the queue's hold ends (0: no hold), until the J-th newest
-- start leaves the queue's window of P ms (0: room now or no limit), and 1 when
-- the limit is per group (the queue's window then only gates its ungrouped jobs;
-- the caller weighs it), else 0.
local g = redis.call('HMGET', KEYS[1], 'jobs', 'per_ms', 'held_until', 'per_group')
if not g[1] and not g[3] then return {0, 0, 0} end
local now = server_ms()
local hold, window = 0, 0
if g[3] and tonumber(g[3]) > now then hold = tonumber(g[3]) - now end
if g[1] then
  local jobs, per = tonumber(g[1]), tonumber(g[2])
  local e = redis.call('ZREVRANGE', KEYS[2], jobs - 1, jobs - 1, 'WITHSCORES')
  if e[2] and tonumber(e[2]) >= now - per then
    window = tonumber(e[2]) + per + 1 - now
  end
end
return {hold, window, g[4] == '1' and 1 or 0}
