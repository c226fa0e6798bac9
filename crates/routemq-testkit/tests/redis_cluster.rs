//! The testkit's local Redis Cluster: it forms, a slot moves with its keys (with
//! ASK and MOVED replies on the way), and a killed master fails over to its
//! replica, which the restarted old master then follows.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use routemq_testkit::redis::{
    redis, redis_cli_binary, redis_cluster, RedisCluster, REDIS_SOURCE_VAR,
};

/// Runs `redis-cli -h 127.0.0.1 -p PORT [extra...]` with `commands` on stdin (one
/// a line); returns its stdout.
fn cli(node: &str, extra: &[&str], commands: &str) -> String {
    let (host, port) = node.rsplit_once(':').expect("host:port");
    let mut child = Command::new(redis_cli_binary())
        .args(["-h", host, "-p", port])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-cli runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(commands.as_bytes())
        .expect("commands written");
    let out = child.wait_with_output().expect("redis-cli finishes");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_local_cluster_moves_a_slot_and_fails_a_master_over() {
    let cluster = RedisCluster::start(3, 1).expect("a local Redis Cluster");
    assert_eq!(cluster.nodes().len(), 6);
    assert_eq!(cluster.nodes_env().split(',').count(), 6);
    let masters = cluster.masters();
    assert_eq!(masters.len(), 3, "{masters:?}");
    for m in &masters {
        assert_eq!(cluster.replicas_of(m).len(), 1, "replicas of {m}");
    }

    // One key set through a node that does not own its slot (-c follows MOVED),
    // 150 more in the same slot straight on its owner.
    let key = "{rmqcluster}:first";
    let slot = RedisCluster::key_slot(key);
    let owner = cluster.slot_owner(slot);
    assert!(masters.contains(&owner));
    let elsewhere = masters.iter().find(|m| **m != owner).unwrap().clone();
    let out = cli(&elsewhere, &["-c"], &format!("SET {key} hello\n"));
    assert!(out.contains("OK"), "{out}");
    let bulk: String = (0..150)
        .map(|i| format!("SET {{rmqcluster}}:{i} v{i}\n"))
        .collect();
    cli(&owner, &[], &bulk);
    assert_eq!(cli(&owner, &[], "DBSIZE\n").trim(), "151");

    // Move part of it step by step: a moved key is answered with ASK by the
    // source, a key not moved yet is still served there.
    let mut migration = cluster.migrate_slot_begin(slot, &elsewhere).unwrap();
    assert_eq!(migration.source(), owner);
    assert_eq!(migration.target(), elsewhere);
    assert_eq!(migration.step(100).unwrap(), 100);
    let on_source = cli(&owner, &[], "DBSIZE\n");
    assert_eq!(on_source.trim(), "51");
    let moved_key = {
        let present = cli(&owner, &[], &format!("CLUSTER GETKEYSINSLOT {slot} 200\n"));
        let present: Vec<&str> = present.lines().collect();
        (0..150)
            .map(|i| format!("{{rmqcluster}}:{i}"))
            .chain([key.to_owned()])
            .find(|k| !present.contains(&k.as_str()))
            .unwrap()
    };
    let ask = cli(&owner, &[], &format!("GET {moved_key}\n"));
    assert!(ask.contains("ASK"), "{ask}");
    assert_eq!(migration.finish().unwrap(), 151);
    assert_eq!(cluster.slot_owner(slot), elsewhere);
    assert_eq!(
        cli(&elsewhere, &[], &format!("GET {key}\n")).trim(),
        "hello"
    );
    let moved = cli(&owner, &[], &format!("GET {key}\n"));
    assert!(moved.contains("MOVED"), "{moved}");
    assert_eq!(
        cli(&elsewhere, &["-c"], "GET {rmqcluster}:7\n").trim(),
        "v7"
    );

    // Moving it back in one call.
    assert_eq!(cluster.migrate_slot(slot, &owner).unwrap(), 151);
    assert_eq!(cluster.slot_owner(slot), owner);
    assert_eq!(cluster.migrate_slot(slot, &owner).unwrap(), 0);

    // Kill the owner: its replica takes over, with the data.
    let replica = cluster.replicas_of(&owner)[0].clone();
    assert_eq!(cli(&owner, &[], "WAIT 1 5000\n").trim(), "1");
    cluster.kill(&owner).unwrap();
    let new_master = cluster
        .wait_failover(&owner, Duration::from_secs(30))
        .unwrap();
    assert_eq!(new_master, replica);
    assert_eq!(cluster.slot_owner(slot), replica);
    let masters = cluster.masters();
    assert_eq!(masters.len(), 3, "{masters:?}");
    assert!(masters.contains(&replica) && !masters.contains(&owner));
    assert_eq!(cli(&replica, &[], &format!("GET {key}\n")).trim(), "hello");

    // The old master comes back as the new one's replica.
    cluster.restart(&owner).unwrap();
    assert_eq!(cluster.replicas_of(&replica), vec![owner.clone()]);
    assert_eq!(cluster.masters().len(), 3);
}

#[test]
fn the_shared_cluster_is_one_per_process() {
    let a = redis_cluster();
    let b = redis_cluster();
    assert_eq!(a.source, "redis-cluster");
    let nodes = a.cluster_nodes.clone().expect("a cluster's nodes");
    assert_eq!(nodes.split(',').count(), 6);
    assert_eq!(b.cluster_nodes.as_deref(), Some(nodes.as_str()));
    assert_ne!(a.prefix, b.prefix);
    let cluster = a.cluster().expect("the cluster handle");
    let master = a.url.strip_prefix("redis://").expect("a redis:// URL");
    assert!(cluster.masters().iter().any(|m| m == master), "{}", a.url);
    assert_eq!(cli(master, &[], "PING\n").trim(), "PONG");
}

#[test]
fn the_cluster_source_makes_redis_give_the_shared_cluster() {
    // The variable is process-wide: check it in a child run of this binary.
    let out = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "redis_gives_a_cluster_when_the_source_is_cluster",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(REDIS_SOURCE_VAR, "cluster")
        .output()
        .expect("this test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by the_cluster_source_makes_redis_give_the_shared_cluster, with ROUTEMQ_TEST_REDIS=cluster"]
fn redis_gives_a_cluster_when_the_source_is_cluster() {
    assert_eq!(
        std::env::var(REDIS_SOURCE_VAR).as_deref(),
        Ok("cluster"),
        "run this test with {REDIS_SOURCE_VAR}=cluster"
    );
    let target = redis();
    assert_eq!(target.source, "redis-cluster");
    let nodes = target.cluster_nodes.clone().expect("a cluster's nodes");
    assert_eq!(nodes, redis_cluster().cluster_nodes.unwrap());
    let master = target.url.strip_prefix("redis://").expect("a redis:// URL");
    let info = cli(master, &[], "CLUSTER INFO\n");
    assert!(info.contains("cluster_state:ok"), "{info}");
}
