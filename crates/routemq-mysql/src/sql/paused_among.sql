-- Which of the claim's queues are paused: the claim's first statement, in its
-- transaction. Params: the queues (the IN list is built by sql::paused_among).
-- Primary-key lookups on queue_paused.
-- Guarantee: a plain consistent read; locks nothing, so it never waits for and
-- never blocks a pause or resume. A pause committed after this read takes effect
-- at the next claim.
SELECT queue FROM queue_paused WHERE queue IN
