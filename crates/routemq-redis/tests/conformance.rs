//! The whole driver conformance suite against real Redis: plain key mode on one
//! server, cluster key mode on a Redis Cluster (`ROUTEMQ_TEST_REDIS=cluster`).
//!
//! Before the first rule of a process, one script call under a throwaway prefix
//! loads the driver's scripts on the server (on a cluster, on every master, one
//! `SCRIPT LOAD` each): on a cluster the testkit has just started that takes up
//! to half a second on a loaded machine, and rules that time a lock's expiry
//! from before their first dispatch (`unique_for_duration_...`) allow 150 ms.

mod common;

use routemq_core::conformance::Fresh;
use routemq_core::{QueueAdmin, QueueName};
use routemq_redis::RedisDriver;
use routemq_testkit::redis::{unique_prefix, RedisTarget};
use tokio::sync::OnceCell;

/// Loads the scripts on `target`'s server(s), once per process.
async fn load_scripts_once(target: &RedisTarget) {
    static LOADED: OnceCell<()> = OnceCell::const_new();
    LOADED
        .get_or_init(|| async {
            let config = common::config_for(target).prefix(unique_prefix());
            let driver = RedisDriver::new(config).expect("a driver to load the scripts");
            let queue = QueueName::new("load-scripts").expect("a valid queue name");
            driver
                .stats(&queue)
                .await
                .expect("a first script call (loads every script)");
        })
        .await;
}

routemq_core::conformance_suite!(|| async {
    let target = routemq_testkit::redis::redis();
    load_scripts_once(&target).await;
    Fresh::new(RedisDriver::new(common::config_for(&target)).expect("driver"))
});
