-- The relay's next batch: the oldest committed rows. Params: how many.
-- Guarantee: reads only (a primary-key range); rows of transactions not yet
-- committed are not seen, and are read by a later pass once they commit.
SELECT id, uuid, queue, payload, max_tries, due_ms, group_key
FROM queue_outbox
ORDER BY id
LIMIT ?
