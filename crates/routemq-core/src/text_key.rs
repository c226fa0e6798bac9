//! The one rule for user-given keys stored beside jobs (uniqueness keys, group
//! keys): 1 to `max` bytes of UTF-8 text without control characters.

use crate::DriverError;

/// `key` when it is 1 to `max` bytes without control characters; otherwise
/// [`DriverError::InvalidArgument`] naming `what`, the key and the problem.
pub(crate) fn checked_key(what: &str, key: String, max: usize) -> Result<String, DriverError> {
    let problem = if key.is_empty() {
        "it is empty".to_owned()
    } else if key.len() > max {
        format!("it is {} bytes long, over {max}", key.len())
    } else if key.chars().any(char::is_control) {
        "it contains a control character".to_owned()
    } else {
        return Ok(key);
    };
    Err(DriverError::InvalidArgument(format!(
        "invalid {what} {key:?}: {problem} (use 1-{max} bytes of text)"
    )))
}
