//! Times as they cross the wire. Leases, release delays and ages are durations
//! the server adds to its own `NOW(6)`, so hosts need not agree on the clock;
//! dispatch due times and prune cutoffs are absolute instants (whole Unix
//! seconds plus microseconds), as the caller gave them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `d` in whole microseconds, saturating.
pub(crate) fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// `t` as whole seconds since the Unix epoch and the microseconds past them
/// (times before the epoch clamp to it).
pub(crate) fn unix_parts(t: SystemTime) -> (i64, i64) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        i64::from(d.subsec_micros()),
    )
}

/// The instant of a `UNIX_TIMESTAMP(col)` result (`"1700000000.123456"`).
pub(crate) fn from_unix_text(text: &str) -> Option<SystemTime> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: u64 = secs.parse().ok()?;
    let mut micros: u32 = 0;
    for (i, c) in frac.chars().take(6).enumerate() {
        micros += c.to_digit(10)? * 10u32.pow(5 - i as u32);
    }
    Some(UNIX_EPOCH + Duration::new(secs, micros * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(micros(Duration::from_millis(3)), 3000);
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(unix_parts(t), (1_700_000_000, 123_456));
        assert_eq!(
            from_unix_text("1700000000.123456"),
            Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000))
        );
        assert_eq!(
            from_unix_text("1700000000.5"),
            Some(UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000))
        );
        assert_eq!(
            from_unix_text("12"),
            Some(UNIX_EPOCH + Duration::from_secs(12))
        );
        assert_eq!(from_unix_text("x"), None);
    }
}
