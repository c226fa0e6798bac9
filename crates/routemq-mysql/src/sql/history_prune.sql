-- Deletes one chunk of minutes older than the kept minutes from queue_history
-- (migration 0014). Params: the minutes kept (HISTORY_KEPT_FOR), chunk size. An
-- index range of queue_history_minute_index.
-- Guarantee: one short autocommit statement; only minutes no read returns any
-- more (history_range.sql leaves them out) are deleted.
DELETE FROM queue_history WHERE minute < UNIX_TIMESTAMP() DIV 60 - ? LIMIT ?
