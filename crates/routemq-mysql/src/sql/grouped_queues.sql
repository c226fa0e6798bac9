-- The queues with a rotation (grouped jobs), cached like the paused queues.
-- Params: none.
-- Guarantee: a plain read; a stale answer only delays fairness, never a job.
SELECT DISTINCT queue FROM queue_groups
