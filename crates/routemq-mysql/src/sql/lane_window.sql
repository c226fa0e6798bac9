-- Grouped claim, lane check (spliced into each lane's row of sql::lane_states):
-- the lane's starts in its window. Params: queue, lane ('' = ungrouped), window
-- in microseconds. A range of queue_rate_starts_lane_index.
-- Guarantee: reads only; under the limiter row's lock, so exact.
(SELECT COUNT(*) FROM queue_rate_starts WHERE queue = ? AND group_key = ? AND started_at > NOW(6) - INTERVAL ? MICROSECOND)
