//! Authentication: without valid credentials every route answers 401 and
//! changes nothing; a bearer token, Basic credentials and the login form's
//! session cookie each let a user in.

mod support;

use axum::body::Body;
use axum::http::{header, StatusCode};
use base64::Engine as _;
use routemq_dashboard::Auth;
use support::{header_of, json, request, text, Harness};

const TOKEN: &str = "s3cret-token-0123456789";

fn token_mode() -> Harness {
    Harness::new(Auth::Token(TOKEN.into()))
}

fn basic(user: &str, password: &str) -> String {
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {pair}")
}

#[tokio::test]
async fn without_credentials_every_route_is_401_and_changes_nothing() {
    let h = token_mode();
    h.push_json("default", serde_json::json!({})).await;

    let page = h.get("/", &[]).await;
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    let html = text(page).await;
    assert!(html.contains(r#"id="login-form""#), "{html}");
    // Under `Referrer-Policy: no-referrer` a browser would post the form with
    // `Origin: null`, which the Origin check refuses.
    assert!(html.contains(r#"<meta name="referrer" content="same-origin">"#));
    assert!(
        !html.contains(h.dashboard.csrf_token()),
        "the login page must not hand out the CSRF token"
    );

    let api = h.get("api/queues", &[]).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(json(api).await["error"].is_string());

    for asset in [
        "app.js",
        "app.css",
        "api/overview",
        "api/csrf",
        "api/failed",
    ] {
        let resp = h.get(asset, &[]).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{asset}");
    }

    let wrong = format!("Bearer {TOKEN}x");
    for headers in [vec![], vec![("authorization", wrong.as_str())]] {
        let mut all = headers.clone();
        let csrf = h.dashboard.csrf_token().to_owned();
        all.push(("x-csrf-token", &csrf));
        let resp = h.post("api/queues/default/pause", &all).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let resp = h.post("api/failed/retry-all", &all).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(
        h.paused().await.is_empty(),
        "a refused pause paused the queue"
    );
}

#[tokio::test]
async fn a_bearer_token_opens_every_route_and_needs_no_csrf_header() {
    let h = token_mode();
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let body = h.get_json("api/queues", &auth).await;
    assert!(body["queues"].is_array());
    assert_eq!(h.get("/", &auth).await.status(), StatusCode::OK);
    assert_eq!(h.get("app.js", &auth).await.status(), StatusCode::OK);

    let resp = h.post("api/queues/emails/pause", &auth).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", text(resp).await);
    assert_eq!(h.paused().await, ["emails"]);

    let lower = format!("bearer {TOKEN}");
    assert_eq!(
        h.get("api/queues", &[("authorization", lower.as_str())])
            .await
            .status(),
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
    let prefix = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
    assert_eq!(
        h.get("api/queues", &[("authorization", prefix.as_str())])
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn basic_auth_challenges_and_lets_the_right_user_in() {
    let h = Harness::new(Auth::basic_from_pair("ops:pa:ss").unwrap());

    let resp = h.get("/", &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = header_of(&resp, header::WWW_AUTHENTICATE).unwrap_or_default();
    assert!(
        challenge.starts_with(r#"Basic realm="routemq""#),
        "{challenge}"
    );
    let resp = h.get("api/queues", &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(header_of(&resp, header::WWW_AUTHENTICATE).is_some());

    let right = basic("ops", "pa:ss");
    assert_eq!(
        h.get("/", &[("authorization", right.as_str())])
            .await
            .status(),
        StatusCode::OK
    );
    h.get_json("api/overview", &[("authorization", right.as_str())])
        .await;
    for wrong in [
        basic("ops", "pa:sx"),
        basic("opx", "pa:ss"),
        basic("ops", ""),
    ] {
        let resp = h
            .get("api/queues", &[("authorization", wrong.as_str())])
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }

    // The browser resends Basic credentials by itself: a POST still needs the
    // CSRF header.
    let resp = h
        .post(
            "api/queues/default/pause",
            &[("authorization", right.as_str())],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(h.paused().await.is_empty());
    let resp = h
        .post_csrf(
            "api/queues/default/pause",
            &[("authorization", right.as_str())],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(h.paused().await, ["default"]);
}

#[tokio::test]
async fn the_login_form_opens_a_session_and_logout_closes_it() {
    let h = token_mode();
    let form = |token: &str| {
        request(
            "POST",
            "login",
            &[("content-type", "application/x-www-form-urlencoded")],
            Body::from(format!("token={token}")),
        )
    };

    let resp = h.send(form("wrong")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(header_of(&resp, header::SET_COOKIE).is_none());
    assert!(text(resp).await.contains(r#"id="login-error""#));

    let resp = h.send(form(TOKEN)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header_of(&resp, header::LOCATION),
        Some("../jobs-admin"),
        "back to the page, /jobs-admin"
    );
    let set_cookie = header_of(&resp, header::SET_COOKIE).unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    assert!(
        pair.starts_with("routemq_session=") && pair.len() > 40,
        "{pair}"
    );
    assert!(!pair.contains(TOKEN), "the cookie must not be the token");
    let cookie = [("cookie", pair.as_str())];

    let shell = h.get("/", &cookie).await;
    assert_eq!(shell.status(), StatusCode::OK);
    let html = text(shell).await;
    let meta = format!(
        r#"<meta name="csrf-token" content="{}">"#,
        h.dashboard.csrf_token()
    );
    assert!(html.contains(&meta), "{html}");
    h.get_json("api/queues", &cookie).await;

    // A cookie is ambient: a POST needs the CSRF header too.
    let resp = h.post("api/queues/default/pause", &cookie).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(h.paused().await.is_empty());
    let resp = h.post_csrf("api/queues/default/pause", &cookie).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(h.paused().await, ["default"]);

    let resp = h.post_csrf("logout", &cookie).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        h.get("api/queues", &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let forged = [("cookie", "routemq_session=0000")];
    assert_eq!(
        h.get("api/queues", &forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// The page's asset URLs as served at `uri` by `app`.
async fn assets_at(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let html = text(resp).await;
    let script = html
        .split("<script src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    (status, script)
}

#[tokio::test]
async fn the_page_finds_its_assets_under_nest_nest_service_and_at_the_root() {
    let h = token_mode();
    let d = h.dashboard.clone();
    // Router::nest: the page is /jobs-admin, its script jobs-admin/app.js.
    assert_eq!(
        assets_at(&h.app, "/jobs-admin").await,
        (StatusCode::OK, "jobs-admin/app.js".to_owned())
    );
    let (status, _) = assets_at(&h.app, "/jobs-admin/app.js").await;
    assert_eq!(status, StatusCode::OK);
    // Router::nest_service: both /jobs-admin and /jobs-admin/ serve it.
    let app = axum::Router::new().nest_service("/jobs-admin", routemq_dashboard::router(d.clone()));
    assert_eq!(
        assets_at(&app, "/jobs-admin/").await,
        (StatusCode::OK, "app.js".to_owned())
    );
    assert_eq!(
        assets_at(&app, "/jobs-admin").await,
        (StatusCode::OK, "jobs-admin/app.js".to_owned())
    );
    // At the root.
    let app = routemq_dashboard::router(d);
    assert_eq!(
        assets_at(&app, "/").await,
        (StatusCode::OK, "app.js".to_owned())
    );

    // The login form of a page at /jobs-admin posts to jobs-admin/login.
    let html = text(h.get("/", &[]).await).await;
    assert!(html.contains(r#"action="jobs-admin/login""#), "{html}");
    assert!(html.contains(r#"href="jobs-admin/login.css""#), "{html}");
    let css = h.get("login.css", &[]).await;
    assert_eq!(
        css.status(),
        StatusCode::OK,
        "the login page's style is public"
    );
}

#[tokio::test]
async fn empty_credentials_are_refused_at_construction() {
    let driver: std::sync::Arc<dyn routemq_core::Driver> =
        std::sync::Arc::new(routemq_core::MemoryDriver::new());
    let config = routemq_dashboard::DashboardConfig {
        auth: Auth::Token(String::new()),
        read_only: false,
    };
    let err = routemq_dashboard::Dashboard::new(driver.clone(), driver, config).unwrap_err();
    assert_eq!(err, routemq_dashboard::AuthError::EmptyToken);
}
