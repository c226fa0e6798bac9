-- Gives a job back, claimable after a delay, keeping its attempts. Params: delay
-- in microseconds, id, owner token. 0 rows = lease lost, or the job has a cancel
-- request (then tracking.rs records it cancelled instead), nothing changed.
-- Guarantee: only the current owner gives the job back; attempts are kept; a
-- job with a cancel request is never made claimable.
UPDATE queue_jobs
SET reserved_at = NULL, owner = NULL, lease_until = NULL, claim_room = DEFAULT,
    available_at = NOW(6) + INTERVAL ? MICROSECOND
WHERE id = ? AND owner = ? AND cancel_requested = 0
