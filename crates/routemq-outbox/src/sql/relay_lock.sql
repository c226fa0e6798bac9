-- Takes the relay's named lock without waiting: 1 when taken, 0 when another
-- session holds it. Params: none (the name is a hash of the current database's
-- name, to stay within the 64-character limit; SHA2, as migrate.rs's lock:
-- Oracle MySQL 9 has no SHA1() or MD5()).
-- Guarantee: one relay at a time per database (so rows are pushed in id order);
-- the server releases the lock when the session ends, so a relay that dies
-- never keeps it.
SELECT GET_LOCK(CONCAT('routemq_outbox:', LEFT(SHA2(DATABASE(), 256), 40)), 0)
