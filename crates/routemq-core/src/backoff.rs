//! Retry backoff policies.

use std::time::Duration;

use rand::Rng;
use serde::Serialize;

mod decode;

/// How long to wait before retrying a job that failed on a given attempt.
///
/// Stored in the [`Envelope`](crate::Envelope) so a worker retries a job the way its
/// producer asked, whatever the worker's own defaults.
///
/// Serialized as a map tagged by `kind` (`{"kind":"fixed","delay_ms":1000}`);
/// read by a hand-written visitor that takes the same forms in one pass
/// (`backoff/decode.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backoff {
    /// The same delay after every attempt.
    Fixed {
        /// The delay, in milliseconds.
        delay_ms: u64,
    },
    /// `base * 2^(attempt-1)`, capped at `cap`, then reduced by up to `jitter`
    /// (a fraction from 0 to 1) chosen at random, so retries of many jobs that
    /// failed together spread out.
    Exponential {
        /// Delay after the first attempt, in milliseconds.
        base_ms: u64,
        /// Upper bound, in milliseconds.
        cap_ms: u64,
        /// Fraction of the delay that may be taken off at random (0 = none).
        jitter: f64,
    },
    /// Explicit delays: the n-th retry waits `delays[n-1]`; the last value repeats.
    /// An empty list means retry at once.
    List {
        /// Delays in milliseconds.
        delays_ms: Vec<u64>,
    },
}

impl Default for Backoff {
    /// Exponential from 1 s, capped at 10 min, with 20 % jitter.
    fn default() -> Self {
        Backoff::exponential(Duration::from_secs(1), Duration::from_secs(600)).with_jitter(0.2)
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Backoff {
    /// The same delay after every attempt.
    pub fn fixed(delay: Duration) -> Self {
        Backoff::Fixed {
            delay_ms: ms(delay),
        }
    }

    /// Doubling from `base`, capped at `cap`, without jitter (add it with
    /// [`Backoff::with_jitter`]).
    pub fn exponential(base: Duration, cap: Duration) -> Self {
        Backoff::Exponential {
            base_ms: ms(base),
            cap_ms: ms(cap),
            jitter: 0.0,
        }
    }

    /// Explicit delays; the last one repeats for later attempts.
    pub fn list(delays: impl IntoIterator<Item = Duration>) -> Self {
        Backoff::List {
            delays_ms: delays.into_iter().map(ms).collect(),
        }
    }

    /// Sets the jitter fraction of an exponential backoff (clamped to 0..=1); no
    /// effect on the other kinds.
    pub fn with_jitter(self, fraction: f64) -> Self {
        match self {
            Backoff::Exponential {
                base_ms, cap_ms, ..
            } => Backoff::Exponential {
                base_ms,
                cap_ms,
                jitter: if fraction.is_nan() {
                    0.0
                } else {
                    fraction.clamp(0.0, 1.0)
                },
            },
            other => other,
        }
    }

    /// The delay before retrying a job whose attempt number `attempt` (1-based)
    /// just failed. Never overflows, whatever the attempt number.
    pub fn delay_for(&self, attempt: u32) -> Duration {
        let attempt = attempt.max(1);
        match self {
            Backoff::Fixed { delay_ms } => Duration::from_millis(*delay_ms),
            Backoff::List { delays_ms } => {
                let idx = (attempt as usize - 1).min(delays_ms.len().saturating_sub(1));
                Duration::from_millis(delays_ms.get(idx).copied().unwrap_or(0))
            }
            Backoff::Exponential {
                base_ms,
                cap_ms,
                jitter,
            } => {
                let shift = (attempt - 1).min(63);
                let raw = base_ms.saturating_mul(1u64 << shift);
                let capped = raw.min(*cap_ms);
                let jitter = if jitter.is_nan() {
                    0.0
                } else {
                    jitter.clamp(0.0, 1.0)
                };
                if jitter == 0.0 || capped == 0 {
                    return Duration::from_millis(capped);
                }
                let take = rand::thread_rng().gen_range(0.0..=jitter);
                Duration::from_millis(capped - (capped as f64 * take) as u64)
            }
        }
    }
}

/// Any backoff, for property tests: every kind, with any jitter (NaN and
/// the infinities too, which `with_jitter` would clamp).
#[cfg(test)]
pub(crate) fn any_backoff() -> impl proptest::strategy::Strategy<Value = Backoff> {
    use proptest::prelude::*;
    prop_oneof![
        any::<u64>().prop_map(|delay_ms| Backoff::Fixed { delay_ms }),
        (any::<u64>(), any::<u64>(), any::<f64>()).prop_map(|(base_ms, cap_ms, jitter)| {
            Backoff::Exponential {
                base_ms,
                cap_ms,
                jitter,
            }
        }),
        proptest::collection::vec(any::<u64>(), 0..8)
            .prop_map(|delays_ms| Backoff::List { delays_ms }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn fixed_is_constant() {
        let b = Backoff::fixed(S(7));
        assert_eq!(b.delay_for(0), S(7));
        assert_eq!(b.delay_for(1), S(7));
        assert_eq!(b.delay_for(u32::MAX), S(7));
    }

    #[test]
    fn exponential_doubles_from_first_attempt_and_caps() {
        let b = Backoff::exponential(S(1), S(60));
        assert_eq!(b.delay_for(1), S(1));
        assert_eq!(b.delay_for(2), S(2));
        assert_eq!(b.delay_for(3), S(4));
        assert_eq!(b.delay_for(6), S(32));
        assert_eq!(b.delay_for(7), S(60));
        assert_eq!(b.delay_for(0), S(1), "attempt 0 is treated as the first");
    }

    #[test]
    fn exponential_huge_attempts_do_not_overflow() {
        let b = Backoff::exponential(Duration::from_millis(u64::MAX / 2), Duration::MAX);
        assert_eq!(b.delay_for(u32::MAX), Duration::from_millis(u64::MAX));
        let b = Backoff::exponential(S(1), S(3600));
        assert_eq!(b.delay_for(64), S(3600));
        assert_eq!(b.delay_for(u32::MAX), S(3600));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let b = Backoff::exponential(S(10), S(10)).with_jitter(0.5);
        for _ in 0..2_000 {
            let d = b.delay_for(3);
            assert!(d >= S(5) && d <= S(10), "{d:?} outside [5s, 10s]");
        }
        let b = Backoff::exponential(S(10), S(10)).with_jitter(7.0);
        for _ in 0..2_000 {
            assert!(b.delay_for(1) <= S(10));
        }
        let b = Backoff::exponential(S(10), S(10)).with_jitter(f64::NAN);
        assert_eq!(b.delay_for(1), S(10));
    }

    #[test]
    fn list_repeats_last_value() {
        let b = Backoff::list([S(1), S(5), S(30)]);
        assert_eq!(b.delay_for(1), S(1));
        assert_eq!(b.delay_for(2), S(5));
        assert_eq!(b.delay_for(3), S(30));
        assert_eq!(b.delay_for(4), S(30));
        assert_eq!(b.delay_for(u32::MAX), S(30));
        assert_eq!(Backoff::list([]).delay_for(3), Duration::ZERO);
    }

    #[test]
    fn serde_round_trip() {
        for b in [
            Backoff::fixed(S(3)),
            Backoff::default(),
            Backoff::list([S(1), S(2)]),
        ] {
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(serde_json::from_str::<Backoff>(&json).unwrap(), b);
        }
    }
}
