-- Batch ack in one autocommit statement, for servers with DELETE … RETURNING
-- (MariaDB; Oracle MySQL has none and runs ack_batch_delete.sql in a
-- transaction, or ack_batch_lock.sql then delete_ids.sql when a lease was
-- lost). Params: the ids, then the tokens (IN lists
-- built by sql::ack_batch_returning). A token embeds its row id, so matching
-- id IN (...) AND owner IN (...) is exactly pairwise; the owners of the rows
-- deleted come back, so leases lost meanwhile are told apart.
-- Only for leases holding no uniqueness lock (their release needs the rows).
-- Guarantee: deletes exactly the rows whose owner is unchanged, and says which.
DELETE FROM queue_jobs WHERE id IN {ids} AND owner IN {owners} RETURNING owner
