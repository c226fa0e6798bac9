//! The in-memory driver: the demo's embedded default and a fast test bed. It keeps
//! the whole [`Driver`](crate::Driver) contract, but nothing survives the process.
//! The state and its helpers are here; each capability trait is implemented in the
//! module of its name.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::{
    from_unix_ms, unix_ms, DriverError, FailedJob, GroupKey, JobId, Lease, LeaseToken, PendingJob,
    QueueName, UniqueKey, WorkerInfo,
};

mod admin;
mod failed_store;
mod groups;
mod history;
mod lifecycle;
mod listing;
mod rate_limits;
mod schedule_store;
mod tracking;
mod unique;
mod worker_registry;
mod workflows;

use rate_limits::Limiter;

const NAME: &str = "memory";

/// Stores jobs in process memory. Clones share the same store.
#[derive(Debug, Clone)]
pub struct MemoryDriver {
    inner: Arc<Inner>,
    max_payload: usize,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Debug)]
struct StoredJob {
    queue: QueueName,
    max_tries: u32,
    payload: Vec<u8>,
    attempts: u32,
    /// The uniqueness key it holds, and whether the lock goes at claim.
    unique: Option<(UniqueKey, bool)>,
    /// Its group: where it waits when ready.
    group: Option<GroupKey>,
    /// The latest run record its worker wrote (see `tracking.rs`).
    run: Option<tracking::RunRecord>,
    /// A cancel was requested while it ran.
    cancel: bool,
    /// Its chain or batch (see `workflows.rs`).
    flow: Option<workflows::Flow>,
    /// Stored but not claimable until its chain or batch releases it.
    waiting: bool,
    /// The store's sequence number when it was stored: its age (listing order
    /// of waiting jobs).
    stored_seq: u64,
}

#[derive(Debug, Default)]
struct QueueState {
    /// Ungrouped ready jobs: (job, available-at ms), FIFO.
    ready: VecDeque<(JobId, i64)>,
    /// Grouped ready jobs: one FIFO per group with ready jobs.
    groups: HashMap<GroupKey, VecDeque<(JobId, i64)>>,
    /// Lanes with ready jobs, in turn (`None` = the ungrouped list); empty while
    /// no group has ready jobs.
    rotation: VecDeque<Option<GroupKey>>,
    /// (available-at ms, sequence) → job.
    delayed: BTreeMap<(i64, u64), JobId>,
    /// job → (owner token, lease deadline ms).
    reserved: HashMap<JobId, (LeaseToken, i64)>,
    /// Waiting jobs (chain links, batch callbacks): never claimed.
    waiting: BTreeSet<JobId>,
}

#[derive(Debug)]
struct FailedRecord {
    job: FailedJob,
    max_tries: u32,
    seq: u64,
}

#[derive(Debug, Default)]
struct State {
    seq: u64,
    jobs: HashMap<JobId, StoredJob>,
    queues: BTreeMap<QueueName, QueueState>,
    failed: HashMap<JobId, FailedRecord>,
    /// worker id → (info, expiry ms).
    workers: BTreeMap<String, (WorkerInfo, i64)>,
    /// Paused queues: `claim` and `wait_for_jobs` skip them.
    paused: BTreeSet<QueueName>,
    /// Schedules by name.
    schedules: BTreeMap<String, schedule_store::StoredSchedule>,
    /// Uniqueness locks: (queue, key) → (holder, expiry ms).
    locks: HashMap<(QueueName, UniqueKey), (JobId, i64)>,
    /// Rate limits, their windows and holds: `claim` and `wait_for_jobs` obey them.
    limiters: BTreeMap<QueueName, Limiter>,
    /// Kept records of finished jobs (succeeded with a kept result, cancelled),
    /// each with its expiry.
    finished: HashMap<JobId, tracking::Finished>,
    /// When expired finished records were last dropped (ms).
    finished_pruned_at: i64,
    /// Batches by id.
    batches: HashMap<crate::BatchId, workflows::BatchState>,
    /// Throughput history: queue → minute → counts (see `history.rs`).
    history: BTreeMap<QueueName, BTreeMap<crate::UnixMinute, crate::HistoryCounts>>,
}

impl Default for MemoryDriver {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDriver {
    /// The default payload limit: 64 MiB.
    pub const DEFAULT_MAX_PAYLOAD: usize = 64 << 20;

    /// An empty store.
    pub fn new() -> Self {
        MemoryDriver {
            inner: Arc::new(Inner::default()),
            max_payload: Self::DEFAULT_MAX_PAYLOAD,
        }
    }

    /// Sets the payload limit in bytes.
    pub fn with_max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The reserved jobs of each group of `q` (what a group concurrency cap counts).
fn running_by_group(jobs: &HashMap<JobId, StoredJob>, q: &QueueState) -> HashMap<GroupKey, usize> {
    let mut running: HashMap<GroupKey, usize> = HashMap::new();
    for id in q.reserved.keys() {
        if let Some(g) = jobs.get(id).and_then(|j| j.group.as_ref()) {
            *running.entry(g.clone()).or_default() += 1;
        }
    }
    running
}

impl State {
    /// The running jobs of each group of `queue` while it has a group
    /// concurrency cap (empty otherwise: nothing is capped).
    fn running_by_group(&self, queue: &QueueName) -> HashMap<GroupKey, usize> {
        let capped = self
            .limiters
            .get(queue)
            .is_some_and(|l| l.group_cap().is_some());
        match self.queues.get(queue) {
            Some(q) if capped => running_by_group(&self.jobs, q),
            _ => HashMap::new(),
        }
    }

    /// True when ending `lease` frees a running slot of a capped group (so
    /// waiters must look again).
    fn frees_group_slot(&self, lease: &Lease) -> bool {
        self.jobs
            .get(&lease.job_id)
            .is_some_and(|j| j.group.is_some())
            && self
                .limiters
                .get(&lease.queue)
                .is_some_and(|l| l.group_cap().is_some())
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn insert(&mut self, job: PendingJob, now: i64) {
        let at = job.available_at.map(unix_ms).unwrap_or(now);
        let seq = self.next_seq();
        let q = self.queues.entry(job.queue.clone()).or_default();
        if at > now {
            q.delayed.insert((at, seq), job.id.clone());
        } else {
            q.enqueue(job.id.clone(), at, job.group.as_ref());
        }
        self.jobs.insert(
            job.id,
            StoredJob {
                queue: job.queue,
                max_tries: job.max_tries.max(1),
                payload: job.payload,
                attempts: 0,
                unique: None,
                group: job.group,
                run: None,
                cancel: false,
                flow: None,
                waiting: false,
                stored_seq: seq,
            },
        );
    }

    fn promote_due(&mut self, queue: &QueueName, now: i64) {
        let State { queues, jobs, .. } = self;
        if let Some(q) = queues.get_mut(queue) {
            while let Some(entry) = q.delayed.first_entry() {
                let (at, _) = *entry.key();
                if at > now {
                    break;
                }
                let id = entry.remove();
                let group = jobs.get(&id).and_then(|j| j.group.as_ref());
                q.enqueue(id, at, group);
            }
        }
    }

    /// Makes job `id` of `queue` ready at `at` (ms), in its group's lane.
    fn make_ready(&mut self, queue: &QueueName, id: JobId, at: i64) {
        let group = self.jobs.get(&id).and_then(|j| j.group.clone());
        self.queues
            .entry(queue.clone())
            .or_default()
            .enqueue(id, at, group.as_ref());
    }

    /// Checks the owner token; returns the stored reservation's deadline.
    fn owned(&self, lease: &Lease) -> Result<i64, DriverError> {
        self.queues
            .get(&lease.queue)
            .and_then(|q| q.reserved.get(&lease.job_id))
            .filter(|(token, _)| *token == lease.token)
            .map(|(_, deadline)| *deadline)
            .ok_or_else(|| DriverError::LeaseLost {
                job_id: lease.job_id.clone(),
            })
    }

    fn move_to_failed(&mut self, id: &JobId, exception: String, now: i64) {
        self.settled(id, workflows::Outcome::Failed, now);
        if let Some(job) = self.remove_job(id) {
            let seq = self.next_seq();
            self.failed.insert(
                id.clone(),
                FailedRecord {
                    job: FailedJob {
                        id: id.clone(),
                        connection: NAME.to_owned(),
                        queue: job.queue.to_string(),
                        payload: job.payload,
                        exception,
                        failed_at: from_unix_ms(now),
                        group: job.group,
                    },
                    max_tries: job.max_tries,
                    seq,
                },
            );
        }
    }
}
