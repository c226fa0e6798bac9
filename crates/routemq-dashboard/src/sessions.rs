//! Browser sessions of token mode: the login form checks the token once and
//! sets a cookie holding a random session id; the ids live in this process only
//! (a restart logs everyone out), stored as digests so a lookup reveals nothing
//! through its timing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::secret::{self, Digest32};

/// How long a session lasts after login.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The most sessions kept at once; a login beyond it drops the oldest.
const MAX_SESSIONS: usize = 1024;

/// The sessions of this process.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    live: Mutex<Live>,
}

/// Digest of each id → (expiry, opening order).
#[derive(Debug, Default)]
struct Live {
    by_digest: HashMap<Digest32, (Instant, u64)>,
    opened: u64,
}

impl Sessions {
    /// Opens a session; returns its id (for the cookie).
    pub(crate) fn open(&self) -> String {
        let id = secret::random_token();
        let now = Instant::now();
        let mut live = self.lock();
        live.by_digest.retain(|_, (expiry, _)| *expiry > now);
        if live.by_digest.len() >= MAX_SESSIONS {
            let oldest = live
                .by_digest
                .iter()
                .min_by_key(|(_, (_, order))| *order)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                live.by_digest.remove(&oldest);
            }
        }
        live.opened += 1;
        let order = live.opened;
        live.by_digest
            .insert(secret::digest(id.as_bytes()), (now + SESSION_TTL, order));
        id
    }

    /// True when `id` is an open session that has not expired.
    pub(crate) fn is_open(&self, id: &str) -> bool {
        let key = secret::digest(id.as_bytes());
        self.lock()
            .by_digest
            .get(&key)
            .is_some_and(|(expiry, _)| *expiry > Instant::now())
    }

    /// Closes session `id` (logout); nothing happens for an unknown id.
    pub(crate) fn close(&self, id: &str) {
        self.lock().by_digest.remove(&secret::digest(id.as_bytes()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Live> {
        // A panic while holding the lock leaves the map usable.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_and_close() {
        let s = Sessions::default();
        let id = s.open();
        assert!(s.is_open(&id));
        assert!(!s.is_open("not-a-session"));
        s.close(&id);
        assert!(!s.is_open(&id));
    }

    #[test]
    fn the_oldest_session_goes_when_full() {
        let s = Sessions::default();
        let first = s.open();
        for _ in 0..MAX_SESSIONS {
            s.open();
        }
        assert!(!s.is_open(&first));
        assert_eq!(s.lock().by_digest.len(), MAX_SESSIONS);
    }
}
