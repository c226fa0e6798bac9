//! The schema as operators and the original RouteMQ see it: the seed's
//! inspection queries, rows written by hand with only the seed's columns,
//! migrations, column types and the payload limit.

mod common;

use std::time::{Duration, SystemTime};

use common::{fresh, fresh_with, job, plan, q, raw};
use routemq_core::prelude::*;
use routemq_core::{DriverError, FailedQuery, JobId};
use routemq_mysql::mysql_async::prelude::Queryable;
use routemq_mysql::{MigrationError, MIGRATIONS};

const LEASE: Duration = Duration::from_secs(60);

/// The original RouteMQ documentation's monitoring queries, verbatim.
const PENDING_BY_QUEUE: &str = "SELECT queue, COUNT(*) as pending_jobs
FROM queue_jobs
WHERE reserved_at IS NULL
GROUP BY queue";
const PROCESSING_BY_QUEUE: &str = "SELECT queue, COUNT(*) as processing_jobs
FROM queue_jobs
WHERE reserved_at IS NOT NULL
GROUP BY queue";
const JOB_AGE: &str = "SELECT queue,
       MIN(created_at) as oldest_job,
       MAX(created_at) as newest_job,
       COUNT(*) as total_jobs
FROM queue_jobs
GROUP BY queue";
const FAILED_BY_QUEUE: &str = "SELECT queue, COUNT(*) as failed_jobs
FROM queue_failed_jobs
GROUP BY queue";
const STUCK: &str = "SELECT * FROM queue_jobs
WHERE reserved_at < DATE_SUB(NOW(), INTERVAL 1 HOUR)";

#[tokio::test(flavor = "multi_thread")]
async fn seed_inspection_queries_give_correct_numbers() {
    let d = fresh().await;
    let (default, emails) = (q("default"), q("emails"));
    let later = Some(SystemTime::now() + Duration::from_secs(3600));
    for n in 0..5 {
        d.push(job(&default, n, None)).await.unwrap();
    }
    for n in 5..7 {
        d.push(job(&default, n, later)).await.unwrap();
    }
    for n in 0..3 {
        d.push(job(&emails, n, None)).await.unwrap();
    }
    let claimed = d
        .claim(std::slice::from_ref(&default), 2, LEASE)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let failing = d
        .claim(std::slice::from_ref(&emails), 1, LEASE)
        .await
        .unwrap();
    d.fail(&failing[0].lease, "boom").await.unwrap();

    let mut c = raw(&d).await;
    let pending: Vec<(String, u64)> = c.query(PENDING_BY_QUEUE).await.unwrap();
    let mut pending = pending;
    pending.sort();
    assert_eq!(pending, vec![("default".into(), 5), ("emails".into(), 2)]);
    let processing: Vec<(String, u64)> = c.query(PROCESSING_BY_QUEUE).await.unwrap();
    assert_eq!(processing, vec![("default".into(), 2)]);
    let mut ages: Vec<(String, String, String, u64)> = c
        .query(format!(
            "SELECT queue, CAST(oldest_job AS CHAR), CAST(newest_job AS CHAR), total_jobs FROM ({JOB_AGE}) a"
        ))
        .await
        .unwrap();
    ages.sort();
    assert_eq!(ages.len(), 2);
    assert_eq!((ages[0].0.as_str(), ages[0].3), ("default", 7));
    assert_eq!((ages[1].0.as_str(), ages[1].3), ("emails", 2));
    for (queue, oldest, newest, _) in &ages {
        assert!(oldest <= newest, "{queue}: {oldest} > {newest}");
        let recent: Option<i64> = c
            .exec_first("SELECT TIMESTAMPDIFF(SECOND, ?, NOW())", (oldest.as_str(),))
            .await
            .unwrap();
        assert!(
            (0..60).contains(&recent.unwrap()),
            "{queue}: oldest job is {recent:?} s old by NOW()"
        );
    }
    let failed: Vec<(String, u64)> = c.query(FAILED_BY_QUEUE).await.unwrap();
    assert_eq!(failed, vec![("emails".into(), 1)]);

    let stuck: Vec<routemq_mysql::mysql_async::Row> = c.query(STUCK).await.unwrap();
    assert!(stuck.is_empty(), "nothing was reserved an hour ago yet");
    let id = claimed[0]
        .lease
        .token
        .0
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    c.exec_drop(
        "UPDATE queue_jobs SET reserved_at = NOW(6) - INTERVAL 2 HOUR WHERE id = ?",
        (id.as_str(),),
    )
    .await
    .unwrap();
    let stuck: Vec<routemq_mysql::mysql_async::Row> = c.query(STUCK).await.unwrap();
    assert_eq!(stuck.len(), 1, "the job reserved two hours ago is stuck");
    let stuck_id: u64 = stuck[0].get("id").unwrap();
    assert_eq!(stuck_id.to_string(), id);

    let s = d.stats(&default).await.unwrap();
    assert_eq!((s.ready, s.delayed, s.reserved, s.failed), (3, 2, 2, 0));
    let s = d.stats(&emails).await.unwrap();
    assert_eq!((s.ready, s.delayed, s.reserved, s.failed), (2, 0, 0, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_written_with_only_the_seed_columns_are_jobs() {
    let d = fresh().await;
    let mut c = raw(&d).await;
    // The original driver's INSERT, verbatim but for the values.
    c.exec_drop(
        "INSERT INTO queue_jobs (queue, payload, attempts, available_at, created_at) VALUES (?, ?, 0, NOW(), NOW())",
        ("default", "{\"legacy\":true}"),
    )
    .await
    .unwrap();
    c.exec_drop(
        "INSERT INTO queue_jobs (queue, payload, attempts, available_at, created_at) VALUES (?, ?, 0, NOW(), NOW())",
        ("default", vec![0xffu8, 0x00, 0xc1, 0x13]),
    )
    .await
    .unwrap();
    let rows: Vec<u64> = c
        .query("SELECT id FROM queue_jobs ORDER BY id")
        .await
        .unwrap();

    let got = d.claim(&[q("default")], 10, LEASE).await.unwrap();
    assert_eq!(got.len(), 2);
    for (r, id) in got.iter().zip(&rows) {
        assert_eq!(r.lease.job_id.as_str(), format!("db-{id}"));
        assert_eq!(r.attempt, 1);
        assert_eq!(r.max_tries, 3, "column default");
        assert!(r.envelope().is_err(), "neither payload is an envelope");
    }
    assert_eq!(got[0].payload, b"{\"legacy\":true}");
    assert_eq!(got[1].payload, vec![0xffu8, 0x00, 0xc1, 0x13]);

    for r in &got {
        d.fail(&r.lease, "undecodable payload").await.unwrap();
    }
    let first = JobId::from_string(format!("db-{}", rows[0]));
    let shown = d
        .failed_show(&first)
        .await
        .unwrap()
        .expect("in the failed store");
    assert_eq!(shown.payload, b"{\"legacy\":true}");
    assert_eq!(shown.exception, "undecodable payload");
    assert!(d.failed_retry(&first).await.unwrap());
    let again = d.claim(&[q("default")], 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].lease.job_id, first,
        "the job keeps its name across a retry"
    );
    assert_eq!(again[0].attempt, 1, "attempts reset by the retry");

    // A failed row written by hand (no uuid) is listed, shown and retried too.
    c.exec_drop(
        "INSERT INTO queue_failed_jobs (connection, queue, payload, exception, failed_at) VALUES ('database', 'old', 'x', 'legacy', NOW())",
        (),
    )
    .await
    .unwrap();
    let listed = d
        .failed_list(&FailedQuery {
            queue: Some(q("old")),
            ..FailedQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].id.as_str().starts_with("failed-"),
        "{:?}",
        listed[0].id
    );
    assert!(d.failed_retry(&listed[0].id).await.unwrap());
    let back = d.claim(&[q("old")], 1, LEASE).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].lease.job_id, listed[0].id);
    assert_eq!(back[0].payload, b"x");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reservation_without_lease_deadline_is_reclaimed() {
    let d = fresh().await;
    let mut c = raw(&d).await;
    // Reserved by the original driver: reserved_at set, no owner or lease.
    c.query_drop(
        "INSERT INTO queue_jobs (queue, payload, attempts, reserved_at, available_at, created_at) VALUES ('default', 'p', 1, NOW(), NOW(), NOW())",
    )
    .await
    .unwrap();
    let report = d.reclaim_expired(&[q("default")]).await.unwrap();
    assert_eq!((report.released, report.failed), (1, 0));
    let got = d.claim(&[q("default")], 1, LEASE).await.unwrap();
    assert_eq!(got[0].attempt, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_are_idempotent_recorded_and_guarded() {
    let d = fresh().await;
    let again = d.driver.migrate().await.unwrap();
    assert!(again.applied.is_empty());
    let all: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(again.already_applied, all);

    let mut c = raw(&d).await;
    let recorded: Vec<(u32, String)> = c
        .query("SELECT version, name FROM routemq_migrations ORDER BY version")
        .await
        .unwrap();
    let expected: Vec<(u32, String)> = MIGRATIONS
        .iter()
        .map(|m| (m.version, m.name.to_owned()))
        .collect();
    assert_eq!(recorded, expected);

    // Several processes migrating one fresh database at once.
    let fresh_db = fresh_with(|_| {}).await;
    let mut c2 = raw(&fresh_db).await;
    c2.query_drop("DROP TABLE queue_jobs, queue_failed_jobs, queue_workers, routemq_migrations")
        .await
        .unwrap();
    let results = futures::future::join_all((0..4).map(|_| {
        let driver = fresh_db.driver.clone();
        async move { driver.migrate().await }
    }))
    .await;
    let applied: usize = results
        .iter()
        .map(|r| r.as_ref().unwrap().applied.len())
        .sum();
    assert_eq!(
        applied,
        MIGRATIONS.len(),
        "each migration applied exactly once"
    );

    c.query_drop("UPDATE routemq_migrations SET checksum = '0000000000000000' WHERE version = 1")
        .await
        .unwrap();
    let err = d.driver.migrate().await.unwrap_err();
    assert!(
        matches!(err, MigrationError::Changed { version: 1, .. }),
        "{err}"
    );
    c.query_drop("DELETE FROM routemq_migrations WHERE version = 1")
        .await
        .unwrap();
    c.query_drop(
        "INSERT INTO routemq_migrations (version, name, checksum) VALUES (999, 'future', 'x')",
    )
    .await
    .unwrap();
    let err = d.driver.migrate().await.unwrap_err();
    assert!(
        matches!(err, MigrationError::Unknown { version: 999 }),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn columns_have_the_promised_types_and_indexes() {
    let d = fresh().await;
    let mut c = raw(&d).await;
    let cols: Vec<(String, String, String)> = c
        .query(
            "SELECT table_name, column_name, column_type FROM information_schema.columns
             WHERE table_schema = DATABASE() AND table_name IN ('queue_jobs', 'queue_failed_jobs')",
        )
        .await
        .unwrap();
    let ty = |t: &str, col: &str| {
        cols.iter()
            .find(|(tt, cc, _)| tt == t && cc == col)
            .map(|(_, _, ty)| ty.to_lowercase())
            .unwrap_or_else(|| panic!("{t}.{col} missing"))
    };
    for t in ["queue_jobs", "queue_failed_jobs"] {
        let id = ty(t, "id");
        assert!(
            id.starts_with("bigint") && id.ends_with("unsigned"),
            "{t}.id is {id}"
        );
        assert_eq!(ty(t, "payload"), "longblob");
    }
    for (t, col) in [
        ("queue_jobs", "reserved_at"),
        ("queue_jobs", "available_at"),
        ("queue_jobs", "created_at"),
        ("queue_jobs", "lease_until"),
        ("queue_failed_jobs", "failed_at"),
    ] {
        assert_eq!(ty(t, col), "datetime(6)", "{t}.{col}");
    }
    // The room a waiting row holds for its claim (migration 0015).
    assert_eq!(ty("queue_jobs", "claim_room"), "varbinary(48)");
    let unique: Vec<(String, u8)> = c
        .query(
            "SELECT DISTINCT index_name, non_unique FROM information_schema.statistics
             WHERE table_schema = DATABASE() AND table_name = 'queue_failed_jobs' AND column_name = 'uuid'",
        )
        .await
        .unwrap();
    assert_eq!(unique, vec![("queue_failed_jobs_uuid_unique".into(), 0)]);
}

/// The driver's claim and reclaim statements, verbatim.
const CLAIM_SELECT: &str = include_str!("../src/sql/claim_select.sql");
const CLAIM_SELECT_UNGROUPED: &str = include_str!("../src/sql/claim_select_ungrouped.sql");
const CLAIM_AFTER_CURSOR: &str = include_str!("../src/sql/claim_after_cursor.sql");
const CLAIM_BEHIND_CURSOR: &str = include_str!("../src/sql/claim_behind_cursor.sql");
const RECLAIM_SELECT: &str = include_str!("../src/sql/reclaim_select.sql");
/// The idle wait's per-queue lookup (a fragment: wrapped in a SELECT below).
const NEXT_DUE_PART: &str = include_str!("../src/sql/next_due_part.sql");

/// The claim and the reclaim scan are ordered range scans of
/// queue_jobs_claim_index (no filesort, no table scan) on MariaDB and MySQL
/// alike, with realistic statistics: thousands of waiting, delayed and reserved
/// jobs over several queues, then ANALYZE TABLE (an empty table's plan says
/// nothing: the optimizer may pick anything for zero rows).
/// claim_select.sql with its range placeholder filled by `fragment` (a file
/// whose comment lines are dropped), as the driver's `sql::claim_select` does.
fn claim_select(fragment: &str) -> String {
    with_range(CLAIM_SELECT, fragment)
}

/// `select` with its range placeholder filled by `fragment`.
fn with_range(select: &str, fragment: &str) -> String {
    let range: Vec<&str> = fragment.lines().filter(|l| !l.starts_with("--")).collect();
    select.replace("{range}", range.join(" ").trim())
}

/// Whether a plan's range reaches the primary key appended to the claim index
/// (`used_key_parts` of MariaDB and MySQL's JSON version 1, the `ranges` text of
/// MySQL's version 2).
fn seeks_on_id(text: &str) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| {
                // A key part list names `id`; a range text has it as a word.
                let names_id = |v: &serde_json::Value| {
                    v.as_array().is_some_and(|parts| {
                        parts.iter().filter_map(|p| p.as_str()).any(|p| {
                            p.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                                .any(|word| word == "id")
                        })
                    })
                };
                ((k == "used_key_parts" || k == "ranges") && names_id(v)) || walk(v)
            }),
            serde_json::Value::Array(items) => items.iter().any(walk),
            _ => false,
        }
    }
    serde_json::from_str(text).is_ok_and(|v: serde_json::Value| walk(&v))
}

#[tokio::test(flavor = "multi_thread")]
async fn claim_and_reclaim_plans_use_the_claim_index_without_sorting() {
    let d = fresh().await;
    let later = Some(SystemTime::now() + Duration::from_secs(3600));
    let queues = [q("default"), q("emails"), q("reports"), q("low")];
    for (i, queue) in queues.iter().enumerate() {
        let ready: Vec<_> = (0..1500).map(|n| job(queue, n, None)).collect();
        d.push_bulk(ready).await.unwrap();
        let delayed: Vec<_> = (0..500).map(|n| job(queue, n, later)).collect();
        d.push_bulk(delayed).await.unwrap();
        let claimed = d
            .claim(std::slice::from_ref(queue), 100 * (i + 1), LEASE)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 100 * (i + 1));
    }
    let mut c = raw(&d).await;
    c.query_drop("ANALYZE TABLE queue_jobs").await.unwrap();
    let count: Option<u64> = c
        .query_first("SELECT COUNT(*) FROM queue_jobs")
        .await
        .unwrap();
    assert_eq!(count, Some(8000));

    // The claim reads the ready rows in claim order straight from the index:
    // a range (or ref on queue, reserved_at IS NULL) access, no sort.
    let (tables, sorts, text) = plan(&mut c, &claim_select(""), ("default", 10)).await;
    assert_eq!(
        tables,
        vec![(
            "queue_jobs".to_owned(),
            "queue_jobs_claim_index".to_owned(),
            tables[0].2.clone()
        )],
        "claim: {text}"
    );
    assert!(
        ["range", "ref"].contains(&tables[0].2.as_str()),
        "claim: {text}"
    );
    assert!(!sorts, "the claim must not sort: {text}");
    // With the claim cursor (claim_cursor.rs): a range that seeks on the
    // cursor's available_at and id, so the entries of jobs claimed before are
    // never walked; the same for the catch-up scan behind it.
    let at: Option<String> = c
        .query_first(
            "SELECT CAST(available_at AS CHAR) FROM queue_jobs \
             WHERE queue = 'default' AND reserved_at IS NULL ORDER BY available_at, id LIMIT 1 OFFSET 10",
        )
        .await
        .unwrap();
    let at = at.expect("ready jobs");
    let id: Option<u64> = c
        .exec_first(
            "SELECT id FROM queue_jobs WHERE queue = 'default' AND available_at = ? ORDER BY id LIMIT 1",
            (at.as_str(),),
        )
        .await
        .unwrap();
    // The ungrouped scan of a queue with per-group controls seeks the same
    // way on queue_jobs_group_index (group_key NULL).
    let scans = [
        ("claim", CLAIM_SELECT, "queue_jobs_claim_index"),
        (
            "ungrouped claim",
            CLAIM_SELECT_UNGROUPED,
            "queue_jobs_group_index",
        ),
    ];
    for (scan, select, index) in scans {
        for (name, fragment) in [
            ("after", CLAIM_AFTER_CURSOR),
            ("behind", CLAIM_BEHIND_CURSOR),
        ] {
            let params = ("default", at.as_str(), at.as_str(), id.unwrap(), 10);
            let stmt = with_range(select, fragment);
            let (tables, sorts, text) = plan(&mut c, &stmt, params).await;
            assert_eq!(tables.len(), 1, "{scan} {name} the cursor: {text}");
            assert_eq!(
                (tables[0].1.as_str(), tables[0].2.as_str()),
                (index, "range"),
                "{scan} {name} the cursor: {text}"
            );
            assert!(
                seeks_on_id(&text),
                "{scan} {name} the cursor must seek on (available_at, id): {text}"
            );
            assert!(!sorts, "{scan} {name} the cursor must not sort: {text}");
        }
    }
    // The reclaim scan reads only the queue's reserved rows (then sorts that
    // handful by id, which the index does not give): the reserved range of the
    // claim index, forced, since a locking read through queue_jobs_lease_index
    // (migration 0014) may lock the queue's ready rows too.
    let (tables, _, text) = plan(&mut c, RECLAIM_SELECT, ("default", 10)).await;
    assert_eq!(tables.len(), 1, "reclaim: {text}");
    assert!(
        tables[0].0 == "queue_jobs"
            && tables[0].1 == "queue_jobs_claim_index"
            && tables[0].2 == "range",
        "reclaim: {text}"
    );
    // The idle wait's lookup, with a queue paused and one not: queue_jobs is
    // read through the claim index only (queue_paused by its primary key).
    c.query_drop("INSERT INTO queue_paused (queue) VALUES ('low')")
        .await
        .unwrap();
    let part: String = NEXT_DUE_PART
        .lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for queue in ["default", "low"] {
        let (tables, sorts, text) = plan(&mut c, &format!("SELECT {part}"), (queue, queue)).await;
        // MIN over an index prefix may be answered while optimizing (MariaDB
        // "Select tables optimized away", MySQL "rows fetched before execution"):
        // then no table access is listed at all, the best plan there is.
        assert!(
            tables
                .iter()
                .all(|t| (t.0 == "queue_jobs" && t.1 == "queue_jobs_claim_index")
                    || (t.0 == "queue_paused" && t.1 == "PRIMARY")),
            "next due ({queue}): {text}"
        );
        assert!(
            !tables.iter().any(|t| t.2 == "ALL" || t.2 == "table_scan"),
            "next due ({queue}) scans a table: {text}"
        );
        assert!(!sorts, "next due ({queue}): {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn payload_limit_is_a_clear_error_at_dispatch() {
    let d = fresh_with(|c| c.max_payload_bytes = 1000).await;
    assert_eq!(d.max_payload_bytes(), 1000);
    let queue = q("big");
    let mut big = job(&queue, 1, None);
    big.payload = vec![b'x'; 1001];
    let err = d.push(big.clone()).await.unwrap_err();
    assert!(
        matches!(
            err,
            DriverError::PayloadTooLarge {
                size: 1001,
                limit: 1000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("1000-byte limit"), "{err}");
    let err = d
        .push_bulk(vec![job(&queue, 2, None), big])
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::PayloadTooLarge { .. }));
    assert_eq!(
        d.stats(&queue).await.unwrap().ready,
        0,
        "a rejected bulk stores nothing"
    );

    let mut fits = job(&queue, 3, None);
    fits.payload = vec![b'y'; 1000];
    d.push(fits).await.unwrap();
    assert_eq!(d.stats(&queue).await.unwrap().ready, 1);

    // The default limit stays below the server's max_allowed_packet.
    let plain = fresh().await;
    let mut c = raw(&plain).await;
    let packet: Option<u64> = c.query_first("SELECT @@max_allowed_packet").await.unwrap();
    assert!((plain.max_payload_bytes() as u64) < packet.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_a_job_id_twice_keeps_the_newest_failure() {
    let d = fresh().await;
    let queue = q("twice");
    let pending = job(&queue, 1, None);
    // The same job stored twice (a producer retrying a push it thought failed).
    d.push(pending.clone()).await.unwrap();
    d.push(pending.clone()).await.unwrap();
    let got = d
        .claim(std::slice::from_ref(&queue), 2, LEASE)
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    d.fail(&got[0].lease, "first").await.unwrap();
    d.fail(&got[1].lease, "second").await.unwrap();
    let failed = d.failed_list(&FailedQuery::default()).await.unwrap();
    assert_eq!(failed.len(), 1, "one record per job id");
    assert_eq!(failed[0].id, pending.id);
    assert_eq!(failed[0].exception, "second");
    let s = d.stats(&queue).await.unwrap();
    assert_eq!((s.ready, s.reserved, s.failed), (0, 0, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_claims_and_acks_are_bounded_per_transaction() {
    let d = fresh().await;
    let queue = q("huge");
    let jobs: Vec<_> = (0..2500).map(|n| job(&queue, n, None)).collect();
    d.push_bulk(jobs).await.unwrap();
    let mut leases = Vec::new();
    loop {
        let got = d
            .claim(std::slice::from_ref(&queue), 100_000, LEASE)
            .await
            .unwrap();
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 1000, "one claim takes at most 1000");
        leases.extend(got.into_iter().map(|r| r.lease));
    }
    assert_eq!(leases.len(), 2500);
    let outcome = d.ack_batch(&leases).await.unwrap();
    assert_eq!((outcome.acked, outcome.lost.len()), (2500, 0));
    assert_eq!(d.stats(&queue).await.unwrap().reserved, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn due_times_beyond_2038_are_refused_and_far_prune_cutoffs_work() {
    let d = fresh().await;
    let queue = q("far");
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(i32::MAX as u64 + 10);
    let err = d.push(job(&queue, 1, Some(far))).await.unwrap_err();
    assert!(matches!(err, DriverError::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("2038"), "{err}");
    let err = d
        .push_bulk(vec![job(&queue, 2, None), job(&queue, 3, Some(far))])
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::InvalidArgument(_)));
    assert_eq!(d.stats(&queue).await.unwrap().ready, 0);

    let near = SystemTime::UNIX_EPOCH + Duration::from_secs(i32::MAX as u64 - 10);
    d.push(job(&queue, 4, Some(near))).await.unwrap();
    assert_eq!(d.stats(&queue).await.unwrap().delayed, 1);

    d.push(job(&queue, 5, None)).await.unwrap();
    let got = d
        .claim(std::slice::from_ref(&queue), 1, LEASE)
        .await
        .unwrap();
    d.fail(&got[0].lease, "x").await.unwrap();
    assert_eq!(d.failed_prune(far).await.unwrap(), 1);
}
