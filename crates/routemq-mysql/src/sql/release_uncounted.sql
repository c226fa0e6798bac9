-- Gives a job back, claimable after a delay, giving back the attempt its claim
-- counted (a rate-limited attempt). Params: delay in microseconds, id, owner
-- token. 0 rows = lease lost, or the job has a cancel request (then
-- tracking.rs records it cancelled instead), nothing changed.
-- Guarantee: only the current owner gives the job back; attempts go down by one
-- (never below 0), so the next claim has this attempt's number; a job with a
-- cancel request is never made claimable.
UPDATE queue_jobs
SET reserved_at = NULL, owner = NULL, lease_until = NULL, claim_room = DEFAULT,
    attempts = GREATEST(attempts, 1) - 1,
    available_at = NOW(6) + INTERVAL ? MICROSECOND
WHERE id = ? AND owner = ? AND cancel_requested = 0
