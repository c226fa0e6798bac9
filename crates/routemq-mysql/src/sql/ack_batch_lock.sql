-- Batch ack, step 1 of 2, for leases holding a uniqueness lock and for a batch
-- in which ack_batch_delete.sql found a lease lost: lock the rows still owned
-- by these tokens. Params: the ids, then the tokens (IN lists built by
-- sql::ack_batch_lock). A token embeds its row id, so matching
-- id IN (...) AND owner IN (...) is exactly pairwise; the owners come back
-- so two leases on one row are told apart.
-- Guarantee: locks exactly the rows whose owner is unchanged, so the delete that
-- follows in the same transaction cannot remove a job another worker now owns.
SELECT id, owner FROM queue_jobs WHERE id IN {ids} AND owner IN {owners} FOR UPDATE
