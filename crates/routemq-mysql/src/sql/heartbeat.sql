-- Records a worker heartbeat. Params: id, host, pid, info JSON, ttl in
-- microseconds.
-- Guarantee: one row per worker id, replaced by a later heartbeat.
INSERT INTO queue_workers (id, host, pid, info, last_seen, expires_at)
VALUES (?, ?, ?, ?, NOW(6), NOW(6) + INTERVAL ? MICROSECOND)
ON DUPLICATE KEY UPDATE host = VALUES(host), pid = VALUES(pid), info = VALUES(info),
    last_seen = VALUES(last_seen), expires_at = VALUES(expires_at)
