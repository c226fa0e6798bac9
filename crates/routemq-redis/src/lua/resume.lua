-- resume.lua: resumes a paused queue and wakes its idle workers.
-- KEYS[1] paused flag (string)   KEYS[2] notify list
-- Guarantee: atomic. When the flag existed it is deleted and one wake-up token is
-- pushed to the notify list (as a push does), so a worker blocked in
-- wait_for_jobs claims the queue's jobs at once. Returns 1 if the queue was
-- paused, else 0 (and changes nothing).
if redis.call('DEL', KEYS[1]) == 0 then
  return 0
end
notify(KEYS[2], 1)
return 1
