//! The benchmark runs end to end on the in-memory driver and accounts for every job
//! (figures are not asserted: no test depends on wall-clock speed).

use std::sync::Arc;
use std::time::Duration;

use routemq_bench::{run, BenchConfig};
use routemq_core::{Driver, MemoryDriver, QueueName};

/// One benchmark at a time: its phases share process-wide sinks (latency,
/// progress), which tests run side by side in one process (`cargo test`) would
/// mix up.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_run_completes_on_memory() {
    let _serial = ONE_AT_A_TIME.lock().await;
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

/// With filler: the measured phases run behind `queued` waiting jobs, the drain
/// takes exactly `jobs` of them, the filler's figures are reported (the store
/// figures "n/a" without a `StoreSize`), and the queue is left empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_run_with_filler_keeps_it_waiting_on_memory() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let config = BenchConfig {
        jobs: 200,
        single_jobs: 50,
        bulk_chunk: 64,
        concurrency: 4,
        latency_jobs: 10,
        latency_interval: Duration::from_millis(2),
        queued: 500,
        ..BenchConfig::default()
    };
    let report = run(driver.clone(), driver.clone(), &config).await.unwrap();
    let filler = report.filler.clone().expect("a run with filler reports it");
    assert_eq!(filler.queued, 500);
    assert_eq!(filler.ready_after_fill, 500, "{filler:?}");
    assert_eq!(
        filler.ready_after_drain, 500,
        "the drain took exactly `jobs` and the single-enqueue jobs were run off: {filler:?}"
    );
    assert!(filler.fill_per_sec > 0.0 && filler.filler_payload_bytes > 50.0);
    assert_eq!(filler.store_bytes_per_queued_job, None);
    assert_eq!(filler.store_bytes_per_job_beyond_payload, None);
    #[cfg(target_os = "linux")]
    assert!(
        filler.worker_rss_bytes_before.is_some() && filler.worker_rss_bytes_after_drain.is_some()
    );
    assert!(report.latency_p99_ms >= report.latency_p50_ms);
    for name in [config.queue.clone(), format!("{}-latency", config.queue)] {
        let stats = driver.stats(&QueueName::new(name).unwrap()).await.unwrap();
        assert_eq!(
            (stats.ready, stats.delayed, stats.reserved, stats.failed),
            (0, 0, 0, 0),
            "the benchmark leaves its queues empty: {stats:?}"
        );
    }
}

/// A [`StoreSize`](routemq_bench::StoreSize) that moves by `step` bytes at
/// every reading, starting at `start`.
struct Stepping {
    next: std::sync::atomic::AtomicI64,
    step: i64,
}

#[routemq_core::async_trait]
impl routemq_bench::StoreSize for Stepping {
    async fn store_bytes(&self) -> Result<u64, routemq_core::DriverError> {
        let now = self
            .next
            .fetch_add(self.step, std::sync::atomic::Ordering::SeqCst);
        Ok(u64::try_from(now).expect("the test's store stays above 0 bytes"))
    }
}

/// A small run behind 250 filler jobs with `store` read around the fill: its
/// filler report.
async fn filler_report_with(store: Stepping) -> routemq_bench::FillerReport {
    let _serial = ONE_AT_A_TIME.lock().await;
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let config = BenchConfig {
        jobs: 100,
        single_jobs: 10,
        concurrency: 4,
        latency_jobs: 5,
        latency_interval: Duration::from_millis(2),
        rate_limited_jobs: 500,
        queued: 250,
        ..BenchConfig::default()
    };
    let report = routemq_bench::run_with_store_size(driver.clone(), driver, &config, Some(&store))
        .await
        .unwrap();
    report.filler.unwrap()
}

/// A [`StoreSize`](routemq_bench::StoreSize) is read before and after the
/// fill: its growth over the filler's job count is the store's bytes per
/// queued job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_size_gives_bytes_per_queued_job() {
    // 1,000 bytes more at the second reading.
    let filler = filler_report_with(Stepping {
        next: 10_000.into(),
        step: 1_000,
    })
    .await;
    assert_eq!(filler.store_bytes_per_queued_job, Some(4.0));
    let beyond = filler.store_bytes_per_job_beyond_payload.unwrap();
    assert!(
        (beyond - (4.0 - filler.filler_payload_bytes)).abs() < 1e-9,
        "{filler:?}"
    );
}

/// A store that shrank over the fill (something else freed more than the
/// filler took) gives no bytes-per-job figure rather than a negative one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_shrank_over_the_fill_gives_no_figure() {
    let filler = filler_report_with(Stepping {
        next: 1_000_000.into(),
        step: -1_000,
    })
    .await;
    assert_eq!(filler.store_bytes_per_queued_job, None, "{filler:?}");
    assert_eq!(
        filler.store_bytes_per_job_beyond_payload, None,
        "{filler:?}"
    );
    assert_eq!(filler.store_per_job_text(), "n/a");
}
