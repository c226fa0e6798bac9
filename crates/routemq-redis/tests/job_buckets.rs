//! The jobs hash in time buckets (`routemq_redis::job_hash`, `lib.lua`'s
//! `job_hash`): where a job's fields live, that the Rust and Lua copies of the
//! rule agree on every push path, that emptied buckets stay listed until a
//! sweep finds them gone an hour after their time, that a driver's single
//! pushes list a bucket of the last minute once, that `clear` removes every
//! bucket, and that jobs stored before the buckets (in the one hash per queue)
//! are served until they are gone.

mod common;

use std::time::{Duration, SystemTime};

use common::{job, job_with_id, now_ms, queue, setup, v7_at, Setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_core::{
    CancelOutcome, GroupKey, JobId, JobState, ListPage, PendingJob, UniqueKey, UniqueScope,
    Uniqueness,
};
use routemq_redis::{job_hash, split_body, KeyMode};

const LEASE: Duration = Duration::from_secs(30);

fn jobs_of(s: &Setup, q: &str) -> String {
    format!("{}:queue:{q}:jobs", s.target.prefix)
}

/// Every key under the jobs hash's name (the buckets and their set).
async fn bucket_keys(s: &Setup, jobs: &str) -> Vec<Vec<u8>> {
    let mut conn = s.raw.clone();
    let mut keys: Vec<Vec<u8>> = conn.keys(format!("{jobs}:*")).await.unwrap();
    keys.sort();
    keys
}

/// The buckets under the jobs hash's name that exist (every key but their set).
async fn bucket_hashes(s: &Setup, jobs: &str) -> Vec<Vec<u8>> {
    let set = format!("{jobs}:buckets").into_bytes();
    let mut keys = bucket_keys(s, jobs).await;
    keys.retain(|k| *k != set);
    keys
}

async fn listed_buckets(s: &Setup, jobs: &str) -> Vec<Vec<u8>> {
    let mut conn = s.raw.clone();
    let mut set: Vec<Vec<u8>> = conn.smembers(format!("{jobs}:buckets")).await.unwrap();
    set.sort();
    set
}

async fn hget(s: &Setup, key: &[u8], field: &str) -> Option<Vec<u8>> {
    let mut conn = s.raw.clone();
    conn.hget(key, field).await.unwrap()
}

/// Stores `j` the way an earlier release did, in hash `hash`: the payload as it
/// is and `"{id}:meta"` = `meta` beside it, its id at the tail of `ready`.
async fn store_as_before(s: &Setup, hash: &[u8], ready: &str, j: &PendingJob, meta: &str) {
    let mut conn = s.raw.clone();
    let _: () = conn
        .hset_multiple(
            hash,
            &[
                (j.id.to_string(), j.payload.clone()),
                (format!("{}:meta", j.id), meta.as_bytes().to_vec()),
            ],
        )
        .await
        .unwrap();
    let _: () = conn.rpush(ready, j.id.as_str()).await.unwrap();
}

/// Job `n` of queue `q` with the id `id`.
fn job_id(q: &str, n: usize, at: Option<SystemTime>, id: &str) -> PendingJob {
    job_with_id(q, n, 3, at, JobId::from_string(id))
}

#[tokio::test]
async fn each_push_path_stores_a_job_in_the_bucket_its_id_names() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "bkt_paths";
    let q = queue(name);
    let jobs = jobs_of(&s, name);
    let t = now_ms();
    // Two ids 1 s apart (two buckets), ids that are not UUIDs (the `other`
    // bucket), and a UUID-shaped id whose bucket bytes split a character.
    let a = v7_at(t, 1);
    let b = v7_at(t + 1_000, 2);
    let odd = "aaaaaa\u{e9}-a\u{e9}a-7x".to_owned();
    assert_eq!(odd.as_bytes()[8], b'-');
    assert_eq!(&odd.as_bytes()[13..15], b"-7");
    let later = SystemTime::now() + Duration::from_secs(3600);

    // The transaction path (a bulk of plain jobs, ready and delayed) ...
    d.push_bulk(vec![
        job_id(name, 0, None, &a),
        job_id(name, 1, Some(later), &b),
    ])
    .await
    .unwrap();
    // ... push.lua (a grouped job), push_unique.lua, and the transaction again
    // for ids that are not UUIDs.
    d.push(job_id(name, 2, None, "order-17").in_group(Some(GroupKey::new("g").unwrap())))
        .await
        .unwrap();
    let unique = Uniqueness {
        key: UniqueKey::new("bkt-u").unwrap(),
        scope: UniqueScope::UntilFinished,
        debounce: None,
    };
    d.push_unique(job_id(name, 3, None, &odd), &unique)
        .await
        .unwrap();
    d.push(job_id(name, 4, None, "x")).await.unwrap();

    for id in [&a, &b, &odd, &"order-17".to_owned(), &"x".to_owned()] {
        let bucket = job_hash(&jobs, id);
        assert!(
            hget(&s, &bucket, id).await.is_some(),
            "body of {id} in its bucket"
        );
        // Stored by Rust (the bulk transaction) or by a script, a body
        // carries its metadata in front, framed the same way, and there is
        // no metadata field until a claim writes one.
        let body = hget(&s, &bucket, id).await.unwrap();
        let (payload, meta) = split_body(&body);
        let meta = String::from_utf8(meta.expect("metadata in front").to_vec()).unwrap();
        assert!(meta.starts_with("0|3|"), "metadata of {id}: {meta}");
        let payload = String::from_utf8(payload.to_vec()).unwrap();
        assert!(
            payload.starts_with("{\"id\":") && payload.ends_with('}'),
            "the whole envelope of {id} after it: {payload}"
        );
        assert_eq!(hget(&s, &bucket, &format!("{id}:meta")).await, None);
    }
    assert_ne!(job_hash(&jobs, &a), job_hash(&jobs, &b));
    assert_eq!(
        job_hash(&jobs, &a),
        format!("{jobs}:{}{}", &a[..8], &a[9..11]).into_bytes()
    );
    assert_eq!(
        job_hash(&jobs, "order-17"),
        format!("{jobs}:other").into_bytes()
    );
    assert_eq!(
        hget(&s, &job_hash(&jobs, "order-17"), "order-17:group").await,
        Some(b"g".to_vec()),
        "a grouped job's group field beside its body"
    );
    let mut conn = s.raw.clone();
    let old: bool = conn.exists(&jobs).await.unwrap();
    assert!(!old, "nothing is written to the pre-bucket hash");
    // Four buckets (a, b, odd, other), all listed, and nothing else under the name.
    let listed = listed_buckets(&s, &jobs).await;
    assert_eq!(listed.len(), 4, "{listed:?}");
    let mut all = listed.clone();
    all.push(format!("{jobs}:buckets").into_bytes());
    all.sort();
    assert_eq!(bucket_keys(&s, &jobs).await, all);

    // Claimed with their bodies; settled, they leave no bucket behind.
    // (A claim that empties the group rotation may stop short: claim again.)
    let mut got = Vec::new();
    while got.len() < 4 {
        let more = d.claim(std::slice::from_ref(&q), 10, LEASE).await.unwrap();
        assert!(!more.is_empty(), "the four ready jobs, got {}", got.len());
        got.extend(more);
    }
    assert_eq!(got.len(), 4);
    for r in &got {
        assert!(
            !r.payload.is_empty(),
            "{} claimed with its body",
            r.lease.job_id
        );
    }
    for r in &got {
        d.ack(&r.lease).await.unwrap();
    }
    assert_eq!(
        d.cancel(&q, &JobId::from_string(&b)).await.unwrap(),
        CancelOutcome::Removed,
        "the delayed job"
    );
    // Emptied, every bucket is gone and still listed ...
    assert_eq!(bucket_hashes(&s, &jobs).await, Vec::<Vec<u8>>::new());
    assert_eq!(listed_buckets(&s, &jobs).await, listed);
    // ... until a sweep (with each reclaim) unlists those without a time (the
    // `other` bucket, `odd`'s), and keeps those of the last hour.
    d.reclaim_expired(std::slice::from_ref(&q)).await.unwrap();
    let mut fresh = vec![job_hash(&jobs, &a), job_hash(&jobs, &b)];
    fresh.sort();
    assert_eq!(listed_buckets(&s, &jobs).await, fresh);
}

/// A bulk whose ids go back and forth between buckets (jobs built at
/// different times, pushed together): each body lands in the bucket its id
/// names, each bucket is listed once, and the jobs are claimed in push order.
#[tokio::test]
async fn a_bulk_whose_ids_alternate_between_buckets_stores_each_in_its_own() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "bkt_alternate";
    let q = queue(name);
    let jobs = jobs_of(&s, name);
    let t = now_ms();
    // Buckets a, b, a, c, b, a: back to an earlier bucket after a later one.
    let ids: Vec<String> = [0, 1_000, 0, 2_000, 1_000, 0]
        .iter()
        .enumerate()
        .map(|(n, offset)| v7_at(t + offset, n as u64))
        .collect();
    let bulk: Vec<PendingJob> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| job_id(name, n, None, id))
        .collect();
    let payloads: Vec<Vec<u8>> = bulk.iter().map(|j| j.payload.clone()).collect();
    d.push_bulk(bulk).await.unwrap();

    for id in &ids {
        let body = hget(&s, &job_hash(&jobs, id), id).await;
        assert!(body.is_some(), "body of {id} in the bucket its id names");
    }
    let mut listed = listed_buckets(&s, &jobs).await;
    listed.sort();
    let mut expected: Vec<Vec<u8>> = ids.iter().map(|id| job_hash(&jobs, id)).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(expected.len(), 3);
    assert_eq!(listed, expected, "each bucket listed once");
    let got = d.claim(std::slice::from_ref(&q), 10, LEASE).await.unwrap();
    let order: Vec<&str> = got.iter().map(|r| r.lease.job_id.as_str()).collect();
    let pushed: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(order, pushed, "claimed in push order");
    // A claim across buckets gives each payload back whole and writes each
    // job's metadata beside its body; the ack empties every bucket, and an
    // emptied bucket stays listed (a sweep unlists it an hour later).
    for (r, payload) in got.iter().zip(&payloads) {
        assert_eq!(&r.payload, payload, "payload of {}", r.lease.job_id);
        let id = r.lease.job_id.as_str();
        let meta = hget(&s, &job_hash(&jobs, id), &format!("{id}:meta")).await;
        assert!(meta.is_some(), "metadata of {id} in its own bucket");
    }
    let leases: Vec<_> = got.into_iter().map(|r| r.lease).collect();
    let acked = d.ack_batch(&leases).await.unwrap();
    assert_eq!((acked.acked, acked.lost.len()), (ids.len(), 0));
    assert!(
        bucket_hashes(&s, &jobs).await.is_empty(),
        "every bucket emptied"
    );
    assert_eq!(listed_buckets(&s, &jobs).await, expected);
}

#[tokio::test]
async fn jobs_stored_before_the_buckets_are_served_until_they_are_gone() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "bkt_legacy";
    let q = queue(name);
    let jobs = jobs_of(&s, name);
    let ready = format!("{}:queue:{name}", s.target.prefix);
    // Three jobs as releases before the buckets stored them: body and metadata
    // in the queue's one jobs hash, ids in the ready list. The third has one try.
    let old: Vec<PendingJob> = (0..3).map(|n| job(name, n, 3)).collect();
    let mut conn = s.raw.clone();
    for (n, j) in old.iter().enumerate() {
        let meta = if n == 2 { "0|1|0" } else { "0|3|0" };
        store_as_before(&s, jobs.as_bytes(), &ready, j, meta).await;
    }

    // Listed, shown and looked up with their bodies.
    let page = ListPage {
        state: JobState::Ready,
        offset: 0,
        limit: 10,
    };
    let listed = d.list_jobs(&q, page).await.unwrap();
    assert_eq!(listed.len(), 3);
    for (l, j) in listed.iter().zip(&old) {
        assert_eq!((&l.id, &l.envelope), (&j.id, &j.payload));
    }
    assert_eq!(
        d.job_envelope(&q, &old[0].id).await.unwrap(),
        Some(old[0].payload.clone())
    );
    let status = d.job_status(&q, &old[0].id).await.unwrap().unwrap();
    assert_eq!(status.state, JobState::Ready);

    // Claimed with body and attempts, never as foreign payloads.
    let rs = d.claim(std::slice::from_ref(&q), 3, LEASE).await.unwrap();
    assert_eq!(rs.len(), 3);
    for (r, j) in rs.iter().zip(&old) {
        assert_eq!(
            (&r.lease.job_id, &r.payload, r.attempt),
            (&j.id, &j.payload, 1)
        );
    }
    // An ack removes the job's fields from the old hash.
    d.ack(&rs[0].lease).await.unwrap();
    let there: bool = conn.hexists(&jobs, old[0].id.as_str()).await.unwrap();
    assert!(!there, "the acked job's body is gone");
    // A release writes the metadata to the job's bucket; the body stays in the
    // old hash and the next claim reads both.
    d.release(&rs[1].lease, Duration::ZERO).await.unwrap();
    let again = d.claim(std::slice::from_ref(&q), 1, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (&again[0].lease.job_id, &again[0].payload, again[0].attempt),
        (&old[1].id, &old[1].payload, 2)
    );
    // A job out of tries goes to the failed store with its body.
    d.fail(&rs[2].lease, "boom").await.unwrap();
    let failed = d.failed_show(&old[2].id).await.unwrap().unwrap();
    assert_eq!(failed.payload, old[2].payload);
    d.ack(&again[0].lease).await.unwrap();

    // Nothing is left: not in the old hash, not in a bucket (the emptied ones
    // stay listed until a sweep).
    let left: bool = conn.exists(&jobs).await.unwrap();
    assert!(!left, "the old jobs hash is gone with its last job");
    assert_eq!(bucket_hashes(&s, &jobs).await, Vec::<Vec<u8>>::new());
}

#[tokio::test]
async fn jobs_stored_with_a_separate_metadata_field_are_served() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "bkt_meta_field";
    let q = queue(name);
    let jobs = jobs_of(&s, name);
    let ready = format!("{}:queue:{name}", s.target.prefix);
    // Two jobs as releases before the metadata moved into the body stored
    // them: the body as it is, "{id}:meta" beside it in the job's bucket. The
    // first was tried once already, the second has one try.
    let old: Vec<PendingJob> = (0..2).map(|n| job(name, n, 3)).collect();
    let mut conn = s.raw.clone();
    for (j, meta) in old.iter().zip(["1|3|0", "0|1|0"]) {
        let bucket = job_hash(&jobs, j.id.as_str());
        store_as_before(&s, &bucket, &ready, j, meta).await;
        let _: () = conn.sadd(format!("{jobs}:buckets"), &bucket).await.unwrap();
    }

    // Listed, shown and looked up with their bodies and attempts.
    let page = ListPage {
        state: JobState::Ready,
        offset: 0,
        limit: 10,
    };
    let listed = d.list_jobs(&q, page).await.unwrap();
    let got: Vec<(&JobId, &Vec<u8>, u32)> = listed
        .iter()
        .map(|l| (&l.id, &l.envelope, l.attempts))
        .collect();
    assert_eq!(
        got,
        [
            (&old[0].id, &old[0].payload, 1),
            (&old[1].id, &old[1].payload, 0)
        ]
    );
    assert_eq!(
        d.job_envelope(&q, &old[0].id).await.unwrap(),
        Some(old[0].payload.clone())
    );
    let status = d.job_status(&q, &old[0].id).await.unwrap().unwrap();
    assert_eq!((status.state, status.attempts), (JobState::Ready, 1));

    // Claimed with the body as it is and the attempts of the field.
    let rs = d.claim(std::slice::from_ref(&q), 2, LEASE).await.unwrap();
    let got: Vec<(&JobId, &Vec<u8>, u32)> = rs
        .iter()
        .map(|r| (&r.lease.job_id, &r.payload, r.attempt))
        .collect();
    assert_eq!(
        got,
        [
            (&old[0].id, &old[0].payload, 2),
            (&old[1].id, &old[1].payload, 1)
        ]
    );
    // Out of tries: to the failed store with its body as it is.
    d.fail(&rs[1].lease, "boom").await.unwrap();
    let failed = d.failed_show(&old[1].id).await.unwrap().unwrap();
    assert_eq!(failed.payload, old[1].payload);
    d.ack(&rs[0].lease).await.unwrap();
    assert_eq!(bucket_hashes(&s, &jobs).await, Vec::<Vec<u8>>::new());
    let mut conn = s.raw.clone();
    let old_hash: bool = conn.exists(&jobs).await.unwrap();
    assert!(!old_hash, "the pre-bucket hash went with its last job");
}

#[tokio::test]
async fn clear_removes_every_bucket() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "bkt_clear";
    let q = queue(name);
    let jobs = jobs_of(&s, name);
    let t = now_ms();
    let later = SystemTime::now() + Duration::from_secs(3600);
    let mut batch = Vec::new();
    for n in 0..6 {
        // Six buckets: ready, delayed and (claimed below) running jobs.
        let at = if n % 2 == 0 { None } else { Some(later) };
        batch.push(job_id(name, n, at, &v7_at(t + 1_000 * n as u64, n as u64)));
    }
    d.push_bulk(batch).await.unwrap();
    let running = d.claim(std::slice::from_ref(&q), 1, LEASE).await.unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(listed_buckets(&s, &jobs).await.len(), 6);

    assert_eq!(d.clear(&q).await.unwrap(), 6);
    // Every bucket is gone; their set stays for the sweep (see
    // `an_emptied_bucket_stays_listed_until_a_sweep_finds_it_gone_an_hour_on`).
    assert_eq!(bucket_hashes(&s, &jobs).await, Vec::<Vec<u8>>::new());
    assert_eq!(listed_buckets(&s, &jobs).await.len(), 6);
}

/// A bucket that empties stays listed; a sweep (one step with each reclaim)
/// unlists it once it is gone and its 256 ms ended over an hour ago, or at
/// once when it has no time (the `other` bucket). One that still holds a job
/// stays listed whatever its age, and a bucket written again is listed again.
#[tokio::test]
async fn an_emptied_bucket_stays_listed_until_a_sweep_finds_it_gone_an_hour_on() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "bkt_sweep";
    let q = queue(name);
    let jobs = jobs_of(&s, name);
    let t = now_ms();
    let two_hours_ago = t - 2 * 3_600_000;
    let old_gone = v7_at(two_hours_ago, 1);
    let old_kept = v7_at(two_hours_ago + 1_000, 2);
    let fresh_gone = v7_at(t, 3);
    let ids = [
        old_gone.clone(),
        old_kept.clone(),
        fresh_gone.clone(),
        "sweep-x".to_owned(),
    ];
    let bulk = ids
        .iter()
        .enumerate()
        .map(|(n, id)| job_id(name, n, None, id))
        .collect();
    d.push_bulk(bulk).await.unwrap();
    assert_eq!(listed_buckets(&s, &jobs).await.len(), 4);
    // Every job but `old_kept` is done.
    let got = d.claim(std::slice::from_ref(&q), 4, LEASE).await.unwrap();
    assert_eq!(got.len(), 4);
    for r in &got {
        if r.lease.job_id.as_str() == old_kept {
            d.release(&r.lease, Duration::ZERO).await.unwrap();
        } else {
            d.ack(&r.lease).await.unwrap();
        }
    }
    assert_eq!(
        listed_buckets(&s, &jobs).await.len(),
        4,
        "emptied, still listed"
    );

    d.reclaim_expired(std::slice::from_ref(&q)).await.unwrap();
    let mut left = vec![job_hash(&jobs, &old_kept), job_hash(&jobs, &fresh_gone)];
    left.sort();
    assert_eq!(listed_buckets(&s, &jobs).await, left);

    // Written again, the old bucket is listed again.
    d.push(job_id(name, 9, None, &v7_at(two_hours_ago, 9)))
        .await
        .unwrap();
    assert!(listed_buckets(&s, &jobs)
        .await
        .contains(&job_hash(&jobs, &old_gone)));
}

/// A driver's single pushes list the bucket of a job of the last minute once:
/// the next single pushes there leave the `SADD` out, so a bucket unlisted
/// behind the driver's back (here by hand) stays unlisted until the driver
/// pushes to another bucket. A job whose bucket is older is listed every time.
#[tokio::test]
async fn a_single_push_lists_a_bucket_of_the_last_minute_once() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "bkt_once";
    let jobs = jobs_of(&s, name);
    let set = format!("{jobs}:buckets");
    let mut conn = s.raw.clone();
    let t = now_ms();
    // The first push registers the queue (by script); the ones after go by
    // transaction.
    d.push(job_id(name, 0, None, "register")).await.unwrap();
    let fresh = [v7_at(t, 1), v7_at(t, 2)];
    let bucket = job_hash(&jobs, &fresh[0]);
    assert_eq!(job_hash(&jobs, &fresh[1]), bucket);
    d.push(job_id(name, 1, None, &fresh[0])).await.unwrap();
    assert!(listed_buckets(&s, &jobs).await.contains(&bucket));
    let _: () = conn.srem(&set, &bucket).await.unwrap();
    d.push(job_id(name, 2, None, &fresh[1])).await.unwrap();
    assert!(
        !listed_buckets(&s, &jobs).await.contains(&bucket),
        "the second push to the bucket leaves its SADD out"
    );
    // Another fresh bucket is listed.
    let next = v7_at(t + 1_000, 3);
    d.push(job_id(name, 3, None, &next)).await.unwrap();
    assert!(listed_buckets(&s, &jobs)
        .await
        .contains(&job_hash(&jobs, &next)));
    // A bucket two minutes old is listed by every push.
    let old = [v7_at(t - 120_000, 4), v7_at(t - 120_000, 5)];
    let old_bucket = job_hash(&jobs, &old[0]);
    d.push(job_id(name, 4, None, &old[0])).await.unwrap();
    let _: () = conn.srem(&set, &old_bucket).await.unwrap();
    d.push(job_id(name, 5, None, &old[1])).await.unwrap();
    assert!(listed_buckets(&s, &jobs).await.contains(&old_bucket));
}
