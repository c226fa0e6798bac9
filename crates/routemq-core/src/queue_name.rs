//! Validated queue names.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DriverError;

/// The longest queue name accepted, in bytes.
pub const MAX_QUEUE_NAME_LEN: usize = 100;

/// A validated queue name: 1 to 100 characters from `A-Z a-z 0-9 _ - .`, and not
/// the reserved word `failed`.
///
/// The character set keeps names safe inside Redis keys (no `:` that could make
/// `routemq:queue:{a}:delayed` collide with another queue's key, no braces that
/// would change a Redis Cluster hash tag) and inside SQL and shell commands.
/// `failed` is reserved because `routemq:queue:failed:{q}` is the failed list.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct QueueName(String);

impl QueueName {
    /// Validates `name`; the error names the problem.
    pub fn new(name: impl Into<String>) -> Result<Self, DriverError> {
        let name = name.into();
        let reason = if name.is_empty() {
            Some("a queue name must not be empty".to_owned())
        } else if name.len() > MAX_QUEUE_NAME_LEN {
            Some(format!(
                "a queue name is at most {MAX_QUEUE_NAME_LEN} characters, this one has {}",
                name.len()
            ))
        } else if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            Some(format!(
                "character {c:?} is not allowed; use letters, digits, '_', '-' and '.'"
            ))
        } else if name == "failed" {
            Some("\"failed\" is reserved (routemq:queue:failed:* holds failed jobs)".to_owned())
        } else {
            None
        };
        match reason {
            Some(reason) => Err(DriverError::InvalidQueueName { name, reason }),
            None => Ok(QueueName(name)),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for QueueName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        QueueName::new(s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::str::FromStr for QueueName {
    type Err = DriverError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QueueName::new(s)
    }
}

impl TryFrom<&str> for QueueName {
    type Error = DriverError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        QueueName::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in [
            "default",
            "high",
            "emails.send",
            "a-b_c",
            "Q1",
            &"x".repeat(100),
        ] {
            assert!(QueueName::new(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn rejects_bad_names_with_a_reason() {
        for bad in [
            "",
            &"x".repeat(300),
            "with space",
            "quote'",
            "dq\"",
            "{brace}",
            "50%",
            "a:b",
            "failed",
        ] {
            let err = QueueName::new(bad).unwrap_err().to_string();
            assert!(err.contains("queue name"), "{err}");
        }
    }
}
