//! `routemq outbox status|relay`: the transactional outbox of Redis queues
//! (`ROUTEMQ_OUTBOX=true`): its backlog and relay lag, and a relay on its own.

use routemq_outbox::Outbox;

use crate::cli::OutboxCommand;
use crate::duration::short;
use crate::output::Output;
use crate::{CliError, Config, ConfigError};

/// Runs one `outbox` subcommand.
pub(crate) async fn run(
    config: Option<&Config>,
    cmd: &OutboxCommand,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let outbox = match config {
        Some(c) => crate::connect::outbox(c).await?,
        None => None,
    }
    .ok_or_else(|| {
        CliError::Config(ConfigError::Choice(
            "the outbox is off: set QUEUE_CONNECTION=redis, ROUTEMQ_OUTBOX=true and the application database (DATABASE_URL or DB_*)".into(),
        ))
    })?;
    match cmd {
        OutboxCommand::Status => status(&outbox, out).await,
        OutboxCommand::Relay { until_empty } => {
            let relayed = if *until_empty {
                let mut rows = 0u64;
                loop {
                    let pass = outbox.relay_pass().await?;
                    rows += pass.rows as u64;
                    if pass.rows == 0 && !pass.busy {
                        break rows;
                    }
                    if pass.busy {
                        tokio::time::sleep(outbox.config().idle_max).await;
                    }
                }
            } else {
                outbox.run_relay(shutdown_signal()).await
            };
            out.either(
                &serde_json::json!({ "relayed": relayed }),
                format!("relayed {relayed} jobs from the outbox"),
            )
        }
    }
}

async fn status(outbox: &Outbox, out: &mut Output<'_>) -> Result<(), CliError> {
    let s = outbox.status().await?;
    out.either(
        &serde_json::json!({
            "waiting": s.waiting,
            "lag_ms": s.lag.map(|d| d.as_millis() as u64),
        }),
        format!(
            "outbox: {} jobs waiting, relay lag {}",
            s.waiting,
            s.lag.map_or_else(|| "-".to_owned(), short)
        ),
    )
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
