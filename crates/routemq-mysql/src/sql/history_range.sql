-- One queue's per-minute counts (History::history, migration 0014). Params:
-- queue, first minute, last minute (both included), the minutes kept
-- (HISTORY_KEPT_FOR). Returns minute, processed, failed, retried, oldest first.
-- A range of the primary key (queue, minute): at most the kept minutes.
-- Guarantee: reads only; minutes older than the kept minutes by the server's
-- clock (stored until pruned) and minutes without counts are left out.
SELECT minute, processed, failed, retried
FROM queue_history
WHERE queue = ? AND minute BETWEEN ? AND ?
  AND minute >= UNIX_TIMESTAMP() DIV 60 - ?
  AND (processed > 0 OR failed > 0 OR retried > 0)
ORDER BY minute
