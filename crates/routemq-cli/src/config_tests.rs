use std::collections::HashMap;

use super::*;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn refuse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::resolve(env(pairs), None, Unconfigured::Refuse)
}

#[test]
fn nothing_configured_is_memory_for_the_demo_and_an_error_elsewhere() {
    let c = Config::resolve(env(&[]), None, Unconfigured::Memory).unwrap();
    assert_eq!(c.connection, Connection::Memory);
    let e = refuse(&[]).unwrap_err().to_string();
    assert!(e.starts_with("QUEUE_CONNECTION is not set"), "{e}");
}

#[cfg(feature = "redis")]
#[test]
fn redis_from_parts_with_password_never_shows_it() {
    let c = refuse(&[
        ("QUEUE_CONNECTION", "redis"),
        ("REDIS_HOST", "cache.local"),
        ("REDIS_PORT", "6380"),
        ("REDIS_DB", "2"),
        ("REDIS_PASSWORD", "p@ss:w/rd"),
    ])
    .unwrap();
    assert_eq!(c.redacted_url().unwrap(), "redis://:***@cache.local:6380/2");
    assert_eq!(c.redis.as_ref().unwrap().database(), 2);
    let debug = format!("{c:?}");
    assert!(!debug.contains("p%40ss"), "{debug}");
    assert!(!debug.contains("p@ss"), "{debug}");
}

#[cfg(feature = "mysql")]
#[test]
fn database_from_parts_and_url_precedence() {
    let c = refuse(&[
        ("QUEUE_CONNECTION", "database"),
        ("DB_HOST", "db"),
        ("DB_NAME", "jobs"),
        ("DB_USER", "app"),
        ("DB_PASS", "secret"),
    ])
    .unwrap();
    let mysql = c.mysql.as_ref().unwrap();
    assert_eq!(mysql.opts.pass(), Some("secret"));
    assert_eq!(c.redacted_url().unwrap(), "mysql://app:***@db:3306/jobs");
    assert!(!format!("{c:?}").contains("secret"));

    let c = refuse(&[
        ("QUEUE_CONNECTION", "database"),
        ("DATABASE_URL", "mysql://root@127.0.0.1:3306/test"),
        ("DB_HOST", "ignored"),
    ])
    .unwrap();
    assert_eq!(
        c.redacted_url().unwrap(),
        "mysql://root@127.0.0.1:3306/test"
    );
    assert_eq!(c.url_from, Some("DATABASE_URL"));
}

#[test]
fn the_flag_beats_the_environment() {
    let c = Config::resolve(
        env(&[("QUEUE_CONNECTION", "redis")]),
        Some("memory"),
        Unconfigured::Refuse,
    )
    .unwrap();
    assert_eq!(c.connection, Connection::Memory);
    assert_eq!(c.chosen_by, "--connection");
}

#[cfg(all(feature = "redis", feature = "mysql"))]
#[test]
fn enable_flags_pick_the_driver_when_queue_connection_is_unset() {
    let c = refuse(&[("ENABLE_MYSQL", "true"), ("DB_NAME", "jobs")]).unwrap();
    assert_eq!(c.connection, Connection::Database);
    let c = Config::resolve(
        env(&[("REDIS_URL", "redis://127.0.0.1:6379")]),
        None,
        Unconfigured::Memory,
    )
    .unwrap();
    assert_eq!(
        c.connection,
        Connection::Redis,
        "a configured server beats the demo's memory default"
    );
    let e = refuse(&[("ENABLE_MYSQL", "yes"), ("ENABLE_REDIS", "1")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("both Redis and MySQL"), "{e}");
}

#[test]
fn no_silent_fallback_when_the_chosen_driver_is_disabled() {
    let e = refuse(&[
        ("QUEUE_CONNECTION", "redis"),
        ("ENABLE_REDIS", "false"),
        ("ENABLE_MYSQL", "true"),
    ])
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "QUEUE_CONNECTION=redis but ENABLE_REDIS=false; set ENABLE_REDIS=true or choose another connection"
    );
}

#[cfg(all(feature = "redis", feature = "mysql"))]
#[test]
fn each_bad_value_is_named_in_one_line() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("QUEUE_CONNECTION", "postgres")], "QUEUE_CONNECTION=postgres must be one of redis, database, memory"),
        (&[("QUEUE_CONNECTION", "redis"), ("REDIS_PORT", "abc")], "REDIS_PORT=abc is not a port number (1-65535)"),
        (&[("QUEUE_CONNECTION", "redis"), ("REDIS_PORT", "70000")], "REDIS_PORT=70000 is not a port number (1-65535)"),
        (&[("QUEUE_CONNECTION", "redis"), ("REDIS_DB", "-1")], "REDIS_DB=-1 is not a database number (0, 1, 2, …)"),
        (&[("ENABLE_REDIS", "maybe")], "ENABLE_REDIS=maybe must be true or false"),
        (&[("QUEUE_CONNECTION", "database"), ("DB_NAME", "q"), ("DB_PORT", "0")], "DB_PORT=0 is not a port number (1-65535)"),
        (&[("QUEUE_CONNECTION", "redis"), ("REDIS_PORT", "0")], "REDIS_PORT=0 is not a port number (1-65535)"),
        (&[("QUEUE_CONNECTION", "database"), ("DB_NAME", "q"), ("DB_SSL", "maybe")], "DB_SSL=maybe must be true or false"),
        (&[("QUEUE_CONNECTION", "database"), ("DB_NAME", "q"), ("DB_POOL_MAX", "none")], "DB_POOL_MAX=none is not a positive number"),
        (&[("QUEUE_CONNECTION", "redis"), ("REDIS_PREFIX", "a b")], "REDIS_PREFIX=a b must not contain braces or spaces"),
        (&[("QUEUE_CONNECTION", "database")], "DB_NAME is not set; name the database (or set DATABASE_URL=mysql://user:pass@host:3306/db)"),
        (&[("QUEUE_CONNECTION", "redis"), ("REDIS_KEY_MODE", "sharded")], "REDIS_KEY_MODE=sharded must be plain or cluster"),
        (&[("QUEUE_CONNECTION", "database"), ("DB_NAME", "a;drop")], "DB_NAME=a;drop contains ';'; use letters, digits, '_', '-' or '$'"),
        (&[("QUEUE_CONNECTION", "redis"), ("REDIS_URL", "http://x:pw@h")], "REDIS_URL=http://x:***@h is not a URL of the form redis://… or rediss://… or redis+unix://… or unix://…"),
        (&[("QUEUE_CONNECTION", "redis"), ("REDIS_HOST", "redis://h:1")], "REDIS_HOST=redis://h:1 is not a host name or address (give only the host; the port has its own variable)"),
    ];
    for (vars, want) in cases {
        let got = refuse(vars).unwrap_err().to_string();
        assert_eq!(&got, want, "for {vars:?}");
        assert!(!got.contains('\n'));
    }
}

#[test]
fn env_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.env");
    let e = load_env_file(Some(&missing)).unwrap_err().to_string();
    assert!(e.starts_with(&missing.display().to_string()), "{e}");
    let bad = dir.path().join("bad.env");
    std::fs::write(&bad, "GOOD=1\nthis line is broken\n").unwrap();
    let e = load_env_file(Some(&bad)).unwrap_err().to_string();
    assert!(e.contains("bad.env") && e.contains("cannot parse"), "{e}");
}

#[cfg(all(feature = "redis", feature = "mysql"))]
#[test]
fn shown_variables_mask_secrets() {
    let shown = shown_variables(env(&[
        ("REDIS_PASSWORD", "hunter2"),
        ("DB_PASS", "pw"),
        ("DATABASE_URL", "mysql://u:pw@h/db"),
        ("REDIS_HOST", "h"),
        ("UNRELATED", "x"),
    ]));
    let text: Vec<String> = shown.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        text,
        [
            "REDIS_HOST=h",
            "REDIS_PASSWORD=***",
            "DATABASE_URL=mysql://u:***@h/db",
            "DB_PASS=***"
        ]
    );
}

#[cfg(feature = "redis")]
#[test]
fn password_beside_a_url_overrides_it_as_the_redis_driver_reads_it() {
    let c = refuse(&[
        ("QUEUE_CONNECTION", "redis"),
        ("REDIS_URL", "redis://h:6379/1"),
        ("REDIS_PASSWORD", "pw"),
    ])
    .unwrap();
    assert_eq!(c.redacted_url().unwrap(), "redis://:***@h:6379/1");
    assert_eq!(c.url_from, Some("REDIS_URL"));
    let c = refuse(&[("QUEUE_CONNECTION", "redis"), ("REDIS_PASSWORD", "pw")]).unwrap();
    assert_eq!(c.redacted_url().unwrap(), "redis://:***@127.0.0.1:6379/0");
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_settings_the_cli_used_to_ignore_reach_the_driver() {
    let c = refuse(&[
        ("QUEUE_CONNECTION", "database"),
        ("DB_NAME", "jobs"),
        ("DB_SSL", "true"),
        ("DB_SSL_CA", "/etc/ssl/ca.pem"),
        ("DB_POOL_MAX", "9"),
    ])
    .unwrap();
    let mysql = c.mysql.unwrap();
    assert_eq!(mysql.pool_max, 9);
    assert!(mysql.opts.ssl_opts().is_some());
}

#[cfg(all(feature = "redis", feature = "mysql"))]
#[test]
fn variables_are_the_cli_ones_and_the_drivers_lists() {
    let all = variables();
    for v in CLI_VARIABLES {
        assert!(all.contains(&v), "{v}");
    }
    for v in [
        "REDIS_URL",
        "REDIS_KEY_MODE",
        "DATABASE_URL",
        "DB_SSL",
        "DB_POOL_MAX",
    ] {
        assert!(all.contains(&v), "{v}");
    }
}

#[test]
fn dashboard_credentials_come_from_flags_then_the_environment() {
    use routemq_dashboard::Auth;

    assert_eq!(dashboard_auth(env(&[]), None, None).unwrap(), Auth::None);
    let token = dashboard_auth(env(&[("ROUTEMQ_DASHBOARD_TOKEN", "abc")]), None, None).unwrap();
    assert_eq!(token, Auth::Token("abc".into()));
    let basic = dashboard_auth(
        env(&[("ROUTEMQ_DASHBOARD_BASIC_AUTH", "ops:pw")]),
        None,
        None,
    )
    .unwrap();
    assert!(matches!(basic, Auth::Basic { ref user, .. } if user == "ops"));
    // A flag sets both variables aside.
    let flag = dashboard_auth(
        env(&[("ROUTEMQ_DASHBOARD_BASIC_AUTH", "ops:pw")]),
        Some("xyz"),
        None,
    )
    .unwrap();
    assert_eq!(flag, Auth::Token("xyz".into()));
    // Empty variables count as unset.
    assert_eq!(
        dashboard_auth(env(&[("ROUTEMQ_DASHBOARD_TOKEN", " ")]), None, None).unwrap(),
        Auth::None
    );
}

#[test]
fn bad_dashboard_credentials_name_their_source_and_hide_the_secret() {
    let e = dashboard_auth(
        env(&[("ROUTEMQ_DASHBOARD_BASIC_AUTH", "hunter2")]),
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("ROUTEMQ_DASHBOARD_BASIC_AUTH=*** "), "{e}");
    assert!(e.contains("USER:PASSWORD") && !e.contains("hunter2"), "{e}");
    let e = dashboard_auth(env(&[]), None, Some("ops:"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--basic-auth=*** ") && e.contains("password"),
        "{e}"
    );
    let e = dashboard_auth(env(&[]), Some(""), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--auth-token=*** ") && e.contains("empty"),
        "{e}"
    );
    let e = dashboard_auth(
        env(&[
            ("ROUTEMQ_DASHBOARD_TOKEN", "t"),
            ("ROUTEMQ_DASHBOARD_BASIC_AUTH", "a:b"),
        ]),
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("both"), "{e}");
    let shown = shown_variables(env(&[("ROUTEMQ_DASHBOARD_TOKEN", "hunter2")]));
    assert_eq!(
        shown,
        [("ROUTEMQ_DASHBOARD_TOKEN".to_owned(), "***".to_owned())]
    );
}

/// `REDIS_CLUSTER_NODES` reaches the Redis driver through its own parser (the
/// CLI passes its lookup on), picks Redis when `QUEUE_CONNECTION` is unset, as
/// `REDIS_URL` does, and is named as where the address came from.
#[cfg(feature = "redis")]
#[test]
fn redis_cluster_nodes_configure_a_cluster() {
    let nodes = "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002";
    let c = refuse(&[("REDIS_CLUSTER_NODES", nodes)]).unwrap();
    assert_eq!(c.connection, Connection::Redis);
    assert_eq!(
        c.chosen_by,
        "ENABLE_REDIS/REDIS_URL/REDIS_CLUSTER_NODES (QUEUE_CONNECTION unset)"
    );
    assert_eq!(c.url_from, Some("REDIS_CLUSTER_NODES"));
    let redis = c.redis.as_ref().unwrap();
    assert!(redis.is_cluster());
    assert_eq!(
        c.redacted_url().unwrap(),
        "redis-cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"
    );
    let shown = shown_variables(env(&[("REDIS_CLUSTER_NODES", nodes)]));
    assert_eq!(
        shown,
        [("REDIS_CLUSTER_NODES".to_owned(), nodes.to_owned())]
    );
}
