//! A run ledger that outlives its process, for worker processes: each process
//! opens a ledger file of its own ([`open`]), and every [`FileRecorded`] job it
//! runs appends its number there as one line, written straight to the file (no
//! buffer in the process, so a crash loses no line that was written). The test
//! then [`read`]s every process's file and totals the runs with
//! [`Tally::of`](crate::run_ledger::Tally::of).
//!
//! The job type lives here, in the library, so the test that dispatches it and
//! the binary that runs it (`e2e-ledger-worker`) register it under the same
//! [`Job::NAME`].

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use routemq_core::{Job, JobContext, JobError};
use serde::{Deserialize, Serialize};

/// This process's ledger file and where it is.
static LEDGER: OnceLock<(PathBuf, Mutex<File>)> = OnceLock::new();

/// Opens `path` (created, or appended to) as this process's ledger. Once per
/// process: a second call fails with `AlreadyExists`.
pub fn open(path: &Path) -> io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    LEDGER
        .set((path.to_path_buf(), Mutex::new(file)))
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "this process's ledger is open already ({}); not opening {}",
                    LEDGER
                        .get()
                        .map_or_else(String::new, |l| l.0.display().to_string()),
                    path.display()
                ),
            )
        })
}

/// Appends `n` as one line to this process's ledger.
fn append(n: u64) -> io::Result<()> {
    let (path, file) = LEDGER.get().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no ledger file is open in this process (file_ledger::open)",
        )
    })?;
    let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
    file.write_all(format!("{n}\n").as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
}

/// The job numbers in the ledger file at `path`, one per run, in file order.
/// A line that is not a number is an error naming the file and line.
pub fn read(path: &Path) -> io::Result<Vec<u64>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            line.parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} line {}: {line:?} is not a job number",
                        path.display(),
                        i + 1
                    ),
                )
            })
        })
        .collect()
}

/// How many times each job number ran, over the ledger files of all processes.
pub fn runs<'a>(paths: impl IntoIterator<Item = &'a Path>) -> io::Result<HashMap<u64, u32>> {
    let mut runs = HashMap::new();
    for path in paths {
        for n in read(path)? {
            *runs.entry(n).or_default() += 1;
        }
    }
    Ok(runs)
}

/// Appends its number to the ledger of the process that runs it, and succeeds.
/// Fails (fatally) when that process has no ledger open or the write fails.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRecorded {
    /// The job's number, `0..dispatched`.
    pub n: u64,
}

impl Job for FileRecorded {
    const NAME: &'static str = "e2e.file_recorded";

    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        append(self.n).map_err(|e| JobError::fatal(format!("run ledger: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_appended_are_read_back_and_counted_across_files() {
        let dir = std::env::temp_dir().join(format!("routemq-file-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (mine, other) = (dir.join("mine.ledger"), dir.join("other.ledger"));
        let _ = std::fs::remove_file(&mine);
        assert_eq!(
            append(1).unwrap_err().kind(),
            io::ErrorKind::NotFound,
            "appending before open must fail"
        );
        open(&mine).unwrap();
        assert_eq!(
            open(&other).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists,
            "a second ledger in one process must be refused"
        );
        for n in [3, 1, 3] {
            append(n).unwrap();
        }
        std::fs::write(&other, "1\n7\n").unwrap();
        assert_eq!(read(&mine).unwrap(), vec![3, 1, 3]);
        let counted = runs([mine.as_path(), other.as_path()]).unwrap();
        assert_eq!(counted, HashMap::from([(1, 2), (3, 2), (7, 1)]));

        std::fs::write(&other, "1\nseven\n").unwrap();
        let err = read(&other).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("seven"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
