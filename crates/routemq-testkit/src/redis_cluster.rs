//! A local Redis Cluster the testkit starts itself: `redis-server` processes in
//! cluster mode on 127.0.0.1, joined with `redis-cli --cluster create`, plus the
//! faults cluster tests need (kill a node, restart it, wait for a failover, move a
//! slot while clients run).
//!
//! The binaries: `redis-server` is [`redis_server_binary`]
//! (`ROUTEMQ_TEST_REDIS_SERVER`, else the one on PATH); `redis-cli` is
//! [`redis_cli_binary`] (`ROUTEMQ_TEST_REDIS_CLI`, else the `redis-cli` next to
//! that `redis-server`, else the one on PATH). Redis 5 and 7 both work.
//!
//! The testkit talks to the nodes with a small RESP client of its own (no driver,
//! no `redis` crate): one connection per command.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::redis_server::{redis_server_binary, RedisServerError};

/// The variable naming the `redis-cli` binary used to create clusters.
pub const REDIS_CLI_VAR: &str = "ROUTEMQ_TEST_REDIS_CLI";

/// The number of hash slots of a Redis Cluster.
pub const CLUSTER_SLOTS: u16 = 16384;

/// How long [`RedisCluster::start`] and [`RedisCluster::restart`] wait for the
/// cluster to settle.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `redis-cli --cluster create` may run.
const CREATE_TIMEOUT: Duration = Duration::from_secs(60);

/// Client ports are picked in `PORT_LOW..PORT_HIGH`, so that both a port and its
/// cluster bus port (+10000) stay below Linux's ephemeral range (32768+), where
/// outgoing connections would take them.
const PORT_LOW: u16 = 12000;
const PORT_HIGH: u16 = 22000;
const BUS_OFFSET: u16 = 10000;

/// The `redis-cli` the testkit runs: `ROUTEMQ_TEST_REDIS_CLI` (a path), else the
/// `redis-cli` in the directory of [`redis_server_binary`] when there is one
/// there, else `redis-cli` on PATH.
pub fn redis_cli_binary() -> String {
    if let Some(cli) = std::env::var(REDIS_CLI_VAR).ok().filter(|s| !s.is_empty()) {
        return cli;
    }
    let server = redis_server_binary();
    let server_path = if server.contains('/') {
        Some(PathBuf::from(&server))
    } else {
        find_on_path(&server)
    };
    server_path
        .and_then(|p| cli_next_to(&p))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "redis-cli".to_owned())
}

/// `redis-cli` in the same directory as `server`, if it is a file there.
fn cli_next_to(server: &Path) -> Option<PathBuf> {
    let cli = server.with_file_name("redis-cli");
    cli.is_file().then_some(cli)
}

/// The first `name` found in the directories of PATH.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A Redis Cluster of `redis-server` child processes on 127.0.0.1, each with its
/// own data directory (no persistence but its `nodes-PORT.conf`). The processes
/// are killed when this is dropped, and a watchdog kills them once the test
/// process exits, so a cluster kept in a static does not outlive the tests.
///
/// Nodes are named by their address, `127.0.0.1:PORT`. Tests that kill nodes or
/// fail masters over should start their own cluster rather than use the shared
/// one of [`crate::redis::redis_cluster`].
#[derive(Debug)]
pub struct RedisCluster {
    // Declared first: the nodes are killed before their directories go.
    nodes: Vec<Node>,
    /// The slots each node owned when [`RedisCluster::kill`] killed it.
    killed_slots: Mutex<HashMap<u16, Vec<(u16, u16)>>>,
    dir: tempfile::TempDir,
}

impl RedisCluster {
    /// Starts `masters * (1 + replicas_per_master)` nodes (`redis-server
    /// --cluster-enabled yes --cluster-node-timeout 1000 --save "" --appendonly no`
    /// on free ports P whose bus port P+10000 is free too), joins them with
    /// `redis-cli --cluster create ... --cluster-replicas R --cluster-yes`, and
    /// waits (at most 30 s) until every node reports `cluster_state:ok` with all
    /// 16384 slots assigned and knows every other node, and every replica's link
    /// to its master is up.
    ///
    /// `masters` must be at least 3 (`redis-cli --cluster create` refuses fewer).
    pub fn start(masters: usize, replicas_per_master: usize) -> Result<Self, RedisServerError> {
        if masters < 3 {
            return Err(RedisServerError::Cluster(format!(
                "a Redis Cluster of {masters} masters: redis-cli --cluster create needs at \
                 least 3; ask RedisCluster::start for 3 or more"
            )));
        }
        let total = masters * (1 + replicas_per_master);
        if total > usize::from(PORT_HIGH - PORT_LOW) / 4 {
            return Err(RedisServerError::Cluster(format!(
                "a Redis Cluster of {total} nodes is more than this testkit gives ports for"
            )));
        }
        let dir = tempfile::tempdir().map_err(|cause| RedisServerError::Spawn {
            what: "a temporary directory".into(),
            cause,
        })?;
        let mut cluster = RedisCluster {
            nodes: Vec::with_capacity(total),
            killed_slots: Mutex::new(HashMap::new()),
            dir,
        };
        // On an error below, dropping `cluster` kills the nodes started so far.
        for _ in 0..total {
            let node = cluster.start_node()?;
            cluster.nodes.push(node);
        }
        let output = cluster.create(replicas_per_master)?;
        let expected_replicas = masters * replicas_per_master;
        cluster
            .wait_until(SETTLE_TIMEOUT, "the new cluster did not settle", || {
                cluster.check_settled(Some(expected_replicas))
            })
            .map_err(|e| {
                RedisServerError::Cluster(format!(
                    "{e}\n{} --cluster create said:\n{output}",
                    redis_cli_binary()
                ))
            })?;
        Ok(cluster)
    }

    /// Starts one node on a new pair of free ports, retrying on clashes.
    fn start_node(&self) -> Result<Node, RedisServerError> {
        let mut last = None;
        for _ in 0..8 {
            let port = self.pick_port()?;
            let dir = self.dir.path().join(format!("node-{port}"));
            std::fs::create_dir_all(&dir).map_err(|cause| RedisServerError::Spawn {
                what: format!("the directory {}", dir.display()),
                cause,
            })?;
            let node = Node {
                port,
                dir,
                child: Mutex::new(None),
            };
            match node.start() {
                Ok(()) => return Ok(node),
                // Most likely another process took the port or its bus port.
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| RedisServerError::NotReady("no port".into())))
    }

    /// A port P such that P and P+10000 can be bound now and no node of this
    /// cluster uses either.
    fn pick_port(&self) -> Result<u16, RedisServerError> {
        let ours: Vec<u16> = self
            .nodes
            .iter()
            .flat_map(|n| [n.port, n.port + BUS_OFFSET])
            .collect();
        let random = RandomState::new();
        for attempt in 0u32..500 {
            let span = u64::from(PORT_HIGH - PORT_LOW);
            // Lossless: the remainder is below `span`, which fits a u16.
            let port = PORT_LOW + (random.hash_one(attempt) % span) as u16;
            let bus = port + BUS_OFFSET;
            if ours.contains(&port) || ours.contains(&bus) {
                continue;
            }
            if TcpListener::bind(("127.0.0.1", port)).is_ok()
                && TcpListener::bind(("127.0.0.1", bus)).is_ok()
            {
                return Ok(port);
            }
        }
        Err(RedisServerError::Spawn {
            what: format!(
                "a free port P in {PORT_LOW}..{PORT_HIGH} with P+{BUS_OFFSET} free too \
                 (stop whatever uses them)"
            ),
            cause: std::io::ErrorKind::AddrInUse.into(),
        })
    }

    /// Runs `redis-cli --cluster create` (bounded in time); returns its output.
    fn create(&self, replicas: usize) -> Result<String, RedisServerError> {
        let cli = redis_cli_binary();
        let log = self.dir.path().join("cluster-create.log");
        let spawn_err = |what: String| {
            move |cause| RedisServerError::Spawn {
                what: what.clone(),
                cause,
            }
        };
        let out = std::fs::File::create(&log).map_err(spawn_err(log.display().to_string()))?;
        let err = out
            .try_clone()
            .map_err(spawn_err(log.display().to_string()))?;
        let mut args = vec!["--cluster".to_owned(), "create".to_owned()];
        args.extend(self.nodes());
        args.extend([
            "--cluster-replicas".to_owned(),
            replicas.to_string(),
            "--cluster-yes".to_owned(),
        ]);
        let mut child = Command::new(&cli)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(spawn_err(format!(
                "{cli} (is redis-cli installed next to redis-server or on PATH, \
                 or is {REDIS_CLI_VAR} right?)"
            )))?;
        let deadline = Instant::now() + CREATE_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        match status {
            Some(s) if s.success() => Ok(output),
            Some(s) => Err(RedisServerError::Cluster(format!(
                "`{cli} {}` failed ({s}):\n{output}",
                args.join(" ")
            ))),
            None => Err(RedisServerError::Cluster(format!(
                "`{cli} {}` did not finish within {CREATE_TIMEOUT:?}:\n{output}",
                args.join(" ")
            ))),
        }
    }

    /// `127.0.0.1:PORT` of every node, in the order they were started.
    pub fn nodes(&self) -> Vec<String> {
        self.nodes.iter().map(Node::addr).collect()
    }

    /// The nodes as one comma-separated list, the form of `REDIS_CLUSTER_NODES`
    /// (`127.0.0.1:P1,127.0.0.1:P2,...`).
    pub fn nodes_env(&self) -> String {
        self.nodes().join(",")
    }

    /// The current masters (the nodes that own slots, as `CLUSTER NODES` of a
    /// running node tells), ordered by the first slot they own: right after a
    /// failover too. A killed master that has not been failed over yet still
    /// counts, as it still owns its slots.
    ///
    /// # Panics
    /// When no node of the cluster is running or answers `CLUSTER NODES`.
    pub fn masters(&self) -> Vec<String> {
        self.expect_view().masters()
    }

    /// [`RedisCluster::masters`], with an error instead of a panic.
    pub(crate) fn try_masters(&self) -> Result<Vec<String>, RedisServerError> {
        Ok(self.view()?.masters())
    }

    /// The running replicas of `master` (an address from [`RedisCluster::nodes`]),
    /// as `CLUSTER NODES` of a running node tells; empty for an unknown node.
    ///
    /// # Panics
    /// When no node of the cluster is running or answers `CLUSTER NODES`.
    pub fn replicas_of(&self, master: &str) -> Vec<String> {
        let view = self.expect_view();
        let Some(id) = view.by_addr(master).map(|m| m.id.clone()) else {
            return Vec::new();
        };
        let mut replicas: Vec<String> = view
            .nodes
            .iter()
            .filter(|n| n.is_replica() && n.master_id.as_deref() == Some(id.as_str()))
            .filter(|n| !n.has_flag("fail"))
            .filter(|n| self.node(&n.addr).is_ok_and(Node::alive))
            .map(|n| n.addr.clone())
            .collect();
        replicas.sort();
        replicas
    }

    /// The master that owns `slot` now.
    ///
    /// # Panics
    /// When no node answers `CLUSTER NODES`, or no node owns the slot.
    pub fn slot_owner(&self, slot: u16) -> String {
        match self.expect_view().owner(slot) {
            Some(n) => n.addr.clone(),
            None => panic!("slot {slot} has no owner in this cluster (slots are 0..16384)"),
        }
    }

    /// The hash slot of `key`: CRC16 (XMODEM) of the key, or of its hash tag (the
    /// text between the first `{` and the next `}`, when not empty), modulo 16384.
    pub fn key_slot(key: &str) -> u16 {
        let bytes = key.as_bytes();
        let tagged = bytes
            .iter()
            .position(|&b| b == b'{')
            .and_then(|open| {
                let rest = &bytes[open + 1..];
                rest.iter()
                    .position(|&b| b == b'}')
                    .map(|close| &rest[..close])
            })
            .filter(|tag| !tag.is_empty());
        crc16_xmodem(tagged.unwrap_or(bytes)) % CLUSTER_SLOTS
    }

    /// Kills `node` at once (SIGKILL), as a crash would. Remembers the slots it
    /// owned, for [`RedisCluster::wait_failover`].
    pub fn kill(&self, node: &str) -> Result<(), RedisServerError> {
        let target = self.node(node)?;
        if let Ok(view) = self.view() {
            let slots = view
                .by_addr(node)
                .map(|n| n.slots.clone())
                .unwrap_or_default();
            let mut killed = self.killed_slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.is_empty() {
                killed.remove(&target.port);
            } else {
                killed.insert(target.port, slots);
            }
        }
        target.kill();
        Ok(())
    }

    /// Starts `node` again on its port and directory (it rejoins with its
    /// `nodes-PORT.conf`; a master that was failed over comes back as a replica of
    /// the new one), then waits (at most 30 s) until the cluster settles, as
    /// [`RedisCluster::wait_settled`]. Does nothing but wait if it is running.
    pub fn restart(&self, node: &str) -> Result<(), RedisServerError> {
        self.node(node)?.start()?;
        self.wait_settled(SETTLE_TIMEOUT)
            .map_err(|e| RedisServerError::Cluster(format!("{node} restarted, but: {e}")))
    }

    /// Waits until every running node reports `cluster_state:ok` with all 16384
    /// slots assigned, every running replica's link to its master is up, and all
    /// running nodes agree on which master owns which slot.
    pub fn wait_settled(&self, within: Duration) -> Result<(), RedisServerError> {
        self.wait_until(within, "the cluster did not settle", || {
            self.check_settled(None)
        })
    }

    /// Waits until another node is the master of the slots `old_master` owned
    /// (when [`RedisCluster::kill`] killed it, or now) in the view of every running
    /// node, and every running node reports `cluster_state:ok`; returns the new
    /// master.
    pub fn wait_failover(
        &self,
        old_master: &str,
        within: Duration,
    ) -> Result<String, RedisServerError> {
        let old = self.node(old_master)?;
        let remembered = self
            .killed_slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&old.port)
            .cloned();
        let slots = match remembered {
            Some(slots) => slots,
            None => self
                .view()?
                .by_addr(old_master)
                .map(|n| n.slots.clone())
                .unwrap_or_default(),
        };
        let Some(&(probe, _)) = slots.first() else {
            return Err(RedisServerError::Cluster(format!(
                "{old_master} owned no slots: kill a master that has replicas (see \
                 masters() and replicas_of()) before waiting for its failover"
            )));
        };
        self.wait_until(within, &format!("{old_master} was not failed over"), || {
            let live = self.live();
            let mut new_master: Option<String> = None;
            for node in &live {
                let info = call_text(node.port, &["CLUSTER", "INFO"]).map_err(|e| e.to_string())?;
                let state = field(&info, "cluster_state").unwrap_or("?");
                if state != "ok" {
                    return Err(format!("{} says cluster_state:{state}", node.addr()));
                }
                let view = View::read(node.port).map_err(|e| e.to_string())?;
                let owner = view
                    .owner(probe)
                    .map(|n| n.addr.clone())
                    .ok_or_else(|| format!("{} sees no owner of slot {probe}", node.addr()))?;
                if same_node(&owner, old_master) {
                    return Err(format!("{} still sees {old_master} as owner", node.addr()));
                }
                for &(from, to) in &slots {
                    for slot in [from, to] {
                        let other = view.owner(slot).map(|n| n.addr.as_str());
                        if other != Some(owner.as_str()) {
                            return Err(format!(
                                "{} sees slot {probe} owned by {owner} but slot {slot} \
                                     by {other:?}",
                                node.addr()
                            ));
                        }
                    }
                }
                match &new_master {
                    Some(m) if *m != owner => {
                        return Err(format!("nodes disagree: {m} or {owner}"));
                    }
                    _ => new_master = Some(owner),
                }
            }
            let new_master = new_master.ok_or("no node is running")?;
            if !self.node(&new_master).is_ok_and(Node::alive) {
                return Err(format!("the new owner {new_master} is not running"));
            }
            Ok(new_master)
        })
    }

    /// Moves `slot` from its owner to the master `to` (see [`SlotMigration`]);
    /// returns how many keys moved. Does nothing when `to` owns it already.
    pub fn migrate_slot(&self, slot: u16, to: &str) -> Result<usize, RedisServerError> {
        self.migrate_slot_begin(slot, to)?.finish()
    }

    /// Starts moving `slot` from its owner to the master `to`: `CLUSTER SETSLOT
    /// slot IMPORTING <source id>` on `to`, then `CLUSTER SETSLOT slot MIGRATING
    /// <target id>` on the source. From then on clients meet ASK replies for the
    /// keys already moved; [`SlotMigration::step`] moves keys,
    /// [`SlotMigration::finish`] moves the rest and gives the slot to `to`.
    pub fn migrate_slot_begin(
        &self,
        slot: u16,
        to: &str,
    ) -> Result<SlotMigration<'_>, RedisServerError> {
        if slot >= CLUSTER_SLOTS {
            return Err(RedisServerError::Cluster(format!(
                "slot {slot} does not exist (slots are 0..16384)"
            )));
        }
        let view = self.view()?;
        let source = view.owner(slot).ok_or_else(|| {
            RedisServerError::Cluster(format!("slot {slot} has no owner to migrate from"))
        })?;
        let target = view
            .by_addr(to)
            .filter(|n| n.is_master() && !n.has_flag("fail"))
            .ok_or_else(|| {
                RedisServerError::Cluster(format!(
                    "{to} is not a master of this cluster: migrate to one of {:?}",
                    view.masters()
                ))
            })?;
        let migration = SlotMigration {
            cluster: self,
            slot,
            source: self.node(&source.addr)?.port,
            target: self.node(&target.addr)?.port,
            target_id: target.id.clone(),
            moved: 0,
        };
        if migration.source != migration.target {
            let slot = slot.to_string();
            call_ok(
                migration.target,
                &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &source.id],
            )?;
            call_ok(
                migration.source,
                &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &target.id],
            )?;
        }
        Ok(migration)
    }

    /// The node at `addr` (`host:port`; the port decides).
    fn node(&self, addr: &str) -> Result<&Node, RedisServerError> {
        let port = addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok());
        self.nodes
            .iter()
            .find(|n| Some(n.port) == port)
            .ok_or_else(|| {
                RedisServerError::Cluster(format!(
                    "{addr} is not a node of this cluster (its nodes: {})",
                    self.nodes_env()
                ))
            })
    }

    /// The nodes whose process runs.
    fn live(&self) -> Vec<&Node> {
        self.nodes.iter().filter(|n| n.alive()).collect()
    }

    /// `CLUSTER NODES` of the first running node that answers it.
    fn view(&self) -> Result<View, RedisServerError> {
        let mut last = String::from("no node of the cluster is running");
        for node in self.live() {
            match View::read(node.port) {
                Ok(view) => return Ok(view),
                Err(e) => last = e.to_string(),
            }
        }
        Err(RedisServerError::Cluster(format!(
            "cannot read CLUSTER NODES from any node: {last}"
        )))
    }

    fn expect_view(&self) -> View {
        match self.view() {
            Ok(view) => view,
            Err(e) => panic!("{e} (restart a killed node first)"),
        }
    }

    /// Ok when every running node is content (see [`RedisCluster::wait_settled`]);
    /// with `replicas`, also when every node knows all the others and there are
    /// that many replicas. Else what is not yet right.
    fn check_settled(&self, replicas: Option<usize>) -> Result<(), String> {
        let live = self.live();
        if live.is_empty() {
            return Err("no node is running".into());
        }
        let mut seen_replicas = 0;
        let mut agreed: Option<(String, SlotMap)> = None;
        for node in live {
            let addr = node.addr();
            let info = call_text(node.port, &["CLUSTER", "INFO"]).map_err(|e| e.to_string())?;
            let state = field(&info, "cluster_state").unwrap_or("?");
            if state != "ok" {
                return Err(format!("{addr} says cluster_state:{state}"));
            }
            let assigned = field(&info, "cluster_slots_assigned").unwrap_or("?");
            if assigned != "16384" {
                return Err(format!("{addr} says cluster_slots_assigned:{assigned}"));
            }
            if replicas.is_some() {
                let known = field(&info, "cluster_known_nodes").unwrap_or("?");
                if known != self.nodes.len().to_string() {
                    return Err(format!(
                        "{addr} knows {known} nodes of {}",
                        self.nodes.len()
                    ));
                }
            }
            let repl = call_text(node.port, &["INFO", "replication"]).map_err(|e| e.to_string())?;
            if field(&repl, "role") == Some("slave") {
                seen_replicas += 1;
                let link = field(&repl, "master_link_status").unwrap_or("?");
                if link != "up" {
                    return Err(format!("replica {addr} says master_link_status:{link}"));
                }
            }
            let map = View::read(node.port).map_err(|e| e.to_string())?.slot_map();
            match &agreed {
                Some((first, first_map)) if *first_map != map => {
                    return Err(format!(
                        "{first} and {addr} disagree on which master owns which slot"
                    ));
                }
                Some(_) => {}
                None => agreed = Some((addr, map)),
            }
        }
        match replicas {
            Some(want) if want != seen_replicas => {
                Err(format!("{seen_replicas} replicas of {want} are set up"))
            }
            _ => Ok(()),
        }
    }

    /// Calls `check` until it succeeds or `within` has passed.
    fn wait_until<T>(
        &self,
        within: Duration,
        what: &str,
        mut check: impl FnMut() -> Result<T, String>,
    ) -> Result<T, RedisServerError> {
        let deadline = Instant::now() + within;
        loop {
            match check() {
                Ok(v) => return Ok(v),
                Err(last) if Instant::now() >= deadline => {
                    return Err(RedisServerError::Cluster(format!(
                        "{what} within {within:?}; last: {last}"
                    )))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// A slot being moved from one master to another, the standard way (as
/// `redis-cli --cluster reshard` does): started by
/// [`RedisCluster::migrate_slot_begin`]; each [`step`](SlotMigration::step)
/// moves a batch of keys with `MIGRATE`, [`finish`](SlotMigration::finish) moves
/// the rest and gives the slot to the target on every master. Dropping it
/// unfinished leaves the slot half-migrated (clients keep meeting ASK replies).
#[derive(Debug)]
pub struct SlotMigration<'a> {
    cluster: &'a RedisCluster,
    slot: u16,
    source: u16,
    target: u16,
    target_id: String,
    moved: usize,
}

impl SlotMigration<'_> {
    /// The slot being moved.
    pub fn slot(&self) -> u16 {
        self.slot
    }

    /// The node the slot moves from.
    pub fn source(&self) -> String {
        addr(self.source)
    }

    /// The node the slot moves to.
    pub fn target(&self) -> String {
        addr(self.target)
    }

    /// How many keys have moved so far.
    pub fn moved(&self) -> usize {
        self.moved
    }

    /// Moves up to `batch` keys of the slot (`CLUSTER GETKEYSINSLOT`, then
    /// `MIGRATE 127.0.0.1 <port> "" 0 5000 KEYS ...`); returns how many moved, 0
    /// when the source has none left.
    pub fn step(&mut self, batch: usize) -> Result<usize, RedisServerError> {
        self.step_counting(batch).map(|(_, moved)| moved)
    }

    /// Like `step`; returns (keys listed on the source, keys moved).
    fn step_counting(&mut self, batch: usize) -> Result<(usize, usize), RedisServerError> {
        if self.source == self.target {
            return Ok((0, 0));
        }
        let slot = self.slot.to_string();
        let count = batch.max(1).to_string();
        let keys = match call(
            self.source,
            &[
                b"CLUSTER",
                b"GETKEYSINSLOT",
                slot.as_bytes(),
                count.as_bytes(),
            ],
        )? {
            Reply::Array(Some(items)) => items
                .into_iter()
                .filter_map(|k| match k {
                    Reply::Bulk(Some(k)) => Some(k),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            other => {
                return Err(RedisServerError::Cluster(format!(
                    "{} answered CLUSTER GETKEYSINSLOT with {other:?}",
                    addr(self.source)
                )))
            }
        };
        if keys.is_empty() {
            return Ok((0, 0));
        }
        let port = self.target.to_string();
        let mut args: Vec<&[u8]> = vec![
            b"MIGRATE",
            b"127.0.0.1",
            port.as_bytes(),
            b"",
            b"0",
            b"5000",
            b"KEYS",
        ];
        args.extend(keys.iter().map(Vec::as_slice));
        let moved = match call(self.source, &args)? {
            // NOKEY: they expired or were deleted since GETKEYSINSLOT.
            Reply::Status(s) if s == "NOKEY" => 0,
            _ => keys.len(),
        };
        self.moved += moved;
        Ok((keys.len(), moved))
    }

    /// Moves the keys left, then `CLUSTER SETSLOT slot NODE <target id>` on the
    /// target, the source and every other running master, and waits (at most
    /// 30 s) until every running node sees the target own the slot. Returns how
    /// many keys moved in all.
    pub fn finish(mut self) -> Result<usize, RedisServerError> {
        if self.source == self.target {
            return Ok(0);
        }
        while self.step_counting(100)?.0 > 0 {}
        let slot = self.slot.to_string();
        let setslot = ["CLUSTER", "SETSLOT", slot.as_str(), "NODE", &self.target_id];
        call_ok(self.target, &setslot)?;
        call_ok(self.source, &setslot)?;
        let view = self.cluster.view()?;
        for master in view.masters() {
            let port = self.cluster.node(&master)?.port;
            if port != self.source && port != self.target && self.cluster.node(&master)?.alive() {
                call_ok(port, &setslot)?;
            }
        }
        let target = self.target();
        self.cluster.wait_until(
            SETTLE_TIMEOUT,
            &format!("not every node sees slot {slot} on {target}"),
            || {
                for node in self.cluster.live() {
                    let view = View::read(node.port).map_err(|e| e.to_string())?;
                    let owner = view.owner(self.slot).map(|n| n.addr.as_str());
                    if owner != Some(target.as_str()) {
                        return Err(format!("{} sees it on {owner:?}", node.addr()));
                    }
                }
                Ok(())
            },
        )?;
        Ok(self.moved)
    }
}

/// One `redis-server` of a cluster.
#[derive(Debug)]
struct Node {
    port: u16,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Node {
    fn addr(&self) -> String {
        addr(self.port)
    }

    /// True when the process was started and has not exited.
    fn alive(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts the process (again) on its port and directory and waits until it
    /// answers as itself. Does nothing if it runs.
    fn start(&self) -> Result<(), RedisServerError> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = child.as_mut() {
            if matches!(c.try_wait(), Ok(None)) {
                return Ok(());
            }
        }
        let port = self.port.to_string();
        let spawned = Command::new(redis_server_binary())
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .args(["--cluster-node-timeout", "1000"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|cause| RedisServerError::Spawn {
                what: format!(
                    "{} (is it installed and on PATH, or is ROUTEMQ_TEST_REDIS_SERVER right?)",
                    redis_server_binary()
                ),
                cause,
            })?;
        let pid = spawned.id();
        watch(pid);
        *child = Some(spawned);
        drop(child);
        self.wait_up(pid, Duration::from_secs(10))
            .inspect_err(|_| self.kill())
    }

    /// Waits until the node answers PING and `INFO server` gives our child's pid.
    fn wait_up(&self, pid: u32, within: Duration) -> Result<(), RedisServerError> {
        let deadline = Instant::now() + within;
        let mut last = String::new();
        while Instant::now() < deadline {
            if !self.alive() {
                return Err(RedisServerError::NotReady(format!(
                    "redis-server on port {} exited at start (port or bus port {} taken?); \
                     its log ends:\n{}",
                    self.port,
                    u32::from(self.port) + u32::from(BUS_OFFSET),
                    self.log_tail()
                )));
            }
            match call_text(self.port, &["INFO", "server"]) {
                Ok(info) => {
                    let answering = field(&info, "process_id").and_then(|p| p.parse::<u32>().ok());
                    if answering == Some(pid) {
                        return Ok(());
                    }
                    return Err(RedisServerError::NotReady(format!(
                        "port {} answers from process {answering:?}, not the redis-server just \
                         started (pid {pid}): another process took the port",
                        self.port
                    )));
                }
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(RedisServerError::NotReady(format!(
            "redis-server on port {} did not answer within {within:?} (last: {last}); its log \
             ends:\n{}",
            self.port,
            self.log_tail()
        )))
    }

    /// The last lines of the node's log file.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// Kills the process (SIGKILL) and reaps it.
    fn kill(&self) {
        let taken = self.child.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut child) = taken {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills `pid` once this test process has exited (see
/// `redis_server::watchdog`); the watchdog also ends when `pid` does, so a
/// killed node's pid, reused later, is not killed by mistake.
fn watch(pid: u32) {
    let me = std::process::id();
    let script = format!(
        "while kill -0 {me} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         kill -0 {me} 2>/dev/null || kill -9 {pid} >/dev/null 2>&1"
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// True when two `host:port` addresses name the same port.
fn same_node(a: &str, b: &str) -> bool {
    a.rsplit_once(':').map(|(_, p)| p) == b.rsplit_once(':').map(|(_, p)| p)
}

/// The value of `name:value` in an INFO-style reply.
fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::trim)
    })
}

/// CRC16/XMODEM (polynomial 0x1021, initial value 0), as Redis Cluster uses.
fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone, PartialEq)]
struct NodeLine {
    id: String,
    /// `ip:port`, without the bus port or host name.
    addr: String,
    flags: Vec<String>,
    master_id: Option<String>,
    /// Owned slot ranges, inclusive (importing/migrating marks left out).
    slots: Vec<(u16, u16)>,
}

impl NodeLine {
    fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    fn is_master(&self) -> bool {
        self.has_flag("master")
    }

    fn is_replica(&self) -> bool {
        self.has_flag("slave") || self.has_flag("replica")
    }

    fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }
}

/// (first slot, last slot, owner address) of every owned range, sorted.
type SlotMap = Vec<(u16, u16, String)>;

/// The cluster as one node's `CLUSTER NODES` describes it.
#[derive(Debug, Clone, PartialEq)]
struct View {
    nodes: Vec<NodeLine>,
}

impl View {
    fn read(port: u16) -> Result<View, RedisServerError> {
        Ok(View::parse(&call_text(port, &["CLUSTER", "NODES"])?))
    }

    fn parse(text: &str) -> View {
        let nodes = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let id = fields.next()?.to_owned();
                let addr = fields.next()?.split(['@', ',']).next()?.to_owned();
                let flags = fields.next()?.split(',').map(str::to_owned).collect();
                let master_id = Some(fields.next()?)
                    .filter(|m| *m != "-")
                    .map(str::to_owned);
                // ping-sent, pong-recv, config-epoch, link-state, then the slots.
                let slots = fields
                    .skip(4)
                    .filter(|s| !s.starts_with('['))
                    .filter_map(|s| match s.split_once('-') {
                        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                        None => s.parse().ok().map(|a| (a, a)),
                    })
                    .collect();
                Some(NodeLine {
                    id,
                    addr,
                    flags,
                    master_id,
                    slots,
                })
            })
            .collect();
        View { nodes }
    }

    fn by_addr(&self, addr: &str) -> Option<&NodeLine> {
        self.nodes.iter().find(|n| same_node(&n.addr, addr))
    }

    fn owner(&self, slot: u16) -> Option<&NodeLine> {
        self.nodes.iter().find(|n| n.is_master() && n.owns(slot))
    }

    /// The masters that own slots, by their first slot.
    fn masters(&self) -> Vec<String> {
        let mut owners: Vec<(u16, String)> = self
            .nodes
            .iter()
            .filter(|n| n.is_master())
            .filter_map(|n| Some((n.slots.iter().map(|s| s.0).min()?, n.addr.clone())))
            .collect();
        owners.sort();
        owners.into_iter().map(|(_, a)| a).collect()
    }

    /// (first, last, owner) of every owned range, sorted.
    fn slot_map(&self) -> SlotMap {
        let mut map: SlotMap = self
            .nodes
            .iter()
            .filter(|n| n.is_master())
            .flat_map(|n| n.slots.iter().map(|&(a, b)| (a, b, n.addr.clone())))
            .collect();
        map.sort();
        map
    }
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// Sends one command (a RESP array of bulk strings) to 127.0.0.1:`port` on a new
/// connection; returns the reply, an error reply as [`RedisServerError::Cluster`].
fn call(port: u16, args: &[&[u8]]) -> Result<Reply, RedisServerError> {
    let shown = || {
        let mut s: String = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        if s.len() > 120 {
            let mut cut = 120;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push_str(" ...");
        }
        s
    };
    match request(port, args) {
        Ok(Reply::Error(e)) => Err(RedisServerError::Cluster(format!(
            "{} answered `{}` with -{e}",
            addr(port),
            shown()
        ))),
        Ok(reply) => Ok(reply),
        Err(e) => Err(RedisServerError::Cluster(format!(
            "sending `{}` to {}: {e}",
            shown(),
            addr(port)
        ))),
    }
}

/// [`call`] for a command whose reply is text (a bulk or status string).
fn call_text(port: u16, args: &[&str]) -> Result<String, RedisServerError> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    match call(port, &args)? {
        Reply::Status(s) => Ok(s),
        Reply::Bulk(Some(b)) => Ok(String::from_utf8_lossy(&b).into_owned()),
        other => Err(RedisServerError::Cluster(format!(
            "{} answered {:?} with {other:?}, not text",
            addr(port),
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
                .join(" ")
        ))),
    }
}

/// [`call`] for a command that answers `+OK`.
fn call_ok(port: u16, args: &[&str]) -> Result<(), RedisServerError> {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    match call(port, &bytes)? {
        Reply::Status(s) if s == "OK" => Ok(()),
        other => Err(RedisServerError::Cluster(format!(
            "{} answered `{}` with {other:?}, not OK",
            addr(port),
            args.join(" ")
        ))),
    }
}

fn request(port: u16, args: &[&[u8]]) -> std::io::Result<Reply> {
    let stream = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )?;
    // Longer than MIGRATE's own 5 s timeout.
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    (&stream).write_all(&encode(args))?;
    read_reply(&mut BufReader::new(stream))
}

/// `args` as a RESP array of bulk strings.
fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn read_reply(r: &mut impl BufRead) -> std::io::Result<Reply> {
    use std::io::{Error, ErrorKind};
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.len() < 3 || !line.ends_with(b"\r\n") {
        return Err(Error::new(
            ErrorKind::UnexpectedEof,
            "the connection closed in the middle of a reply",
        ));
    }
    let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    let number = |t: &str| {
        t.parse::<i64>()
            .map_err(|_| Error::new(ErrorKind::InvalidData, format!("bad RESP length {t:?}")))
    };
    match line[0] {
        b'+' => Ok(Reply::Status(text)),
        b'-' => Ok(Reply::Error(text)),
        b':' => Ok(Reply::Int(number(&text)?)),
        b'$' => match usize::try_from(number(&text)?) {
            Err(_) => Ok(Reply::Bulk(None)),
            Ok(len) => {
                let mut body = vec![0; len + 2];
                r.read_exact(&mut body)?;
                body.truncate(len);
                Ok(Reply::Bulk(Some(body)))
            }
        },
        b'*' => match usize::try_from(number(&text)?) {
            Err(_) => Ok(Reply::Array(None)),
            Ok(len) => (0..len)
                .map(|_| read_reply(r))
                .collect::<Result<_, _>>()
                .map(|items| Reply::Array(Some(items))),
        },
        other => Err(Error::new(
            ErrorKind::InvalidData,
            format!("unexpected RESP type byte {:?}", char::from(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_slot_matches_redis() {
        assert_eq!(RedisCluster::key_slot("foo"), 12182);
        assert_eq!(RedisCluster::key_slot("bar"), 5061);
        assert_eq!(RedisCluster::key_slot("123456789"), 12739);
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
        assert_eq!(RedisCluster::key_slot(""), 0);
    }

    #[test]
    fn key_slot_follows_hash_tags() {
        let following = RedisCluster::key_slot("{user1000}.following");
        assert_eq!(following, RedisCluster::key_slot("{user1000}.followers"));
        assert_eq!(following, RedisCluster::key_slot("user1000"));
        // Only the first `{`...`}` counts, and only when not empty.
        assert_eq!(
            RedisCluster::key_slot("foo{bar}{zap}"),
            RedisCluster::key_slot("bar")
        );
        assert_eq!(
            RedisCluster::key_slot("foo{{bar}}zap"),
            RedisCluster::key_slot("{bar")
        );
        assert_eq!(
            RedisCluster::key_slot("foo{}{bar}"),
            crc16_xmodem(b"foo{}{bar}") % CLUSTER_SLOTS
        );
        assert_eq!(
            RedisCluster::key_slot("foo{bar"),
            crc16_xmodem(b"foo{bar") % CLUSTER_SLOTS
        );
    }

    #[test]
    fn cluster_nodes_lines_of_redis_5_and_7_parse() {
        let text = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@40002,host-b master - 0 1426238316232 2 connected 5461-10922 [10923->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@40003 myself,master - 0 0 3 connected 10923-16383 0-5 7
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001 master,fail - 1426238316232 1426238315000 1 disconnected
";
        let view = View::parse(text);
        assert_eq!(view.nodes.len(), 4);
        let replica = &view.nodes[0];
        assert!(replica.is_replica() && !replica.is_master());
        assert_eq!(
            replica.master_id.as_deref(),
            Some("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")
        );
        assert_eq!(view.nodes[1].addr, "127.0.0.1:30002");
        assert_eq!(view.nodes[1].slots, vec![(5461, 10922)]);
        assert_eq!(view.nodes[2].slots, vec![(10923, 16383), (0, 5), (7, 7)]);
        assert_eq!(
            view.owner(7).map(|n| n.addr.as_str()),
            Some("127.0.0.1:30003")
        );
        assert_eq!(view.owner(6), None);
        assert_eq!(view.masters(), vec!["127.0.0.1:30003", "127.0.0.1:30002"]);
        assert!(view.nodes[3].has_flag("fail"));
        assert_eq!(
            view.by_addr("127.0.0.1:30001").map(|n| n.slots.len()),
            Some(0)
        );
    }

    #[test]
    fn resp_replies_parse() {
        let bytes = b"*3\r\n$3\r\nfoo\r\n$-1\r\n*2\r\n:42\r\n+OK\r\n";
        let reply = read_reply(&mut &bytes[..]).unwrap();
        assert_eq!(
            reply,
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"foo".to_vec())),
                Reply::Bulk(None),
                Reply::Array(Some(vec![Reply::Int(42), Reply::Status("OK".into())])),
            ]))
        );
        let err = read_reply(&mut &b"-MOVED 3999 127.0.0.1:6381\r\n"[..]).unwrap();
        assert_eq!(err, Reply::Error("MOVED 3999 127.0.0.1:6381".into()));
        assert!(read_reply(&mut &b"$5\r\nab"[..]).is_err());
        assert_eq!(
            encode(&[b"GET", b""]),
            b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn info_fields_are_read() {
        let info = "# Cluster\r\ncluster_state:ok\r\ncluster_slots_assigned:16384\r\n";
        assert_eq!(field(info, "cluster_state"), Some("ok"));
        assert_eq!(field(info, "cluster_slots_assigned"), Some("16384"));
        assert_eq!(field(info, "cluster_slots"), None);
    }

    #[test]
    fn redis_cli_is_looked_for_next_to_redis_server() {
        let dir = tempfile::tempdir().unwrap();
        let server = dir.path().join("redis-server");
        assert_eq!(cli_next_to(&server), None);
        std::fs::write(dir.path().join("redis-cli"), "").unwrap();
        assert_eq!(cli_next_to(&server), Some(dir.path().join("redis-cli")));
    }

    #[test]
    fn too_few_masters_are_refused_with_a_reason() {
        let err = RedisCluster::start(2, 1).unwrap_err().to_string();
        assert!(err.contains("at least 3"), "{err}");
    }
}
