//! Idle waiting: a push wakes a blocked waiter at once; a delayed job is claimable
//! within 50 ms of its due time; cancelled waits leave the driver usable; a
//! stopped `wait_and_claim` whose claim already ran gives its jobs back; with
//! no waiter, single pushes from several drivers keep the wake-up list short.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{config_for, job, job_at, queue, setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_redis::KeyMode;
use routemq_redis::RedisDriver;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_wakes_a_blocked_waiter_at_once() {
    let s = setup(KeyMode::Plain).await;
    let q = queue("default");
    for _ in 0..5 {
        let waiter = {
            let d = s.driver.clone();
            let q = q.clone();
            tokio::spawn(async move {
                d.wait_for_jobs(&[q], Duration::from_secs(10))
                    .await
                    .unwrap();
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let pushed = Instant::now();
        s.driver.push(job("default", 1, 1)).await.unwrap();
        let woke = waiter.await.unwrap();
        let lag = woke.saturating_duration_since(pushed);
        assert!(
            lag < Duration::from_millis(50),
            "woke {lag:?} after the push"
        );
        let got = s
            .driver
            .claim(std::slice::from_ref(&q), 10, Duration::from_secs(5))
            .await
            .unwrap();
        s.driver.ack(&got[0].lease).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_job_is_claimed_within_50ms_of_its_due_time() {
    let s = setup(KeyMode::Plain).await;
    let q = queue("default");
    for delay_ms in [150u64, 700, 1_300] {
        let due = SystemTime::now() + Duration::from_millis(delay_ms);
        s.driver
            .push(job_at("default", 1, 1, Some(due)))
            .await
            .unwrap();
        let got = loop {
            let got = s
                .driver
                .claim(std::slice::from_ref(&q), 1, Duration::from_secs(5))
                .await
                .unwrap();
            if !got.is_empty() {
                break got;
            }
            s.driver
                .wait_for_jobs(std::slice::from_ref(&q), Duration::from_secs(10))
                .await
                .unwrap();
        };
        let late = SystemTime::now().duration_since(due).unwrap_or_default();
        assert!(
            late < Duration::from_millis(50),
            "claimed {late:?} after due ({delay_ms} ms delay)"
        );
        s.driver.ack(&got[0].lease).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_time_out_on_time_and_cancelled_waits_do_no_harm() {
    let s = setup(KeyMode::Plain).await;
    let q = queue("default");
    let start = Instant::now();
    s.driver
        .wait_for_jobs(std::slice::from_ref(&q), Duration::from_millis(300))
        .await
        .unwrap();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(400),
        "{took:?}"
    );

    // Drop several waits mid-BLPOP; the next ones still work and wake on a push.
    for _ in 0..3 {
        let _ = tokio::time::timeout(
            Duration::from_millis(50),
            s.driver
                .wait_for_jobs(std::slice::from_ref(&q), Duration::from_secs(30)),
        )
        .await;
    }
    let waiter = {
        let d = s.driver.clone();
        let q = q.clone();
        tokio::spawn(async move { d.wait_for_jobs(&[q], Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pushed = Instant::now();
    s.driver.push(job("default", 1, 1)).await.unwrap();
    waiter.await.unwrap().unwrap();
    assert!(pushed.elapsed() < Duration::from_millis(100));
    // With a job ready, waiting returns at once.
    let start = Instant::now();
    s.driver
        .wait_for_jobs(std::slice::from_ref(&q), Duration::from_secs(5))
        .await
        .unwrap();
    assert!(start.elapsed() < Duration::from_millis(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_over_several_queues_wakes_for_any_of_them() {
    let s = setup(KeyMode::Plain).await;
    let qs = [queue("a"), queue("b"), queue("c")];
    let waiter = {
        let d = s.driver.clone();
        let qs = qs.clone();
        tokio::spawn(async move { d.wait_for_jobs(&qs, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pushed = Instant::now();
    s.driver.push(job("c", 1, 1)).await.unwrap();
    waiter.await.unwrap().unwrap();
    assert!(pushed.elapsed() < Duration::from_millis(50));
}

/// The claim sent behind a waiting `BLPOP` runs when `stop` ends the wait. A job
/// that reached the ready list without a wake-up token (here a payload pushed
/// straight to the list, which the claim adopts) is then claimed by it: the
/// stopped call must give it back unstarted, its attempt not counted, and
/// return nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_wait_and_claim_gives_back_what_its_claim_took() {
    let mut s = setup(KeyMode::Plain).await;
    let q = queue("default");
    let stop = CancellationToken::new();
    let waiter = {
        let (d, q, stop) = (s.driver.clone(), q.clone(), stop.clone());
        tokio::spawn(async move {
            d.wait_and_claim(
                std::slice::from_ref(&q),
                4,
                Duration::from_secs(30),
                Duration::from_secs(10),
                &stop,
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list = format!("{}:queue:default", s.target.prefix);
    let _: () = s
        .raw
        .rpush(&list, "a payload from another producer")
        .await
        .unwrap();
    stop.cancel();
    let got = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("stop ends the wait at once")
        .unwrap()
        .unwrap();
    assert!(got.is_empty(), "a stopped wait_and_claim returned {got:?}");
    let stats = s.driver.stats(&q).await.unwrap();
    assert_eq!(
        (stats.ready, stats.reserved),
        (1, 0),
        "the job the claim took is back on its queue: {stats:?}"
    );
    let again = s
        .driver
        .claim(std::slice::from_ref(&q), 4, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].attempt, 1,
        "the given-back claim did not count an attempt"
    );
}

/// A single push trims the wake-up list only one time in sixteen
/// (`WAKE_TRIM_EVERY`), so with nobody waiting the list holds 64 tokens after
/// a trim and fewer than 16 more per driver pushing: it stays short, and it
/// is trimmed (longer than 64 only by what came since the last trims).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_pushes_with_no_waiter_keep_the_wake_up_list_short() {
    let mut s = setup(KeyMode::Plain).await;
    let other = RedisDriver::new(config_for(&s.target)).unwrap();
    let notify = format!("{}:queue:tokens:notify", s.target.prefix);
    let mut longest = 0;
    for n in 0..1_000 {
        let driver = if n % 3 == 0 { &other } else { &s.driver };
        driver.push(job("tokens", n, 1)).await.unwrap();
        let len: usize = s.raw.llen(&notify).await.unwrap();
        longest = longest.max(len);
    }
    assert!(
        longest <= 64 + 2 * 15,
        "two drivers' single pushes left {longest} tokens at most; the bound is 64 + 2 x 15"
    );
    assert!(
        longest > 64,
        "the list reached {longest}: single pushes trimmed every time"
    );
    let ready: usize = s
        .raw
        .llen(format!("{}:queue:tokens", s.target.prefix))
        .await
        .unwrap();
    assert_eq!(ready, 1_000, "every push stored its job");
}
