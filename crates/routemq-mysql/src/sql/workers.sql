-- Live workers, by id. Expired rows are deleted just before (workers_prune.sql).
SELECT info FROM queue_workers WHERE expires_at > NOW(6) ORDER BY id
