//! When a schedule fires: a cron expression in a time zone, or a fixed interval.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use croner::Cron;
use serde::{Deserialize, Serialize};

use super::ScheduleError;
use crate::{from_unix_ms, unix_ms};

/// When a [`Schedule`](super::Schedule) fires.
///
/// Every tick is a whole millisecond. Interval ticks are counted from the Unix
/// epoch (`every 30s` fires at :00 and :30 of each minute), so every process that
/// evaluates the schedule agrees on its ticks without talking to the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleSpec {
    /// A cron expression (5 fields, or 6 with seconds first, or 7 with a year
    /// last; `@hourly`-style nicknames) evaluated in an IANA time zone.
    Cron {
        /// The expression as given.
        expr: String,
        /// The IANA zone name, e.g. `UTC` or `Europe/Paris`.
        tz: String,
    },
    /// Every this many milliseconds (at least 1 000), counted from the epoch.
    EveryMs(u64),
}

/// The shortest interval a schedule may have.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

impl ScheduleSpec {
    /// A cron spec, checked: a bad expression or an unknown zone is refused with
    /// the reason.
    pub fn cron(expr: impl Into<String>, tz: impl Into<String>) -> Result<Self, ScheduleError> {
        let spec = ScheduleSpec::Cron {
            expr: expr.into(),
            tz: tz.into(),
        };
        spec.check()?;
        Ok(spec)
    }

    /// An interval spec; refused when shorter than [`MIN_INTERVAL`] or not a
    /// whole number of milliseconds.
    pub fn every(interval: Duration) -> Result<Self, ScheduleError> {
        let spec = ScheduleSpec::EveryMs(interval.as_millis().min(u64::MAX as u128) as u64);
        if interval.subsec_nanos() % 1_000_000 != 0 {
            return Err(ScheduleError::BadInterval {
                interval,
                reason: "it must be a whole number of milliseconds".into(),
            });
        }
        spec.check()?;
        Ok(spec)
    }

    /// Checks the spec (stored specs are checked again before use).
    pub fn check(&self) -> Result<(), ScheduleError> {
        match self {
            ScheduleSpec::Cron { expr, tz } => {
                parse_cron(expr)?;
                parse_tz(tz)?;
                Ok(())
            }
            ScheduleSpec::EveryMs(ms) if Duration::from_millis(*ms) < MIN_INTERVAL => {
                Err(ScheduleError::BadInterval {
                    interval: Duration::from_millis(*ms),
                    reason: format!("the shortest interval is {}", humantime_ms(MIN_INTERVAL)),
                })
            }
            ScheduleSpec::EveryMs(_) => Ok(()),
        }
    }

    /// The first tick strictly after `t` (to the millisecond).
    pub fn next_after(&self, t: SystemTime) -> Result<SystemTime, ScheduleError> {
        let after = unix_ms(t);
        match self {
            ScheduleSpec::EveryMs(ms) => {
                self.check()?;
                let every = *ms as i64;
                Ok(from_unix_ms((after.div_euclid(every) + 1) * every))
            }
            ScheduleSpec::Cron { expr, tz } => {
                let cron = parse_cron(expr)?;
                let zone = parse_tz(tz)?;
                let start = DateTime::<Utc>::from_timestamp_millis(after)
                    .ok_or(ScheduleError::OutOfRange)?
                    .with_timezone(&zone);
                let next = cron.find_next_occurrence(&start, false).map_err(|e| {
                    ScheduleError::NoNextTick {
                        expr: expr.clone(),
                        reason: e.to_string(),
                    }
                })?;
                Ok(from_unix_ms(next.timestamp_millis()))
            }
        }
    }

    /// The spec as one canonical string: two specs fire at the same ticks when
    /// their keys are equal. Drivers compare keys to decide whether an upsert
    /// keeps a schedule's state.
    pub fn key(&self) -> String {
        match self {
            ScheduleSpec::Cron { expr, tz } => format!("cron {} @ {tz}", expr.trim()),
            ScheduleSpec::EveryMs(ms) => format!("every {ms}ms"),
        }
    }
}

impl fmt::Display for ScheduleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleSpec::Cron { expr, tz } => write!(f, "cron \"{expr}\" ({tz})"),
            ScheduleSpec::EveryMs(ms) => {
                write!(f, "every {}", humantime_ms(Duration::from_millis(*ms)))
            }
        }
    }
}

fn humantime_ms(d: Duration) -> String {
    let secs = d.as_secs();
    let ms = d.subsec_millis();
    if ms == 0 {
        format!("{secs}s")
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn parse_cron(expr: &str) -> Result<Cron, ScheduleError> {
    Cron::from_str(expr).map_err(|e| ScheduleError::BadCron {
        expr: expr.to_owned(),
        reason: e.to_string(),
    })
}

fn parse_tz(tz: &str) -> Result<chrono_tz::Tz, ScheduleError> {
    tz.parse::<chrono_tz::Tz>()
        .map_err(|e| ScheduleError::BadTimeZone {
            tz: tz.to_owned(),
            reason: e.to_string(),
        })
}
