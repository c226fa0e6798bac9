//! [`RedisDriver::used_memory`]: what the server (or the cluster) holds in
//! memory, as `INFO memory` reports it (for the benchmark's bytes per queued job).

use redis::Value;
use routemq_core::DriverError;

use crate::error::bad_reply;
use crate::{RedisDriver, NAME};

impl RedisDriver {
    /// The memory Redis has allocated for its data, in bytes: the `used_memory`
    /// field of `INFO memory`. On one server that server's; on a cluster
    /// ([`RedisConfig::cluster`](crate::RedisConfig::cluster)) the sum over every
    /// master, as the cluster client sends `INFO` to all masters and answers with
    /// each one's reply (replicas, which hold copies, are not counted).
    ///
    /// The figure covers the whole server (every key, every prefix, the
    /// allocator's bookkeeping), so the difference between two readings around a
    /// change is what that change cost only when nothing else writes meanwhile.
    pub async fn used_memory(&self) -> Result<u64, DriverError> {
        let mut info = redis::cmd("INFO");
        info.arg("memory");
        let reply: Value = self.inner.pool.cmd(&info).await?;
        used_memory_of_reply(reply)
    }
}

/// `used_memory` of one server's `INFO` text, or the sum over a cluster's map
/// of node address → `INFO` text.
fn used_memory_of_reply(reply: Value) -> Result<u64, DriverError> {
    match reply {
        Value::Map(per_node) => per_node
            .into_iter()
            .map(|(node, reply)| {
                let node = match node {
                    Value::BulkString(addr) => String::from_utf8_lossy(&addr).into_owned(),
                    other => format!("{other:?}"),
                };
                used_memory_of_server(reply, &format!("node {node}: "))
            })
            .sum(),
        one => used_memory_of_server(one, ""),
    }
}

/// `used_memory` of one server's reply; errors start with `context`.
fn used_memory_of_server(reply: Value, context: &str) -> Result<u64, DriverError> {
    let text = match reply {
        Value::BulkString(text) => String::from_utf8_lossy(&text).into_owned(),
        Value::VerbatimString { text, .. } | Value::SimpleString(text) => text,
        Value::ServerError(e) => {
            return Err(DriverError::backend(
                NAME,
                format!("INFO memory: {context}{e}"),
            ))
        }
        other => return Err(bad_reply("INFO memory", format!("{context}{other:?}"))),
    };
    text.lines()
        .find_map(|line| line.trim_end().strip_prefix("used_memory:"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| bad_reply("INFO memory", format!("{context}no used_memory field")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RedisConfig;

    const INFO: &str =
        "# Memory\r\nused_memory:1049336\r\nused_memory_human:1.00M\r\nused_memory_rss:7237632\r\n";

    #[test]
    fn reads_used_memory_of_one_server() {
        let reply = Value::BulkString(INFO.as_bytes().to_vec());
        assert_eq!(used_memory_of_reply(reply).unwrap(), 1_049_336);
    }

    #[test]
    fn sums_used_memory_over_a_clusters_masters() {
        let node = |addr: &str, used: u64| {
            (
                Value::BulkString(addr.as_bytes().to_vec()),
                Value::BulkString(format!("# Memory\r\nused_memory:{used}\r\n").into_bytes()),
            )
        };
        let reply = Value::Map(vec![
            node("127.0.0.1:7000", 100),
            node("127.0.0.1:7001", 250),
        ]);
        assert_eq!(used_memory_of_reply(reply).unwrap(), 350);
    }

    #[test]
    fn a_reply_without_the_field_is_an_error_naming_the_node() {
        let reply = Value::Map(vec![(
            Value::BulkString(b"127.0.0.1:7000".to_vec()),
            Value::BulkString(b"# Memory\r\n".to_vec()),
        )]);
        let text = used_memory_of_reply(reply).unwrap_err().to_string();
        assert!(text.contains("127.0.0.1:7000"), "{text}");
        let rss_only = Value::BulkString(b"used_memory_rss:12\r\n".to_vec());
        assert!(
            used_memory_of_reply(rss_only).is_err(),
            "used_memory_rss is not used_memory"
        );
    }

    /// One server: a plausible figure (an empty Redis uses about 1 MB).
    #[tokio::test]
    async fn reads_a_real_servers_used_memory() {
        let target = routemq_testkit::redis::redis();
        let config = match &target.cluster_nodes {
            Some(nodes) => RedisConfig::cluster(nodes.split(',')).unwrap(),
            None => RedisConfig::from_url(&target.url).unwrap(),
        };
        let used = RedisDriver::new(config)
            .unwrap()
            .used_memory()
            .await
            .unwrap();
        assert!(used > 100_000, "{used} bytes");
    }

    /// A cluster of three idle masters: the driver's figure is the sum of each
    /// master's own, within what an idle server's figure drifts by.
    #[tokio::test]
    async fn a_clusters_used_memory_is_the_sum_over_its_masters() {
        let cluster = routemq_testkit::redis::RedisCluster::start(3, 0).unwrap();
        let driver = RedisDriver::new(RedisConfig::cluster(cluster.nodes()).unwrap()).unwrap();
        let summed = driver.used_memory().await.unwrap();
        let mut each = 0u64;
        for master in cluster.masters() {
            let one = RedisConfig::from_url(&format!("redis://{master}")).unwrap();
            each += RedisDriver::new(one).unwrap().used_memory().await.unwrap();
        }
        let drift = summed.abs_diff(each) as f64 / each as f64;
        assert!(drift < 0.1, "cluster {summed} vs masters one by one {each}");
    }
}
