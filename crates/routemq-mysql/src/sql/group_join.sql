-- Puts a group and the ungrouped lane in their queue's rotation when missing,
-- at its end. Params: queue, group, queue.
-- Guarantee: in the grouped push's transaction; an existing row (and so its
-- turn) is left as it is, so pushing more jobs never moves a group forward.
INSERT IGNORE INTO queue_groups (queue, group_key, turn)
VALUES (?, ?, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS UNSIGNED) * 1000),
       (?, '', CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS UNSIGNED) * 1000)
