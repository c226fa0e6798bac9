//! Encrypted job data on real Redis and MySQL/MariaDB: the plaintext of a secret
//! field appears nowhere in the raw storage, neither while the job is queued nor
//! after a worker without the key failed it into the failed store; retried, a
//! worker with the key runs it and the handler sees the plaintext.

use std::sync::Mutex;
use std::time::Duration;

use routemq_core::{
    EncryptionKey, FailedQuery, Job, JobContext, JobError, JobId, JobOptions, Keyring, Queue,
    QueueName,
};
use routemq_e2e::stores::Store;
use routemq_mysql::mysql_async::{self, prelude::Queryable};
use routemq_worker::{Worker, WorkerReport};
use serde::{Deserialize, Serialize};

const SECRET: &str = "s3cret-card-4111";

/// Cards the handler saw, tagged by store.
static SEEN: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

#[derive(Serialize, Deserialize)]
struct Charge {
    store: String,
    card: String,
}

impl Job for Charge {
    const NAME: &'static str = "e2e.charge";
    fn options() -> JobOptions {
        JobOptions::new().queue("enc").max_tries(1).encrypted()
    }
    async fn handle(&self, _: &JobContext) -> Result<(), JobError> {
        SEEN.lock()
            .unwrap()
            .push((self.store.clone(), self.card.clone()));
        Ok(())
    }
}

fn flatten(value: redis::Value, out: &mut Vec<Vec<u8>>) {
    match value {
        redis::Value::BulkString(b) => out.push(b),
        redis::Value::SimpleString(s) => out.push(s.into_bytes()),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            items.into_iter().for_each(|v| flatten(v, out))
        }
        redis::Value::Map(pairs) => pairs.into_iter().for_each(|(k, v)| {
            flatten(k, out);
            flatten(v, out);
        }),
        _ => {}
    }
}

/// Every stored value of the store: Redis keys under its prefix (DUMP and the
/// type's own read), every column of MySQL's `queue_jobs` and `queue_failed_jobs`.
async fn raw_storage(store: &mut Store) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match store {
        Store::Redis(s) => {
            for key in s.keys().await {
                let kind: String = redis::cmd("TYPE")
                    .arg(&key)
                    .query_async(&mut s.raw)
                    .await
                    .unwrap();
                let read = match kind.as_str() {
                    "string" => redis::cmd("GET").arg(&key).clone(),
                    "hash" => redis::cmd("HGETALL").arg(&key).clone(),
                    "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).clone(),
                    "zset" => redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).clone(),
                    "set" => redis::cmd("SMEMBERS").arg(&key).clone(),
                    other => panic!("key {key} of unexpected type {other}"),
                };
                for cmd in [read, redis::cmd("DUMP").arg(&key).clone()] {
                    let value: redis::Value = cmd.query_async(&mut s.raw).await.unwrap();
                    flatten(value, &mut out);
                }
                out.push(key.into_bytes());
            }
        }
        Store::Mysql(s) => {
            let mut conn = s.raw().await;
            for table in ["queue_jobs", "queue_failed_jobs"] {
                let rows: Vec<mysql_async::Row> =
                    conn.query(format!("SELECT * FROM {table}")).await.unwrap();
                for row in rows {
                    for value in row.unwrap() {
                        if let mysql_async::Value::Bytes(b) = value {
                            out.push(b);
                        }
                    }
                }
            }
            conn.disconnect().await.unwrap();
        }
    }
    out
}

/// Asserts the job (found by its id) is stored and its secret is not.
async fn assert_sealed(store: &mut Store, id: &JobId, when: &str) {
    let values = raw_storage(store).await;
    let contains = |needle: &[u8]| {
        values
            .iter()
            .any(|v| v.windows(needle.len()).any(|w| w == needle))
    };
    assert!(
        contains(id.to_string().as_bytes()),
        "{} {when}: the job's payload was not found in the scan",
        store.label()
    );
    assert!(
        // (The failed store may keep the payload inside a record of its own,
        // escaped, so only the cipher's name is looked for.)
        contains(b"xchacha20poly1305"),
        "{} {when}: no encryption marker stored",
        store.label()
    );
    assert!(
        !contains(SECRET.as_bytes()),
        "{} {when}: the plaintext is in the raw storage",
        store.label()
    );
}

async fn drain(store: &Store, keyring: Keyring) -> WorkerReport {
    let worker = Worker::builder(store.dyn_driver())
        .register::<Charge>()
        .queues(["enc"])
        .keyring(keyring)
        .sleep(Duration::from_millis(100))
        .stop_when_empty(true)
        .build()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), worker.run())
        .await
        .expect("the worker stops")
        .expect("the worker runs")
}

async fn scenario(mut store: Store) {
    let label = store.label().to_owned();
    let key = EncryptionKey::generate();
    let d = store.dyn_driver();
    let id = Queue::from_arc(d.clone())
        .with_keyring(Keyring::new(key.clone()))
        .dispatch(Charge {
            store: label.clone(),
            card: SECRET.into(),
        })
        .await
        .unwrap();
    assert_sealed(&mut store, &id, "while queued").await;

    // A worker without the key: failed with the reason, never run.
    let report = drain(&store, Keyring::new(EncryptionKey::generate())).await;
    assert_eq!(
        (report.counts.failed, report.counts.processed),
        (1, 0),
        "{report:?}"
    );
    let failed = d
        .failed_list(&FailedQuery {
            queue: Some(QueueName::new("enc").unwrap()),
            ..FailedQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].id, id);
    let reason = &failed[0].exception;
    assert!(reason.contains("cannot decrypt job data"), "{reason}");
    assert!(reason.contains(&key.id().to_string()), "{reason}");
    eprintln!("{label}: undecryptable job failed with: {reason}");
    assert!(
        !SEEN.lock().unwrap().iter().any(|(s, _)| *s == label),
        "{label}: the handler ran without the key"
    );
    assert_sealed(&mut store, &id, "in the failed store").await;

    // Retried, a worker with the key (rotated: now a previous key) runs it.
    assert!(d.failed_retry(&id).await.unwrap());
    let ring = Keyring::new(EncryptionKey::generate()).with_previous(key);
    let report = drain(&store, ring).await;
    assert_eq!(
        (report.counts.processed, report.counts.failed),
        (1, 0),
        "{report:?}"
    );
    let seen: Vec<String> = SEEN
        .lock()
        .unwrap()
        .iter()
        .filter(|(s, _)| *s == label)
        .map(|(_, c)| c.clone())
        .collect();
    assert_eq!(seen, vec![SECRET.to_owned()], "{label}");
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_stores_encrypted_data_only_and_the_worker_with_the_key_runs_it() {
    scenario(Store::redis().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_stores_encrypted_data_only_and_the_worker_with_the_key_runs_it() {
    scenario(Store::mysql().await).await;
}
