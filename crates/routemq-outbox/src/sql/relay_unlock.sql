-- Gives the relay's named lock back (relay_lock.sql's name). Params: none.
-- Guarantee: releases only a lock this session holds.
SELECT RELEASE_LOCK(CONCAT('routemq_outbox:', LEFT(SHA2(DATABASE(), 256), 40)))
