//! Metrics through the `metrics` facade, read back with `metrics-util`'s
//! `DebuggingRecorder` (installed globally: this binary holds one test only).

mod common;

use std::time::Duration;

use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshot};
use metrics_util::MetricKind;
use routemq_core::JobOptions;
use routemq_worker::telemetry::{JOBS_RUNNING, JOBS_TOTAL, JOB_DURATION_SECONDS};

/// (kind, name, labels, value) of every metric in a snapshot.
type Entry = (MetricKind, String, Vec<(String, String)>, DebugValue);

struct Seen(Vec<Entry>);

impl Seen {
    fn from(s: Snapshot) -> Self {
        Seen(
            s.into_vec()
                .into_iter()
                .map(|(ck, _, _, v)| {
                    let (kind, key) = ck.into_parts();
                    let labels = key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    (kind, key.name().to_owned(), labels, v)
                })
                .collect(),
        )
    }

    fn find(&self, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        self.0
            .iter()
            .find(|(k, n, ls, _)| {
                *k == kind
                    && n == name
                    && labels
                        .iter()
                        .all(|(lk, lv)| ls.iter().any(|(k, v)| k == lk && v == lv))
            })
            .map(|e| &e.3)
    }

    fn counter(&self, queue: &str, outcome: &str) -> u64 {
        let labels = [
            ("queue", queue),
            ("job", "test.scripted"),
            ("outcome", outcome),
        ];
        match self.find(MetricKind::Counter, JOBS_TOTAL, &labels) {
            Some(DebugValue::Counter(n)) => *n,
            None => 0,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn gauge(&self) -> f64 {
        match self.find(MetricKind::Gauge, JOBS_RUNNING, &[]) {
            Some(DebugValue::Gauge(v)) => v.into_inner(),
            other => panic!("no running gauge: {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn outcomes_durations_and_running_gauge_are_recorded() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("first recorder in this binary");
    let d = memory();
    let key = new_key();

    // Phase 1: the running gauge while a job runs. (A snapshot resets what it reads.)
    dispatch_with(
        &d,
        &key,
        "slow",
        Act::Sleep(300),
        JobOptions::new().queue("m1"),
    )
    .await;
    let w = builder(&d)
        .queues(["m1"])
        .stop_when_empty(true)
        .build()
        .unwrap();
    let run = tokio::spawn(run_to_limit(w));
    wait_for("job running", 2_000, || probe(&key).running() == 1).await;
    let during = Seen::from(snapshotter.snapshot());
    assert_eq!(during.gauge(), 1.0);
    run.await.unwrap();
    let after = Seen::from(snapshotter.snapshot());
    assert_eq!(
        during.gauge() + after.gauge(),
        0.0,
        "gauge back to zero after the job"
    );
    assert_eq!(after.counter("m1", "succeeded"), 1);

    // Phase 2: one of each outcome.
    let q = || JobOptions::new().queue("m2");
    dispatch_with(&d, &key, "ok", Act::Succeed, q()).await;
    dispatch_with(&d, &key, "flaky", Act::FailUntil(1), q()).await;
    dispatch_with(&d, &key, "fatal", Act::Fatal, q()).await;
    let slow = q().max_tries(1).timeout(ms(100));
    dispatch_with(&d, &key, "slow", Act::Tick(10), slow).await;
    let w = builder(&d)
        .queues(["m2"])
        .concurrency(4)
        .stop_when_empty(true)
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    assert_eq!(
        (
            report.counts.processed,
            report.counts.retried,
            report.counts.failed
        ),
        (2, 1, 2)
    );
    let seen = Seen::from(snapshotter.snapshot());
    assert_eq!(seen.counter("m2", "succeeded"), 2);
    assert_eq!(seen.counter("m2", "retried"), 1);
    assert_eq!(seen.counter("m2", "failed"), 1, "the fatal job");
    assert_eq!(
        seen.counter("m2", "timed_out"),
        1,
        "the timed-out job counts once, as timed_out"
    );
    let labels = [("queue", "m2"), ("job", "test.scripted")];
    match seen.find(MetricKind::Histogram, JOB_DURATION_SECONDS, &labels) {
        Some(DebugValue::Histogram(v)) => {
            assert_eq!(v.len(), 5, "one duration per attempt: {v:?}");
            let longest = v.iter().map(|x| x.into_inner()).fold(0.0, f64::max);
            assert!(
                longest >= 0.1 && longest < Duration::from_secs(2).as_secs_f64(),
                "{v:?}"
            );
        }
        other => panic!("no duration histogram: {other:?}"),
    }
}
