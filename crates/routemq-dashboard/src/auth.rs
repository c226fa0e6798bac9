//! Authentication: who sent a request (a bearer token, a session cookie, Basic
//! credentials), the 401 answers, and the login and logout forms of token mode.

use axum::extract::rejection::{FormRejection, NestedPathRejection};
use axum::extract::{Form, NestedPath, OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use crate::config::Auth;
use crate::error::error_response;
use crate::sessions::SESSION_TTL;
use crate::Dashboard;

/// The session cookie of token mode.
pub(crate) const SESSION_COOKIE: &str = "routemq_session";

/// How a request proved who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    /// No authentication is configured.
    Open,
    /// `Authorization: Bearer` with the token: sent on purpose by a script, never
    /// by a browser on its own, so it needs no CSRF token.
    Bearer,
    /// The session cookie set by the login form.
    Session,
    /// `Authorization: Basic`, which a browser resends by itself.
    Basic,
}

/// Who sent the request, or `None` when it carries no valid credentials.
pub(crate) fn authenticate(d: &Dashboard, headers: &HeaderMap) -> Option<Credential> {
    match &d.config().auth {
        Auth::None => Some(Credential::Open),
        Auth::Token(_) => {
            if authorization(headers, "Bearer").is_some_and(|t| d.token_matches(t)) {
                Some(Credential::Bearer)
            } else if session_id(headers).is_some_and(|id| d.sessions().is_open(id)) {
                Some(Credential::Session)
            } else {
                None
            }
        }
        Auth::Basic { .. } => {
            let pair = authorization(headers, "Basic")
                .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok())?;
            let (user, password) = pair.split_once(':')?;
            d.basic_matches(user, password).then_some(Credential::Basic)
        }
    }
}

/// The credentials of an `Authorization: SCHEME credentials` header (the
/// scheme compared case-insensitively).
fn authorization<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, credentials) = value.split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| credentials.trim())
}

/// The session id in the request's cookies.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// The 401 for a request without valid credentials: the login form for the page
/// of token mode, a Basic challenge in Basic mode, JSON for the API. `path` is
/// the path inside the dashboard, `original` the whole request path.
pub(crate) fn unauthorized(d: &Dashboard, method: &Method, path: &str, original: &str) -> Response {
    let api = path.starts_with("/api/");
    let page = path == "/" && (method == Method::GET || method == Method::HEAD);
    let mut response = match &d.config().auth {
        Auth::Token(_) if page => crate::pages::login_page(
            StatusCode::UNAUTHORIZED,
            false,
            &crate::pages::relative_prefix(original),
        ),
        _ if api => error_response(
            StatusCode::UNAUTHORIZED,
            "authentication required: log in, or send the dashboard's credentials",
        ),
        _ => (StatusCode::UNAUTHORIZED, "authentication required\n").into_response(),
    };
    let challenge = match &d.config().auth {
        Auth::Basic { .. } => Some(r#"Basic realm="routemq", charset="UTF-8""#),
        Auth::Token(_) if api => Some(r#"Bearer realm="routemq""#),
        _ => None,
    };
    if let Some(challenge) = challenge {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    token: String,
}

/// `POST login` (token mode): the right token opens a session (an HttpOnly,
/// SameSite=Strict cookie) and goes back to the page; a wrong one shows the form
/// again with 401.
pub(crate) async fn login(
    State(d): State<Dashboard>,
    OriginalUri(uri): OriginalUri,
    nested: Result<NestedPath, NestedPathRejection>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if !matches!(d.config().auth, Auth::Token(_)) {
        return error_response(
            StatusCode::NOT_FOUND,
            "this dashboard has no login form (it is not in token mode)",
        );
    }
    let token = form.map(|Form(f)| f.token).unwrap_or_default();
    if !d.token_matches(&token) {
        // Shown at `…/login`: its relative URLs already resolve inside the dashboard.
        return crate::pages::login_page(StatusCode::UNAUTHORIZED, true, "");
    }
    let id = d.sessions().open();
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    back_to_page(uri.path(), nested.ok(), &cookie)
}

/// `POST logout`: closes the session (if any) and clears the cookie.
pub(crate) async fn logout(
    State(d): State<Dashboard>,
    OriginalUri(uri): OriginalUri,
    nested: Result<NestedPath, NestedPathRejection>,
    headers: HeaderMap,
) -> Response {
    if let Some(id) = session_id(&headers) {
        d.sessions().close(id);
    }
    back_to_page(
        uri.path(),
        nested.ok(),
        &format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    )
}

/// 303 from `from` (the login or logout path, one segment below the page) back
/// to the page, with `cookie` set. The target is relative, so it holds behind a
/// proxy that mounts the dashboard elsewhere. Under `Router::nest("/jobs-admin",
/// …)` the page is `/jobs-admin` (axum routes no `/jobs-admin/` to it); at the
/// root, or nested at a path ending in `/`, it is the directory of `from`.
fn back_to_page(from: &str, nested: Option<NestedPath>, cookie: &str) -> Response {
    let page = from.rsplit_once('/').map_or("", |(page, _)| page);
    let last = page.rsplit_once('/').map_or("", |(_, last)| last);
    let target = match nested {
        // `/jobs-admin/login` → `../jobs-admin`, which is `/jobs-admin`.
        Some(n) if !n.as_str().ends_with('/') && !last.is_empty() => {
            format!("../{}", crate::pages::encode_segment(last))
        }
        _ => "./".to_owned(),
    };
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
