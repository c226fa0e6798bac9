//! `routemq clear`, `routemq workers` and `routemq config`.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use routemq_core::{from_unix_ms, Driver};

use crate::cli::ClearArgs;
use crate::commands::queue_arg;
use crate::config::shown_variables;
use crate::duration::short;
use crate::output::Output;
use crate::{CliError, Config, EncryptionConfig};

pub(crate) async fn clear(
    driver: Arc<dyn Driver>,
    args: &ClearArgs,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let queue = queue_arg("--queue", &args.queue)?;
    if !args.force
        && !confirm(&format!(
            "Delete every ready, delayed and reserved job of queue {queue} on {}? [y/N] ",
            driver.connection_name()
        ))?
    {
        return Err(CliError::usage(
            "--force",
            format!("not clearing queue {queue}: not confirmed (pass --force when stdin is not a terminal)"),
        ));
    }
    let n = driver.clear(&queue).await?;
    out.either(
        &serde_json::json!({ "queue": queue.as_str(), "cleared": n }),
        format!("cleared {n} job(s) from queue {queue}"),
    )
}

fn confirm(prompt: &str) -> Result<bool, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(false);
    }
    let mut stderr = std::io::stderr();
    write!(stderr, "{prompt}").and_then(|()| stderr.flush())?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::io("reading the answer", e))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

pub(crate) async fn workers(driver: Arc<dyn Driver>, out: &mut Output<'_>) -> Result<(), CliError> {
    let workers = driver.workers().await?;
    if out.is_json() {
        return out.json(&workers);
    }
    if workers.is_empty() {
        return out.line("no live workers");
    }
    let now = std::time::SystemTime::now();
    let ago = |ms: i64| {
        now.duration_since(from_unix_ms(ms))
            .map(short)
            .unwrap_or_else(|_| short(Duration::ZERO))
    };
    let rows = workers
        .iter()
        .map(|w| {
            vec![
                w.host.clone(),
                w.pid.to_string(),
                w.queues.join(","),
                match w.prefetch {
                    0 => format!("{}/{}", w.running, w.concurrency),
                    n => format!("{}/{} (+{n} ahead)", w.running, w.concurrency),
                },
                w.processed.to_string(),
                w.failed.to_string(),
                format!("{} ago", ago(w.started_at_ms)),
                format!("{} ago", ago(w.last_seen_ms)),
                w.id.clone(),
            ]
        })
        .collect();
    out.table(
        &[
            "host",
            "pid",
            "queues",
            "running",
            "processed",
            "failed",
            "started",
            "last seen",
            "id",
        ],
        rows,
    )
}

pub(crate) fn config(
    config: &Config,
    encryption: &EncryptionConfig,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let url = config.redacted_url();
    // Key ids only, never keys.
    let current_key = encryption.keyring.current_key_id().map(|k| k.to_string());
    let previous_keys: Vec<String> = encryption
        .keyring
        .previous_key_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    let variables = shown_variables(|k| std::env::var(k).ok());
    #[allow(unused_mut)]
    let mut redis_layout: Option<(String, &'static str)> = None;
    #[cfg(feature = "redis")]
    if let Some(r) = &config.redis {
        let mode = match r.mode() {
            routemq_redis::KeyMode::Plain => "plain",
            routemq_redis::KeyMode::Cluster => "cluster",
        };
        redis_layout = Some((r.key_prefix().to_owned(), mode));
    }
    // The application database of a Redis connection (outbox, failed store).
    #[allow(unused_mut)]
    let mut app_db: Option<String> = None;
    #[cfg(feature = "mysql")]
    if config.connection == crate::Connection::Redis {
        app_db = config
            .mysql
            .as_ref()
            .map(routemq_mysql::MysqlConfig::redacted_url);
    }
    let outbox_db = app_db.clone().filter(|_| config.outbox);
    let failed_store = match (&config.connection, config.failed_in_database, &app_db) {
        (crate::Connection::Redis, true, Some(db)) => format!("database: queue_failed_jobs at {db}"),
        (crate::Connection::Redis, _, _) => "redis (ROUTEMQ_FAILED_STORE=database, or a configured database, keeps them in queue_failed_jobs)".to_owned(),
        (c, _, _) => format!("the {c} connection's own"),
    };
    if out.is_json() {
        return out.json(&serde_json::json!({
            "connection": config.connection,
            "chosen_by": config.chosen_by,
            "url": url,
            "url_from": config.url_from,
            "redis_prefix": redis_layout.as_ref().map(|(p, _)| p),
            "redis_key_mode": redis_layout.as_ref().map(|(_, m)| m),
            "outbox": { "enabled": config.outbox, "database": outbox_db },
            "failed_store": if config.failed_in_database { "database" } else { config.connection.as_str() },
            "encryption": {
                "configured": !encryption.keyring.is_empty(),
                "key_id": current_key,
                "previous_key_ids": previous_keys,
                "encrypt_all": encryption.encrypt_all,
            },
            "variables": variables.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        }));
    }
    let mut rows = vec![
        vec!["connection".to_owned(), config.connection.to_string()],
        vec!["chosen by".to_owned(), config.chosen_by.clone()],
    ];
    if let Some(u) = url {
        rows.push(vec!["url".to_owned(), u]);
    }
    if let Some(from) = config.url_from {
        rows.push(vec!["url from".to_owned(), from.to_owned()]);
    }
    if let Some((prefix, mode)) = &redis_layout {
        rows.push(vec!["redis key prefix".to_owned(), prefix.clone()]);
        rows.push(vec!["redis key mode".to_owned(), (*mode).to_owned()]);
    }
    rows.push(vec!["failed store".to_owned(), failed_store]);
    rows.push(vec![
        "outbox".to_owned(),
        match &outbox_db {
            Some(db) => format!("on: relayed from {db}"),
            None => "off (ROUTEMQ_OUTBOX unset)".to_owned(),
        },
    ]);
    let keys = match (&current_key, previous_keys.is_empty()) {
        (None, true) => "not configured (ROUTEMQ_ENCRYPTION_KEY unset)".to_owned(),
        (Some(k), true) => format!("key {k}"),
        (current, false) => format!(
            "key {}; previous keys {}",
            current.as_deref().unwrap_or("none"),
            previous_keys.join(", ")
        ),
    };
    rows.push(vec!["encryption".to_owned(), keys]);
    rows.push(vec![
        "encrypt all".to_owned(),
        if encryption.encrypt_all { "yes" } else { "no" }.to_owned(),
    ]);
    for (k, v) in variables {
        rows.push(vec![format!("${k}"), v]);
    }
    out.table(&["setting", "value"], rows)
}
