//! A real headless Chromium for browser tests, driven over WebDriver
//! (`fantoccini`) through a `chromedriver` process the testkit starts on a free
//! loopback port.
//!
//! Found in this order: `ROUTEMQ_TEST_CHROMEDRIVER` / `ROUTEMQ_TEST_CHROMIUM`,
//! then Debian's `/usr/bin/chromedriver` and `/usr/bin/chromium`
//! (`.ci/provision/chromium.sh` installs them). When either is missing the test
//! fails saying how to install them; it never skips.
//!
//! Chromium runs with a fresh profile in a temporary folder and with its
//! background networking off, so it sends nothing beyond the pages a test opens.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::ClientBuilder;
pub use fantoccini::{elements::Element, error::CmdError, Client, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::process::{Child, Command};

use crate::free_port;

/// The variable naming the `chromedriver` binary (default `/usr/bin/chromedriver`).
pub const CHROMEDRIVER_VAR: &str = "ROUTEMQ_TEST_CHROMEDRIVER";
/// The variable naming the Chromium binary (default `/usr/bin/chromium`).
pub const CHROMIUM_VAR: &str = "ROUTEMQ_TEST_CHROMIUM";

/// Why a browser could not be had.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// A binary is missing.
    #[error("no {what} at {path} (set {var}, or install Debian's chromium and chromium-driver: bash .ci/provision/chromium.sh)")]
    Missing {
        /// "chromedriver" or "chromium".
        what: &'static str,
        /// Where it was looked for.
        path: String,
        /// The variable that names it.
        var: &'static str,
    },
    /// Starting chromedriver failed.
    #[error("could not start chromedriver: {0}")]
    Start(#[from] std::io::Error),
    /// chromedriver did not answer in time.
    #[error("chromedriver did not answer on 127.0.0.1:{0} within 20 s")]
    NoAnswer(u16),
    /// A WebDriver command failed.
    #[error("WebDriver command failed: {0}")]
    Command(#[from] CmdError),
    /// A screenshot could not be written.
    #[error("could not write {0}: {1}")]
    Save(String, std::io::Error),
    /// The WebDriver session could not be created.
    #[error("could not open a Chromium session: {0}")]
    Session(#[from] fantoccini::error::NewSessionError),
}

/// A headless Chromium session; the chromedriver process is killed when this is
/// dropped (call [`Browser::close`] first to end the session cleanly).
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver client: `goto`, `find`, `screenshot`, …
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn binary(var: &'static str, default: &str, what: &'static str) -> Result<PathBuf, BrowserError> {
    let path = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let path = PathBuf::from(path);
    if path.is_file() {
        Ok(path)
    } else {
        Err(BrowserError::Missing {
            what,
            path: path.display().to_string(),
            var,
        })
    }
}

impl Browser {
    /// Starts chromedriver and opens a headless Chromium session with a
    /// 1280×900 window.
    pub async fn start() -> Result<Browser, BrowserError> {
        let chromedriver = binary(CHROMEDRIVER_VAR, "/usr/bin/chromedriver", "chromedriver")?;
        let chromium = binary(CHROMIUM_VAR, "/usr/bin/chromium", "chromium")?;
        let port = free_port()?;
        // Chromium's own scratch folders go in the profile's temporary folder
        // too (TMPDIR), so nothing is left in /tmp.
        let profile = tempfile::tempdir()?;
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .env("TMPDIR", profile.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err(BrowserError::NoAnswer(port));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!(
                "--user-data-dir={}",
                profile.path().join("profile").display()
            ),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await?;
        Ok(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Waits (at most 15 s) for the first element matching the CSS `selector`.
    pub async fn wait_for(&self, selector: &str) -> Result<Element, CmdError> {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(selector))
            .await
    }

    /// Saves a PNG screenshot of the window as `name` in `dir` (created if
    /// missing); returns its path.
    pub async fn screenshot_to(
        &self,
        dir: &std::path::Path,
        name: &str,
    ) -> Result<PathBuf, BrowserError> {
        let png = self.client.screenshot().await?;
        let path = dir.join(name);
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, png))
            .map_err(|e| BrowserError::Save(path.display().to_string(), e))?;
        Ok(path)
    }

    /// Ends the session and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}
