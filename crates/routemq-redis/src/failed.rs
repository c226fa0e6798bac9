//! [`FailedStore`] for [`RedisDriver`]: `routemq:queue:failed:{q}` lists of JSON records (newest
//! first) plus a per-queue index hash (id → record) for lookups by id.

use std::time::SystemTime;

use async_trait::async_trait;
use base64::Engine as _;
use routemq_core::{
    from_unix_ms, unix_ms, DriverError, FailedJob, FailedQuery, FailedStore, GroupKey, JobId,
    QueueAdmin, QueueName,
};
use serde::Deserialize;
use serde_json::Value;

use crate::lifecycle::now_ms;
use crate::slot_pipeline::SlotPipeline;
use crate::RedisDriver;

/// Records one prune call deletes at most.
const PRUNE_LIMIT: usize = 1_000;

/// A failed record as stored (lenient: records written by other producers may lack
/// fields).
#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    connection: String,
    #[serde(default)]
    queue: String,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    payload_encoding: Option<String>,
    #[serde(default)]
    exception: String,
    #[serde(default)]
    failed_at: Value,
    #[serde(default)]
    max_tries: Option<u32>,
    #[serde(default)]
    group: Option<String>,
}

/// A failed record found by id, with what a retry needs.
pub(crate) struct Found {
    pub job: FailedJob,
    pub queue: QueueName,
    pub raw: String,
    pub max_tries: u32,
}

fn failed_at(v: &Value) -> SystemTime {
    match v {
        // Milliseconds as written by this driver; small numbers are seconds.
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(ms), _) if ms > 100_000_000_000 => from_unix_ms(ms),
            (_, Some(secs)) => from_unix_ms((secs * 1000.0) as i64),
            _ => from_unix_ms(0),
        },
        _ => from_unix_ms(0),
    }
}

pub(crate) fn parse(raw: &str, queue: &QueueName) -> Option<(FailedJob, u32)> {
    let r: Record = match serde_json::from_str(raw) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(queue = %queue, error = %e, "skipping an unreadable failed-job record");
            return None;
        }
    };
    let payload = match (&r.payload, r.payload_encoding.as_deref()) {
        (Value::String(s), Some("base64")) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .unwrap_or_else(|_| s.as_bytes().to_vec()),
        (Value::String(s), _) => s.as_bytes().to_vec(),
        (Value::Null, _) => Vec::new(),
        (other, _) => other.to_string().into_bytes(),
    };
    let job = FailedJob {
        id: JobId::from_string(r.id),
        connection: if r.connection.is_empty() {
            crate::NAME.to_owned()
        } else {
            r.connection
        },
        queue: if r.queue.is_empty() {
            queue.to_string()
        } else {
            r.queue
        },
        payload,
        exception: r.exception,
        failed_at: failed_at(&r.failed_at),
        group: r.group.and_then(|g| GroupKey::new(g).ok()),
    };
    Some((job, r.max_tries.unwrap_or(1).max(1)))
}

impl RedisDriver {
    async fn failed_queues(&self, only: Option<&QueueName>) -> Result<Vec<QueueName>, DriverError> {
        match only {
            Some(q) => Ok(vec![q.clone()]),
            None => QueueAdmin::queues(self).await,
        }
    }

    pub(crate) async fn find_failed(&self, id: &JobId) -> Result<Option<Found>, DriverError> {
        let queues = QueueAdmin::queues(self).await?;
        if queues.is_empty() {
            return Ok(None);
        }
        let mut pipe = SlotPipeline::new();
        for queue in &queues {
            pipe.cmd("HGET")
                .arg(&self.inner.keys.queue(queue).failed_index)
                .arg(id.as_str());
        }
        let records: Vec<Option<String>> = self.inner.pool.pipe(&pipe).await?;
        for (queue, raw) in queues.into_iter().zip(records) {
            if let Some(raw) = raw {
                if let Some((job, max_tries)) = parse(&raw, &queue) {
                    return Ok(Some(Found {
                        job,
                        queue,
                        raw,
                        max_tries,
                    }));
                }
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl FailedStore for RedisDriver {
    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError> {
        let queues = self.failed_queues(query.queue.as_ref()).await?;
        let want = query.offset.saturating_add(query.limit);
        if queues.is_empty() || want == 0 {
            return Ok(Vec::new());
        }
        let mut pipe = SlotPipeline::new();
        for queue in &queues {
            pipe.cmd("LRANGE")
                .arg(&self.inner.keys.queue(queue).failed)
                .arg(0)
                .arg(want as i64 - 1);
        }
        let lists: Vec<Vec<String>> = self.inner.pool.pipe(&pipe).await?;
        // Each list is newest first; merge by failure time, keeping list order.
        let mut all: Vec<(i64, usize, FailedJob)> = Vec::new();
        for (queue, list) in queues.iter().zip(lists) {
            for raw in list {
                if let Some((job, _)) = parse(&raw, queue) {
                    all.push((-unix_ms(job.failed_at), all.len(), job));
                }
            }
        }
        all.sort_by_key(|(t, pos, _)| (*t, *pos));
        Ok(all
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|(_, _, job)| job)
            .collect())
    }

    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError> {
        Ok(self.find_failed(id).await?.map(|found| found.job))
    }

    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError> {
        // The script compares the record it removes with the one read here, so a
        // concurrent retry or forget makes this attempt read again.
        for _ in 0..3 {
            let Some(found) = self.find_failed(id).await? else {
                return Ok(false);
            };
            let k = self.inner.keys.queue(&found.queue);
            let cmd = self.inner.pool.scripts().failed_retry.cmd(
                &[&k.failed, &k.failed_index, &k.ready, &k.jobs, &k.notify],
                (
                    id.as_str(),
                    found.raw.as_str(),
                    found.job.payload.as_slice(),
                    found.max_tries,
                    now_ms(),
                    found.job.group.as_ref().map_or("", |g| g.as_str()),
                ),
            );
            if self.inner.pool.cmd::<i64>(&cmd).await? == 1 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError> {
        let Some(found) = self.find_failed(id).await? else {
            return Ok(false);
        };
        let k = self.inner.keys.queue(&found.queue);
        let cmd = self
            .inner
            .pool
            .scripts()
            .failed_forget
            .cmd(&[&k.failed, &k.failed_index], id.as_str());
        Ok(self.inner.pool.cmd::<i64>(&cmd).await? == 1)
    }

    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError> {
        let queues = self.failed_queues(queue).await?;
        if queues.is_empty() {
            return Ok(0);
        }
        let mut pipe = SlotPipeline::new();
        for queue in &queues {
            let k = self.inner.keys.queue(queue);
            pipe.add_command(
                self.inner
                    .pool
                    .scripts()
                    .failed_flush
                    .cmd(&[&k.failed, &k.failed_index], &[] as &[&str]),
            );
        }
        let counts: Vec<u64> = self.inner.pool.pipe(&pipe).await?;
        Ok(counts.into_iter().sum())
    }

    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError> {
        let cutoff = unix_ms(cutoff);
        let mut total = 0;
        for queue in QueueAdmin::queues(self).await? {
            let k = self.inner.keys.queue(&queue);
            loop {
                let cmd = self
                    .inner
                    .pool
                    .scripts()
                    .failed_prune
                    .cmd(&[&k.failed, &k.failed_index], (cutoff, PRUNE_LIMIT));
                let n: u64 = self.inner.pool.cmd(&cmd).await?;
                total += n;
                if n < PRUNE_LIMIT as u64 {
                    break;
                }
            }
        }
        Ok(total)
    }
}
