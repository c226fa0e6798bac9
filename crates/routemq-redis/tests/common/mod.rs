//! Shared set-up for the Redis driver's tests: a driver over a unique key prefix
//! on a real server (see `routemq_testkit::redis`), and a raw client to look at
//! the keys it writes.
//!
//! With `ROUTEMQ_TEST_REDIS=cluster` the target is a Redis Cluster: the driver
//! then connects to every node ([`config_for`]), while the raw client is a
//! single-node connection to one master (keys of slots other masters own answer
//! `MOVED` there).

#![allow(dead_code)]

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use routemq_core::{Codec, Envelope, JobId, PendingJob, QueueName, TraceContext};
use routemq_redis::{KeyMode, RedisConfig, RedisDriver};
use routemq_testkit::redis::RedisTarget;

pub struct Setup {
    pub driver: RedisDriver,
    pub target: RedisTarget,
    pub raw: MultiplexedConnection,
}

pub async fn setup(mode: KeyMode) -> Setup {
    let target = routemq_testkit::redis::redis();
    setup_on(target, mode).await
}

/// The driver's settings for `target`, under its prefix: the cluster's nodes
/// ([`RedisConfig::cluster`], key mode `cluster`) when it is a Redis Cluster,
/// else its URL.
pub fn config_for(target: &RedisTarget) -> RedisConfig {
    let config = match &target.cluster_nodes {
        Some(nodes) => RedisConfig::cluster(nodes.split(',')).expect("the testkit's cluster nodes"),
        None => RedisConfig::from_url(&target.url).expect("the testkit's Redis URL"),
    };
    config.prefix(target.prefix.clone())
}

pub async fn setup_on(target: RedisTarget, mode: KeyMode) -> Setup {
    let config = config_for(&target).key_mode(mode);
    let driver = RedisDriver::new(config).unwrap_or_else(|e| {
        panic!(
            "a driver in {mode:?} key mode on the test Redis ({}): {e}",
            target.source
        )
    });
    let raw = redis::Client::open(target.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    Setup {
        driver,
        target,
        raw,
    }
}

pub fn queue(name: &str) -> QueueName {
    QueueName::new(name).unwrap()
}

/// A JSON job envelope for `queue`.
pub fn job(queue_name: &str, n: usize, max_tries: u32) -> PendingJob {
    job_at(queue_name, n, max_tries, None)
}

pub fn job_at(
    queue_name: &str,
    n: usize,
    max_tries: u32,
    at: Option<std::time::SystemTime>,
) -> PendingJob {
    job_with_id(queue_name, n, max_tries, at, JobId::generate())
}

/// A UUIDv7-shaped id whose millisecond timestamp is `ms` (ids of one `ms`, or
/// of one 256 ms, share a bucket of the jobs hash: `routemq_redis::job_hash`).
pub fn v7_at(ms: u64, n: u64) -> String {
    format!("{:08x}-{:04x}-7000-8000-{:012x}", ms >> 16, ms & 0xffff, n)
}

/// Now, in ms since the epoch.
pub fn now_ms() -> u64 {
    routemq_core::unix_ms(std::time::SystemTime::now()) as u64
}

/// [`job_at`] with the id `id`.
pub fn job_with_id(
    queue_name: &str,
    n: usize,
    max_tries: u32,
    at: Option<std::time::SystemTime>,
    id: JobId,
) -> PendingJob {
    let envelope = Envelope {
        id,
        name: "test.job".into(),
        queue: queue(queue_name),
        codec: Codec::Json,
        data: format!(r#"{{"n":{n}}}"#).into_bytes(),
        encryption: None,
        max_tries,
        timeout: Duration::from_secs(30),
        backoff: Default::default(),
        created_at_ms: 0,
        trace: TraceContext::new(),
        keep_result: None,
    };
    PendingJob::new(&envelope, at).unwrap()
}

/// The commands the server ran while `f` ran (from `MONITOR`, commands run by
/// scripts included) that name `needle` (a key base unique to the test), each as
/// its words: the command name upper-cased, then its arguments.
pub async fn commands_naming<F: std::future::Future>(
    s: &Setup,
    needle: &str,
    f: F,
) -> (F::Output, Vec<Vec<String>>) {
    use futures::StreamExt;
    let client = redis::Client::open(s.target.url.as_str()).unwrap();
    let mut lines = client
        .get_async_monitor()
        .await
        .unwrap()
        .into_on_message::<String>();
    let out = f.await;
    // A marker command, so every line of `f` has been seen once it shows.
    let marker = format!("{needle}:monitor-marker");
    let mut raw = s.raw.clone();
    let _: Option<String> = redis::cmd("GET")
        .arg(&marker)
        .query_async(&mut raw)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let wait = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next().await {
            if line.contains(&marker) {
                break;
            }
            if line.contains(needle) {
                seen.push(monitor_words(&line));
            }
        }
    });
    wait.await.expect("the marker shows in MONITOR");
    (out, seen)
}

/// The quoted words of a `MONITOR` line (`… [0 lua] "LLEN" "key"`), escapes kept
/// as they are; the first upper-cased.
fn monitor_words(line: &str) -> Vec<String> {
    let rest = line.split_once("] ").map_or(line, |(_, r)| r);
    let mut words = Vec::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    word.push(c);
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                }
                '"' => break,
                _ => word.push(c),
            }
        }
        words.push(word);
    }
    if let Some(first) = words.first_mut() {
        *first = first.to_ascii_uppercase();
    }
    words
}

/// The value of field `field` of the jobs hash named `jobs`, read from the
/// bucket that holds it (see [`routemq_redis::job_hash`]).
pub async fn job_field(raw: &MultiplexedConnection, jobs: &str, field: &str) -> Option<Vec<u8>> {
    let mut conn = raw.clone();
    redis::cmd("HGET")
        .arg(routemq_redis::job_hash(jobs, field))
        .arg(field)
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// The metadata of job `id` in the jobs hash named `jobs`, as the scripts read
/// it: its `"{id}:meta"` field, else what its body carries in front
/// ([`routemq_redis::split_body`]).
pub async fn job_meta(raw: &MultiplexedConnection, jobs: &str, id: &str) -> Option<String> {
    let meta = match job_field(raw, jobs, &format!("{id}:meta")).await {
        Some(meta) => meta,
        None => {
            let body = job_field(raw, jobs, id).await?;
            routemq_redis::split_body(&body).1?.to_vec()
        }
    };
    Some(String::from_utf8(meta).unwrap())
}

/// The fields of the jobs hash named `jobs` in all its buckets (those its set
/// of buckets lists) and in the pre-bucket hash of that name.
pub async fn job_field_count(raw: &MultiplexedConnection, jobs: &str) -> usize {
    let mut conn = raw.clone();
    let buckets: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
        .arg(format!("{jobs}:buckets"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut n: usize = redis::cmd("HLEN")
        .arg(jobs)
        .query_async(&mut conn)
        .await
        .unwrap();
    for b in buckets {
        let len: usize = redis::cmd("HLEN")
            .arg(&b)
            .query_async(&mut conn)
            .await
            .unwrap();
        n += len;
    }
    n
}
