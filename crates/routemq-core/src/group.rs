//! Fair groups: the [`GroupKey`] a job may carry (a tenant, a customer). Within a
//! queue, claims take groups in turn, so one group's backlog does not delay
//! another's jobs.

use std::fmt;

use crate::DriverError;

/// The group of a job: 1 to [`GroupKey::MAX_LEN`] bytes of text without control
/// characters.
///
/// ```
/// use routemq_core::GroupKey;
/// assert_eq!(GroupKey::new("tenant-42").unwrap().as_str(), "tenant-42");
/// assert!(GroupKey::new("").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey(String);

impl GroupKey {
    /// The longest key, in bytes (the MySQL column is `VARBINARY(128)`).
    pub const MAX_LEN: usize = 128;

    /// Validates `key`.
    pub fn new(key: impl Into<String>) -> Result<Self, DriverError> {
        crate::text_key::checked_key("group", key.into(), Self::MAX_LEN).map(GroupKey)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupKey({:?})", self.0)
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::GroupKey;

    #[test]
    fn bad_keys_are_refused_naming_the_problem() {
        let long = "x".repeat(GroupKey::MAX_LEN + 1);
        for (key, why) in [("", "empty"), (long.as_str(), "over"), ("a\nb", "control")] {
            let err = GroupKey::new(key).unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
        assert!(GroupKey::new("x".repeat(GroupKey::MAX_LEN)).is_ok());
    }
}
