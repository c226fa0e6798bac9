-- Deletes rows locked earlier in the same transaction. Params: the ids (IN list
-- built by sql::delete_ids).
DELETE FROM queue_jobs WHERE id IN
