//! The Lua scripts (`src/lua/*.lua`), loaded into Redis and run with EVALSHA.
//!
//! A script that uses the helpers of `lib.lua` and `groups.lua` gets, in front
//! of its text, only the helper definitions it names (and those they name, in
//! the library's order). Redis runs a script's whole text on every call, and a
//! `local function` is a closure made anew each time: prepending the whole
//! library (about 70 definitions) cost about 8 µs of server time per call,
//! which a single push (a few µs of real work) paid in full.

use std::collections::HashSet;

use redis::{Cmd, ToRedisArgs};

/// One script: its full text (with the helpers it uses in front) and its SHA-1.
#[derive(Debug)]
pub(crate) struct Script {
    pub text: String,
    pub hash: String,
}

impl Script {
    fn new(body: &str, with_lib: bool) -> Self {
        let text = if with_lib {
            format!("{}\n{body}", helpers_for(body))
        } else {
            body.to_owned()
        };
        let hash = redis::Script::new(&text).get_hash().to_owned();
        Script { text, hash }
    }

    /// `EVALSHA hash numkeys keys... args...`.
    pub fn cmd<K: ToRedisArgs, A: ToRedisArgs>(&self, keys: &[K], args: A) -> Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.hash).arg(keys.len()).arg(keys).arg(args);
        cmd
    }

    /// `SCRIPT LOAD text`.
    pub fn load_cmd(&self) -> Cmd {
        let mut cmd = redis::cmd("SCRIPT");
        cmd.arg("LOAD").arg(&self.text);
        cmd
    }
}

const LIB: &str = include_str!("lua/lib.lua");
/// Fair groups and their controls; uses `lib.lua`'s helpers, so it follows it.
const GROUPS: &str = include_str!("lua/groups.lua");

/// One top-level definition of the helper library: `local function NAME` or
/// `local NAME = ...` at the start of a line, up to the next one.
struct Definition<'a> {
    name: &'a str,
    text: &'a str,
}

/// The library's definitions, in order (`lib.lua`, then `groups.lua`). Text
/// before the first definition of a file (its header comment) is left out.
fn definitions() -> Vec<Definition<'static>> {
    let mut defs = Vec::new();
    for file in [LIB, GROUPS] {
        let mut starts: Vec<(usize, &str)> = Vec::new();
        let mut at = 0;
        for line in file.split_inclusive('\n') {
            let name = line
                .strip_prefix("local function ")
                .or_else(|| line.strip_prefix("local "))
                .map(|rest| {
                    let end = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    &rest[..end]
                })
                .filter(|name| !name.is_empty());
            if let Some(name) = name {
                starts.push((at, name));
            }
            at += line.len();
        }
        for (i, &(start, name)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(file.len(), |next| next.0);
            defs.push(Definition {
                name,
                text: &file[start..end],
            });
        }
    }
    defs
}

/// The identifiers in Lua text, whole-line comments left out (names, keywords;
/// strings and end-of-line comments too: a name mentioned there only costs an
/// unused definition).
fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .flat_map(|line| line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

/// The helper definitions `body` needs, directly or through other helpers, in
/// the library's order. A definition only names those before it (a Lua local
/// is in scope after its definition), so one pass from the last is enough.
fn helpers_for(body: &str) -> String {
    let defs = definitions();
    let mut named: HashSet<&str> = identifiers(body).collect();
    let mut needed = vec![false; defs.len()];
    for (i, def) in defs.iter().enumerate().rev() {
        if named.contains(def.name) {
            needed[i] = true;
            named.extend(identifiers(def.text));
        }
    }
    defs.iter()
        .zip(needed)
        .filter(|(_, needed)| *needed)
        .map(|(def, _)| def.text)
        .collect()
}

/// Every script the driver runs.
#[derive(Debug)]
pub(crate) struct Scripts {
    pub push: Script,
    pub push_unique: Script,
    pub push_once: Script,
    pub claim: Script,
    pub ack: Script,
    pub release: Script,
    pub fail: Script,
    pub extend: Script,
    pub reclaim: Script,
    pub stats: Script,
    pub clear: Script,
    pub resume: Script,
    pub set_limit: Script,
    pub clear_limit: Script,
    pub hold: Script,
    pub hold_group: Script,
    pub set_group_cap: Script,
    pub rate_gate: Script,
    pub failed_retry: Script,
    pub failed_forget: Script,
    pub failed_flush: Script,
    pub failed_prune: Script,
    pub heartbeat: Script,
    pub remove_worker: Script,
    pub workers: Script,
    pub schedule_upsert: Script,
    pub schedule_fire: Script,
    pub status: Script,
    pub record_runs: Script,
    pub finish: Script,
    pub cancel: Script,
    pub cancel_requests: Script,
    pub push_chain: Script,
    pub push_batch: Script,
    pub add_to_batch: Script,
    pub cancel_batch: Script,
    pub record_history: Script,
    pub list_jobs: Script,
    pub wake: Script,
    pub sweep_buckets: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Scripts {
            push: Script::new(include_str!("lua/push.lua"), true),
            push_unique: Script::new(include_str!("lua/push_unique.lua"), true),
            push_once: Script::new(include_str!("lua/push_once.lua"), true),
            claim: Script::new(include_str!("lua/claim.lua"), true),
            ack: Script::new(include_str!("lua/ack.lua"), true),
            release: Script::new(include_str!("lua/release.lua"), true),
            fail: Script::new(include_str!("lua/fail.lua"), true),
            extend: Script::new(include_str!("lua/extend.lua"), false),
            reclaim: Script::new(include_str!("lua/reclaim.lua"), true),
            stats: Script::new(include_str!("lua/stats.lua"), true),
            clear: Script::new(include_str!("lua/clear.lua"), true),
            resume: Script::new(include_str!("lua/resume.lua"), true),
            set_limit: Script::new(include_str!("lua/set_limit.lua"), true),
            clear_limit: Script::new(include_str!("lua/clear_limit.lua"), true),
            hold: Script::new(include_str!("lua/hold.lua"), true),
            hold_group: Script::new(include_str!("lua/hold_group.lua"), true),
            set_group_cap: Script::new(include_str!("lua/set_group_cap.lua"), true),
            rate_gate: Script::new(include_str!("lua/rate_gate.lua"), true),
            failed_retry: Script::new(include_str!("lua/failed_retry.lua"), true),
            failed_forget: Script::new(include_str!("lua/failed_forget.lua"), false),
            failed_flush: Script::new(include_str!("lua/failed_flush.lua"), false),
            failed_prune: Script::new(include_str!("lua/failed_prune.lua"), false),
            heartbeat: Script::new(include_str!("lua/heartbeat.lua"), false),
            remove_worker: Script::new(include_str!("lua/remove_worker.lua"), false),
            workers: Script::new(include_str!("lua/workers.lua"), true),
            schedule_upsert: Script::new(include_str!("lua/schedule_upsert.lua"), false),
            schedule_fire: Script::new(include_str!("lua/schedule_fire.lua"), true),
            status: Script::new(include_str!("lua/status.lua"), true),
            record_runs: Script::new(include_str!("lua/record_runs.lua"), true),
            finish: Script::new(include_str!("lua/finish.lua"), true),
            cancel: Script::new(include_str!("lua/cancel.lua"), true),
            cancel_requests: Script::new(include_str!("lua/cancel_requests.lua"), true),
            push_chain: Script::new(include_str!("lua/push_chain.lua"), true),
            push_batch: Script::new(include_str!("lua/push_batch.lua"), true),
            add_to_batch: Script::new(include_str!("lua/add_to_batch.lua"), true),
            cancel_batch: Script::new(include_str!("lua/cancel_batch.lua"), true),
            record_history: Script::new(include_str!("lua/record_history.lua"), true),
            list_jobs: Script::new(include_str!("lua/list_jobs.lua"), true),
            wake: Script::new(include_str!("lua/wake.lua"), false),
            sweep_buckets: Script::new(include_str!("lua/sweep_buckets.lua"), false),
        }
    }

    pub fn all(&self) -> [&Script; 40] {
        [
            &self.push,
            &self.push_unique,
            &self.push_once,
            &self.claim,
            &self.ack,
            &self.release,
            &self.fail,
            &self.extend,
            &self.reclaim,
            &self.stats,
            &self.clear,
            &self.resume,
            &self.set_limit,
            &self.clear_limit,
            &self.hold,
            &self.hold_group,
            &self.set_group_cap,
            &self.rate_gate,
            &self.failed_retry,
            &self.failed_forget,
            &self.failed_flush,
            &self.failed_prune,
            &self.heartbeat,
            &self.remove_worker,
            &self.workers,
            &self.schedule_upsert,
            &self.schedule_fire,
            &self.status,
            &self.record_runs,
            &self.finish,
            &self.cancel,
            &self.cancel_requests,
            &self.push_chain,
            &self.push_batch,
            &self.add_to_batch,
            &self.cancel_batch,
            &self.record_history,
            &self.list_jobs,
            &self.wake,
            &self.sweep_buckets,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_splits_into_named_definitions() {
        let defs = definitions();
        let names: Vec<&str> = defs.iter().map(|d| d.name).collect();
        for expected in ["CHUNK", "argv_reader", "notify", "B64", "BATCH_FIELDS"] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let unique: HashSet<&&str> = names.iter().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "a helper is defined twice: {names:?}"
        );
        for def in &defs {
            assert!(def.text.starts_with("local "), "{}", def.text);
        }
    }

    #[test]
    fn a_script_gets_the_helpers_it_names_and_theirs_in_order() {
        let text = helpers_for("notify(KEYS[1], 1)\nlocal r = argv_reader(2)");
        let at = |name: &str| text.find(&format!("local function {name}(")).unwrap();
        assert!(
            text.starts_with("local CHUNK"),
            "argv_reader needs CHUNK: {text}"
        );
        assert!(at("argv_reader") < at("notify"));
        assert!(!text.contains("local function ready_in_group("));
        assert!(helpers_for("return 1").is_empty());
    }

    #[test]
    fn every_script_names_only_what_its_text_defines() {
        // A helper a script calls but did not get would be a Lua global: nil.
        let defs = definitions();
        let scripts = Scripts::new();
        for script in scripts.all() {
            for def in &defs {
                let calls = identifiers(&script.text).any(|w| w == def.name);
                let defined = script.text.contains(def.text);
                assert!(
                    !calls || defined,
                    "a script names {} without its definition",
                    def.name
                );
            }
        }
    }
}
