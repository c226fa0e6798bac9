//! The registry of job types a worker can run, keyed by [`Job::NAME`].
//!
//! Each registered type is stored behind a type-erased [`JobType`] that decodes an
//! envelope's data into a [`LoadedJob`]: a boxed job whose `handle` and `failed`
//! return boxed futures, so the run loop never names a concrete job type.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use routemq_core::{CodecError, Envelope, Job, JobContext, JobError};

use crate::WorkerError;

/// A boxed, sendable future borrowing from `'a`.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One decoded job, ready to run.
pub(crate) trait LoadedJob: Send + Sync + 'static {
    /// Runs [`Job::handle`].
    fn handle<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<(), JobError>>;
    /// Runs [`Job::failed`].
    fn failed<'a>(&'a self, ctx: &'a JobContext, error: &'a JobError) -> BoxFuture<'a, ()>;
}

impl<J: Job> LoadedJob for J {
    fn handle<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(Job::handle(self, ctx))
    }
    fn failed<'a>(&'a self, ctx: &'a JobContext, error: &'a JobError) -> BoxFuture<'a, ()> {
        Box::pin(Job::failed(self, ctx, error))
    }
}

/// A registered job type: decodes envelopes of its name.
trait JobType: Send + Sync + 'static {
    fn decode(&self, envelope: &Envelope) -> Result<Arc<dyn LoadedJob>, CodecError>;
    fn type_id(&self) -> TypeId;
}

struct Typed<J>(PhantomData<fn() -> J>);

impl<J: Job> JobType for Typed<J> {
    fn decode(&self, envelope: &Envelope) -> Result<Arc<dyn LoadedJob>, CodecError> {
        let what = format!("job data of {:?}", J::NAME);
        let job: J = envelope.codec.decode(&what, &envelope.data)?;
        Ok(Arc::new(job))
    }
    fn type_id(&self) -> TypeId {
        TypeId::of::<J>()
    }
}

/// Why an envelope could not become a runnable job.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    /// No type registered under the envelope's name.
    #[error("no job type named {name:?} is registered on this worker (registered: {registered}); the job was not run")]
    Unknown { name: String, registered: String },
    /// The data does not decode as the registered type.
    /// (The codec's message is part of this one, so it is not also a `source()`.)
    #[error("{0}; the job was not run")]
    Data(CodecError),
}

/// Job types by name.
#[derive(Clone, Default)]
pub(crate) struct Registry {
    types: BTreeMap<&'static str, Arc<dyn JobType>>,
    duplicate: Option<&'static str>,
}

impl Registry {
    /// Adds `J`; registering the same type twice is harmless, a second type under
    /// the same name is remembered and reported by [`Registry::check`].
    pub(crate) fn register<J: Job>(&mut self) {
        let entry: Arc<dyn JobType> = Arc::new(Typed::<J>(PhantomData));
        if let Some(existing) = self.types.get(J::NAME) {
            if existing.type_id() != TypeId::of::<J>() {
                self.duplicate.get_or_insert(J::NAME);
            }
            return;
        }
        self.types.insert(J::NAME, entry);
    }

    /// Rejects an empty registry or a name shared by two types.
    pub(crate) fn check(&self) -> Result<(), WorkerError> {
        if let Some(name) = self.duplicate {
            return Err(WorkerError::DuplicateJobName(name));
        }
        if self.types.is_empty() {
            return Err(WorkerError::NoJobsRegistered);
        }
        Ok(())
    }

    /// Registered names, sorted.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.types.keys().copied().collect()
    }

    /// Finds the envelope's type and decodes its data.
    pub(crate) fn load(&self, envelope: &Envelope) -> Result<Arc<dyn LoadedJob>, LoadError> {
        let Some(job_type) = self.types.get(envelope.name.as_str()) else {
            return Err(LoadError::Unknown {
                name: envelope.name.clone(),
                registered: self.names().join(", "),
            });
        };
        job_type.decode(envelope).map_err(LoadError::Data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use routemq_core::{Backoff, Codec, JobId, QueueName};
    use serde::{Deserialize, Serialize};
    use std::time::Duration;

    #[derive(Serialize, Deserialize)]
    struct A {
        n: u32,
    }
    impl Job for A {
        const NAME: &'static str = "a";
        async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
            Ok(())
        }
    }
    #[derive(Serialize, Deserialize)]
    struct AlsoA;
    impl Job for AlsoA {
        const NAME: &'static str = "a";
        async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
            Ok(())
        }
    }

    fn envelope(name: &str, data: &[u8]) -> Envelope {
        Envelope {
            id: JobId::generate(),
            name: name.into(),
            queue: QueueName::new("default").unwrap(),
            codec: Codec::Json,
            data: data.to_vec(),
            encryption: None,
            max_tries: 1,
            timeout: Duration::from_secs(1),
            backoff: Backoff::default(),
            created_at_ms: 0,
            trace: Default::default(),
            keep_result: None,
        }
    }

    #[test]
    fn loads_known_rejects_unknown_and_bad_data() {
        let mut r = Registry::default();
        assert!(matches!(r.check(), Err(WorkerError::NoJobsRegistered)));
        r.register::<A>();
        r.register::<A>();
        r.check().unwrap();
        assert_eq!(r.names(), vec!["a"]);
        assert!(r.load(&envelope("a", br#"{"n":1}"#)).is_ok());
        let err = r.load(&envelope("b", b"{}")).err().unwrap().to_string();
        assert!(
            err.contains("\"b\"") && err.contains("registered: a"),
            "{err}"
        );
        let err = r
            .load(&envelope("a", br#"{"n":"x"}"#))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("job data of \"a\""), "{err}");
    }

    #[test]
    fn two_types_under_one_name_are_rejected() {
        let mut r = Registry::default();
        r.register::<A>();
        r.register::<AlsoA>();
        assert!(matches!(r.check(), Err(WorkerError::DuplicateJobName("a"))));
    }
}
