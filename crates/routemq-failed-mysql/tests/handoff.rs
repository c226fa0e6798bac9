//! The database failed store of Redis queues on real Redis and MySQL/MariaDB:
//! failures move once, a move or a retry stopped at each step (as if killed)
//! loses and repeats nothing, and a stale owner cannot create a failed row.

use std::time::Duration;

use routemq_core::{
    Codec, DriverError, Envelope, FailedQuery, FailedStore, JobId, JobLifecycle, PendingJob,
    QueueAdmin, QueueName,
};
use routemq_failed_mysql::{DatabaseFailedStore, HandoffConfig, HandoffError, HandoffStep};
use routemq_mysql::{MysqlConfig, MysqlDriver};
use routemq_redis::{RedisConfig, RedisDriver};
use routemq_testkit::mysql::MysqlSchema;

struct Setup {
    store: DatabaseFailedStore,
    redis: RedisDriver,
    mysql: MysqlDriver,
    _schema: MysqlSchema,
    _target: routemq_testkit::redis::RedisTarget,
}

async fn setup() -> Setup {
    let schema = MysqlSchema::create().await.expect("a MySQL schema");
    let mysql = MysqlDriver::connect_and_migrate(MysqlConfig::from_url(schema.url()).unwrap())
        .await
        .expect("migrations apply");
    let target = routemq_testkit::redis::redis();
    let redis = RedisDriver::new(
        RedisConfig::from_url(&target.url)
            .unwrap()
            .prefix(target.prefix.clone()),
    )
    .unwrap();
    let store = DatabaseFailedStore::new(redis.clone(), mysql.clone()).with_config(HandoffConfig {
        retry_grace: Duration::ZERO,
        ..HandoffConfig::default()
    });
    Setup {
        store,
        redis,
        mysql,
        _schema: schema,
        _target: target,
    }
}

fn queue(name: &str) -> QueueName {
    QueueName::new(name).unwrap()
}

fn job(q: &QueueName, tries: u32) -> PendingJob {
    let env = Envelope {
        max_tries: tries,
        ..Envelope::new("handoff.test", q.clone(), Codec::Json, b"{}".to_vec())
    };
    PendingJob::new(&env, None).unwrap()
}

/// Pushes `n` jobs on `q`, claims and fails each; returns their ids.
async fn fail_jobs(s: &Setup, q: &QueueName, n: usize) -> Vec<JobId> {
    let ids = s
        .redis
        .push_bulk((0..n).map(|_| job(q, 3)).collect())
        .await
        .unwrap();
    let got = s
        .redis
        .claim(std::slice::from_ref(q), n, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(got.len(), n);
    for r in &got {
        s.redis.fail(&r.lease, "boom: card declined").await.unwrap();
    }
    ids
}

async fn db_count(s: &Setup, q: &QueueName) -> u64 {
    s.mysql
        .handed_over_counts("redis")
        .await
        .unwrap()
        .into_iter()
        .find(|(name, _)| name == q.as_str())
        .map_or(0, |(_, n)| n)
}

async fn redis_failed(s: &Setup, q: &QueueName) -> usize {
    s.redis.failed_oldest(q, 1_000).await.unwrap().len()
}

/// Claims everything on `q` (acking it); returns the ids in order.
async fn drain(s: &Setup, q: &QueueName) -> Vec<(JobId, u32)> {
    let got = s
        .redis
        .claim(std::slice::from_ref(q), 100, Duration::from_secs(60))
        .await
        .unwrap();
    for r in &got {
        s.redis.ack(&r.lease).await.unwrap();
    }
    got.into_iter()
        .map(|r| (r.lease.job_id, r.attempt))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_move_to_the_database_once_and_list_there() {
    let s = setup().await;
    let q = queue("payments");
    let ids = fail_jobs(&s, &q, 3).await;
    assert_eq!(redis_failed(&s, &q).await, 3, "failing writes Redis first");
    let listed = s.store.failed_list(&FailedQuery::default()).await.unwrap();
    assert_eq!(listed.len(), 3, "a read moves fresh failures first");
    for f in &listed {
        assert!(ids.contains(&f.id));
        assert_eq!(
            (f.connection.as_str(), f.queue.as_str()),
            ("redis", "payments")
        );
        assert_eq!(f.exception, "boom: card declined");
    }
    assert_eq!(redis_failed(&s, &q).await, 0, "moved out of Redis");
    assert_eq!(db_count(&s, &q).await, 3);
    assert_eq!(
        s.store.move_failures().await.unwrap().moved,
        0,
        "nothing twice"
    );
    assert_eq!(
        s.store.failed_counts().await.unwrap(),
        vec![("payments".to_owned(), 3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_stopped_after_storing_leaves_one_row_per_job() {
    let s = setup().await;
    let q = queue("stopped_move");
    fail_jobs(&s, &q, 5).await;
    match s.store.move_failures_stopping_at(HandoffStep::Stored).await {
        Err(HandoffError::Stopped(HandoffStep::Stored)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (redis_failed(&s, &q).await, db_count(&s, &q).await),
        (5, 5),
        "stopped between the insert and the Redis removal: in both for now"
    );
    assert_eq!(s.store.move_failures().await.unwrap().moved, 5);
    assert_eq!(
        (redis_failed(&s, &q).await, db_count(&s, &q).await),
        (0, 5),
        "the next move adds no row and finishes the removal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_stopped_at_each_step_puts_the_job_back_once() {
    let s = setup().await;
    for (k, step) in [HandoffStep::RetryMarked, HandoffStep::RetryPushed]
        .into_iter()
        .enumerate()
    {
        let q = queue(&format!("stopped_retry_{k}"));
        let id = fail_jobs(&s, &q, 1).await.remove(0);
        s.store.move_failures().await.unwrap();
        match s.store.retry_stopping_at(&id, step).await {
            Err(HandoffError::Stopped(at)) => assert_eq!(at, step),
            other => panic!("{other:?}"),
        }
        let pass = s.store.move_failures().await.unwrap();
        assert_eq!(pass.retries_finished, 1, "the next move finishes the retry");
        assert_eq!(db_count(&s, &q).await, 0, "the row is gone");
        assert_eq!(
            drain(&s, &q).await,
            vec![(id.clone(), 1)],
            "after a stop at {step:?} the job is back once, attempts reset"
        );
        assert_eq!(s.store.move_failures().await.unwrap().retries_finished, 0);

        // The same job can fail and be retried again: a new token.
        s.redis.push(job_with_id(&q, &id)).await.unwrap();
        let r = s
            .redis
            .claim(std::slice::from_ref(&q), 1, Duration::from_secs(60))
            .await
            .unwrap()
            .remove(0);
        s.redis.fail(&r.lease, "again").await.unwrap();
        assert!(s.store.failed_retry(&id).await.unwrap());
        assert_eq!(drain(&s, &q).await.len(), 1, "retried a second time, once");
        assert!(
            !s.store.failed_retry(&id).await.unwrap(),
            "nothing left to retry"
        );
    }
}

fn job_with_id(q: &QueueName, id: &JobId) -> PendingJob {
    let mut j = job(q, 3);
    j.id = id.clone();
    j
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_cannot_create_a_failed_row() {
    let s = setup().await;
    let q = queue("stale");
    let qs = std::slice::from_ref(&q);
    s.redis.push(job(&q, 3)).await.unwrap();
    let stale = s
        .redis
        .claim(qs, 1, Duration::from_millis(200))
        .await
        .unwrap()
        .remove(0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.redis.reclaim_expired(qs).await.unwrap();
    let owner = s
        .redis
        .claim(qs, 1, Duration::from_secs(60))
        .await
        .unwrap()
        .remove(0);
    match s.redis.fail(&stale.lease, "stale").await {
        Err(DriverError::LeaseLost { .. }) => {}
        other => panic!("a stale owner's fail must be LeaseLost: {other:?}"),
    }
    s.store.move_failures().await.unwrap();
    assert_eq!(
        db_count(&s, &q).await,
        0,
        "no failed row for a job another worker owns"
    );
    s.redis.ack(&owner.lease).await.unwrap();
    assert_eq!(s.redis.stats(&q).await.unwrap().failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_expires_on_the_last_try_moves_too() {
    let s = setup().await;
    let q = queue("expired");
    let qs = std::slice::from_ref(&q);
    s.redis.push(job(&q, 1)).await.unwrap();
    s.redis
        .claim(qs, 1, Duration::from_millis(100))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.redis.reclaim_expired(qs).await.unwrap().failed, 1);
    s.store.move_failures().await.unwrap();
    let rows = s.store.failed_list(&FailedQuery::default()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].exception.contains("lease expired"),
        "{}",
        rows[0].exception
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grouped_job_keeps_its_group_through_the_database() {
    let s = setup().await;
    let q = queue("grouped_handoff");
    let g = routemq_core::GroupKey::new("tenant-4").unwrap();
    let id = s
        .redis
        .push(job(&q, 3).in_group(Some(g.clone())))
        .await
        .unwrap();
    let r = s
        .redis
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(60))
        .await
        .unwrap()
        .remove(0);
    s.redis.fail(&r.lease, "boom").await.unwrap();
    let shown = s.store.failed_show(&id).await.unwrap().expect("moved");
    assert_eq!(
        shown.group.as_ref(),
        Some(&g),
        "the database row keeps the group"
    );
    assert!(s.store.failed_retry(&id).await.unwrap());
    let back = s
        .redis
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(60))
        .await
        .unwrap()
        .remove(0);
    assert_eq!((back.lease.job_id, back.group), (id, Some(g)));
}

/// `failed_remove` takes any number of ids (a chunk of them per script), counts
/// only those still failed, and a backlog over one batch (200) moves whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_by_id_spans_chunks_and_a_backlog_moves_whole() {
    let s = setup().await;
    let q = queue("backlog");
    let ids = fail_jobs(&s, &q, 450).await;
    let mut some: Vec<JobId> = ids[..150].to_vec();
    some.push(JobId::generate());
    assert_eq!(s.redis.failed_remove(&q, &some).await.unwrap(), 150);
    assert_eq!(redis_failed(&s, &q).await, 300);
    assert_eq!(
        s.redis.failed_remove(&q, &some).await.unwrap(),
        0,
        "ids no longer failed are passed over"
    );
    assert_eq!(s.store.move_failures().await.unwrap().moved, 300);
    assert_eq!(
        (redis_failed(&s, &q).await, db_count(&s, &q).await),
        (0, 300)
    );
}
