-- One page of a queue listing (JobListing::list_jobs, migration 0014), built
-- by sql::listing around one state's filter and order (listing_ready.sql,
-- listing_ready_lanes.sql, listing_delayed.sql, listing_running.sql,
-- listing_waiting.sql): the derived table `page` picks the page's row ids
-- from the filter's index alone (a covering, ordered range: the offset skips
-- index entries, not rows), then only the page's rows are read by primary key
-- and put back in the filter's order (a sort of at most one page). Params:
-- the filter's, then limit and offset. Returns id, uuid, attempts,
-- available_at and lease_until as Unix seconds text (NULL when not set;
-- available_at also for a waiting job: its sentinel '9999-12-31 00:00:00' is
-- beyond what UNIX_TIMESTAMP gives), payload.
-- Guarantee: reads only; locks nothing (a plain read: no claim, no lease, no
-- counter is touched, and locked rows are read, not waited for); one
-- statement, so one consistent view.
SELECT j.id, j.uuid, j.attempts,
       CAST(UNIX_TIMESTAMP(NULLIF(j.available_at, '9999-12-31 00:00:00')) AS CHAR) AS due_unix,
       CAST(UNIX_TIMESTAMP(j.lease_until) AS CHAR) AS lease_unix,
       j.payload
FROM (SELECT id FROM queue_jobs
      {filter}
      LIMIT ? OFFSET ?) AS page
JOIN queue_jobs AS j ON j.id = page.id
ORDER BY {order}
