-- Grouped claim, step 3: moves a lane the claim looked at to the rotation's end.
-- Params: position of the lane in this claim (keeps their order), queue, group.
-- Guarantee: in the claim's transaction, on a row it locked.
UPDATE queue_groups
SET turn = CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS UNSIGNED) * 1000 + ?
WHERE queue = ? AND group_key = ?
