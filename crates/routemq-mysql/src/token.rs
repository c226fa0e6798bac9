//! Owner tokens: `<row id>.<random suffix>`. The row id makes every lease
//! operation a primary-key lookup; the suffix (fresh per claim) tells this
//! reservation from any earlier or later one of the same row.

use routemq_core::{JobId, LeaseToken};

/// A fresh random suffix for one claim: 64 bits as 16 hex digits.
pub(crate) fn suffix() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The token of row `id` claimed with `suffix` (what the claim's UPDATE wrote).
pub(crate) fn token(id: u64, suffix: &str) -> LeaseToken {
    LeaseToken(format!("{id}.{suffix}"))
}

/// The token of row `id` claimed with `suffix` as claim_update.sql writes it:
/// then `w` when the job has workflow effects (a chain link or batch job), then
/// `u` when it holds its uniqueness lock until it is gone. The suffix is hex,
/// so the marker letters never occur in it.
pub(crate) fn claimed(id: u64, suffix: &str, holds_lock: bool, in_flow: bool) -> LeaseToken {
    if !holds_lock && !in_flow {
        return token(id, suffix);
    }
    let w = if in_flow { "w" } else { "" };
    let u = if holds_lock { "u" } else { "" };
    LeaseToken(format!("{id}.{suffix}{w}{u}"))
}

/// True when `token` says its job is a chain link or batch job whose
/// settlement applies workflow effects (see [`claimed`]).
pub(crate) fn in_flow(token: &str) -> bool {
    token
        .split_once('.')
        .is_some_and(|(_, rest)| rest.contains('w'))
}

/// True when `token` says its job holds a uniqueness lock (see [`claimed`]).
pub(crate) fn holds_lock(token: &str) -> bool {
    token.ends_with('u')
}

/// The row id inside `token`, or `None` for a token this driver did not issue
/// (which can own nothing).
pub(crate) fn row_id(token: &LeaseToken) -> Option<u64> {
    let (id, rest) = token.0.split_once('.')?;
    if rest.is_empty() {
        return None;
    }
    id.parse().ok()
}

/// The job id of a `queue_jobs` row: its uuid, or `db-<id>` for a row written
/// by hand without one.
pub(crate) fn job_id(id: u64, uuid: Option<String>) -> JobId {
    match uuid {
        Some(u) if !u.is_empty() => JobId::from_string(u),
        _ => JobId::from_string(format!("db-{id}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_row_id() {
        let s = suffix();
        assert_eq!(s.len(), 16);
        let t = token(42, &s);
        assert_eq!(row_id(&t), Some(42));
        assert!(!holds_lock(&t.0));
        let u = claimed(42, &s, true, false);
        assert_eq!((row_id(&u), holds_lock(&u.0)), (Some(42), true));
        assert!(!in_flow(&u.0) && !in_flow(&t.0));
        assert_eq!(claimed(42, &s, false, false), t);
        let w = claimed(42, &s, false, true);
        assert_eq!(
            (row_id(&w), holds_lock(&w.0), in_flow(&w.0)),
            (Some(42), false, true)
        );
        let wu = claimed(42, &s, true, true);
        assert_eq!(
            (row_id(&wu), holds_lock(&wu.0), in_flow(&wu.0)),
            (Some(42), true, true)
        );
        assert_eq!(row_id(&LeaseToken("nonsense".into())), None);
        assert_eq!(row_id(&LeaseToken("7.".into())), None);
        assert_eq!(row_id(&LeaseToken("x.y".into())), None);
        assert_eq!(job_id(5, None).as_str(), "db-5");
        assert_eq!(job_id(5, Some(String::new())).as_str(), "db-5");
        assert_eq!(job_id(5, Some("abc".into())).as_str(), "abc");
    }
}
