-- Records a worker heartbeat: inserts the worker's row or overwrites it. Params:
-- id, host, pid, info JSON, ttl in microseconds. Portable upsert: the new values
-- come from the derived table `new` (no VALUES(), deprecated on MySQL 8.0.20+;
-- no `AS new` row alias, which MariaDB lacks).
-- Guarantee: one row per worker id, replaced by a later heartbeat.
INSERT INTO queue_workers (id, host, pid, info, last_seen, expires_at)
SELECT * FROM (
    SELECT ? AS n_id, ? AS n_host, ? AS n_pid, ? AS n_info, NOW(6) AS n_last_seen,
           NOW(6) + INTERVAL ? MICROSECOND AS n_expires_at
) AS new
ON DUPLICATE KEY UPDATE host = new.n_host, pid = new.n_pid, info = new.n_info,
    last_seen = new.n_last_seen, expires_at = new.n_expires_at
