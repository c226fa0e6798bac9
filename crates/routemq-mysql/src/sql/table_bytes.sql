-- What queue_jobs takes on disk: its rows (the clustered index) plus its
-- secondary indexes, in bytes, as the server's table statistics tell (pages,
-- not rows: a figure in steps of the page size). Run ANALYZE TABLE queue_jobs
-- first for current statistics. Params: none. Guarantee: reads only.
SELECT CAST(data_length + index_length AS UNSIGNED)
  FROM information_schema.TABLES
 WHERE table_schema = DATABASE() AND table_name = 'queue_jobs'
