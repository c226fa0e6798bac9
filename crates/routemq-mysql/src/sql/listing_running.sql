-- Listing filter, running jobs (reserved, grouped or not), soonest lease
-- deadline first, for listing_page.sql; reservations without a lease (rows
-- reserved by hand or by an older driver, which reclaim_expired takes first)
-- come before the others, by reservation time. Params: queue. Served by
-- queue_jobs_lease_index (migration 0014) as one ordered range (no filesort):
-- the OR is written so that both of its ranges are index ranges, (queue, NULL,
-- reserved) then (queue, leased), which hold only reservations since every
-- release sets lease_until back to NULL. (A queue with only a few
-- reservations may be read through queue_jobs_claim_index's reserved range
-- and sorted instead: that range holds only the queue's reservations too.)
-- Guarantee: reads only.
WHERE queue = ? AND reserved_at IS NOT NULL
  AND (lease_until IS NOT NULL OR (lease_until IS NULL AND reserved_at IS NOT NULL))
ORDER BY lease_until, reserved_at, id
