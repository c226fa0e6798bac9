-- Claim, step 2 of 2: reserve the locked rows. Params: lease in microseconds,
-- random token suffix, then the ids (the IN list is built by sql::claim_update).
-- Each row's owner token is `<id>.<suffix>`, so tokens are unique per row and
-- every later change is a primary-key lookup fenced by the token.
-- Guarantee: runs in the claim's transaction on rows it locked; attempts are
-- counted here, at claim.
UPDATE queue_jobs
SET reserved_at = NOW(6),
    lease_until = NOW(6) + INTERVAL ? MICROSECOND,
    owner = CONCAT(id, '.', ?),
    attempts = attempts + 1
WHERE id IN
