-- 0015: room in a waiting row for its claim to be written in place.
--
-- A claim sets three NULL columns of the job's row: reserved_at and
-- lease_until (8 bytes each once set) and owner (its token, about 25 bytes).
-- InnoDB stores a NULL in no bytes, so the claim made every row longer. A
-- longer row cannot take the space its old version leaves in the page: on a
-- page filled by a queue's appends, InnoDB then reorganises the page (copies
-- it whole) or splits it. Measured on MariaDB 10.11 (issue 16, part 3): 0.42
-- page reorganisations per claimed job, and the claim's UPDATE cost twice the
-- ack's DELETE.
--
-- claim_room: 48 bytes that every new row gets by default and that the claim
-- sets to NULL (claim_update.sql) in the same UPDATE that sets those three
-- columns. The row then does not grow as long as the token is at most 32
-- characters (row ids below 10^13), so the new version fits where the old one
-- was. Every release back to waiting (release.sql, release_uncounted.sql,
-- reclaim_release.sql) sets it back to its default. Its content means nothing
-- and nothing reads it. A row written by hand gets the default too; a row
-- stored before this migration has no room and is claimed as before.
-- Cost: 49 bytes per waiting job.
--
-- Instant ADD COLUMN on MySQL 8.0.12+ and MariaDB 10.3+ (rows already stored
-- are not rewritten).

ALTER TABLE queue_jobs
    ADD COLUMN claim_room VARBINARY(48) NULL DEFAULT '................................................';
