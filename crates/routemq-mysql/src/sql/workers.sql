-- Live workers, by id. Params: none. Expired rows are deleted just before
-- (sql::WORKERS_PRUNE), so none is listed past its expiry.
-- Guarantee: reads only.
SELECT info FROM queue_workers WHERE expires_at > NOW(6) ORDER BY id
