//! [`JobTracking`] for [`RedisDriver`]: job status, run records, kept results and
//! cancellation.
//!
//! Layout (see the `keys` module): a running attempt's run record is the field
//! `"{id}:run"` of the queue's jobs hash (JSON: the attempt's token, worker,
//! progress, error), a cancel request of a running job the field `"{id}:cancel"`,
//! so both go with the job's other fields on every ack, fail, cancel and clear; a
//! finished job's kept record is the string `routemq:queue:{q}:done:{id}`
//! (`"state|attempts|max_tries|finished_at_ms|has_result|result"`, the result
//! bytes as they are) with a time to live, so it expires by itself. Every state
//! change is one script: `finish.lua` (`ack_and_keep`, `ack_cancelled`),
//! `cancel.lua`, `record_runs.lua`; `status.lua` and `cancel_requests.lua` read.
//! `release.lua` and `reclaim.lua` end a job with a cancel request as cancelled.
//! A job waiting for its chain or batch (in the queue's `waiting` set, see
//! `workflows.rs`) is reported as waiting and cancelled like a job not started;
//! every ending of a chain's or batch's job applies its workflow effects in the
//! same script (`flow_settled` in `lib.lua`).
//!
//! Costs: a plain claim or ack pays nothing (an ack's one `HDEL` names two more
//! fields per job); `record_runs` and `cancel_requests` are one pipelined script
//! call per queue per 1,000 leases; `job_status` and `cancel` of a job that is
//! not delayed scan the queue's reserved set (`ZSCAN … MATCH "{id}|*"`, O(reserved
//! jobs)), and a cancel of a ready job removes it from its list with an `LREM`
//! (O(list length)), as a debounce does.

use std::time::Duration;

use async_trait::async_trait;
use routemq_core::{
    CancelOutcome, Codec, CodecError, DriverError, JobId, JobState, JobStatus, JobTracking, Lease,
    Progress, QueueName, RunReport, CANCELLED_KEPT_FOR, MAX_PROGRESS_MESSAGE, MAX_RUN_ERROR,
};
use serde::{Deserialize, Serialize};

use crate::error::{bad_record, bad_reply};
use crate::keys::QueueKeys;
use crate::lifecycle::{ms, now_ms};
use crate::queue_groups::by_queue;
use crate::slot_pipeline::SlotPipeline;
use crate::RedisDriver;

/// Leases (or reports) per script call of `record_runs` and `cancel_requests`.
const BATCH: usize = 1_000;

/// A run record as written (field `"{id}:run"`).
#[derive(Serialize)]
struct RunRecordOut<'a> {
    /// The attempt's owner token: the record is the current attempt's only while
    /// it matches the reservation's.
    t: &'a str,
    /// The worker.
    w: &'a str,
    /// The latest progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<Progress>,
    /// The attempt's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<&'a str>,
}

/// A run record as read.
#[derive(Deserialize)]
struct RunRecordIn {
    t: String,
    w: String,
    #[serde(default)]
    p: Option<Progress>,
    #[serde(default)]
    e: Option<String>,
}

/// A finished job's kept record (string `…:done:{id}`).
struct Finished {
    state: JobState,
    attempts: u32,
    max_tries: u32,
    finished_at_ms: i64,
    has_result: bool,
    /// The result bytes (only when the whole record was read).
    result: Option<Vec<u8>>,
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The state named by a finished record's first field.
fn finished_state(field: &[u8]) -> Option<JobState> {
    match field {
        b"s" => Some(JobState::Succeeded),
        b"c" => Some(JobState::Cancelled),
        _ => None,
    }
}

fn number<T: std::str::FromStr>(field: Option<&[u8]>) -> Option<T> {
    std::str::from_utf8(field?).ok()?.parse().ok()
}

/// Parses a finished record (or its head, as `status.lua` returns it) stored at
/// `key`.
fn parse_finished(key: &str, rec: &[u8]) -> Result<Finished, DriverError> {
    let bad = || bad_record(key, "finished record", String::from_utf8_lossy(rec));
    let mut parts = rec.splitn(6, |b| *b == b'|');
    let state = parts.next().and_then(finished_state).ok_or_else(bad)?;
    let attempts = number(parts.next()).ok_or_else(bad)?;
    let max_tries = number(parts.next()).ok_or_else(bad)?;
    let finished_at_ms = number(parts.next()).ok_or_else(bad)?;
    let has_result = match parts.next() {
        Some(b"1") => true,
        Some(b"0") => false,
        _ => return Err(bad()),
    };
    let result = match (has_result, parts.next()) {
        (true, Some(r)) => Some(r.to_vec()),
        _ => None,
    };
    Ok(Finished {
        state,
        attempts,
        max_tries,
        finished_at_ms,
        has_result,
        result,
    })
}

/// Attempts and max tries from a `"{id}:meta"` field
/// (`"attempts|max_tries|ready_at_ms[tail]"`).
fn parse_meta(k: &QueueKeys, id: &JobId, meta: &[u8]) -> Result<(u32, u32), DriverError> {
    let mut parts = meta.splitn(3, |b| *b == b'|');
    match (number(parts.next()), number(parts.next()), parts.next()) {
        (Some(attempts), Some(max_tries), Some(_)) => Ok((attempts, max_tries)),
        _ => Err(bad_record(
            &format!(
                "{} field {id}:meta",
                String::from_utf8_lossy(&crate::keys::job_hash(&k.jobs, id.as_str()))
            ),
            "job metadata",
            String::from_utf8_lossy(meta),
        )),
    }
}

fn parse_run(k: &QueueKeys, id: &JobId, run: &[u8]) -> Result<RunRecordIn, DriverError> {
    serde_json::from_slice(run).map_err(|e| {
        bad_record(
            &format!(
                "{} field {id}:run",
                String::from_utf8_lossy(&crate::keys::job_hash(&k.jobs, id.as_str()))
            ),
            "run record",
            format_args!("{e}: {}", String::from_utf8_lossy(run)),
        )
    })
}

/// A score as whole milliseconds.
fn score_ms(what: &str, score: Option<&[u8]>) -> Result<i64, DriverError> {
    number::<f64>(score)
        // Scores are whole milliseconds, far inside f64's exact integers.
        .map(|s| s as i64)
        .ok_or_else(|| bad_reply(what, "a score that is not a number"))
}

impl RedisDriver {
    /// `finish.lua`: ends a reserved job as `state` ('s' or 'c'), keeping its
    /// record for `keep_for`.
    async fn finish(
        &self,
        lease: &Lease,
        state: &str,
        result: Option<&[u8]>,
        keep_for: Duration,
    ) -> Result<(), DriverError> {
        let k = self.inner.keys.queue(&lease.queue);
        let done = k.done_record(lease.job_id.as_str());
        let cmd = self.inner.pool.scripts().finish.cmd(
            &[
                k.reserved.as_str(),
                &k.jobs,
                &k.unique,
                &k.ready,
                &k.rate,
                &k.notify,
                &done,
            ],
            (
                lease.job_id.as_str(),
                lease.token.0.as_str(),
                state,
                now_ms(),
                ms(keep_for),
                u8::from(result.is_some()),
                result.unwrap_or_default(),
            ),
        );
        self.fenced(lease, self.inner.pool.cmd(&cmd).await?)
    }
}

#[async_trait]
impl JobTracking for RedisDriver {
    async fn job_status(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<JobStatus>, DriverError> {
        let k = self.inner.keys.queue(queue);
        let done = k.done_record(id.as_str());
        let cmd = self.inner.pool.scripts().status.cmd(
            &[k.delayed.as_str(), &k.reserved, &k.jobs, &done, &k.waiting],
            id.as_str(),
        );
        let reply: Vec<Option<Vec<u8>>> = self.inner.pool.cmd(&cmd).await?;
        let at = |i: usize| reply.get(i).and_then(|v| v.as_deref());
        let Some(kind) = at(0) else {
            return Ok(None);
        };
        if kind == b"f" {
            let head = at(1).ok_or_else(|| bad_reply("status.lua", "no finished record"))?;
            let f = parse_finished(&done, head)?;
            let mut status = JobStatus::new(id.clone(), queue.clone(), f.state, f.attempts);
            status.max_tries = f.max_tries;
            status.finished_at_ms = Some(f.finished_at_ms);
            status.has_result = f.has_result;
            return Ok(Some(status));
        }
        let meta = at(1).ok_or_else(|| bad_reply("status.lua", "no job metadata"))?;
        let (attempts, max_tries) = parse_meta(&k, id, meta)?;
        let run = at(2).map(|r| parse_run(&k, id, r)).transpose()?;
        let state = match kind {
            b"d" => JobState::Delayed,
            b"a" => JobState::Waiting,
            b"r" => JobState::Running,
            b"w" => JobState::Ready,
            other => {
                return Err(bad_reply(
                    "status.lua",
                    format_args!("unknown kind {:?}", String::from_utf8_lossy(other)),
                ))
            }
        };
        let mut status = JobStatus::new(id.clone(), queue.clone(), state, attempts);
        status.max_tries = max_tries;
        match state {
            JobState::Delayed => status.due_at_ms = Some(score_ms("status.lua", at(3))?),
            JobState::Running => {
                let member = at(3).ok_or_else(|| bad_reply("status.lua", "no reservation"))?;
                let token = member.rsplit(|b| *b == b'|').next().unwrap_or_default();
                status.lease_until_ms = Some(score_ms("status.lua", at(4))?);
                status.cancel_requested = at(5).is_some();
                if let Some(run) = run.as_ref().filter(|r| r.t.as_bytes() == token) {
                    status.worker = Some(run.w.clone());
                    status.progress = run.p.clone();
                }
            }
            _ => {}
        }
        status.last_error = run.and_then(|r| r.e);
        Ok(Some(status))
    }

    async fn job_result(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError> {
        let done = self.inner.keys.queue(queue).done_record(id.as_str());
        let rec: Option<Vec<u8>> = self.inner.pool.cmd(redis::cmd("GET").arg(&done)).await?;
        match rec {
            Some(rec) => Ok(parse_finished(&done, &rec)?.result),
            None => Ok(None),
        }
    }

    async fn record_runs(&self, reports: &[RunReport]) -> Result<(), DriverError> {
        if reports.is_empty() {
            return Ok(());
        }
        let mut pipe = SlotPipeline::new();
        for (queue, list) in by_queue(reports, |r| &r.lease.queue) {
            let k = self.inner.keys.queue(queue);
            for chunk in list.chunks(BATCH) {
                let mut args: Vec<String> = Vec::with_capacity(chunk.len() * 3);
                for r in chunk {
                    let progress = r.progress.as_ref().map(|p| Progress {
                        percent: if p.percent.is_nan() {
                            0.0
                        } else {
                            p.percent.clamp(0.0, 100.0)
                        },
                        message: cut(&p.message, MAX_PROGRESS_MESSAGE).to_owned(),
                        at_ms: p.at_ms,
                    });
                    let record = RunRecordOut {
                        t: &r.lease.token.0,
                        w: &r.worker,
                        p: progress,
                        e: r.error.as_deref().map(|e| cut(e, MAX_RUN_ERROR)),
                    };
                    let json = serde_json::to_string(&record).map_err(|e| {
                        DriverError::Codec(CodecError::Encode {
                            what: format!("run record of job {}", r.lease.job_id),
                            codec: Codec::Json,
                            message: e.to_string(),
                        })
                    })?;
                    args.push(r.lease.job_id.as_str().to_owned());
                    args.push(r.lease.token.0.clone());
                    args.push(json);
                }
                pipe.add_command(
                    self.inner
                        .pool
                        .scripts()
                        .record_runs
                        .cmd(&[&k.reserved, &k.jobs], args),
                )
                .ignore();
            }
        }
        self.inner.pool.pipe::<()>(&pipe).await
    }

    async fn ack_and_keep(
        &self,
        lease: &Lease,
        result: Option<&[u8]>,
        keep_for: Duration,
    ) -> Result<(), DriverError> {
        self.finish(lease, "s", result, keep_for).await
    }

    async fn cancel(&self, queue: &QueueName, id: &JobId) -> Result<CancelOutcome, DriverError> {
        let k = self.inner.keys.queue(queue);
        let done = k.done_record(id.as_str());
        let cmd = self.inner.pool.scripts().cancel.cmd(
            &[
                k.ready.as_str(),
                &k.delayed,
                &k.reserved,
                &k.jobs,
                &k.unique,
                &done,
                &k.waiting,
            ],
            (id.as_str(), now_ms(), ms(CANCELLED_KEPT_FOR)),
        );
        let (code, state): (i64, Vec<u8>) = self.inner.pool.cmd(&cmd).await?;
        Ok(match code {
            0 => CancelOutcome::NotFound,
            1 => CancelOutcome::Removed,
            2 => CancelOutcome::Requested,
            3 => match finished_state(&state) {
                Some(s) => CancelOutcome::AlreadyFinished(s),
                None => {
                    return Err(bad_record(
                        &done,
                        "finished record",
                        format_args!("state {:?}", String::from_utf8_lossy(&state)),
                    ))
                }
            },
            n => return Err(bad_reply("cancel.lua", format_args!("outcome {n}"))),
        })
    }

    async fn cancel_requests(&self, leases: &[Lease]) -> Result<Vec<JobId>, DriverError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = SlotPipeline::new();
        for (queue, list) in by_queue(leases, |l| &l.queue) {
            let k = self.inner.keys.queue(queue);
            for chunk in list.chunks(BATCH) {
                let args: Vec<&str> = chunk
                    .iter()
                    .flat_map(|l| [l.job_id.as_str(), l.token.0.as_str()])
                    .collect();
                pipe.add_command(
                    self.inner
                        .pool
                        .scripts()
                        .cancel_requests
                        .cmd(&[&k.reserved, &k.jobs], args),
                );
            }
        }
        let flagged: Vec<Vec<String>> = self.inner.pool.pipe(&pipe).await?;
        Ok(flagged
            .into_iter()
            .flatten()
            .map(JobId::from_string)
            .collect())
    }

    async fn ack_cancelled(&self, lease: &Lease) -> Result<(), DriverError> {
        self.finish(lease, "c", None, CANCELLED_KEPT_FOR).await
    }
}
