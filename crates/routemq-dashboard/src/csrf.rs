//! Cross-site request forgery: a POST must come from the dashboard's own page,
//! which proves it by sending the per-process token in `X-CSRF-Token` (another
//! site cannot read it), and must not name another site as its `Origin`.

use axum::http::{header, HeaderMap};

use crate::secret;
use crate::Dashboard;

/// The header that carries the CSRF token.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Refuses a request whose `Origin` header is present and is not the site in
/// its `Host` header (`null` included); a request without `Origin` passes.
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h.trim()) => Ok(()),
        _ => Err("the request's Origin is not this dashboard's site"),
    }
}

/// Refuses a request without the right `X-CSRF-Token` header.
pub(crate) fn check_token(d: &Dashboard, headers: &HeaderMap) -> Result<(), &'static str> {
    let expected = secret::digest(d.csrf_token().as_bytes());
    match headers.get(CSRF_HEADER) {
        Some(given) if secret::matches(given.as_bytes(), &expected) => Ok(()),
        Some(_) => Err("wrong X-CSRF-Token header; reload the page"),
        None => Err("missing X-CSRF-Token header: send the token from GET api/csrf (or the page's csrf-token meta tag)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_must_name_the_host() {
        assert!(check_origin(&headers(&[("host", "localhost:8080")])).is_ok());
        assert!(check_origin(&headers(&[
            ("host", "localhost:8080"),
            ("origin", "http://localhost:8080")
        ]))
        .is_ok());
        assert!(check_origin(&headers(&[
            ("host", "localhost:8080"),
            ("origin", "http://evil.example")
        ]))
        .is_err());
        assert!(check_origin(&headers(&[
            ("host", "localhost:8080"),
            ("origin", "http://localhost:8081")
        ]))
        .is_err());
        assert!(check_origin(&headers(&[("host", "localhost"), ("origin", "null")])).is_err());
        assert!(check_origin(&headers(&[("origin", "http://localhost")])).is_err());
    }
}
