//! The dispatch API.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::{
    unix_ms, Codec, Driver, DriverError, Envelope, Job, JobId, JobOptions, PendingJob, TraceContext,
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

/// Dispatches typed jobs onto a [`Driver`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Queue {
    driver: Arc<dyn Driver>,
}

impl Queue {
    /// Wraps a driver.
    pub fn new(driver: impl Driver) -> Self {
        Queue {
            driver: Arc::new(driver),
        }
    }

    /// Wraps a shared driver.
    pub fn from_arc(driver: Arc<dyn Driver>) -> Self {
        Queue { driver }
    }

    /// The driver, to hand to a worker or to admin code.
    pub fn driver(&self) -> Arc<dyn Driver> {
        self.driver.clone()
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
    /// `when` (`None` = now).
    pub async fn dispatch_with<J: Job>(
        &self,
        job: J,
        overrides: &JobOptions,
        when: Option<When>,
    ) -> Result<JobId, DriverError> {
        let pending = self.pending(&job, overrides, when)?;
        self.driver.push(pending).await
    }

    /// Dispatches many jobs of one type in as few round trips as the driver
    /// allows; returns ids in input order. Nothing is stored if any job fails to
    /// encode or is too large.
    pub async fn dispatch_bulk<J: Job>(
        &self,
        jobs: impl IntoIterator<Item = J>,
    ) -> Result<Vec<JobId>, DriverError> {
        let overrides = JobOptions::new();
        let pending = jobs
            .into_iter()
            .map(|j| self.pending(&j, &overrides, None))
            .collect::<Result<Vec<_>, _>>()?;
        self.driver.push_bulk(pending).await
    }

    /// Dispatches an already-encoded job (the CLI's `push`): `data` must be valid
    /// for `codec`.
    pub async fn dispatch_raw(
        &self,
        name: &str,
        data: Vec<u8>,
        options: &JobOptions,
        when: Option<When>,
    ) -> Result<JobId, DriverError> {
        let envelope = Self::envelope(name, data, options)?;
        let pending = PendingJob::new(&envelope, when.map(When::instant))?;
        self.driver.push(pending).await
    }

    /// Encodes `job` into a [`PendingJob`] without storing it.
    pub fn pending<J: Job>(
        &self,
        job: &J,
        overrides: &JobOptions,
        when: Option<When>,
    ) -> Result<PendingJob, DriverError> {
        let options = J::options().merged(overrides);
        let codec: Codec = options.resolved_codec();
        let data = codec.encode(J::NAME, job)?;
        let envelope = Self::envelope(J::NAME, data, &options)?;
        Ok(PendingJob::new(&envelope, when.map(When::instant))?)
    }

    fn envelope(name: &str, data: Vec<u8>, options: &JobOptions) -> Result<Envelope, DriverError> {
        Ok(Envelope {
            id: JobId::generate(),
            name: name.to_owned(),
            queue: options.resolved_queue()?,
            codec: options.resolved_codec(),
            data,
            max_tries: options.resolved_max_tries(),
            timeout: options.resolved_timeout(),
            backoff: options.resolved_backoff(),
            created_at_ms: unix_ms(SystemTime::now()),
            trace: TraceContext::new(),
        })
    }
}
