-- Grouped claim, lane check (spliced into each lane's row of sql::lane_states):
-- 1 while the group is held. Params: queue, group. One primary-key lookup.
-- Guarantee: reads only.
(SELECT COUNT(*) FROM queue_group_holds WHERE queue = ? AND group_key = ? AND held_until > NOW(6))
