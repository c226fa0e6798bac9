//! Leases, graceful shutdown and heartbeats.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use common::faulty::Calls;
use common::*;
use routemq_core::JobOptions;
use routemq_worker::StopReason;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_job_keeps_its_lease_past_the_lease_length() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Sleep(1_000)).await;
    // Someone reclaims expired leases all the time: without extension the job would
    // be reclaimed after 300 ms and run again on the second slot.
    let report = run_with_reclaimer(&d, 300).await;
    assert_eq!(probe(&key).runs(), 1, "the job was reclaimed while it ran");
    assert_eq!((report.counts.processed, report.counts.lease_lost), (1, 0));
    let s = stats(&d, "default").await;
    assert_eq!((s.ready, s.reserved, s.failed), (0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn lost_lease_stops_the_job() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().timeout(Duration::from_secs(60));
    dispatch_with(&d, &key, "a", Act::Tick(10), opts).await;
    let w = builder(&d).lease(ms(300)).build().unwrap();
    let stats_handle = w.stats();
    let run = spawn_worker(w);
    wait_for("job ticking", 2_000, || probe(&key).ticks() > 0).await;
    // The job is taken away from this worker (an admin cleared the queue).
    d.clear(&qn("default")).await.unwrap();
    wait_for("lease loss noticed", 2_000, || {
        stats_handle.snapshot().lease_lost == 1
    })
    .await;
    let ticks = probe(&key).ticks();
    tokio::time::sleep(ms(150)).await;
    assert_eq!(
        probe(&key).ticks(),
        ticks,
        "the job kept running after losing its lease"
    );
    let report = run.stop().await;
    assert_eq!(
        (
            report.counts.lease_lost,
            report.counts.processed,
            report.counts.failed
        ),
        (1, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn worker_reclaims_jobs_of_a_dead_worker() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Succeed).await;
    // A worker that claimed the job and died.
    let dead = d.claim(&[qn("default")], 1, ms(200)).await.unwrap();
    assert_eq!(dead.len(), 1);
    let w = builder(&d).lease(ms(400)).build().unwrap();
    let stats_handle = w.stats();
    let run = tokio::spawn(run_for(w, 2_000));
    // The worker has started and found nothing claimable: the dead claim's lease
    // has not expired yet.
    tokio::time::sleep(ms(50)).await;
    assert_eq!(stats_handle.snapshot().claimed, 0);
    // The memory driver times leases by the wall clock, which the paused tokio
    // clock does not move: let the dead worker's lease expire in real time (this
    // blocks the runtime, so the worker stands still meanwhile).
    std::thread::sleep(ms(250));
    wait_for("job reclaimed and run", 1_500, || {
        stats_handle.snapshot().processed == 1
    })
    .await;
    assert_eq!(
        probe(&key).attempt_times()[0].0,
        2,
        "the dead worker's claim was attempt 1"
    );
    run.await.unwrap();
}

/// A claim whose reply is slow (a claim is in flight the whole time) does not
/// hold up reclaiming: the dead worker's job is back in its queue on time, long
/// before the slow reply arrives, and runs after it.
#[tokio::test(start_paused = true)]
async fn reclaim_runs_on_time_while_a_claim_is_in_flight() {
    let (f, d) = faulty();
    let dead_key = new_key();
    let busy_key = new_key();
    let high = JobOptions::new().queue("high");
    dispatch_with(&d, &dead_key, "dead", Act::Succeed, high).await;
    for i in 0..5 {
        dispatch(&d, &busy_key, &i.to_string(), Act::Succeed).await;
    }
    // A worker that claimed the job and died.
    let dead = d.claim(&[qn("high")], 1, ms(200)).await.unwrap();
    assert_eq!(dead.len(), 1);
    f.faults.claim_reply_delay_ms.store(1_500, Ordering::SeqCst);
    let w = builder(&d)
        .queues(["high", "default"])
        .concurrency(1)
        .lease(ms(400))
        .build()
        .unwrap();
    let run = tokio::spawn(run_for(w, 3_500));
    // The worker's first claim (after the dead worker's) took effect; its reply is
    // on its way.
    wait_for("the worker's first claim took effect", 1_000, || {
        f.calls.claim_sizes.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(
        stats(&d, "high").await.ready,
        0,
        "the lease is not expired yet"
    );
    // The memory driver times leases by the wall clock, which the paused tokio
    // clock does not move: let the dead worker's lease expire in real time (this
    // blocks the runtime, so the worker and its claim stand still meanwhile).
    std::thread::sleep(ms(250));
    let started = Instant::now();
    loop {
        if stats(&d, "high").await.ready == 1 {
            break;
        }
        assert!(
            started.elapsed() < ms(1_000),
            "the expired lease was not reclaimed while the first claim's reply was on its way"
        );
        tokio::time::sleep(ms(5)).await;
    }
    wait_for("the dead worker's job reclaimed and run", 3_000, || {
        probe(&dead_key).runs() == 1
    })
    .await;
    run.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_running_jobs_finish_within_grace() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Sleep(300)).await;
    let w = builder(&d)
        .shutdown_grace(Duration::from_secs(5))
        .build()
        .unwrap();
    let run = spawn_worker(w);
    wait_for("job running", 2_000, || probe(&key).runs() == 1).await;
    let report = run.stop_within(2_000).await;
    assert_eq!(report.stop_reason, StopReason::Shutdown);
    assert_eq!(
        (report.counts.processed, report.counts.released_on_shutdown),
        (1, 0)
    );
    let s = stats(&d, "default").await;
    assert_eq!(
        (s.ready, s.reserved),
        (0, 0),
        "the finished job was acked before exit"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_releases_jobs_still_running_after_grace() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().timeout(Duration::from_secs(60));
    dispatch_with(&d, &key, "a", Act::Tick(10), opts).await;
    let w = builder(&d).shutdown_grace(ms(100)).build().unwrap();
    let run = spawn_worker(w);
    wait_for("job ticking", 2_000, || probe(&key).ticks() > 0).await;
    let report = run.stop_within(2_000).await;
    assert_eq!(
        (report.counts.released_on_shutdown, report.counts.processed),
        (1, 0)
    );
    let s = stats(&d, "default").await;
    assert_eq!(
        (s.ready, s.reserved),
        (1, 0),
        "released at once for another worker"
    );
    let ticks = probe(&key).ticks();
    tokio::time::sleep(ms(100)).await;
    assert_eq!(probe(&key).ticks(), ticks, "the stopped job kept running");
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_claiming_at_once() {
    let d = memory();
    let key = new_key();
    for i in 0..5 {
        dispatch(&d, &key, &i.to_string(), Act::Sleep(200)).await;
    }
    let w = builder(&d).build().unwrap();
    let run = spawn_worker(w);
    wait_for("first job running", 2_000, || probe(&key).runs() == 1).await;
    let report = run.stop().await;
    assert_eq!((report.counts.claimed, report.counts.processed), (1, 1));
    assert_eq!(stats(&d, "default").await.ready, 4);
}

/// A shutdown that arrives while a claim's reply is on its way: the jobs it
/// reserved are released at once, unstarted, not left to their lease.
#[tokio::test(start_paused = true)]
async fn shutdown_releases_jobs_of_a_claim_still_in_flight() {
    let (f, d) = faulty();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Succeed).await;
    f.faults.claim_reply_delay_ms.store(400, Ordering::SeqCst);
    let w = builder(&d).lease(Duration::from_secs(60)).build().unwrap();
    let run = spawn_worker(w);
    wait_for("the claim took effect", 2_000, || {
        !f.calls.claim_sizes.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(stats(&d, "default").await.reserved, 1);
    let report = run.stop().await;
    assert_eq!(report.stop_reason, StopReason::Shutdown);
    assert_eq!(probe(&key).runs(), 0, "the job was started after the stop");
    assert_eq!(report.counts.released_on_shutdown, 1);
    let s = stats(&d, "default").await;
    assert_eq!((s.ready, s.reserved), (1, 0), "released, claimable at once");
    assert_eq!(Calls::get(&f.calls.release), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_during_a_limit_drain_applies_the_grace() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().timeout(Duration::from_secs(60));
    dispatch_with(&d, &key, "a", Act::Tick(10), opts).await;
    let w = builder(&d)
        .max_jobs(Some(1))
        .shutdown_grace(ms(100))
        .build()
        .unwrap();
    let run = spawn_worker(w);
    wait_for("job ticking", 2_000, || probe(&key).ticks() > 0).await;
    tokio::time::sleep(ms(50)).await;
    let report = run.stop().await;
    assert_eq!(report.stop_reason, StopReason::MaxJobs);
    assert_eq!(report.counts.released_on_shutdown, 1);
}

#[tokio::test(start_paused = true)]
async fn heartbeat_is_visible_while_running_and_removed_on_exit() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Sleep(400)).await;
    let w = builder(&d)
        .concurrency(3)
        .heartbeat_interval(ms(50))
        .build()
        .unwrap();
    let id = w.id().to_owned();
    let run = spawn_worker(w);
    wait_for("job running", 2_000, || probe(&key).runs() == 1).await;
    tokio::time::sleep(ms(120)).await;
    let workers = d.workers().await.unwrap();
    assert_eq!(workers.len(), 1);
    let me = &workers[0];
    assert_eq!(me.id, id);
    assert_eq!(
        (me.queues.clone(), me.concurrency, me.running),
        (vec!["default".to_owned()], 3, 1)
    );
    assert_eq!(me.pid, std::process::id());
    assert!(me.last_seen_ms >= me.started_at_ms);
    wait_for("job done", 2_000, || probe(&key).done() == 1).await;
    tokio::time::sleep(ms(120)).await;
    assert_eq!(
        d.workers().await.unwrap()[0].processed,
        1,
        "heartbeat carries progress"
    );
    let report = run.stop().await;
    assert_eq!(report.worker_id, id);
    assert!(
        d.workers().await.unwrap().is_empty(),
        "heartbeat removed on exit"
    );
}
