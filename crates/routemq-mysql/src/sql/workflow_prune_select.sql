-- Expired batch records to prune. Params: how many. An index range of
-- queue_batches_expires_index.
-- Guarantee: reads only; only records no read returns any more.
SELECT id FROM queue_batches WHERE expires_at <= NOW(6) ORDER BY expires_at LIMIT ?
