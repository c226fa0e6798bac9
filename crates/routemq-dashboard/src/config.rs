//! What the dashboard is told: who may use it ([`Auth`]) and whether it may
//! change anything ([`DashboardConfig::read_only`]).

use std::fmt;

/// Who may use the dashboard.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// Anyone who can reach the address: listen on a loopback address only.
    None,
    /// A shared secret, sent by scripts as `Authorization: Bearer T`; a browser
    /// types it into the login form once and gets a session cookie. Printable
    /// ASCII without spaces; use a long random one (`openssl rand -hex 32`).
    Token(String),
    /// HTTP Basic authentication (the browser asks for the user and password).
    Basic {
        /// The user name (no colon).
        user: String,
        /// The password.
        password: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Token(_) => f.write_str("Token(***)"),
            Auth::Basic { user, .. } => write!(f, "Basic {{ user: {user:?}, password: *** }}"),
        }
    }
}

/// Why credentials given to the dashboard cannot be used. The message never
/// shows the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// An empty token would let anyone in.
    #[error("the token is empty; use a long random secret (e.g. from `openssl rand -hex 32`)")]
    EmptyToken,
    /// A token a browser or `curl` cannot send in a header.
    #[error("the token must be printable ASCII without spaces (it is sent as `Authorization: Bearer TOKEN`)")]
    TokenCharacters,
    /// `USER:PASSWORD` without the colon.
    #[error("expected USER:PASSWORD, with a colon between the user name and the password")]
    NoColon,
    /// An empty user name.
    #[error("the user name is empty (expected USER:PASSWORD)")]
    EmptyUser,
    /// A user name with a colon, which Basic authentication cannot carry.
    #[error("the user name contains a colon, which HTTP Basic authentication cannot carry")]
    ColonInUser,
    /// An empty password would let anyone who knows the user name in.
    #[error("the password is empty (expected USER:PASSWORD)")]
    EmptyPassword,
}

impl Auth {
    /// Basic authentication from `USER:PASSWORD` (split at the first colon; the
    /// password may contain colons).
    ///
    /// ```
    /// use routemq_dashboard::{Auth, AuthError};
    /// assert!(matches!(Auth::basic_from_pair("ops:s3cr:et"), Ok(Auth::Basic { .. })));
    /// assert_eq!(Auth::basic_from_pair("ops"), Err(AuthError::NoColon));
    /// assert_eq!(Auth::basic_from_pair("ops:"), Err(AuthError::EmptyPassword));
    /// ```
    pub fn basic_from_pair(pair: &str) -> Result<Auth, AuthError> {
        let (user, password) = pair.split_once(':').ok_or(AuthError::NoColon)?;
        let auth = Auth::Basic {
            user: user.to_owned(),
            password: password.to_owned(),
        };
        auth.check()?;
        Ok(auth)
    }

    /// Refuses credentials that would let anyone in or that cannot be sent.
    pub fn check(&self) -> Result<(), AuthError> {
        match self {
            Auth::None => Ok(()),
            Auth::Token(t) if t.is_empty() => Err(AuthError::EmptyToken),
            Auth::Token(t) if !t.bytes().all(|b| b.is_ascii_graphic()) => {
                Err(AuthError::TokenCharacters)
            }
            Auth::Token(_) => Ok(()),
            Auth::Basic { user, .. } if user.is_empty() => Err(AuthError::EmptyUser),
            Auth::Basic { user, .. } if user.contains(':') => Err(AuthError::ColonInUser),
            Auth::Basic { password, .. } if password.is_empty() => Err(AuthError::EmptyPassword),
            Auth::Basic { .. } => Ok(()),
        }
    }

    /// True for [`Auth::None`].
    pub fn is_none(&self) -> bool {
        matches!(self, Auth::None)
    }

    /// `none`, `token` or `basic`: what the page is told.
    pub(crate) fn mode(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Token(_) => "token",
            Auth::Basic { .. } => "basic",
        }
    }
}

/// The dashboard's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardConfig {
    /// Who may use it.
    pub auth: Auth,
    /// Every mutation (pause, resume, retry, forget, cancel) answers 403, and the
    /// page shows no buttons for them.
    pub read_only: bool,
}

impl Default for DashboardConfig {
    /// No authentication, mutations allowed: for a loopback address only.
    fn default() -> Self {
        DashboardConfig {
            auth: Auth::None,
            read_only: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_credentials_are_refused_without_showing_them() {
        assert_eq!(
            Auth::Token(String::new()).check(),
            Err(AuthError::EmptyToken)
        );
        assert_eq!(
            Auth::Token("two words".into()).check(),
            Err(AuthError::TokenCharacters)
        );
        assert_eq!(Auth::basic_from_pair(":pw"), Err(AuthError::EmptyUser));
        let err = Auth::basic_from_pair("hunter2").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(Auth::Token("abc".into()).check().is_ok());
        let shown = format!("{:?}", Auth::basic_from_pair("ops:hunter2").unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!format!("{:?}", Auth::Token("abc".into())).contains("abc"));
    }
}
