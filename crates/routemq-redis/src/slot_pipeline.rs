//! [`SlotPipeline`]: a pipeline that stays correct on a Redis Cluster.
//!
//! A Redis pipeline goes to one connection, so on a cluster every command in it
//! must hash to one slot (the cluster client refuses "crossed slots"). The
//! driver's pipelines often mix a queue's keys with a registry key
//! (`routemq:queues`) or several queues' keys. A `SlotPipeline` is built like a
//! `redis::Pipeline` (`cmd`, `arg`, `ignore`, `add_command`); on one server it
//! is sent as it is, one round trip. On a cluster it is split by slot, the
//! slots' parts sent at once, and the replies are put back in the order of the
//! commands, so the caller reads the same reply either way. Like a plain
//! pipeline it is not a transaction: each command (each script) is atomic on
//! its own.
//!
//! On a cluster a command that writes also goes in a request of its own
//! ([`SlotPipeline::cluster_requests`]). The cluster client answers a
//! redirect (`MOVED`, `ASK`, `TRYAGAIN`) met by any command of a request by
//! sending the whole request again, to the slot's new owner: a write that ran
//! before the redirected command would run twice (an ack chunk reporting its
//! jobs lost, a push chunk pushing its jobs again). A redirect refuses the one
//! command of a request of its own before it runs, so resending it is safe.
//! Reads (a known list of commands) are grouped, since running one again
//! changes nothing. A slot's requests are sent one after another, in order, so
//! a later command still sees what an earlier one wrote; most calls have at
//! most one write per slot and pay nothing for this.

use redis::cluster_routing::Slot;
use redis::{Arg, Cmd, Pipeline, ToRedisArgs};

/// One request a cluster connection sends for a [`SlotPipeline`]: some of its
/// commands, all of one slot.
pub(crate) struct ClusterRequest {
    /// The positions of the commands in the whole pipeline.
    pub positions: Vec<usize>,
    /// Those commands, no reply ignored.
    pub pipe: Pipeline,
}

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

    /// How a cluster connection sends the commands: per slot (in the order
    /// the slots first appear), the requests to send one after another. A
    /// command that writes is a request of its own; consecutive reads of a
    /// slot share one. Commands without a key join the first slot's. `None`
    /// when the whole pipeline can go as one request: one slot, and at most
    /// one command or nothing but reads.
    pub fn cluster_requests(&self) -> Option<Vec<Vec<ClusterRequest>>> {
        let slots: Vec<Option<Slot>> = self.pipe.cmd_iter().map(first_key_slot).collect();
        let first = slots.iter().flatten().next().copied();
        let one_slot = slots.iter().flatten().all(|s| Some(*s) == first);
        let reads: Vec<bool> = self.pipe.cmd_iter().map(is_read).collect();
        if one_slot && (self.pipe.len() <= 1 || reads.iter().all(|r| *r)) {
            return None;
        }
        let mut groups: Vec<(Slot, Vec<ClusterRequest>)> = Vec::new();
        // Whether the last request of each group holds reads only.
        let mut open_reads: Vec<bool> = Vec::new();
        for (i, ((cmd, slot), read)) in self.pipe.cmd_iter().zip(slots).zip(reads).enumerate() {
            let slot = slot.or(first).unwrap_or_else(|| Slot::for_key(b""));
            let at = match groups.iter().position(|(s, _)| *s == slot) {
                Some(at) => at,
                None => {
                    groups.push((slot, Vec::new()));
                    open_reads.push(false);
                    groups.len() - 1
                }
            };
            let requests = &mut groups[at].1;
            if !(read && open_reads[at]) {
                requests.push(ClusterRequest {
                    positions: Vec::new(),
                    pipe: Pipeline::new(),
                });
            }
            open_reads[at] = read;
            let request = requests.last_mut().expect("a request was just opened");
            request.positions.push(i);
            request.pipe.add_command(cmd.clone());
        }
        Some(groups.into_iter().map(|(_, requests)| requests).collect())
    }
}

/// Whether `cmd` only reads, so running it again changes nothing and tells the
/// same. Anything not on this list (every script included) counts as a write.
fn is_read(cmd: &Cmd) -> bool {
    const READS: &[&[u8]] = &[
        b"EXISTS",
        b"GET",
        b"HEXISTS",
        b"HGET",
        b"HGETALL",
        b"HKEYS",
        b"HLEN",
        b"HMGET",
        b"LINDEX",
        b"LLEN",
        b"LRANGE",
        b"MGET",
        b"PING",
        b"PTTL",
        b"SCARD",
        b"SISMEMBER",
        b"SMEMBERS",
        b"STRLEN",
        b"TIME",
        b"TTL",
        b"TYPE",
        b"ZCARD",
        b"ZCOUNT",
        b"ZRANGE",
        b"ZRANGEBYSCORE",
        b"ZRANK",
        b"ZREVRANGE",
        b"ZREVRANGEBYSCORE",
        b"ZSCORE",
    ];
    match cmd.args_iter().next() {
        Some(Arg::Simple(name)) => READS.iter().any(|r| name.eq_ignore_ascii_case(r)),
        _ => false,
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

    /// The positions of each slot's requests, in order.
    fn positions(p: &SlotPipeline) -> Option<Vec<Vec<Vec<usize>>>> {
        p.cluster_requests().map(|groups| {
            groups
                .iter()
                .map(|requests| requests.iter().map(|r| r.positions.clone()).collect())
                .collect()
        })
    }

    fn script(keys: &[&str]) -> Cmd {
        let mut script = redis::cmd("EVALSHA");
        script.arg("abc").arg(keys.len()).arg(keys);
        script
    }

    #[test]
    fn reads_of_one_slot_are_one_request() {
        let mut p = SlotPipeline::new();
        p.cmd("LLEN").arg("rq:queue:{a}");
        p.cmd("ZCARD").arg("rq:queue:{a}:delayed").ignore();
        p.cmd("TIME");
        assert_eq!(positions(&p), None);
        assert!(p.is_ignored(1) && !p.is_ignored(0));
        let mut one = SlotPipeline::new();
        one.add_command(script(&["rq:queue:{a}"]));
        assert_eq!(positions(&one), None, "a single write goes as it is");
    }

    #[test]
    fn several_slots_are_split_in_order() {
        let mut p = SlotPipeline::new();
        p.cmd("SADD").arg("rq:queues").arg("a");
        p.add_command(script(&["rq:queue:{a}", "rq:queue:{a}:jobs"]));
        p.cmd("LLEN").arg("rq:queue:{b}");
        p.cmd("LLEN").arg("rq:queue:{a}:x");
        let groups = positions(&p).expect("split");
        assert_eq!(groups.len(), 3);
        assert!(groups.contains(&vec![vec![1], vec![3]]), "{groups:?}");
        assert!(groups.contains(&vec![vec![0]]) && groups.contains(&vec![vec![2]]));
    }

    /// Two writes of one slot in one request would both run again when the
    /// second meets a redirect: each goes alone, in order; the reads between
    /// and after them are grouped.
    #[test]
    fn writes_of_one_slot_go_one_per_request() {
        let mut p = SlotPipeline::new();
        p.add_command(script(&["rq:queue:{a}"]));
        p.add_command(script(&["rq:queue:{a}"]));
        p.cmd("LLEN").arg("rq:queue:{a}");
        p.cmd("HGET").arg("rq:queue:{a}:jobs").arg("x");
        p.cmd("RPUSH").arg("rq:queue:{a}:notify").arg("1");
        p.cmd("TIME");
        assert_eq!(
            positions(&p),
            Some(vec![vec![vec![0], vec![1], vec![2, 3], vec![4], vec![5]]])
        );
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
