//! The server killed and restarted mid-drain: every job still finishes, none is
//! lost, the driver reports the outage as `Unavailable` and recovers by itself.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{job, q};
use routemq_core::prelude::*;
use routemq_core::DriverError;
use routemq_mysql::{MysqlConfig, MysqlDriver};
use routemq_testkit::mysql::MysqlServer;

const JOBS: u64 = 3000;
const DRAINERS: usize = 4;
const LEASE: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_restart_mid_drain_loses_nothing() {
    let server = Arc::new(
        MysqlServer::start_local()
            .await
            .expect("restart tests need a local mariadbd or mysqld binary"),
    );
    let schema = server.create_schema().await.unwrap();
    let driver = MysqlDriver::connect_and_migrate(MysqlConfig::from_url(schema.url()).unwrap())
        .await
        .unwrap();
    let queue = q("restart");
    let jobs: Vec<_> = (0..JOBS).map(|n| job(&queue, n, None)).collect();
    let pushed: HashSet<_> = driver.push_bulk(jobs).await.unwrap().into_iter().collect();

    let done = Arc::new(Mutex::new(HashSet::new()));
    let acked = Arc::new(AtomicU64::new(0));
    let unavailable = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..DRAINERS)
        .map(|_| {
            let (d, queue, done) = (driver.clone(), queue.clone(), done.clone());
            let (acked, unavailable, stop) = (acked.clone(), unavailable.clone(), stop.clone());
            tokio::spawn(async move {
                let queues = [queue];
                while !stop.load(Ordering::Relaxed) {
                    let step = async {
                        d.reclaim_expired(&queues).await?;
                        let got = d.claim(&queues, 20, LEASE).await?;
                        if got.is_empty() {
                            d.wait_for_jobs(&queues, Duration::from_millis(200)).await?;
                            return Ok::<_, DriverError>(());
                        }
                        // "Run" the jobs, then ack them.
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        let leases: Vec<_> = got.iter().map(|r| r.lease.clone()).collect();
                        let outcome = d.ack_batch(&leases).await?;
                        let mut done = done.lock().unwrap();
                        for l in &leases {
                            if !outcome.lost.contains(&l.job_id) {
                                done.insert(l.job_id.clone());
                            }
                        }
                        acked.fetch_add(outcome.acked as u64, Ordering::Relaxed);
                        Ok(())
                    };
                    match step.await {
                        Ok(()) => {}
                        Err(e @ DriverError::Unavailable { .. }) => {
                            unavailable.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("drainer: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("unexpected error during the drain: {e}"),
                    }
                }
            })
        })
        .collect();

    // Restart once a third of the jobs are done.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::Relaxed) < JOBS / 3 {
        assert!(
            Instant::now() < deadline,
            "drain too slow before the restart"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.restart().await.expect("restart the server");
    let restarted_at = acked.load(Ordering::Relaxed);
    assert!(restarted_at < JOBS, "the restart must come mid-drain");

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            Instant::now() < deadline,
            "drain did not finish after the restart"
        );
        if let Ok(s) = driver.stats(&queue).await {
            if s.ready + s.delayed + s.reserved == 0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        unavailable.load(Ordering::Relaxed) > 0,
        "the outage should have been seen as Unavailable"
    );
    let s = driver.stats(&queue).await.unwrap();
    assert_eq!(s.failed, 0, "no job exhausted its tries");
    let done = done.lock().unwrap();
    // Every job left the queue through an ack. A job whose ack committed just as
    // the server died may be missing from `done` (its caller saw an error), but
    // it is gone from the table, so it finished; none may be left or unknown.
    assert!(done.is_subset(&pushed));
    assert!(
        done.len() as u64 >= JOBS - 20 * DRAINERS as u64,
        "only acks in flight at the crash may be unconfirmed: {} of {JOBS}",
        done.len()
    );
}
