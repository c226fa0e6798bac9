-- wake.lua: ends an idle worker's BLPOP with a token on its private wake-up key.
-- KEYS[1] the waker key (one blocking connection's own; it shares its queue's slot)
-- ARGV[1] seconds the key is kept
-- Guarantee: atomic; pushes one token and sets the key to expire, so a token no
-- BLPOP took (the BLPOP had already returned) does not outlive the wait. One
-- command, so on a cluster it is one request: a redirect refuses it before it
-- runs, and the client's resend cannot push twice.
redis.call('RPUSH', KEYS[1], '1')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
