//! [`JobListing`] for [`RedisDriver`]: a queue's jobs by state, a page at a time,
//! and one job's stored envelope.
//!
//! Where each state's jobs are (see the `keys` module): ready in the ready list
//! (claim order from its head) and, for grouped jobs, in their group's lane
//! (`…:group:{g}`, listed lane by lane after the ready list, lanes sorted by group
//! name); delayed in the delayed zset (score = due ms); running in the reserved
//! zset (members `"{id}|{token}"`, score = lease deadline ms); waiting in the
//! waiting set, ordered by its index `…:waiting:order` (written with it; see
//! `lib.lua`'s `add_waiting`). Bodies and metadata (`"{id}:meta"`: attempts and
//! ready-since time) are in the jobs hash.
//!
//! Costs: a page is one `list_jobs.lua` call (one atomic snapshot, changes
//! nothing): O(offset + limit) list and zset reads and one `HMGET` for the page;
//! a ready page that goes past the ungrouped list also reads the names of the
//! groups with ready jobs (O(G log G)). `job_envelope` is one `HMGET`.

use async_trait::async_trait;
use redis::Value;
use routemq_core::{
    DriverError, JobId, JobListing, JobState, JobSummary, ListPage, QueueName, MAX_LIST_PAGE,
};

use crate::body::split_body;
use crate::error::bad_reply;
use crate::slot_pipeline::SlotPipeline;
use crate::RedisDriver;

/// The largest offset passed to the script: Lua numbers are doubles, exact up
/// to 2^53, and no list or zset comes near it.
const MAX_OFFSET: u64 = 1 << 53;

/// What `list_jobs.lua` calls `state`, or why it cannot be listed.
fn state_arg(state: JobState) -> Result<&'static str, DriverError> {
    match state {
        JobState::Ready | JobState::Delayed | JobState::Running | JobState::Waiting => {
            Ok(state.as_str())
        }
        other => Err(DriverError::InvalidArgument(format!(
            "cannot list {} jobs: only ready, delayed, running and waiting jobs are \
             listed (finished jobs are not kept in a queue; failed ones are in the \
             failed store)",
            other.as_str()
        ))),
    }
}

/// Attempts and ready-since ms from a `"{id}:meta"` value
/// (`"attempts|max_tries|ready_at_ms[tail]"`).
fn parse_meta(meta: &[u8]) -> Option<(u32, i64)> {
    let text = std::str::from_utf8(meta).ok()?;
    let mut parts = text.splitn(4, '|');
    let attempts = parts.next()?.parse().ok()?;
    let _max_tries: u32 = parts.next()?.parse().ok()?;
    let ready_at = parts.next()?.parse().ok()?;
    Some((attempts, ready_at))
}

/// A bulk string (or nil) of the script's reply.
fn bytes(what: &str, v: Value) -> Result<Option<Vec<u8>>, DriverError> {
    match v {
        Value::Nil => Ok(None),
        Value::BulkString(b) => Ok(Some(b)),
        Value::SimpleString(s) => Ok(Some(s.into_bytes())),
        other => Err(bad_reply(what, format_args!("{other:?}"))),
    }
}

/// One summary from the script's four values: id, body, metadata, score.
fn summary(
    state: JobState,
    id: Vec<u8>,
    body: Option<Vec<u8>>,
    meta: Option<Vec<u8>>,
    score: Option<Vec<u8>>,
) -> Result<JobSummary, DriverError> {
    let id = String::from_utf8_lossy(&id).into_owned();
    // A foreign, lost or corrupt job is shown with what is known, not skipped.
    let (attempts, ready_at) = meta.as_deref().and_then(parse_meta).unwrap_or((0, -1));
    let score = match score {
        Some(s) => Some(
            std::str::from_utf8(&s)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                // Scores are whole milliseconds, far inside f64's exact integers.
                .map(|s| s as i64)
                .ok_or_else(|| bad_reply("list_jobs.lua", "a score that is not a number"))?,
        ),
        None => None,
    };
    let (due_at_ms, lease_until_ms) = match state {
        JobState::Ready => ((ready_at >= 0).then_some(ready_at), None),
        JobState::Delayed => (score, None),
        JobState::Running => (None, score),
        _ => (None, None),
    };
    Ok(JobSummary {
        id: JobId::from_string(id),
        state,
        attempts,
        due_at_ms,
        lease_until_ms,
        envelope: body.unwrap_or_default(),
    })
}

#[async_trait]
impl JobListing for RedisDriver {
    async fn list_jobs(
        &self,
        queue: &QueueName,
        page: ListPage,
    ) -> Result<Vec<JobSummary>, DriverError> {
        let state = state_arg(page.state)?;
        let limit = page.limit.min(MAX_LIST_PAGE);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let k = self.inner.keys.queue(queue);
        let cmd = self.inner.pool.scripts().list_jobs.cmd(
            &[
                k.ready.as_str(),
                &k.delayed,
                &k.reserved,
                &k.jobs,
                &k.waiting,
                &k.waiting_order,
            ],
            (state, page.offset.min(MAX_OFFSET), limit),
        );
        let reply: Vec<Value> = self.inner.pool.cmd(&cmd).await?;
        if reply.len() % 4 != 0 {
            return Err(bad_reply(
                "list_jobs.lua",
                format_args!("{} values, not 4 per job", reply.len()),
            ));
        }
        let mut out = Vec::with_capacity(reply.len() / 4);
        let mut values = reply.into_iter();
        while let (Some(id), Some(body), Some(meta), Some(score)) =
            (values.next(), values.next(), values.next(), values.next())
        {
            let what = "list_jobs.lua";
            let id = bytes(what, id)?.ok_or_else(|| bad_reply(what, "a job without an id"))?;
            out.push(summary(
                page.state,
                id,
                bytes(what, body)?,
                bytes(what, meta)?,
                bytes(what, score)?,
            )?);
        }
        Ok(out)
    }

    /// The payload, while the job's metadata is there too, in front of it
    /// (`crate::body`) or in `"{id}:meta"` (a stored job always has it; this
    /// keeps an id such as `"{id}:meta"` from reading another field).
    async fn job_envelope(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError> {
        let k = self.inner.keys.queue(queue);
        // The job's bucket, and the pre-bucket hash for a job stored before
        // the buckets (see `crate::keys::job_hash`); the bucket's fields win.
        let meta = format!("{id}:meta");
        let mut pipe = SlotPipeline::new();
        pipe.cmd("HMGET")
            .arg(crate::keys::job_hash(&k.jobs, id.as_str()))
            .arg(id.as_str())
            .arg(&meta);
        pipe.cmd("HMGET").arg(&k.jobs).arg(id.as_str()).arg(&meta);
        type Fields = (Option<Vec<u8>>, Option<Vec<u8>>);
        let ((body, meta), (old_body, old_meta)): (Fields, Fields) =
            self.inner.pool.pipe(&pipe).await?;
        let (body, meta) = (body.or(old_body), meta.or(old_meta));
        Ok(body.and_then(|body| match split_body(&body) {
            (payload, Some(_)) => Some(payload.to_vec()),
            (_, None) if meta.is_some() => Some(body),
            _ => None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_states_are_refused_by_name() {
        for state in [JobState::Succeeded, JobState::Failed, JobState::Cancelled] {
            let err = state_arg(state).unwrap_err();
            assert!(
                matches!(&err, DriverError::InvalidArgument(m) if m.contains(state.as_str())),
                "{err}"
            );
        }
        assert_eq!(state_arg(JobState::Running).unwrap(), "running");
    }

    #[test]
    fn metadata_gives_attempts_and_ready_time() {
        assert_eq!(
            parse_meta(b"2|5|1700000000000"),
            Some((2, 1_700_000_000_000))
        );
        assert_eq!(parse_meta(b"0|1|17|w|c|next|"), Some((0, 17)));
        assert_eq!(parse_meta(b"junk"), None);
    }
}
