(SELECT MIN(available_at) FROM queue_jobs WHERE queue = ? AND reserved_at IS NULL)
