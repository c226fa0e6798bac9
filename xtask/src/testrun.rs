//! Runs a test command, passing its output through, and counts its tests from
//! the closing lines: nextest's `Summary [..] N tests run: P passed, F failed, ...`
//! or the libtest lines `test result: ... P passed; F failed; ...` (summed).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// What one test command did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The command exited 0.
    pub success: bool,
    /// Tests passed.
    pub passed: u64,
    /// Tests failed (or timed out).
    pub failed: u64,
    /// How long it took.
    pub elapsed: Duration,
}

impl Outcome {
    /// Adds another command's outcome to this one.
    pub fn add(&mut self, other: &Outcome) {
        self.success &= other.success;
        self.passed += other.passed;
        self.failed += other.failed;
        self.elapsed += other.elapsed;
    }
}

/// Runs `cmd` with its stdout and stderr passed through line by line, and counts.
pub fn run_counted(mut cmd: Command) -> Result<Outcome> {
    eprintln!("xtask: running {cmd:?}");
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let (tx, rx) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // Never panic on a full disk or a closed pipe: keep counting.
                let _ = writeln!(std::io::stdout(), "{line}");
                let _ = tx.send(line);
            }
        }));
    }
    if let Some(err) = child.stderr.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = writeln!(std::io::stderr(), "{line}");
                let _ = tx.send(line);
            }
        }));
    }
    drop(tx);
    let mut counts = Counts::default();
    for line in rx {
        counts.read(&line);
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait().context("waiting for the tests")?;
    let _ = std::io::stdout().flush();
    let (passed, failed) = counts.totals();
    Ok(Outcome {
        success: status.success(),
        passed,
        failed,
        elapsed: start.elapsed(),
    })
}

#[derive(Debug, Default)]
struct Counts {
    nextest: Option<(u64, u64)>,
    libtest: (u64, u64),
}

impl Counts {
    fn read(&mut self, line: &str) {
        let line = strip_ansi(line);
        let line = line.trim();
        if line.starts_with("Summary [") {
            if let Some((_, rest)) = line.split_once("tests run:") {
                self.nextest = Some(parse_list(rest, ','));
            } else if let Some((_, rest)) = line.split_once("test run:") {
                self.nextest = Some(parse_list(rest, ','));
            }
        } else if let Some(rest) = line.strip_prefix("test result:") {
            let (p, f) = parse_list(rest, ';');
            self.libtest.0 += p;
            self.libtest.1 += f;
        }
    }

    fn totals(&self) -> (u64, u64) {
        self.nextest.unwrap_or(self.libtest)
    }
}

/// Sums `N passed` and `N failed` / `N timed out` from a list like
/// ` 10 passed (1 slow), 2 failed, 1 skipped` or `ok. 3 passed; 0 failed; ...`.
fn parse_list(text: &str, sep: char) -> (u64, u64) {
    let (mut passed, mut failed) = (0, 0);
    for item in text.split(sep) {
        let words: Vec<&str> = item.split_whitespace().collect();
        for pair in words.windows(2) {
            let Ok(n) = pair[0].parse::<u64>() else {
                continue;
            };
            match pair[1].trim_end_matches(|c: char| !c.is_alphanumeric()) {
                "passed" => passed += n,
                "failed" | "timed" => failed += n,
                _ => {}
            }
        }
    }
    (passed, failed)
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nextest_and_libtest_summaries_are_counted() {
        let mut c = Counts::default();
        c.read("     Summary [  12.345s] 150 tests run: 148 passed (2 slow), 2 failed, 3 skipped");
        assert_eq!(c.totals(), (148, 2));
        let mut c = Counts::default();
        c.read("\u{1b}[32;1m     Summary\u{1b}[0m [  1.0s] 7 tests run: 7 passed, 1 skipped");
        assert_eq!(c.totals(), (7, 0));
        let mut c = Counts::default();
        c.read("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out");
        c.read("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured");
        assert_eq!(c.totals(), (15, 2));
        let mut c = Counts::default();
        c.read("     Summary [  9.0s] 9 tests run: 8 passed, 1 timed out, 0 skipped");
        assert_eq!(c.totals(), (8, 1));
    }
}
