//! Job tracking in Redis: run records and cancel requests are fields of the jobs
//! hash that go with their job on every path, finished records are strings in the
//! queue's slot that expire by themselves (results binary-safe), a cancel request
//! turns a release or a reclaim into a cancelled record, and cancelling grouped
//! jobs leaves the rotation consistent.

mod common;

use std::time::Duration;

use common::{job, job_at, job_field, job_field_count, queue, setup, Setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_core::{
    CancelOutcome, DriverError, GroupKey, JobId, JobState, Lease, Progress, QueueName, Reservation,
    RunReport, UniqueKey, UniqueScope, Uniqueness, CANCELLED_KEPT_FOR,
};
use routemq_redis::KeyMode;

const LEASE: Duration = Duration::from_secs(30);

/// The queue's key base in plain mode (`{prefix}:queue:{name}`).
fn base(s: &Setup, q: &str) -> String {
    format!("{}:queue:{q}", s.target.prefix)
}

/// The fields of job `id` present in the jobs hash of queue `q`.
async fn fields_of(s: &Setup, q: &str, id: &JobId) -> Vec<String> {
    let jobs = format!("{}:jobs", base(s, q));
    let mut present = Vec::new();
    for f in ["", ":meta", ":group", ":run", ":cancel"] {
        let field = format!("{id}{f}");
        if job_field(&s.raw, &jobs, &field).await.is_some() {
            present.push(field);
        }
    }
    present
}

fn report(lease: &Lease, error: Option<&str>) -> RunReport {
    RunReport {
        lease: lease.clone(),
        worker: "worker-1".into(),
        progress: Some(Progress::new(50.0, "half")),
        error: error.map(str::to_owned),
    }
}

async fn claim_all(d: &dyn Driver, q: &QueueName, max: usize) -> Vec<Reservation> {
    d.claim(std::slice::from_ref(q), max, LEASE).await.unwrap()
}

#[tokio::test]
async fn run_records_and_cancel_requests_go_with_the_job_on_every_path() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "trk_fields";
    let q = queue(name);
    let ids: Vec<JobId> = d
        .push_bulk((0..5).map(|n| job(name, n, 3)).collect())
        .await
        .unwrap();
    let rs = claim_all(d, &q, 5).await;
    assert_eq!(rs.len(), 5);
    let reports: Vec<RunReport> = rs.iter().map(|r| report(&r.lease, None)).collect();
    d.record_runs(&reports).await.unwrap();
    // A cancel request on two of them (the worker finishes them anyway).
    for r in &rs[3..] {
        assert_eq!(
            d.cancel(&q, &r.lease.job_id).await.unwrap(),
            CancelOutcome::Requested
        );
    }
    for id in &ids {
        let f = fields_of(&s, name, id).await;
        assert!(f.contains(&format!("{id}:run")), "{f:?}");
    }
    d.ack(&rs[0].lease).await.unwrap();
    d.fail(&rs[1].lease, "boom").await.unwrap();
    d.ack_and_keep(&rs[2].lease, Some(b"{}"), LEASE)
        .await
        .unwrap();
    let batch: Vec<Lease> = rs[3..].iter().map(|r| r.lease.clone()).collect();
    assert_eq!(d.ack_batch(&batch).await.unwrap().acked, 2);
    for id in &ids {
        assert_eq!(
            fields_of(&s, name, id).await,
            Vec::<String>::new(),
            "nothing of job {id} is left in the jobs hash"
        );
    }
    let mut conn = s.raw.clone();
    let len = job_field_count(&s.raw, &format!("{}:jobs", base(&s, name))).await;
    assert_eq!(len, 0);
    // Only ack_and_keep kept a record.
    let done: Vec<String> = conn
        .keys(format!("{}:done:*", base(&s, name)))
        .await
        .unwrap();
    assert_eq!(done, vec![format!("{}:done:{}", base(&s, name), ids[2])]);
}

#[tokio::test]
async fn a_cancel_request_ends_the_job_on_release_and_on_reclaim() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "trk_flag";
    let q = queue(name);
    let b = base(&s, name);
    let mut conn = s.raw.clone();

    // Release of a flagged unique (until finished) job: removed, lock released,
    // recorded cancelled for CANCELLED_KEPT_FOR.
    let u = Uniqueness {
        key: UniqueKey::new("k1").unwrap(),
        scope: UniqueScope::UntilFinished,
        debounce: None,
    };
    let held = d.push_unique(job(name, 0, 3), &u).await.unwrap().id;
    let r = claim_all(d, &q, 1).await.remove(0);
    assert!(r.lease.token.0.ends_with('u'));
    d.record_runs(&[report(&r.lease, Some("stopping"))])
        .await
        .unwrap();
    assert_eq!(d.cancel(&q, &held).await.unwrap(), CancelOutcome::Requested);
    d.release(&r.lease, Duration::from_secs(5)).await.unwrap();
    assert_eq!(fields_of(&s, name, &held).await, Vec::<String>::new());
    let lock: Option<String> = conn.get(format!("{b}:unique:k1")).await.unwrap();
    assert_eq!(lock, None, "the lock is released");
    let ttl: i64 = conn.pttl(format!("{b}:done:{held}")).await.unwrap();
    let kept = CANCELLED_KEPT_FOR.as_millis() as i64;
    assert!(ttl > kept - 10_000 && ttl <= kept, "pttl {ttl}");
    let delayed: usize = conn.zcard(format!("{b}:delayed")).await.unwrap();
    assert_eq!(delayed, 0, "a cancelled job is not delayed for a retry");

    // Reclaim: a flagged job out of tries, a flagged grouped job with tries left,
    // and a plain one with tries left.
    let g = GroupKey::new("g1").unwrap();
    let last = d.push(job(name, 1, 1)).await.unwrap();
    let grouped = d
        .push(job(name, 2, 3).in_group(Some(g.clone())))
        .await
        .unwrap();
    let plain = d.push(job(name, 3, 3)).await.unwrap();
    let rs = d
        .claim(std::slice::from_ref(&q), 3, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(rs.len(), 3);
    for id in [&last, &grouped] {
        assert_eq!(d.cancel(&q, id).await.unwrap(), CancelOutcome::Requested);
    }
    let active: Option<i64> = conn.hget(format!("{b}:active"), "g1").await.unwrap();
    assert_eq!(active, Some(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let report = d.reclaim_expired(std::slice::from_ref(&q)).await.unwrap();
    assert_eq!(
        (report.released, report.failed),
        (1, 0),
        "cancelled reclaims count as neither released nor failed"
    );
    let failed: usize = conn
        .llen(format!("{}:queue:failed:{name}", s.target.prefix))
        .await
        .unwrap();
    assert_eq!(failed, 0);
    let active: Option<i64> = conn.hget(format!("{b}:active"), "g1").await.unwrap();
    assert_eq!(active, None, "the group's running slot is freed");
    for id in [&last, &grouped] {
        assert_eq!(fields_of(&s, name, id).await, Vec::<String>::new());
        let st = d.job_status(&q, id).await.unwrap().unwrap();
        assert_eq!(st.state, JobState::Cancelled);
    }
    let again = claim_all(d, &q, 10).await;
    let got: Vec<&JobId> = again.iter().map(|r| &r.lease.job_id).collect();
    assert_eq!(got, vec![&plain], "only the job not cancelled runs again");
}

#[tokio::test]
async fn kept_records_are_binary_safe_expire_by_themselves_and_are_small() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "trk_keep";
    let q = queue(name);
    let b = base(&s, name);
    let mut conn = s.raw.clone();
    let ids: Vec<JobId> = d
        .push_bulk((0..3).map(|n| job(name, n, 3)).collect())
        .await
        .unwrap();
    let rs = claim_all(d, &q, 3).await;

    // Bytes that are neither UTF-8 nor free of the record's separator.
    let odd: &[u8] = b"\x00|1|\xff\xfe{\"a\":\"|\"}\r\n";
    d.ack_and_keep(&rs[0].lease, Some(odd), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        d.job_result(&q, &ids[0]).await.unwrap().as_deref(),
        Some(odd)
    );
    let ttl: i64 = conn.pttl(format!("{b}:done:{}", ids[0])).await.unwrap();
    assert!(ttl > 55_000 && ttl <= 60_000, "pttl {ttl}");

    // A zero retention keeps nothing (the ack still happens).
    d.ack_and_keep(&rs[1].lease, Some(b"1"), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(d.job_status(&q, &ids[1]).await.unwrap(), None);

    // A typical record: a 20-byte JSON result.
    let result = br#"{"sent":true,"n":42}"#;
    assert_eq!(result.len(), 20);
    d.ack_and_keep(&rs[2].lease, Some(result), Duration::from_millis(300))
        .await
        .unwrap();
    let succeeded: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(format!("{b}:done:{}", ids[2]))
        .query_async(&mut conn)
        .await
        .unwrap();
    let waiting = d.push(job(name, 9, 3)).await.unwrap();
    assert_eq!(
        d.cancel(&q, &waiting).await.unwrap(),
        CancelOutcome::Removed
    );
    let cancelled: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(format!("{b}:done:{waiting}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let prefix_len = b.len() + ":done:".len();
    eprintln!(
        "MEMORY USAGE: succeeded record with a 20-byte result {succeeded} B, \
         cancelled record {cancelled} B (key names {} B long)",
        prefix_len + waiting.as_str().len()
    );
    assert!(
        succeeded < 256 && cancelled < 256,
        "{succeeded} / {cancelled}"
    );

    tokio::time::sleep(Duration::from_millis(450)).await;
    let left: bool = conn.exists(format!("{b}:done:{}", ids[2])).await.unwrap();
    assert!(!left, "the record expired by itself");
    assert_eq!(d.job_result(&q, &ids[2]).await.unwrap(), None);
}

#[tokio::test]
async fn cancelling_grouped_jobs_keeps_the_rotation_consistent() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "trk_groups";
    let q = queue(name);
    let b = base(&s, name);
    let mut conn = s.raw.clone();
    let grouped = |n: usize, g: &str| job(name, n, 3).in_group(Some(GroupKey::new(g).unwrap()));

    let a1 = d.push(grouped(1, "a")).await.unwrap();
    let b1 = d.push(grouped(2, "b")).await.unwrap();
    let b2 = d.push(grouped(3, "b")).await.unwrap();
    let c1 = d.push(grouped(4, "c")).await.unwrap();
    let c2 = d.push(grouped(5, "c")).await.unwrap();
    let plain = d.push(job(name, 6, 3)).await.unwrap();
    let later = d
        .push(
            job_at(
                name,
                7,
                3,
                Some(std::time::SystemTime::now() + Duration::from_secs(60)),
            )
            .in_group(Some(GroupKey::new("c").unwrap())),
        )
        .await
        .unwrap();

    // a's only job: a leaves the rotation; c's first: c stays; a delayed one.
    for id in [&a1, &c1, &later] {
        assert_eq!(d.cancel(&q, id).await.unwrap(), CancelOutcome::Removed);
    }
    let rotation: Vec<String> = conn.lrange(format!("{b}:groups"), 0, -1).await.unwrap();
    assert_eq!(rotation, ["", "b", "c"], "a left the rotation");
    let a_list: bool = conn.exists(format!("{b}:group:a")).await.unwrap();
    assert!(!a_list);

    let mut got: Vec<JobId> = claim_all(d, &q, 10)
        .await
        .into_iter()
        .map(|r| r.lease.job_id)
        .collect();
    got.sort();
    let mut want = vec![b1, b2, c2, plain];
    want.sort();
    assert_eq!(got, want, "every other job is still claimed");
    let rotation: bool = conn.exists(format!("{b}:groups")).await.unwrap();
    assert!(!rotation, "an empty rotation is gone");

    // The cancelled group's later jobs run.
    let a2 = d.push(grouped(8, "a")).await.unwrap();
    let r = claim_all(d, &q, 10).await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].lease.job_id, a2);

    // A parked lane (its group at its cap) whose last ready job is cancelled
    // leaves the parked set; the group runs again once its slot frees.
    d.set_group_concurrency(&q, 1).await.unwrap();
    let d1 = d.push(grouped(9, "d")).await.unwrap();
    let d2 = d.push(grouped(10, "d")).await.unwrap();
    let running = claim_all(d, &q, 10).await;
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].lease.job_id, d1);
    let parked: Option<f64> = conn.zscore(format!("{b}:parked"), "d").await.unwrap();
    assert!(parked.is_some(), "d is parked at its cap");
    assert_eq!(d.cancel(&q, &d2).await.unwrap(), CancelOutcome::Removed);
    let parked: Option<f64> = conn.zscore(format!("{b}:parked"), "d").await.unwrap();
    assert_eq!(parked, None, "an empty lane is not parked");
    d.ack(&running[0].lease).await.unwrap();
    let d3 = d.push(grouped(11, "d")).await.unwrap();
    let r = claim_all(d, &q, 10).await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].lease.job_id, d3);
    d.ack(&r[0].lease).await.unwrap();
    let stats = d.stats(&q).await.unwrap();
    assert_eq!(
        (stats.ready, stats.delayed),
        (0, 0),
        "nothing waits: {stats:?}"
    );
}

#[tokio::test]
async fn malformed_records_are_errors_naming_their_key() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "trk_bad";
    let q = queue(name);
    let b = base(&s, name);
    let mut conn = s.raw.clone();

    let gone = JobId::generate();
    let key = format!("{b}:done:{gone}");
    let _: () = conn.set(&key, "not a record").await.unwrap();
    for err in [
        d.job_status(&q, &gone).await.unwrap_err(),
        d.job_result(&q, &gone).await.unwrap_err(),
        d.cancel(&q, &gone).await.unwrap_err(),
    ] {
        assert!(matches!(err, DriverError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains(&key), "{err}");
    }

    let id = d.push(job(name, 1, 3)).await.unwrap();
    let r = claim_all(d, &q, 1).await.remove(0);
    let _: () = conn
        .hset(format!("{b}:jobs"), format!("{id}:run"), "{oops")
        .await
        .unwrap();
    let err = d.job_status(&q, &id).await.unwrap_err();
    assert!(matches!(err, DriverError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("{id}:run")), "{err}");
    d.ack(&r.lease).await.unwrap();
}

#[tokio::test]
async fn tracking_keys_share_the_queue_slot_and_odd_ids_are_matched_exactly() {
    let s = setup(KeyMode::Cluster).await;
    let d: &dyn Driver = &s.driver;
    let q = queue("trk_slot");
    let p = s.target.prefix.clone();
    let mut conn = s.raw.clone();

    // Ids with glob characters and a shared prefix: status and cancel must find
    // exactly their own reservation.
    let mut stored = Vec::new();
    for raw in ["job*", "job*x", "job[1]", "job?", "job\\"] {
        let mut j = job("trk_slot", 0, 3);
        j.id = JobId::from_string(raw);
        stored.push(d.push(j).await.unwrap());
    }
    let rs = claim_all(d, &q, 10).await;
    assert_eq!(rs.len(), stored.len());
    let target = &rs
        .iter()
        .find(|r| r.lease.job_id.as_str() == "job*")
        .unwrap()
        .lease;
    assert_eq!(
        d.cancel(&q, &target.job_id).await.unwrap(),
        CancelOutcome::Requested
    );
    let flagged = d
        .cancel_requests(&rs.iter().map(|r| r.lease.clone()).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(flagged, vec![target.job_id.clone()]);
    for r in &rs {
        let st = d.job_status(&q, &r.lease.job_id).await.unwrap().unwrap();
        assert_eq!(st.state, JobState::Running);
        assert_eq!(st.cancel_requested, r.lease.job_id == target.job_id);
    }
    d.ack_cancelled(target).await.unwrap();
    for r in rs.iter().filter(|r| r.lease.job_id != target.job_id) {
        d.ack_and_keep(&r.lease, None, LEASE).await.unwrap();
    }
    let mut keys: Vec<String> = conn.keys(format!("{p}:queue:*:done:*")).await.unwrap();
    keys.sort();
    assert_eq!(keys.len(), stored.len());
    for k in &keys {
        assert!(
            k.starts_with(&format!("{p}:queue:{{trk_slot}}:done:")),
            "{k}"
        );
    }
}
