-- Deletes rows locked earlier in the same transaction. Params: the ids (IN list
-- built by sql::delete_ids).
-- Guarantee: deletes only rows the same transaction locked, so nothing another
-- worker owns.
DELETE FROM queue_jobs WHERE id IN
