-- clear: the batches of one queue (they go with its jobs). Params: queue.
-- Served by queue_batches_queue_index.
-- Guarantee: reads only; locks nothing.
SELECT id FROM queue_batches WHERE queue = ?
