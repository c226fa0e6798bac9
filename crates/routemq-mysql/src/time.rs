//! Durations as they cross the wire: every time is computed by the server from
//! `NOW(6)` plus or minus a number of microseconds, so hosts need not agree on
//! the clock.

use std::time::{Duration, SystemTime};

/// `d` in whole microseconds, saturating.
pub(crate) fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Microseconds from now until `at` (0 when `at` is `None` or past).
pub(crate) fn delay_until(at: Option<SystemTime>) -> i64 {
    at.and_then(|t| t.duration_since(SystemTime::now()).ok())
        .map_or(0, micros)
}

/// Microseconds from `t` until now (negative when `t` is in the future).
pub(crate) fn age_of(t: SystemTime) -> i64 {
    match SystemTime::now().duration_since(t) {
        Ok(d) => micros(d),
        Err(e) => -micros(e.duration()),
    }
}

/// The instant `age_us` microseconds before now (the server measured the age).
pub(crate) fn ago(age_us: i64) -> SystemTime {
    let age = Duration::from_micros(age_us.max(0) as u64);
    SystemTime::now()
        .checked_sub(age)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(micros(Duration::from_millis(3)), 3000);
        assert_eq!(delay_until(None), 0);
        assert_eq!(delay_until(Some(SystemTime::UNIX_EPOCH)), 0);
        let d = delay_until(Some(SystemTime::now() + Duration::from_secs(10)));
        assert!((9_000_000..=10_000_000).contains(&d), "{d}");
        let a = age_of(SystemTime::now() - Duration::from_secs(5));
        assert!((5_000_000..6_000_000).contains(&a), "{a}");
        assert!(age_of(SystemTime::now() + Duration::from_secs(5)) < -4_000_000);
        let t = ago(2_000_000);
        let back = SystemTime::now().duration_since(t).unwrap();
        assert!(back >= Duration::from_secs(2) && back < Duration::from_secs(3));
    }
}
