//! `routemq dashboard`: the web dashboard (`routemq-dashboard`) on an address
//! until SIGTERM/SIGINT, then the requests in flight finish.

use std::net::SocketAddr;
use std::sync::Arc;

use routemq_core::{Driver, FailedStore};
use routemq_dashboard::{Auth, Dashboard, DashboardConfig, FailedCounts};

use crate::cli::DashboardArgs;
use crate::{CliError, Config, ConfigError, Connection};

/// The dashboard's settings from the flags and the environment: its
/// credentials ([`crate::dashboard_auth`]), read-only mode, and the refusal to
/// serve a non-loopback address to anyone.
pub(crate) fn settings(args: &DashboardArgs) -> Result<DashboardConfig, CliError> {
    let auth = crate::dashboard_auth(
        |k| std::env::var(k).ok(),
        args.auth_token.as_deref(),
        args.basic_auth.as_deref(),
    )?;
    check_exposure(args.addr, &auth)?;
    Ok(DashboardConfig {
        auth,
        read_only: args.read_only,
    })
}

/// Refuses an address other machines can reach when no credentials are set.
fn check_exposure(addr: SocketAddr, auth: &Auth) -> Result<(), CliError> {
    if auth.is_none() && !addr.ip().is_loopback() {
        return Err(CliError::usage(
            "--addr",
            format!(
                "{addr} is not a loopback address, and the dashboard would let anyone who reaches it \
                 retry, forget and cancel jobs; give --auth-token TOKEN (or ROUTEMQ_DASHBOARD_TOKEN) \
                 or --basic-auth USER:PASSWORD (or ROUTEMQ_DASHBOARD_BASIC_AUTH), or listen on 127.0.0.1"
            ),
        ));
    }
    Ok(())
}

/// Serves the dashboard over `driver`, showing failed jobs from `failed` (the
/// store and, when it is not the driver's own, its per-queue counts).
pub(crate) async fn run(
    driver: Arc<dyn Driver>,
    failed: (Arc<dyn FailedStore>, Option<Arc<dyn FailedCounts>>),
    config: Option<&Config>,
    args: &DashboardArgs,
) -> Result<(), CliError> {
    let (failed, failed_counts) = failed;
    let settings = settings(args)?;
    let mode = match &settings.auth {
        Auth::None => "no authentication",
        Auth::Token(_) => "token authentication",
        Auth::Basic { .. } => "basic authentication",
    };
    let read_only = if settings.read_only {
        ", read-only"
    } else {
        ""
    };
    let mut dashboard = Dashboard::new(driver, failed, settings).map_err(|e| {
        CliError::Config(ConfigError::Choice(format!("dashboard credentials: {e}")))
    })?;
    if let Some(counts) = failed_counts {
        dashboard = dashboard.with_failed_counts(counts);
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| CliError::io(format!("cannot listen on {}", args.addr), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::io("reading the dashboard's address", e))?;
    let shutdown = routemq_worker::shutdown_signal()?;
    if config.map(|c| c.connection) == Some(Connection::Memory) {
        eprintln!("routemq: note: the memory driver keeps jobs in this process only; the dashboard shows an empty store");
    }
    if !addr.ip().is_loopback() {
        eprintln!("routemq: note: plain HTTP: credentials and job data cross the network unencrypted; put a TLS proxy in front");
    }
    eprintln!("routemq: dashboard listening on http://{addr}/ ({mode}{read_only})");
    routemq_dashboard::serve(listener, dashboard, shutdown)
        .await
        .map_err(|e| CliError::io("serving the dashboard", e))?;
    eprintln!("routemq: dashboard stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_address_needs_credentials() {
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let err = check_exposure(public, &Auth::None).unwrap_err().to_string();
        assert!(
            err.contains("--auth-token") && err.contains("--basic-auth"),
            "{err}"
        );
        assert!(check_exposure(public, &Auth::Token("t".into())).is_ok());
        for local in ["127.0.0.1:8080", "[::1]:8080"] {
            assert!(check_exposure(local.parse().unwrap(), &Auth::None).is_ok());
        }
    }
}
