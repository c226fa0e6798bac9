-- Claim, step 2 of 2: reserve the locked rows. Params: lease in microseconds,
-- random token suffix, then the ids (the IN list is built by sql::claim_update).
-- Each row's owner token is `<id>.<suffix>`, so tokens are unique per row and
-- every later change is a primary-key lookup fenced by the token. A job holding
-- its uniqueness lock until it is gone (unique_scope 2) gets a token ending in
-- 'u', so its ack and fail release the lock and others never look; an
-- until-started mark (1) is cleared, its lock being released in this transaction.
-- A chain link or batch job (flow_next, flow_catch or batch_id set, migration
-- 0013) gets a 'w' before any 'u', so only its settlements apply workflow
-- effects (token.rs decides the same from the claim's in_flow column).
-- claim_room (migration 0015) goes to NULL in the same write: the row then does
-- not grow, so InnoDB rewrites it where it was instead of reorganising or
-- splitting a full page.
-- Guarantee: runs in the claim's transaction on rows it locked; attempts are
-- counted here, at claim.
UPDATE queue_jobs
SET reserved_at = NOW(6),
    lease_until = NOW(6) + INTERVAL ? MICROSECOND,
    owner = CONCAT(id, '.', ?,
                   IF(flow_next IS NOT NULL OR flow_catch IS NOT NULL OR batch_id IS NOT NULL, 'w', ''),
                   IF(unique_scope = 2, 'u', '')),
    unique_scope = IF(unique_scope = 1, NULL, unique_scope),
    attempts = attempts + 1,
    claim_room = NULL
WHERE id IN
