-- sweep_buckets.lua: unlists buckets of one queue's jobs hash that are gone and
-- whose 256 ms ended long ago (the layout is lib.lua's job_hash).
-- KEYS[1] the set of buckets (`{jobs}:buckets`)
-- ARGV[1] the cutoff (ms since the epoch): a bucket whose 256 ms ended before
-- it may leave the set
-- ARGV[2..] candidate bucket names, from an SSCAN of KEYS[1] (each in KEYS[1]'s
-- slot: the names share the queue's hash tag)
-- Guarantee: atomic; a name leaves the set only when no key of that name exists
-- and either its time (the 10 hex digits after its last ':', the bucket's
-- milliseconds / 256) ended before the cutoff, or it has no such time (the
-- `other` bucket, a bucket of ids that only look like UUIDs): a driver leaves a
-- push's SADD out only for a bucket of the last minute by its clock that it
-- listed itself (src/bucket_listing.rs), and every other write lists its
-- bucket again. Returns how many names left the set.
local cutoff = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV do
  local name = ARGV[i]
  local hex = string.match(name, ':(%x%x%x%x%x%x%x%x%x%x)$')
  local past = hex == nil or (tonumber(hex, 16) + 1) * 256 <= cutoff
  if past and redis.call('EXISTS', name) == 0 then
    removed = removed + redis.call('SREM', KEYS[1], name)
  end
end
return removed
