//! [`JobListing`] for [`MysqlDriver`]: a queue's jobs in one state, a page at
//! a time, and one stored job's envelope. Plain reads (no lock is taken or
//! waited for, nothing is changed).
//!
//! Every listing is an ordered index range of exactly the jobs it lists, so a
//! page reads `offset + limit` index entries whatever the queue's length, and
//! only the page's `limit` rows: the offset is skipped in the index alone
//! (listing_page.sql). `listing_*.sql` name the index of each state:
//! - delayed: `queue_jobs_claim_index`, by due time;
//! - waiting: `queue_jobs_claim_index` at the sentinel due time, by row id;
//! - running: `queue_jobs_lease_index` (migration 0014), by lease deadline;
//! - ready: in two parts, as the contract orders them: the ungrouped jobs in
//!   claim order (`available_at, id`), then the grouped ones group by group in
//!   key order. The groups come from the queue's rotation (`queue_groups`,
//!   [`LANES_PER_READ`] at a time) and each read of their jobs is one exact
//!   range per group of `queue_jobs_group_index`, so a group's delayed or
//!   running jobs are never read. When a part gives no job while some of the
//!   page's offset is left, a count bounded by that offset (index entries only)
//!   says how much of it the part used up.

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use routemq_core::{
    unix_ms, DriverError, JobId, JobListing, JobState, JobSummary, ListPage, QueueName,
    MAX_LIST_PAGE,
};

use crate::driver::MysqlDriver;
use crate::error::map;
use crate::sql::{self, JobBy, Listed};
use crate::time::from_unix_text;
use crate::token;
use crate::tracking::job_by;

/// Groups of a queue's rotation one read of a ready listing looks at.
const LANES_PER_READ: usize = 64;

/// A listing_columns.sql row: id, uuid, attempts, available_at and lease_until
/// as Unix seconds text, payload.
type ListedRow = (
    u64,
    Option<String>,
    u32,
    Option<String>,
    Option<String>,
    Vec<u8>,
);

/// Milliseconds since the Unix epoch of a `UNIX_TIMESTAMP(…)` text (`None` for
/// NULL, or a value that is not a time).
fn ms(text: Option<String>) -> Option<i64> {
    text.as_deref().and_then(from_unix_text).map(unix_ms)
}

/// The summary of a job listed in `state`.
fn summary(state: JobState, (id, uuid, attempts, due, lease, payload): ListedRow) -> JobSummary {
    JobSummary {
        id: token::job_id(id, uuid),
        state,
        attempts,
        // Waiting jobs sit at the sentinel, which is no due time.
        due_at_ms: match state {
            JobState::Ready | JobState::Delayed => ms(due),
            _ => None,
        },
        lease_until_ms: match state {
            JobState::Running => ms(lease),
            _ => None,
        },
        envelope: payload,
    }
}

/// One part of a listing being read: what is left of the page's offset, and
/// the page so far.
struct Page {
    state: JobState,
    skip: u64,
    limit: usize,
    jobs: Vec<JobSummary>,
}

impl Page {
    fn full(&self) -> bool {
        self.jobs.len() >= self.limit
    }

    /// Appends the jobs `listed` with `params` (the filter's) gives after what
    /// is left of the offset. With `more` (another part follows) and no job
    /// found while an offset is left, counts (at most that offset) how many
    /// jobs this part holds, so the next part skips only the rest.
    async fn read(
        &mut self,
        conn: &mut Conn,
        listed: Listed,
        params: Vec<Value>,
        more: bool,
    ) -> Result<(), mysql_async::Error> {
        let want = (self.limit - self.jobs.len()) as u64;
        let (stmt, _) = sql::listing(listed);
        let mut page_params = params.clone();
        page_params.extend([Value::from(want), Value::from(self.skip)]);
        let rows: Vec<ListedRow> = conn.exec(stmt, page_params).await?;
        if !rows.is_empty() {
            self.skip = 0;
        } else if more && self.skip > 0 {
            let mut count_params = params;
            count_params.push(Value::from(self.skip));
            let held: Option<u64> = conn
                .exec_first(sql::listing_skipped(listed), count_params)
                .await?;
            self.skip -= held.unwrap_or(0).min(self.skip);
        }
        let state = self.state;
        self.jobs
            .extend(rows.into_iter().map(|row| summary(state, row)));
        Ok(())
    }
}

/// The ready jobs of `queue` on `page`: the ungrouped ones, then the groups'
/// (see the module documentation).
async fn ready(conn: &mut Conn, queue: &str, page: &mut Page) -> Result<(), mysql_async::Error> {
    page.read(conn, Listed::Ready, vec![Value::from(queue)], true)
        .await?;
    let mut after: Vec<u8> = Vec::new();
    while !page.full() {
        let lanes: Vec<Vec<u8>> = conn
            .exec(
                sql::LISTING_LANES,
                (queue, after.as_slice(), LANES_PER_READ as u64),
            )
            .await?;
        let Some(last) = lanes.last() else {
            break;
        };
        after = last.clone();
        let last_read = lanes.len() < LANES_PER_READ;
        let listed = Listed::ReadyLanes(lanes.len());
        let (_, padded) = sql::listing(listed);
        let mut params = vec![Value::from(queue)];
        params.extend(sql::pad(
            lanes.into_iter().map(Value::Bytes).collect(),
            padded,
        ));
        page.read(conn, listed, params, !last_read).await?;
        if last_read {
            break;
        }
    }
    Ok(())
}

#[async_trait]
impl JobListing for MysqlDriver {
    /// One indexed range read per page (ready: one per part; see the module
    /// documentation); the limit is cut to [`MAX_LIST_PAGE`].
    async fn list_jobs(
        &self,
        queue: &QueueName,
        page: ListPage,
    ) -> Result<Vec<JobSummary>, DriverError> {
        let listed = match page.state {
            JobState::Ready => None,
            JobState::Delayed => Some(Listed::Delayed),
            JobState::Running => Some(Listed::Running),
            JobState::Waiting => Some(Listed::Waiting),
            other => {
                let s = other.as_str();
                return Err(DriverError::InvalidArgument(format!(
                    "cannot list {s} jobs of a queue: {s} is a finished state; list waiting, \
                     delayed, ready or running jobs (failed jobs are listed by the failed store)"
                )));
            }
        };
        let limit = page.limit.min(MAX_LIST_PAGE);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut out = Page {
            state: page.state,
            skip: page.offset,
            limit,
            jobs: Vec::with_capacity(limit),
        };
        let mut conn = self.conn().await?;
        let q = queue.as_str();
        match listed {
            None => ready(&mut conn, q, &mut out).await,
            Some(listed) => {
                out.read(&mut conn, listed, vec![Value::from(q)], false)
                    .await
            }
        }
        .map_err(map)?;
        Ok(out.jobs)
    }

    /// One lookup through `queue_jobs_uuid_index` (or the primary key for a
    /// row written by hand, `db-<id>`). Failed jobs are not in `queue_jobs`:
    /// `None`, as for finished ones.
    async fn job_envelope(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError> {
        let (by, key): (JobBy, Value) = job_by(id);
        let mut conn = self.conn().await?;
        conn.exec_first(sql::job_envelope(by), (queue.as_str(), key))
            .await
            .map_err(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_carry_the_times_of_their_state() {
        let row = |due: Option<&str>, lease: Option<&str>| -> ListedRow {
            (
                7,
                None,
                2,
                due.map(str::to_owned),
                lease.map(str::to_owned),
                b"env".to_vec(),
            )
        };
        let s = summary(JobState::Ready, row(Some("1700000000.5"), None));
        assert_eq!(s.id.as_str(), "db-7");
        assert_eq!((s.attempts, s.due_at_ms), (2, Some(1_700_000_000_500)));
        assert_eq!((s.lease_until_ms, s.envelope), (None, b"env".to_vec()));
        let s = summary(JobState::Running, row(Some("1"), Some("2.25")));
        assert_eq!((s.due_at_ms, s.lease_until_ms), (None, Some(2250)));
        let s = summary(JobState::Waiting, row(Some("0"), None));
        assert_eq!(s.due_at_ms, None);
    }
}
