//! Unique jobs and debounce: what a dispatch asks for ([`Unique`], set through
//! [`JobOptions::unique`](crate::JobOptions::unique)), what a driver is handed
//! ([`Uniqueness`], the key resolved) and what it answers ([`Dispatched`]).
//!
//! A uniqueness key is held by at most one job per queue. While it is held, a
//! dispatch with the same key stores nothing and returns the holder's id with
//! [`Dispatched::duplicate`] set; with debounce, a holder that has not started yet
//! takes the new dispatch's data and due time instead. The lock is released
//! when the scope says ([`UniqueScope`]) and always when its job is gone, so no
//! key stays locked once its job has finished, failed or been cleared.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::{DriverError, JobId};

/// When a unique job's key is free again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueScope {
    /// Until a worker claims the job (Laravel's `ShouldBeUniqueUntilProcessing`):
    /// a dispatch while it runs creates a new job.
    UntilStarted,
    /// Until the job is acknowledged or fails for good (or is cleared); kept
    /// through retries and through a reclaimed lease while the job still exists.
    UntilFinished,
    /// Like [`UntilFinished`](Self::UntilFinished), but the key is free after
    /// this long at the latest, even while its job still exists (Laravel's
    /// `uniqueFor`).
    For(Duration),
}

impl UniqueScope {
    /// True when the lock goes at claim.
    pub fn until_started(self) -> bool {
        matches!(self, UniqueScope::UntilStarted)
    }
}

/// How a dispatch asks for uniqueness: a key (or none, to derive one from the
/// job's name and data), a scope and an optional debounce.
///
/// ```
/// use std::time::Duration;
/// use routemq_core::{JobOptions, Unique};
///
/// // One report per user until it has run.
/// let once = JobOptions::new().unique(Unique::key("report:42"));
/// // Many edits, one indexing run 5 s after the last one.
/// let debounced = JobOptions::new()
///     .unique(Unique::key("index:doc-7").debounce(Duration::from_secs(5)));
/// # let _ = (once, debounced);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unique {
    /// The key; `None` derives it from the job's name and encoded data.
    pub key: Option<String>,
    /// The scope; `None` means [`UniqueScope::UntilFinished`], or
    /// [`UniqueScope::UntilStarted`] with debounce (so a change arriving while
    /// the job runs gets a run of its own instead of being dropped).
    pub scope: Option<UniqueScope>,
    /// Debounce: a dispatch that finds the key held by a job that has not started
    /// replaces that job's data and makes it due this long from now.
    pub debounce: Option<Duration>,
}

impl Unique {
    /// Unique under `key` (per queue).
    pub fn key(key: impl Into<String>) -> Self {
        Unique {
            key: Some(key.into()),
            ..Unique::default()
        }
    }

    /// Unique under a key derived from the job's name and encoded data (a
    /// SHA-256): two dispatches are duplicates when their data encodes to the same
    /// bytes. Give a [`key`](Self::key) when the encoding is not deterministic
    /// (a `HashMap` field) or the job's data is encrypted.
    pub fn derived() -> Self {
        Unique::default()
    }

    /// The key is free once a worker claims the job.
    pub fn until_started(mut self) -> Self {
        self.scope = Some(UniqueScope::UntilStarted);
        self
    }

    /// The key is free once the job is acknowledged or has failed for good.
    pub fn until_finished(mut self) -> Self {
        self.scope = Some(UniqueScope::UntilFinished);
        self
    }

    /// The key is free after `duration`, or earlier when the job finishes.
    pub fn for_duration(mut self, duration: Duration) -> Self {
        self.scope = Some(UniqueScope::For(duration));
        self
    }

    /// Debounces: each dispatch makes the (not yet started) job due `delay` from
    /// now, with the newest dispatch's data.
    pub fn debounce(mut self, delay: Duration) -> Self {
        self.debounce = Some(delay);
        self
    }

    /// The scope in effect (see [`Unique::scope`]).
    pub fn resolved_scope(&self) -> UniqueScope {
        self.scope.unwrap_or(if self.debounce.is_some() {
            UniqueScope::UntilStarted
        } else {
            UniqueScope::UntilFinished
        })
    }

    /// The driver's view: the key given, or derived from `name` and `data` (the
    /// job's encoded data, before any encryption). `encrypted` refuses a derived
    /// key, which would store a hash of the plaintext beside the ciphertext.
    pub fn resolve(
        &self,
        name: &str,
        data: &[u8],
        encrypted: bool,
    ) -> Result<Uniqueness, DriverError> {
        let key = match &self.key {
            Some(k) => UniqueKey::new(k.clone())?,
            None if encrypted => {
                return Err(DriverError::InvalidArgument(format!(
                    "job {name:?} is encrypted and unique without a key: a key derived from \
                     its data would store a hash of the plaintext; give one with Unique::key"
                )))
            }
            None => UniqueKey::derive(name, data),
        };
        Ok(Uniqueness {
            key,
            scope: self.resolved_scope(),
            debounce: self.debounce,
        })
    }
}

/// A validated uniqueness key: 1–255 bytes of UTF-8 without control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueKey(String);

impl UniqueKey {
    /// The longest key, in bytes (the MySQL column is `VARBINARY(255)`).
    pub const MAX_LEN: usize = 255;

    /// Validates `key`.
    pub fn new(key: impl Into<String>) -> Result<Self, DriverError> {
        crate::text_key::checked_key("unique key", key.into(), Self::MAX_LEN).map(UniqueKey)
    }

    /// `sha256:` and the hex SHA-256 of the job's name, a zero byte and its data.
    pub fn derive(name: &str, data: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update(data);
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        UniqueKey(format!("sha256:{hex}"))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UniqueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UniqueKey({:?})", self.0)
    }
}

impl fmt::Display for UniqueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Uniqueness as a driver receives it with
/// [`JobLifecycle::push_unique`](crate::JobLifecycle::push_unique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uniqueness {
    /// The key, unique per queue.
    pub key: UniqueKey,
    /// When the lock goes.
    pub scope: UniqueScope,
    /// Set: a holder that has not started takes the new job's payload, attempts
    /// allowed and due time (the dispatch API makes that due time at least this
    /// long from now).
    pub debounce: Option<Duration>,
}

impl Uniqueness {
    /// How long an `UntilStarted` / `UntilFinished` lock may outlive its job's due
    /// time at most: the safety net for a lock whose release was lost (a job
    /// deleted by hand). Releases and the job-exists check at dispatch normally
    /// free a key long before.
    pub const SAFETY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

    /// A lock's time to live for a job due in `due_in` from now: the duration of
    /// [`UniqueScope::For`], else `due_in` plus [`Uniqueness::SAFETY_TTL`].
    pub fn lock_ttl(&self, due_in: Duration) -> Duration {
        match self.scope {
            UniqueScope::For(d) => d.max(Duration::from_millis(1)),
            _ => due_in + Self::SAFETY_TTL,
        }
    }
}

/// What a dispatch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched {
    /// The stored job's id: the new job's, or the holder's for a duplicate.
    pub id: JobId,
    /// True when the key was held, so no job was added (never an error).
    pub duplicate: bool,
    /// True when the duplicate debounced the holder: it now has the new data and
    /// due time (implies `duplicate`).
    pub debounced: bool,
}

impl Dispatched {
    /// A newly stored job.
    pub fn stored(id: JobId) -> Self {
        Dispatched {
            id,
            duplicate: false,
            debounced: false,
        }
    }

    /// A duplicate of `holder` (`debounced`: the holder took the new data).
    pub fn duplicate_of(holder: JobId, debounced: bool) -> Self {
        Dispatched {
            id: holder,
            duplicate: true,
            debounced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated_and_derived_stably() {
        assert!(UniqueKey::new("report:42").is_ok());
        assert!(UniqueKey::new("").is_err());
        assert!(UniqueKey::new("a\nb").is_err());
        let e = UniqueKey::new("x".repeat(256)).unwrap_err().to_string();
        assert!(e.contains("256 bytes"), "{e}");
        let a = UniqueKey::derive("n", br#"{"a":1}"#);
        assert_eq!(a, UniqueKey::derive("n", br#"{"a":1}"#));
        assert_ne!(a, UniqueKey::derive("m", br#"{"a":1}"#));
        assert_ne!(a, UniqueKey::derive("n", br#"{"a":2}"#));
        assert_eq!(a.as_str().len(), 7 + 64);
    }

    #[test]
    fn scope_defaults_depend_on_debounce() {
        assert_eq!(
            Unique::key("k").resolved_scope(),
            UniqueScope::UntilFinished
        );
        let d = Unique::key("k").debounce(Duration::from_secs(1));
        assert_eq!(d.resolved_scope(), UniqueScope::UntilStarted);
        assert_eq!(
            d.until_finished().resolved_scope(),
            UniqueScope::UntilFinished
        );
        let e = Unique::derived().resolve("n", b"{}", true).unwrap_err();
        assert!(e.to_string().contains("Unique::key"), "{e}");
        let ok = Unique::key("k").resolve("n", b"{}", true).unwrap();
        assert_eq!(ok.key.as_str(), "k");
    }
}
