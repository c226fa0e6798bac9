-- The drain's floor on the server: the row work of a claim + ack drain with no
-- client in the loop, for the mysql-throughput example's depth mode
-- (ROUTEMQ_BENCH_QUEUED; ARCHITECTURE.md, "What a MySQL drain costs the server
-- beyond its rows"). Not part of the driver: the example creates it, calls it
-- once and drops it.
-- Params: q (the queue), after (the highest row id before the jobs to drain
-- were pushed: they are the queue's rows above it, pushed in one run of
-- push_bulk, so their ids rise with their order), batch (jobs per claim).
-- Each round, like the driver's claim and ack_batch: a transaction locks up to
-- `batch` waiting rows past the last claimed id (SKIP LOCKED), reserves them as
-- claim_update.sql does (reserved_at, lease_until, owner, attempts, claim_room
-- to NULL, so the row keeps its size) and commits; then one autocommit DELETE
-- fenced by owner removes them, as ack_batch_returning.sql does. What it
-- leaves out is the client's share: statements parsed and executed over the
-- protocol, rows sent back, the driver's owner tokens and claim cursor.
-- Guarantee: touches only rows of `q` with id > after that are due (a delayed
-- row between them is left, as the driver's claim leaves it), and stops at the
-- first round that locks none (tests/drain_floor.rs).
CREATE PROCEDURE routemq_bench_drain_floor(q VARCHAR(255), after BIGINT UNSIGNED, batch INT)
BEGIN
  DECLARE got INT DEFAULT 1;
  DECLARE last_id BIGINT UNSIGNED DEFAULT after;
  DECLARE upto BIGINT UNSIGNED DEFAULT after;
  WHILE got > 0 DO
    START TRANSACTION;
    SELECT COUNT(*), COALESCE(MAX(id), last_id) INTO got, upto FROM (
      SELECT id FROM queue_jobs
      WHERE id > last_id AND queue = q AND reserved_at IS NULL AND available_at <= NOW(6)
      ORDER BY id LIMIT batch FOR UPDATE SKIP LOCKED) AS locked;
    UPDATE queue_jobs
    SET reserved_at = NOW(6),
        lease_until = NOW(6) + INTERVAL 60 SECOND,
        owner = CONCAT(id, '.floor'),
        attempts = attempts + 1,
        claim_room = NULL
    WHERE id > last_id AND id <= upto AND queue = q AND reserved_at IS NULL
      AND available_at <= NOW(6);
    COMMIT;
    DELETE FROM queue_jobs WHERE id > last_id AND id <= upto AND owner = CONCAT(id, '.floor');
    SET last_id = upto;
  END WHILE;
END
