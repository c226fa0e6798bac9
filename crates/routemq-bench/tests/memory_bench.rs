//! The benchmark runs end to end on the in-memory driver and accounts for every job
//! (figures are not asserted: no test depends on wall-clock speed).

use std::sync::Arc;
use std::time::Duration;

use routemq_bench::{run, BenchConfig};
use routemq_core::{Driver, MemoryDriver, QueueName};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_run_completes_on_memory() {
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let config = BenchConfig {
        jobs: 500,
        single_jobs: 100,
        bulk_chunk: 64,
        concurrency: 4,
        latency_jobs: 20,
        latency_interval: Duration::from_millis(2),
        ..BenchConfig::default()
    };
    let report = run(driver.clone(), driver.clone(), &config).await.unwrap();
    assert_eq!(report.driver, "memory");
    assert_eq!(report.jobs, 500);
    assert!(report.enqueue_per_sec > 0.0 && report.drain_per_sec > 0.0);
    assert!(report.latency_p99_ms >= report.latency_p50_ms);
    assert_eq!(report.rate_limit_per_sec, 500.0);
    assert!(report.rate_limited_drain_per_sec > 0.0);
    assert_eq!(report.groups, 1_000);
    assert!(report.group_drain_per_sec > 0.0);
    assert!(report.progress_drain_per_sec > 0.0);
    assert!(
        report.progress_calls_per_sec > 1_000.0,
        "the reporters ran during the progress drain: {report:?}"
    );
    assert!(
        driver.rate_limits().await.unwrap().is_empty(),
        "the benchmark removes its rate limit"
    );
    let stats = driver
        .stats(&QueueName::new(config.queue).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (stats.ready, stats.delayed, stats.reserved, stats.failed),
        (0, 0, 0, 0),
        "the benchmark leaves its queue empty: {stats:?}"
    );
}
