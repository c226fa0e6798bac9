//! [`Dashboard`]: the state every route shares — the driver, the failed store,
//! the settings, and this process's CSRF token and sessions.

use std::fmt;
use std::sync::{Arc, OnceLock};

use routemq_core::{Driver, FailedStore};

use crate::config::{Auth, AuthError, DashboardConfig};
use crate::failed_counts::FailedCounts;
use crate::secret::{self, Digest32};
use crate::sessions::Sessions;
use crate::stats_cache::StatsCache;

/// The dashboard's state: give it to [`router`](crate::router). Clones share it.
#[derive(Clone)]
pub struct Dashboard {
    inner: Arc<Inner>,
}

struct Inner {
    driver: Arc<dyn Driver>,
    failed: Arc<dyn FailedStore>,
    failed_counts: OnceLock<Arc<dyn FailedCounts>>,
    config: DashboardConfig,
    csrf_token: String,
    credentials: Credentials,
    sessions: Sessions,
    stats: Arc<StatsCache>,
    shell: String,
}

/// Digests of the configured secrets, compared in constant time.
enum Credentials {
    None,
    Token(Digest32),
    Basic { user: Digest32, password: Digest32 },
}

impl fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dashboard")
            .field("driver", &self.inner.driver)
            .field("failed", &self.inner.failed)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Dashboard {
    /// A dashboard over `driver`, showing failed jobs from `failed` (the driver
    /// itself, or the failed store of another backend), with a fresh random CSRF
    /// token. Refuses credentials that would let anyone in ([`Auth::check`]).
    pub fn new(
        driver: Arc<dyn Driver>,
        failed: Arc<dyn FailedStore>,
        config: DashboardConfig,
    ) -> Result<Self, AuthError> {
        config.auth.check()?;
        let credentials = match &config.auth {
            Auth::None => Credentials::None,
            Auth::Token(t) => Credentials::Token(secret::digest(t.as_bytes())),
            Auth::Basic { user, password } => Credentials::Basic {
                user: secret::digest(user.as_bytes()),
                password: secret::digest(password.as_bytes()),
            },
        };
        let csrf_token = secret::random_token();
        let shell = crate::pages::shell_html(&csrf_token, &config);
        Ok(Dashboard {
            inner: Arc::new(Inner {
                driver,
                failed,
                failed_counts: OnceLock::new(),
                config,
                csrf_token,
                credentials,
                sessions: Sessions::default(),
                stats: Arc::default(),
                shell,
            }),
        })
    }

    /// Takes the queues' failed counts from `counts` instead of the driver's
    /// `stats`: for a failed store kept apart from the driver. Give it before
    /// serving; the first one given is kept (clones share it).
    pub fn with_failed_counts(self, counts: Arc<dyn FailedCounts>) -> Self {
        let _ = self.inner.failed_counts.set(counts);
        self
    }

    /// Reads every known queue's counts in the background now, so that the
    /// first page is answered from them ([`serve`](crate::serve) does this when
    /// it starts; call it when mounting [`router`](crate::router) yourself).
    /// Counting a queue of a million ready jobs takes about 0.2 s on MySQL.
    /// Needs a Tokio runtime.
    pub fn count_ahead(&self) {
        self.inner.stats.read_ahead(&self.inner.driver);
    }

    /// The settings.
    pub fn config(&self) -> &DashboardConfig {
        &self.inner.config
    }

    /// This process's CSRF token: the value every POST not authenticated by a
    /// bearer token must send in `X-CSRF-Token`.
    pub fn csrf_token(&self) -> &str {
        &self.inner.csrf_token
    }

    pub(crate) fn driver(&self) -> &Arc<dyn Driver> {
        &self.inner.driver
    }

    pub(crate) fn failed(&self) -> &Arc<dyn FailedStore> {
        &self.inner.failed
    }

    pub(crate) fn failed_counts(&self) -> Option<&Arc<dyn FailedCounts>> {
        self.inner.failed_counts.get()
    }

    pub(crate) fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    /// The queue counts shared by every viewer.
    pub(crate) fn stats_cache(&self) -> &Arc<StatsCache> {
        &self.inner.stats
    }

    /// The page with this process's CSRF token in it.
    pub(crate) fn shell(&self) -> &str {
        &self.inner.shell
    }

    /// True when `token` is the configured token (token mode only).
    pub(crate) fn token_matches(&self, token: &str) -> bool {
        match &self.inner.credentials {
            Credentials::Token(expected) => secret::matches(token.as_bytes(), expected),
            _ => false,
        }
    }

    /// True when `user` and `password` are the configured ones (Basic mode
    /// only). Both are compared whatever the first gives.
    pub(crate) fn basic_matches(&self, user: &str, password: &str) -> bool {
        match &self.inner.credentials {
            Credentials::Basic {
                user: u,
                password: p,
            } => {
                let user_ok = secret::matches(user.as_bytes(), u);
                let password_ok = secret::matches(password.as_bytes(), p);
                user_ok & password_ok
            }
            _ => false,
        }
    }
}
