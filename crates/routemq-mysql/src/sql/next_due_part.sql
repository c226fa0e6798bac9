-- One queue's earliest due time among unreserved jobs, spliced once per queue
-- into the wait's UNION ALL by sql::next_due. Params: queue. One range read on
-- queue_jobs_claim_index. Guarantee: reads only, locks nothing.
(SELECT MIN(available_at) FROM queue_jobs WHERE queue = ? AND reserved_at IS NULL)
