//! [`SlotPipeline`]: a pipeline that stays correct on a Redis Cluster.
//!
//! A Redis pipeline goes to one connection, so on a cluster every command in it
//! must hash to one slot (the cluster client refuses "crossed slots"). The
//! driver's pipelines often mix a queue's keys with a registry key
//! (`routemq:queues`) or several queues' keys. A `SlotPipeline` is built like a
//! `redis::Pipeline` (`cmd`, `arg`, `ignore`, `add_command`); on one server it
//! is sent as it is, one round trip. On a cluster it is sent as it is when all
//! its commands share a slot, and otherwise split into one pipeline per slot,
//! sent at once; the replies are put back in the order of the commands, so the
//! caller reads the same reply either way. Like a plain pipeline it is not a
//! transaction: each command (each script) is atomic on its own.

use redis::cluster_routing::Slot;
use redis::{Arg, Cmd, Pipeline, ToRedisArgs};

/// Commands sent together; see the module docs.
#[derive(Clone)]
pub(crate) struct SlotPipeline {
    pipe: Pipeline,
    /// Per command: true when its reply is left out of the result.
    ignored: Vec<bool>,
}

impl SlotPipeline {
    pub fn new() -> Self {
        SlotPipeline {
            pipe: Pipeline::new(),
            ignored: Vec::new(),
        }
    }

    /// Starts a command.
    pub fn cmd(&mut self, name: &str) -> &mut Self {
        self.pipe.cmd(name);
        self.ignored.push(false);
        self
    }

    /// Adds an argument to the last command.
    pub fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        self.pipe.arg(arg);
        self
    }

    /// Leaves the last command's reply out of the result.
    pub fn ignore(&mut self) -> &mut Self {
        self.pipe.ignore();
        if let Some(last) = self.ignored.last_mut() {
            *last = true;
        }
        self
    }

    /// Adds a built command (a script call).
    pub fn add_command(&mut self, cmd: Cmd) -> &mut Self {
        self.pipe.add_command(cmd);
        self.ignored.push(false);
        self
    }

    /// The whole pipeline, as one.
    pub fn whole(&self) -> &Pipeline {
        &self.pipe
    }

    /// Whether command `i`'s reply is left out.
    pub fn is_ignored(&self, i: usize) -> bool {
        self.ignored.get(i).copied().unwrap_or(false)
    }

    /// The commands split by slot: `None` when they all share one (or name no
    /// key), else per slot the positions of its commands and a pipeline of them
    /// with no reply ignored. Commands without a key join the first slot's.
    pub fn by_slot(&self) -> Option<Vec<(Vec<usize>, Pipeline)>> {
        let slots: Vec<Option<Slot>> = self.pipe.cmd_iter().map(first_key_slot).collect();
        let first = slots.iter().flatten().next().copied();
        if slots.iter().flatten().all(|s| Some(*s) == first) {
            return None;
        }
        let mut groups: Vec<(Slot, Vec<usize>, Pipeline)> = Vec::new();
        for (i, (cmd, slot)) in self.pipe.cmd_iter().zip(slots).enumerate() {
            let slot = slot.or(first).unwrap_or_else(|| Slot::for_key(b""));
            let at = match groups.iter().position(|(s, _, _)| *s == slot) {
                Some(at) => at,
                None => {
                    groups.push((slot, Vec::new(), Pipeline::new()));
                    groups.len() - 1
                }
            };
            let (_, positions, pipe) = &mut groups[at];
            positions.push(i);
            pipe.add_command(cmd.clone());
        }
        Some(groups.into_iter().map(|(_, p, pipe)| (p, pipe)).collect())
    }
}

/// The slot of a command's first key: the argument after the name, or for
/// `EVAL`/`EVALSHA` the first of the declared keys. `None` for a command
/// without a key (`PING`, `TIME`, a script declaring none).
pub(crate) fn first_key_slot(cmd: &Cmd) -> Option<Slot> {
    let mut args = cmd.args_iter().map(|a| match a {
        Arg::Simple(bytes) => bytes,
        _ => &b""[..],
    });
    let name = args.next()?;
    if name.eq_ignore_ascii_case(b"EVALSHA") || name.eq_ignore_ascii_case(b"EVAL") {
        let _script = args.next()?;
        let numkeys = std::str::from_utf8(args.next()?).ok()?;
        if numkeys.trim() == "0" {
            return None;
        }
        return args.next().map(Slot::for_key);
    }
    if name.eq_ignore_ascii_case(b"TIME") || name.eq_ignore_ascii_case(b"PING") {
        return None;
    }
    args.next().map(Slot::for_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_is_not_split() {
        let mut p = SlotPipeline::new();
        p.cmd("LLEN").arg("rq:queue:{a}");
        p.cmd("ZCARD").arg("rq:queue:{a}:delayed").ignore();
        p.cmd("TIME");
        assert!(p.by_slot().is_none());
        assert!(p.is_ignored(1) && !p.is_ignored(0));
    }

    #[test]
    fn several_slots_are_split_in_order() {
        let mut p = SlotPipeline::new();
        p.cmd("SADD").arg("rq:queues").arg("a");
        let mut script = redis::cmd("EVALSHA");
        script
            .arg("abc")
            .arg(2)
            .arg("rq:queue:{a}")
            .arg("rq:queue:{a}:jobs");
        p.add_command(script);
        p.cmd("LLEN").arg("rq:queue:{b}");
        p.cmd("LLEN").arg("rq:queue:{a}:x");
        let groups = p.by_slot().expect("split");
        let positions: Vec<Vec<usize>> = groups.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(positions.len(), 3);
        assert!(positions.contains(&vec![1, 3]), "{positions:?}");
        assert!(positions.contains(&vec![0]) && positions.contains(&vec![2]));
    }

    #[test]
    fn script_slots_come_from_their_first_key() {
        let mut script = redis::cmd("EVALSHA");
        script.arg("abc").arg(1).arg("x:{q}:jobs").arg("arg");
        assert_eq!(first_key_slot(&script), Some(Slot::for_key("q")));
        let mut none = redis::cmd("EVALSHA");
        none.arg("abc").arg(0).arg("arg");
        assert_eq!(first_key_slot(&none), None);
    }
}
