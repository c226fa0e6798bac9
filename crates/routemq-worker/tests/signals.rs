//! `Worker::run` shuts down gracefully on SIGTERM (own binary: it signals the test
//! process itself).

mod common;

use common::*;
use routemq_worker::StopReason;

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_the_worker_down_gracefully() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Sleep(300)).await;
    let w = builder(&d).build().unwrap();
    let run = tokio::spawn(w.run());
    wait_for("job running", 2_000, || probe(&key).runs() == 1).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let report = tokio::time::timeout(ms(5_000), run)
        .await
        .expect("worker did not stop on SIGTERM")
        .unwrap()
        .unwrap();
    assert_eq!(report.stop_reason, StopReason::Shutdown);
    assert_eq!(
        report.counts.processed, 1,
        "the running job finished within the grace period"
    );
    assert_eq!(stats(&d, "default").await.reserved, 0);
}
