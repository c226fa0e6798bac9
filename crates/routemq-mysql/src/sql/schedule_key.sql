-- Reads one schedule's spec key, to report what an upsert did. Params: name.
-- Guarantee: a plain read (no lock); the upsert itself decides atomically.
SELECT spec_key FROM queue_schedules WHERE name = ?
