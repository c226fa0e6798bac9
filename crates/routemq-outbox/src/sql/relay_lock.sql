-- Takes the relay's named lock without waiting: 1 when taken, 0 when another
-- session holds it. Params: none (the name is made from the current database,
-- hashed to stay within the 64-character limit).
-- Guarantee: one relay at a time per database (so rows are pushed in id order);
-- the server releases the lock when the session ends, so a relay that dies
-- never keeps it.
SELECT GET_LOCK(CONCAT('routemq_outbox:', LEFT(SHA1(DATABASE()), 24)), 0)
