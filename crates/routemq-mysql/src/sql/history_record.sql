-- Adds per-minute counts to queue_history (History::record_history, migration
-- 0014): one statement for up to sql::HISTORY_ROWS rows, built by
-- sql::history_record, which adds one `UNION ALL SELECT` of five placeholders
-- per further row after the first. Params: per row queue, minute (Unix
-- minute), processed, failed, retried; then the minutes kept (HISTORY_KEPT_FOR).
-- Portable upsert: the new values come from the derived table `new` (no
-- VALUES(), deprecated on MySQL 8.0.20+; no `AS new` row alias, which MariaDB
-- lacks); the first row's casts type the derived table's columns.
-- Guarantee: one autocommit statement, all rows or none; each row adds to the
-- stored counts of its (queue, minute), so deltas of any number of workers sum
-- up (a row repeated adds twice); a row for a minute older than the kept
-- minutes by the server's clock is left out.
INSERT INTO queue_history (queue, minute, processed, failed, retried)
SELECT * FROM (
    SELECT ? AS n_queue, CAST(? AS SIGNED) AS n_minute, CAST(? AS UNSIGNED) AS n_processed,
           CAST(? AS UNSIGNED) AS n_failed, CAST(? AS UNSIGNED) AS n_retried{more}
) AS new
WHERE new.n_minute >= UNIX_TIMESTAMP() DIV 60 - ?
ON DUPLICATE KEY UPDATE processed = processed + new.n_processed,
    failed = failed + new.n_failed, retried = retried + new.n_retried
