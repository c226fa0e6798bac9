//! The page and its assets, compiled in from `assets/`: the HTML shell (static:
//! it holds no job data, only the CSRF token, the read-only flag and the auth
//! mode in `<meta>` tags), the script, the style sheets, and the login form of
//! token mode.
//!
//! Every URL of the page is relative. `Router::nest("/jobs-admin", …)` serves
//! the page at `/jobs-admin` (axum routes `/jobs-admin/` elsewhere), where a
//! plain `app.js` would mean `/app.js`; so a page whose path does not end in `/`
//! names its assets through its last segment (`jobs-admin/app.js`), and the
//! script computes its API base the same way.

use axum::extract::{OriginalUri, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::{auth, Dashboard, DashboardConfig};

const INDEX_HTML: &str = include_str!("../assets/index.html");
const LOGIN_HTML: &str = include_str!("../assets/login.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const LOGIN_CSS: &str = include_str!("../assets/login.css");

const HTML: &str = "text/html; charset=utf-8";

/// Where the login form shows that the last token was wrong.
const LOGIN_ERROR_SLOT: &str = "<!--login-error-->";
const LOGIN_ERROR: &str =
    r#"<p id="login-error" class="login-error" role="alert">That token is not right.</p>"#;

/// The page, its assets, login and logout.
pub(crate) fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/", get(shell))
        .route(
            "/app.js",
            get(asset("text/javascript; charset=utf-8", APP_JS)),
        )
        .route("/app.css", get(asset("text/css; charset=utf-8", APP_CSS)))
        .route(
            "/login.css",
            get(asset("text/css; charset=utf-8", LOGIN_CSS)),
        )
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
}

/// The shell with this process's settings filled in. Every value put in is
/// generated here (hex digits, fixed words), never taken from a request or a job.
pub(crate) fn shell_html(csrf_token: &str, config: &DashboardConfig) -> String {
    INDEX_HTML
        .replace("__CSRF_TOKEN__", csrf_token)
        .replace(
            "__READ_ONLY__",
            if config.read_only { "true" } else { "false" },
        )
        .replace("__AUTH_MODE__", config.auth.mode())
}

async fn shell(State(d): State<Dashboard>, OriginalUri(uri): OriginalUri) -> Response {
    let body = d.shell().replace(BASE, &relative_prefix(uri.path()));
    ([(header::CONTENT_TYPE, HTML)], body).into_response()
}

/// The placeholder the page's own URLs start with.
const BASE: &str = "__BASE__";

/// What the relative URLs of a page at `page_path` start with to stay inside
/// the dashboard: nothing when the path ends in `/`, else its last segment
/// (percent-encoded where needed) and a `/`.
pub(crate) fn relative_prefix(page_path: &str) -> String {
    match page_path.rsplit_once('/') {
        Some((_, last)) if !last.is_empty() => format!("{}/", encode_segment(last)),
        _ => String::new(),
    }
}

/// A path segment with every byte outside `A-Z a-z 0-9 - . _ ~ %` percent-encoded,
/// safe inside an HTML attribute and a `Location` header.
pub(crate) fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~%".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn asset(
    content_type: &'static str,
    body: &'static str,
) -> impl Fn() -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move || std::future::ready(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// The login form with `status`; `wrong` shows that the last token was wrong;
/// its URLs start with `prefix` (see [`relative_prefix`]).
pub(crate) fn login_page(status: StatusCode, wrong: bool, prefix: &str) -> Response {
    let body = LOGIN_HTML.replace(BASE, prefix);
    let body = if wrong {
        body.replace(LOGIN_ERROR_SLOT, LOGIN_ERROR)
    } else {
        body
    };
    (status, [(header::CONTENT_TYPE, HTML)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_of_the_shell_is_filled() {
        let html = shell_html("abc123", &DashboardConfig::default()).replace(BASE, "");
        assert!(html.contains(r#"<meta name="csrf-token" content="abc123">"#));
        assert!(!html.contains("__"), "a placeholder is left: {html}");
        assert!(LOGIN_HTML.contains(LOGIN_ERROR_SLOT));
        assert!(LOGIN_HTML.contains(BASE));
    }

    #[test]
    fn relative_urls_go_through_the_last_segment() {
        assert_eq!(relative_prefix("/"), "");
        assert_eq!(relative_prefix("/jobs-admin/"), "");
        assert_eq!(relative_prefix("/jobs-admin"), "jobs-admin/");
        assert_eq!(relative_prefix("/a/b.c"), "b.c/");
        assert_eq!(relative_prefix("/x\"<y"), "x%22%3Cy/");
    }

    #[test]
    fn the_assets_load_nothing_from_elsewhere() {
        for (name, text) in [
            ("index.html", INDEX_HTML),
            ("login.html", LOGIN_HTML),
            ("app.js", APP_JS),
            ("app.css", APP_CSS),
            ("login.css", LOGIN_CSS),
        ] {
            for needle in ["http://", "https://", "//cdn", "@import", "url("] {
                let allowed = needle == "http://" && text.contains("http://www.w3.org/2000/svg");
                let count = text.matches(needle).count()
                    - if allowed {
                        text.matches("http://www.w3.org/2000/svg").count()
                    } else {
                        0
                    };
                assert_eq!(count, 0, "{name} names {needle}");
            }
            assert!(!text.contains("innerHTML"), "{name} uses innerHTML");
            assert!(!text.contains("<script>"), "{name} has an inline script");
            assert!(!text.contains(" style="), "{name} has an inline style");
        }
    }
}
