//! The Lua scripts (`src/lua/*.lua`), loaded into Redis and run with EVALSHA.

use redis::{Cmd, ToRedisArgs};

/// One script: its full text (with `lib.lua` and `groups.lua` in front when it needs the helpers)
/// and its SHA-1.
#[derive(Debug)]
pub(crate) struct Script {
    pub text: String,
    pub hash: String,
}

impl Script {
    fn new(body: &str, with_lib: bool) -> Self {
        let text = if with_lib {
            format!("{LIB}\n{GROUPS}\n{body}")
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
        }
    }

    pub fn all(&self) -> [&Script; 38] {
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
        ]
    }
}
