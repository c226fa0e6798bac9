//! The run ledger: each worker process appends the number of every job it ran to
//! its own file (`runs-<pid>.log`) in the directory named by `ROUTEMQ_SOAK_LEDGER`.
//! A run is recorded after the job's work and before the ack, so a job counted
//! twice really ran twice.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// The environment variable naming the ledger directory.
pub const LEDGER_DIR_VAR: &str = "ROUTEMQ_SOAK_LEDGER";

static FILE: OnceLock<Mutex<File>> = OnceLock::new();

/// Appends `n` to this process's ledger file.
pub fn record_run(n: u64) -> std::io::Result<()> {
    let file = match FILE.get() {
        Some(f) => f,
        None => {
            let dir = std::env::var(LEDGER_DIR_VAR)
                .map_err(|_| std::io::Error::other(format!("{LEDGER_DIR_VAR} is not set")))?;
            let path = Path::new(&dir).join(format!("runs-{}.log", std::process::id()));
            let f = OpenOptions::new().create(true).append(true).open(path)?;
            FILE.get_or_init(|| Mutex::new(f))
        }
    };
    let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
    // One write per line with O_APPEND: a SIGKILL can cut at most the last line.
    f.write_all(format!("{n}\n").as_bytes())
}

/// Runs per job number, read from every ledger file in `dir`. Cut lines (a
/// process killed mid-write) are skipped.
pub fn read_runs(dir: &Path) -> std::io::Result<HashMap<u64, u32>> {
    let mut runs = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        for line in text.lines() {
            if let Ok(n) = line.parse::<u64>() {
                *runs.entry(n).or_insert(0) += 1;
            }
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counts_and_skips_cut_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("runs-1.log"), "1\n2\n3\n").unwrap();
        std::fs::write(dir.path().join("runs-2.log"), "2\n4\n5").unwrap();
        std::fs::write(dir.path().join("runs-3.log"), "6\n7x").unwrap();
        let runs = read_runs(dir.path()).unwrap();
        assert_eq!(runs.get(&2), Some(&2));
        assert_eq!(runs.get(&5), Some(&1));
        assert_eq!(runs.get(&6), Some(&1));
        assert_eq!(runs.len(), 6, "{runs:?}");
    }
}
