-- Job selection of tracking statements for a row written by hand without a uuid,
-- named `db-<id>` (a fragment: sql.rs puts it where a statement says `{job}`).
-- Params: queue, row id. A primary-key lookup.
-- Guarantee: selects the row only while it has no uuid of its own, so
-- `db-<id>` never names a job that has one.
queue = ? AND id = ? AND (uuid IS NULL OR uuid = '')
