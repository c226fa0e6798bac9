-- Cancel, step 2 for a running job: ask its worker to stop it. Params: id.
-- Guarantee: in the cancel's transaction on the row it locked; the flag stays
-- until the row is gone (ack_cancelled, release, reclaim, ack or fail).
UPDATE queue_jobs SET cancel_requested = 1 WHERE id = ?
