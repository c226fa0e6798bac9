//! A process-global record of job runs: for each test run (a [`RunId`]), how many
//! times each job number ran. Tests in one binary run in parallel, so every test
//! takes its own [`RunId`] and reads only its own counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Identifies one test's runs inside the shared ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RunId(pub u64);

static NEXT: AtomicU64 = AtomicU64::new(1);
static LEDGER: Mutex<Option<HashMap<RunId, HashMap<u64, u32>>>> = Mutex::new(None);

impl RunId {
    /// A run id no other test of this process uses.
    pub fn fresh() -> Self {
        RunId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// Records one run of job `n`.
    pub fn record(self, n: u64) {
        let mut ledger = LEDGER.lock().unwrap_or_else(|p| p.into_inner());
        *ledger
            .get_or_insert_with(HashMap::new)
            .entry(self)
            .or_default()
            .entry(n)
            .or_default() += 1;
    }

    /// How many times each job number ran (only numbers that ran at least once).
    pub fn runs(self) -> HashMap<u64, u32> {
        let ledger = LEDGER.lock().unwrap_or_else(|p| p.into_inner());
        ledger
            .as_ref()
            .and_then(|l| l.get(&self))
            .cloned()
            .unwrap_or_default()
    }

    /// Totals for job numbers `0..dispatched`.
    pub fn tally(self, dispatched: u64) -> Tally {
        Tally::of(&self.runs(), dispatched)
    }
}

/// How the jobs of one run were run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Jobs numbered `0..dispatched`.
    pub dispatched: u64,
    /// Jobs that ran exactly once.
    pub ran_once: u64,
    /// Jobs that never ran.
    pub never_ran: Vec<u64>,
    /// Jobs that ran more than once, with their run counts.
    pub ran_more: Vec<(u64, u32)>,
    /// Runs recorded for numbers that were never dispatched.
    pub unknown: u64,
}

impl Tally {
    /// Totals for job numbers `0..dispatched`, from how many times each number
    /// ran (numbers missing from `runs` never ran).
    pub fn of(runs: &HashMap<u64, u32>, dispatched: u64) -> Tally {
        let mut t = Tally {
            dispatched,
            ..Tally::default()
        };
        for n in 0..dispatched {
            match runs.get(&n).copied().unwrap_or(0) {
                0 => t.never_ran.push(n),
                1 => t.ran_once += 1,
                k => t.ran_more.push((n, k)),
            }
        }
        t.unknown = runs.keys().filter(|n| **n >= dispatched).count() as u64;
        t
    }

    /// A one-line summary (the first few missing and repeated job numbers).
    pub fn summary(&self) -> String {
        format!(
            "dispatched {}, ran once {}, never ran {} (first {:?}), ran more than once {} (first {:?}), unknown {}",
            self.dispatched,
            self.ran_once,
            self.never_ran.len(),
            &self.never_ran[..self.never_ran.len().min(5)],
            self.ran_more.len(),
            &self.ran_more[..self.ran_more.len().min(5)],
            self.unknown
        )
    }

    /// Every job ran exactly once and nothing else ran.
    pub fn exactly_once(&self) -> bool {
        self.ran_once == self.dispatched && self.unknown == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_tells_missing_and_repeated_runs_apart() {
        let run = RunId::fresh();
        run.record(0);
        run.record(2);
        run.record(2);
        run.record(7);
        let t = run.tally(3);
        assert_eq!(t.ran_once, 1);
        assert_eq!(t.never_ran, vec![1]);
        assert_eq!(t.ran_more, vec![(2, 2)]);
        assert_eq!(t.unknown, 1);
        assert!(!t.exactly_once());
        assert!(RunId::fresh().runs().is_empty());
    }
}
