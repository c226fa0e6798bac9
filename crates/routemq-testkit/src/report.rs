//! The servers the testkit started, told to whoever runs the tests: when
//! `ROUTEMQ_TEST_SERVER_REPORT` names a file, a line `kind<TAB>how<TAB>version` is
//! appended to it for each shared server started (the version as the server
//! itself reports it). `cargo xtask itest` reads it for its matrix table.

use std::io::Write;

/// The variable naming the report file.
pub const SERVER_REPORT_VAR: &str = "ROUTEMQ_TEST_SERVER_REPORT";

/// Appends `kind\thow\tversion` to the report file, if one is named.
pub(crate) fn server_started(kind: &str, how: &str, version: &str) {
    let Some(path) = std::env::var_os(SERVER_REPORT_VAR).filter(|p| !p.is_empty()) else {
        return;
    };
    let line = format!("{kind}\t{how}\t{}\n", version.trim());
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        tracing::warn!(path = ?path, "cannot write the server report: {e}");
    }
}
