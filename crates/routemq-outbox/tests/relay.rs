//! The outbox on real MySQL/MariaDB and Redis: staging in the caller's
//! transaction, the relay's exactly-once delivery when it is stopped at each
//! step, id order per queue with two relays, and the relay rate.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Pool, TxOpts};
use routemq_core::{
    Codec, DriverError, Envelope, JobId, JobLifecycle, PendingJob, QueueAdmin, QueueName,
};
use routemq_mysql::{MysqlConfig, MysqlDriver};
use routemq_outbox::{Outbox, OutboxError, RelayConfig, RelayStep};
use routemq_redis::{RedisConfig, RedisDriver};
use routemq_testkit::mysql::MysqlSchema;

struct Setup {
    outbox: Outbox,
    pool: Pool,
    redis: RedisDriver,
    _schema: MysqlSchema,
    _target: routemq_testkit::redis::RedisTarget,
}

async fn setup() -> Setup {
    let schema = MysqlSchema::create().await.expect("a MySQL schema");
    let migrated = MysqlDriver::connect_and_migrate(MysqlConfig::from_url(schema.url()).unwrap())
        .await
        .expect("migrations apply");
    migrated.disconnect().await.unwrap();
    let pool = Pool::new(schema.url());
    let target = routemq_testkit::redis::redis();
    let redis = RedisDriver::new(
        RedisConfig::from_url(&target.url)
            .unwrap()
            .prefix(target.prefix.clone()),
    )
    .unwrap();
    let outbox = Outbox::new(pool.clone(), redis.clone());
    Setup {
        outbox,
        pool,
        redis,
        _schema: schema,
        _target: target,
    }
}

fn queue(name: &str) -> QueueName {
    QueueName::new(name).unwrap()
}

fn job(q: &QueueName, n: u64) -> PendingJob {
    let env = Envelope::new(
        "outbox.test",
        q.clone(),
        Codec::Json,
        format!("{{\"n\":{n}}}").into_bytes(),
    );
    PendingJob::new(&env, None).unwrap()
}

/// Stages `jobs` in one transaction and commits it.
async fn stage_committed(s: &Setup, jobs: Vec<PendingJob>) -> Vec<JobId> {
    let mut conn = s.pool.get_conn().await.unwrap();
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    let ids = s.outbox.stage_bulk(&mut tx, jobs).await.unwrap();
    tx.commit().await.unwrap();
    ids
}

/// Claims (and acks) everything on `q`, in claim order.
async fn drain(redis: &RedisDriver, q: &QueueName) -> Vec<JobId> {
    let mut out = Vec::new();
    loop {
        let got = redis
            .claim(std::slice::from_ref(q), 500, Duration::from_secs(60))
            .await
            .unwrap();
        if got.is_empty() {
            return out;
        }
        for r in got {
            redis.ack(&r.lease).await.unwrap();
            out.push(r.lease.job_id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_leaves_nothing_and_commit_relays_once() {
    let s = setup().await;
    let q = queue("orders");
    {
        let mut conn = s.pool.get_conn().await.unwrap();
        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        s.outbox.stage(&mut tx, job(&q, 1)).await.unwrap();
        tx.rollback().await.unwrap();
        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        s.outbox.stage(&mut tx, job(&q, 2)).await.unwrap();
        drop(tx); // dropped without commit: rolled back
    }
    let pass = s.outbox.relay_pass().await.unwrap();
    assert_eq!((pass.rows, pass.pushed), (0, 0), "{pass:?}");
    assert_eq!(s.redis.stats(&q).await.unwrap().ready, 0);
    assert_eq!(s.outbox.status().await.unwrap().waiting, 0);

    let ids = stage_committed(&s, vec![job(&q, 3)]).await;
    let status = s.outbox.status().await.unwrap();
    assert_eq!(status.waiting, 1);
    assert!(status.lag.is_some(), "{status:?}");
    let pass = s.outbox.relay_pass().await.unwrap();
    assert_eq!(
        (pass.rows, pass.pushed, pass.busy),
        (1, 1, false),
        "{pass:?}"
    );
    assert_eq!(s.outbox.status().await.unwrap(), Default::default());
    assert_eq!(
        drain(&s.redis, &q).await,
        ids,
        "the committed job runs once"
    );
    let pass = s.outbox.relay_pass().await.unwrap();
    assert_eq!(pass.rows, 0, "nothing left to relay");
    assert!(
        drain(&s.redis, &q).await.is_empty(),
        "and nothing ran twice"
    );
}

/// A relay stopped after each step (as if killed there), then run again:
/// every job reaches Redis exactly once — also when the jobs of the first push
/// already ran and were acknowledged before the repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_stopped_at_each_step_loses_and_repeats_nothing() {
    let s = setup().await;
    for (k, step) in [RelayStep::Read, RelayStep::Pushed, RelayStep::Deleted]
        .into_iter()
        .enumerate()
    {
        for ran_before_repeat in [false, true] {
            let q = queue(&format!("faults_{k}_{ran_before_repeat}"));
            let ids = stage_committed(&s, (0..50).map(|n| job(&q, n)).collect()).await;
            match s.outbox.relay_pass_stopping_at(step).await {
                Err(OutboxError::Stopped(at)) => assert_eq!(at, step),
                other => panic!("stopped at {step:?}: {other:?}"),
            }
            let mut seen = Vec::new();
            if ran_before_repeat {
                seen = drain(&s.redis, &q).await;
            }
            // The stopped relay's lock goes with its session, once the server
            // has noticed the session ended.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let again = loop {
                let pass = s.outbox.relay_pass().await.unwrap();
                if !pass.busy {
                    break pass;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "the stopped relay's lock was still held after 10 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            seen.extend(drain(&s.redis, &q).await);
            assert_eq!(
                seen, ids,
                "after a stop at {step:?} (jobs ran before the repeat: {ran_before_repeat}) each job ran once, in order"
            );
            assert_eq!(s.outbox.status().await.unwrap().waiting, 0);
            let expect_pushed = if step == RelayStep::Read { 50 } else { 0 };
            if step != RelayStep::Deleted {
                assert_eq!(
                    (again.rows, again.pushed),
                    (50, expect_pushed),
                    "the repeat pass after {step:?}"
                );
            }
        }
    }
}

/// A transaction that commits after a pass read the outbox is relayed by the
/// next pass, behind the jobs already relayed: per queue, jobs reach Redis in
/// commit order across passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_commit_is_relayed_by_the_next_pass() {
    let s = setup().await;
    let q = queue("commit_order");
    let mut first_conn = s.pool.get_conn().await.unwrap();
    let mut early = first_conn
        .start_transaction(TxOpts::default())
        .await
        .unwrap();
    let early_id = s.outbox.stage(&mut early, job(&q, 1)).await.unwrap();
    let late_ids = stage_committed(&s, vec![job(&q, 2)]).await;
    assert_eq!(s.outbox.relay_pass().await.unwrap().rows, 1);
    early.commit().await.unwrap();
    assert_eq!(s.outbox.relay_pass().await.unwrap().rows, 1);
    assert_eq!(
        drain(&s.redis, &q).await,
        vec![late_ids[0].clone(), early_id]
    );
}

/// Two relays running at once over 2,000 jobs of two queues: one pass at a
/// time, every job stored once, each queue in staging order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_keep_id_order_per_queue() {
    let s = setup().await;
    let (a, b) = (queue("pair_a"), queue("pair_b"));
    let mut expect_a = Vec::new();
    let mut expect_b = Vec::new();
    for round in 0..4 {
        let jobs: Vec<PendingJob> = (0..500)
            .map(|n| job(if n % 2 == 0 { &a } else { &b }, round * 1000 + n))
            .collect();
        for j in &jobs {
            if j.queue == a {
                expect_a.push(j.id.clone());
            } else {
                expect_b.push(j.id.clone());
            }
        }
        stage_committed(&s, jobs).await;
    }
    let small = RelayConfig {
        batch: 64,
        ..RelayConfig::default()
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut relays = Vec::new();
    for _ in 0..2 {
        let outbox = s.outbox.clone().with_config(small.clone());
        let mut rx = rx.clone();
        relays.push(tokio::spawn(async move {
            outbox
                .run_relay(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.outbox.status().await.unwrap().waiting > 0 {
        assert!(Instant::now() < deadline, "not relayed in 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tx.send(true).unwrap();
    let mut relayed = 0;
    for r in relays {
        relayed += r.await.unwrap();
    }
    assert_eq!(relayed, 2_000, "each row relayed by one relay");
    assert_eq!(drain(&s.redis, &a).await, expect_a);
    assert_eq!(drain(&s.redis, &b).await, expect_b);
}

/// 10,000 jobs staged in one transaction reach Redis, once each; prints the
/// relay rate (no assertion on speed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_jobs_relay_and_report_the_rate() {
    let s = setup().await;
    let q = queue("bulk");
    let ids = stage_committed(&s, (0..10_000).map(|n| job(&q, n)).collect()).await;
    let started = Instant::now();
    let mut rows = 0;
    while rows < ids.len() {
        let pass = s.outbox.relay_pass().await.unwrap();
        assert!(
            pass.rows > 0,
            "a pass with rows waiting relayed none: {pass:?}"
        );
        rows += pass.rows;
    }
    let took = started.elapsed();
    eprintln!(
        "outbox relay: {} jobs in {:.3} s = {:.0} jobs/s",
        ids.len(),
        took.as_secs_f64(),
        ids.len() as f64 / took.as_secs_f64()
    );
    let got: HashSet<JobId> = drain(&s.redis, &q).await.into_iter().collect();
    assert_eq!(got.len(), ids.len());
    assert!(ids.iter().all(|id| got.contains(id)));
}

/// A payload over the Redis driver's limit is refused before anything is
/// written, naming the problem; the transaction stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_payload_is_refused_before_writing() {
    let s = setup().await;
    let q = queue("big");
    let mut big = job(&q, 1);
    big.payload = vec![b'x'; s.redis.max_payload_bytes() + 1];
    let mut conn = s.pool.get_conn().await.unwrap();
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    match s.outbox.stage(&mut tx, big).await {
        Err(OutboxError::Driver(DriverError::PayloadTooLarge { .. })) => {}
        other => panic!("expected PayloadTooLarge, got {other:?}"),
    }
    let n: Option<u64> = tx
        .query_first("SELECT COUNT(*) FROM queue_outbox")
        .await
        .unwrap();
    assert_eq!(n, Some(0));
    tx.commit().await.unwrap();
}
