//! `--metrics-addr`: the worker's `metrics` counters and histograms served for
//! Prometheus.

use std::net::SocketAddr;

use metrics_exporter_prometheus::PrometheusBuilder;

use crate::CliError;

/// Installs the Prometheus recorder and serves `http://addr/metrics`. Call from
/// inside a Tokio runtime, once per process.
pub fn serve(addr: SocketAddr) -> Result<(), CliError> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .map_err(|source| CliError::Metrics { addr, source })
}
