//! The dispatch API.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;

use crate::envelope::DataCheck;
use crate::{
    cancel_job, find_job, CancelOutcome, Codec, Dispatched, Driver, DriverError, Envelope,
    FailedStore, Job, JobId, JobOptions, JobStatus, Keyring, PendingJob, TraceContext, Uniqueness,
};

/// When a job dispatched later becomes claimable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// After this long from now.
    After(Duration),
    /// At this instant (a past instant means now).
    At(SystemTime),
}

impl When {
    fn instant(self) -> SystemTime {
        match self {
            When::After(d) => SystemTime::now() + d,
            When::At(t) => t,
        }
    }
}

impl From<Duration> for When {
    fn from(d: Duration) -> Self {
        When::After(d)
    }
}

impl From<SystemTime> for When {
    fn from(t: SystemTime) -> Self {
        When::At(t)
    }
}

/// The trace context stored with a new job: with feature `otel`, the current
/// span's W3C `traceparent`/`tracestate` (empty when there is no OpenTelemetry
/// span); without it, always empty.
fn dispatch_trace() -> TraceContext {
    #[cfg(feature = "otel")]
    {
        let mut trace = TraceContext::new();
        crate::otel::inject_current(&mut trace);
        trace
    }
    #[cfg(not(feature = "otel"))]
    TraceContext::new()
}

/// Dispatches typed jobs onto a [`Driver`]. Cheap to clone.
///
/// With feature `otel`, every dispatch method stores the current `tracing` span's
/// OpenTelemetry context in [`Envelope::trace`] (W3C `traceparent`, `tracestate`),
/// so the job's span on the worker continues the dispatcher's trace.
///
/// Jobs whose options say [`JobOptions::encrypted`] (or every job, with
/// [`Queue::encrypt_all`]) have their data sealed with the current key of the
/// queue's [`Keyring`]:
///
/// ```
/// # async fn demo() -> Result<(), routemq_core::DriverError> {
/// use routemq_core::{Keyring, MemoryDriver, Queue};
/// let keys = Keyring::from_env().expect("ROUTEMQ_ENCRYPTION_KEY is 32 bytes of base64");
/// let queue = Queue::new(MemoryDriver::new()).with_keyring(keys).encrypt_all(true);
/// # let _ = queue; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Queue {
    driver: Arc<dyn Driver>,
    keyring: Arc<Keyring>,
    encrypt_all: bool,
}

impl Queue {
    /// Wraps a driver.
    pub fn new(driver: impl Driver) -> Self {
        Self::from_arc(Arc::new(driver))
    }

    /// Wraps a shared driver.
    pub fn from_arc(driver: Arc<dyn Driver>) -> Self {
        Queue {
            driver,
            keyring: Arc::new(Keyring::empty()),
            encrypt_all: false,
        }
    }

    /// Encrypts with `keyring`'s current key (jobs that ask for encryption, or
    /// all jobs with [`Queue::encrypt_all`]).
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = Arc::new(keyring);
        self
    }

    /// Encrypts every job's data, not only those whose type asks for it
    /// (`ROUTEMQ_ENCRYPT_ALL=true` in the CLI). Dispatch then fails with
    /// [`DriverError::Encrypt`] when the keyring has no current key.
    pub fn encrypt_all(mut self, yes: bool) -> Self {
        self.encrypt_all = yes;
        self
    }

    /// The driver, to hand to a worker or to admin code.
    pub fn driver(&self) -> Arc<dyn Driver> {
        self.driver.clone()
    }

    /// Where job `id` is (looked up on every known queue, then in the failed
    /// store): delayed, ready, running (with its worker and progress),
    /// succeeded (while its record is kept), failed or cancelled; `None` when
    /// nothing is known of it.
    pub async fn status(&self, id: &JobId) -> Result<Option<JobStatus>, DriverError> {
        let failed: &dyn FailedStore = &*self.driver;
        find_job(&*self.driver, failed, id, None).await
    }

    /// The value job `id` kept ([`JobContext::set_result`](crate::JobContext::set_result)
    /// with [`JobOptions::keep_result`]), decoded as `T`; `None` while the job
    /// has not succeeded, when it kept nothing, or once its record expired.
    /// A value that does not decode as `T` is an error naming the job.
    pub async fn result<T: DeserializeOwned>(&self, id: &JobId) -> Result<Option<T>, DriverError> {
        let Some(status) = self.status(id).await? else {
            return Ok(None);
        };
        if !status.has_result {
            return Ok(None);
        }
        let Some(bytes) = self.driver.job_result(&status.queue, id).await? else {
            return Ok(None);
        };
        Ok(Some(
            Codec::Json.decode(&format!("the result of job {id}"), &bytes)?,
        ))
    }

    /// Cancels job `id`: a waiting job is removed and recorded as cancelled; a
    /// running one is stopped by its worker (its handler sees
    /// [`JobContext::cancelled`](crate::JobContext::cancelled) within about a
    /// second); either way it is not retried and not counted as failed.
    pub async fn cancel(&self, id: &JobId) -> Result<CancelOutcome, DriverError> {
        let failed: &dyn FailedStore = &*self.driver;
        Ok(cancel_job(&*self.driver, failed, id, None).await?.1)
    }

    /// Dispatches `job` with its type's options; claimable now.
    pub async fn dispatch<J: Job>(&self, job: J) -> Result<JobId, DriverError> {
        self.dispatch_with(job, &JobOptions::new(), None).await
    }

    /// Dispatches `job`, claimable at `when`.
    pub async fn dispatch_later<J: Job>(
        &self,
        when: impl Into<When>,
        job: J,
    ) -> Result<JobId, DriverError> {
        self.dispatch_with(job, &JobOptions::new(), Some(when.into()))
            .await
    }

    /// Dispatches `job` with `overrides` over its type's options, claimable at
    /// `when` (`None` = now). A unique job (see [`JobOptions::unique`]) that
    /// turns out a duplicate returns the holder's id;
    /// [`Queue::dispatch_unique`] also says whether it was one.
    pub async fn dispatch_with<J: Job>(
        &self,
        job: J,
        overrides: &JobOptions,
        when: Option<When>,
    ) -> Result<JobId, DriverError> {
        Ok(self.dispatch_unique(job, overrides, when).await?.id)
    }

    /// Dispatches `job` like [`Queue::dispatch_with`] and says what happened: a
    /// job whose options carry [`Unique`](crate::Unique) is stored with its lock
    /// in one atomic step, or, when its key is held, not stored at all
    /// ([`Dispatched::duplicate`], the holder's id; never an error) or merged into
    /// the holder ([`Dispatched::debounced`]). A job without uniqueness is always
    /// stored.
    ///
    /// ```
    /// # async fn demo(queue: routemq_core::Queue) -> Result<(), routemq_core::DriverError> {
    /// use routemq_core::{Job, JobContext, JobError, JobOptions, Unique};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Report { user: u64 }
    /// impl Job for Report {
    ///     const NAME: &'static str = "reports.build";
    ///     async fn handle(&self, _: &JobContext) -> Result<(), JobError> { Ok(()) }
    /// }
    /// let once = JobOptions::new().unique(Unique::key("report:42"));
    /// let first = queue.dispatch_unique(Report { user: 42 }, &once, None).await?;
    /// let again = queue.dispatch_unique(Report { user: 42 }, &once, None).await?;
    /// assert!(!first.duplicate && again.duplicate && again.id == first.id);
    /// # Ok(()) }
    /// ```
    pub async fn dispatch_unique<J: Job>(
        &self,
        job: J,
        overrides: &JobOptions,
        when: Option<When>,
    ) -> Result<Dispatched, DriverError> {
        let (pending, unique) = self.prepare(&job, overrides, when)?;
        self.store(pending, unique).await
    }

    /// Dispatches many jobs of one type in as few round trips as the driver
    /// allows; returns ids in input order. Nothing is stored if any job fails to
    /// encode or is too large. A type with [`JobOptions::unique`] is dispatched
    /// one job at a time (each duplicate gives its holder's id).
    pub async fn dispatch_bulk<J: Job>(
        &self,
        jobs: impl IntoIterator<Item = J>,
    ) -> Result<Vec<JobId>, DriverError> {
        let overrides = JobOptions::new();
        let prepared = jobs
            .into_iter()
            .map(|j| self.prepare(&j, &overrides, None))
            .collect::<Result<Vec<_>, _>>()?;
        if prepared.iter().any(|(_, u)| u.is_some()) {
            let mut ids = Vec::with_capacity(prepared.len());
            for (pending, unique) in prepared {
                ids.push(self.store(pending, unique).await?.id);
            }
            return Ok(ids);
        }
        let pending = prepared.into_iter().map(|(p, _)| p).collect();
        self.driver.push_bulk(pending).await
    }

    /// Dispatches an already-encoded job (the CLI's `push`): `data` must be valid
    /// for `codec`. Unique options are honoured as in [`Queue::dispatch_with`].
    pub async fn dispatch_raw(
        &self,
        name: &str,
        data: Vec<u8>,
        options: &JobOptions,
        when: Option<When>,
    ) -> Result<JobId, DriverError> {
        Ok(self
            .dispatch_raw_unique(name, data, options, when)
            .await?
            .id)
    }

    /// [`Queue::dispatch_raw`], saying whether it was a duplicate (as
    /// [`Queue::dispatch_unique`]).
    pub async fn dispatch_raw_unique(
        &self,
        name: &str,
        data: Vec<u8>,
        options: &JobOptions,
        when: Option<When>,
    ) -> Result<Dispatched, DriverError> {
        let (pending, unique) = self.build(name, (data, DataCheck::Parse), options, false, when)?;
        self.store(pending, unique).await
    }

    /// Encodes `job` into a [`PendingJob`] without storing it.
    pub fn pending<J: Job>(
        &self,
        job: &J,
        overrides: &JobOptions,
        when: Option<When>,
    ) -> Result<PendingJob, DriverError> {
        Ok(self.prepare(job, overrides, when)?.0)
    }

    /// Stores `pending`, under its uniqueness when it has one.
    async fn store(
        &self,
        pending: PendingJob,
        unique: Option<Uniqueness>,
    ) -> Result<Dispatched, DriverError> {
        match unique {
            None => Ok(Dispatched::stored(self.driver.push(pending).await?)),
            Some(unique) => self.driver.push_unique(pending, &unique).await,
        }
    }

    /// The pending job and its resolved uniqueness.
    fn prepare<J: Job>(
        &self,
        job: &J,
        overrides: &JobOptions,
        when: Option<When>,
    ) -> Result<(PendingJob, Option<Uniqueness>), DriverError> {
        let type_options = J::options();
        // A type that asks for encryption cannot be dispatched in the clear.
        let type_wants = type_options.resolved_encrypted();
        let options = type_options.merged(overrides);
        let codec: Codec = options.resolved_codec();
        let data = codec.encode(J::NAME, job)?;
        self.build(
            J::NAME,
            (data, DataCheck::CodecOutput),
            &options,
            type_wants,
            when,
        )
    }

    /// Resolves the uniqueness key from the plain data, seals the envelope and
    /// sets the due time (debounce: at least `debounce` from now). `data`
    /// comes with how much it is to be trusted when the envelope is written.
    fn build(
        &self,
        name: &str,
        (data, check): (Vec<u8>, DataCheck),
        options: &JobOptions,
        type_wants: bool,
        when: Option<When>,
    ) -> Result<(PendingJob, Option<Uniqueness>), DriverError> {
        let encrypt = type_wants || self.encrypt_all || options.resolved_encrypted();
        let unique = options
            .unique
            .as_ref()
            .map(|u| u.resolve(name, &data, encrypt))
            .transpose()?;
        let group = options.resolved_group()?;
        let envelope = self.envelope(name, data, options, encrypt)?;
        let mut at = when.map(When::instant);
        if let Some(delay) = unique.as_ref().and_then(|u| u.debounce) {
            let quiet = SystemTime::now() + delay;
            at = Some(at.map_or(quiet, |t| t.max(quiet)));
        }
        Ok((
            PendingJob::encoded(envelope, at, check)?.in_group(group),
            unique,
        ))
    }

    /// The envelope, sealed when `encrypt`.
    fn envelope(
        &self,
        name: &str,
        data: Vec<u8>,
        options: &JobOptions,
        encrypt: bool,
    ) -> Result<Envelope, DriverError> {
        let (id, created_at_ms) = JobId::generate_with_ms();
        let mut envelope = Envelope {
            id,
            name: name.to_owned(),
            queue: options.resolved_queue()?,
            codec: options.resolved_codec(),
            data,
            encryption: None,
            max_tries: options.resolved_max_tries(),
            timeout: options.resolved_timeout(),
            backoff: options.resolved_backoff(),
            created_at_ms,
            trace: dispatch_trace(),
            keep_result: options.keep_result,
        };
        if encrypt {
            self.keyring.seal(&mut envelope)?;
        }
        Ok(envelope)
    }
}
