-- 0009: the transactional outbox (routemq-outbox): jobs for Redis queues written
-- in the application's own MySQL transaction, relayed to Redis after it commits.
--
-- One row per staged job, in insertion order (id). A row becomes visible when
-- its transaction commits; the relay (one at a time, under a named lock) pushes
-- rows to their Redis queue in id order with an idempotent push (RedisDriver::
-- push_once: a job id already stored, or stored less than a day ago, is not
-- stored again) and deletes them after the push, so a relay that dies between
-- the two pushes the rows again harmlessly. created_at gives the relay lag
-- (the oldest row's age). due_ms is the job's due time in Unix milliseconds
-- (NULL = now); group_key its fair group (NULL = none).

CREATE TABLE IF NOT EXISTS queue_outbox (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    uuid        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    queue       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    payload     LONGBLOB NOT NULL,
    max_tries   INT UNSIGNED NOT NULL,
    due_ms      BIGINT NULL DEFAULT NULL,
    group_key   VARBINARY(128) NULL DEFAULT NULL,
    created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
