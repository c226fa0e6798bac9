//! Job identifiers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A job's identifier: a UUIDv7 (time-ordered, unique across processes) in its
/// hyphenated text form for jobs this crate creates.
///
/// It is a string so that a driver can name a job it did not create (for example a
/// foreign payload written straight into a Redis list gets a fresh id at claim, and
/// the failed store keeps it under that id).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// A fresh UUIDv7 id. Ids created later in the same process sort later.
    pub fn generate() -> Self {
        Self::generate_with_ms().0
    }

    /// A fresh id, as [`JobId::generate`], and the Unix milliseconds it carries
    /// (its first 48 bits), so that a dispatch reads the clock once for both the
    /// id and the envelope's creation time.
    pub(crate) fn generate_with_ms() -> (Self, i64) {
        let id = uuid::Uuid::now_v7();
        let b = id.as_bytes();
        let ms = i64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]]);
        (JobId(id.hyphenated().to_string()), ms)
    }

    /// Wraps an id read back from a backend or typed by an operator.
    pub fn from_string(id: impl Into<String>) -> Self {
        JobId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobId({})", self.0)
    }
}

impl From<&str> for JobId {
    fn from(s: &str) -> Self {
        JobId(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_unique_and_time_ordered() {
        let ids: Vec<JobId> = (0..10_000).map(|_| JobId::generate()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "duplicates among generated ids");
        assert_eq!(
            sorted, ids,
            "ids generated in sequence must sort in sequence"
        );
    }

    #[test]
    fn a_generated_id_carries_the_time_it_was_made() {
        let before = crate::unix_ms(std::time::SystemTime::now());
        let (id, ms) = JobId::generate_with_ms();
        let after = crate::unix_ms(std::time::SystemTime::now());
        assert!(
            (before..=after).contains(&ms),
            "{before} <= {ms} <= {after}"
        );
        let parsed = uuid::Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(id.as_str(), parsed.hyphenated().to_string());
        let (secs, nanos) = parsed.get_timestamp().unwrap().to_unix();
        assert_eq!(ms, (secs * 1_000 + u64::from(nanos) / 1_000_000) as i64);
    }
}
