-- One queue's earliest due time among unreserved jobs, spliced once per queue
-- into the wait's UNION ALL by sql::next_due; NULL while the queue is paused (so
-- an idle worker waits instead of returning at once for jobs it may not claim).
-- Waiting jobs (the sentinel due time, migration 0013) are left out.
-- Params: queue, queue. One range read on queue_jobs_claim_index and one
-- primary-key lookup on queue_paused. Guarantee: reads only, locks nothing.
(SELECT MIN(available_at) FROM queue_jobs WHERE queue = ? AND reserved_at IS NULL
  AND available_at < '9999-12-31 00:00:00'
  AND NOT EXISTS (SELECT 1 FROM queue_paused WHERE queue_paused.queue = ?))
