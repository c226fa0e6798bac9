//! [`RedisDriver::used_memory`]: what the server (or the cluster) holds in
//! memory, as `INFO memory` reports it (for the benchmark's bytes per queued job).

use std::time::{Duration, Instant};

use redis::Value;
use routemq_core::DriverError;

use crate::error::bad_reply;
use crate::{RedisDriver, NAME};

/// How long [`RedisDriver::used_memory`] waits for Redis's background thread to
/// free what earlier `UNLINK`s left to it.
const FREEING_WAIT_MAX: Duration = Duration::from_secs(60);

/// How often [`RedisDriver::used_memory`] asks again while objects are being freed.
const FREEING_POLL: Duration = Duration::from_millis(10);

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
    ///
    /// *Settled:* `UNLINK` (which `clear` uses) hands a large object to Redis's
    /// background thread, whose memory stays counted until that thread has freed
    /// it: after clearing millions of jobs, for seconds. So this reads `INFO
    /// memory` again every 10 ms while any node reports objects still waiting to
    /// be freed (`lazyfree_pending_objects` above 0), and returns the first
    /// figure read with none waiting. After 60 s of that it returns an error
    /// naming how many are still waiting, rather than a figure that is still
    /// falling.
    pub async fn used_memory(&self) -> Result<u64, DriverError> {
        let mut info = redis::cmd("INFO");
        info.arg("memory");
        let started = Instant::now();
        loop {
            let reply: Value = self.inner.pool.cmd(&info).await?;
            let memory = memory_of_reply(reply)?;
            if memory.freeing == 0 {
                return Ok(memory.used);
            }
            if started.elapsed() >= FREEING_WAIT_MAX {
                return Err(DriverError::backend(
                    NAME,
                    format!(
                        "INFO memory: {} objects were still waiting to be freed after {FREEING_WAIT_MAX:?} \
                         (lazyfree_pending_objects), so used_memory was still falling",
                        memory.freeing
                    ),
                ));
            }
            tokio::time::sleep(FREEING_POLL).await;
        }
    }
}

/// What one reading of `INFO memory` says, summed over a cluster's masters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Memory {
    /// `used_memory`.
    used: u64,
    /// `lazyfree_pending_objects`: objects the background thread has yet to free.
    freeing: u64,
}

/// [`Memory`] of one server's `INFO` text, or the sum over a cluster's map of
/// node address → `INFO` text.
fn memory_of_reply(reply: Value) -> Result<Memory, DriverError> {
    match reply {
        Value::Map(per_node) => {
            per_node
                .into_iter()
                .try_fold(Memory::default(), |sum, (node, reply)| {
                    let node = match node {
                        Value::BulkString(addr) => String::from_utf8_lossy(&addr).into_owned(),
                        other => format!("{other:?}"),
                    };
                    let one = memory_of_server(reply, &format!("node {node}: "))?;
                    Ok(Memory {
                        used: sum.used + one.used,
                        freeing: sum.freeing + one.freeing,
                    })
                })
        }
        one => memory_of_server(one, ""),
    }
}

/// [`Memory`] of one server's reply; errors start with `context`. A server
/// that does not report `lazyfree_pending_objects` frees nothing in the
/// background.
fn memory_of_server(reply: Value, context: &str) -> Result<Memory, DriverError> {
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
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.trim_end().strip_prefix(name)?.strip_prefix(':'))
            .map(|n| {
                n.parse::<u64>()
                    .map_err(|_| bad_reply("INFO memory", format!("{context}{name}:{n}")))
            })
            .transpose()
    };
    let used = field("used_memory")?
        .ok_or_else(|| bad_reply("INFO memory", format!("{context}no used_memory field")))?;
    let freeing = field("lazyfree_pending_objects")?.unwrap_or(0);
    Ok(Memory { used, freeing })
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
        assert_eq!(
            memory_of_reply(reply).unwrap(),
            Memory {
                used: 1_049_336,
                freeing: 0
            }
        );
    }

    #[test]
    fn sums_used_memory_over_a_clusters_masters() {
        let node = |addr: &str, used: u64| {
            (
                Value::BulkString(addr.as_bytes().to_vec()),
                Value::BulkString(
                    format!(
                        "# Memory\r\nused_memory:{used}\r\nlazyfree_pending_objects:{used}\r\n"
                    )
                    .into_bytes(),
                ),
            )
        };
        let reply = Value::Map(vec![
            node("127.0.0.1:7000", 100),
            node("127.0.0.1:7001", 250),
        ]);
        assert_eq!(
            memory_of_reply(reply).unwrap(),
            Memory {
                used: 350,
                freeing: 350
            }
        );
    }

    #[test]
    fn a_reply_without_the_field_is_an_error_naming_the_node() {
        let reply = Value::Map(vec![(
            Value::BulkString(b"127.0.0.1:7000".to_vec()),
            Value::BulkString(b"# Memory\r\n".to_vec()),
        )]);
        let text = memory_of_reply(reply).unwrap_err().to_string();
        assert!(text.contains("127.0.0.1:7000"), "{text}");
        let rss_only = Value::BulkString(b"used_memory_rss:12\r\n".to_vec());
        assert!(
            memory_of_reply(rss_only).is_err(),
            "used_memory_rss is not used_memory"
        );
    }

    use crate::testkit_driver;

    /// One server: a plausible figure (an empty Redis uses about 1 MB).
    #[tokio::test]
    async fn reads_a_real_servers_used_memory() {
        let used = testkit_driver().used_memory().await.unwrap();
        assert!(used > 100_000, "{used} bytes");
    }

    /// A large hash deleted with `UNLINK` is freed by Redis's background thread,
    /// tens of milliseconds later; a reading taken right after the `UNLINK`
    /// already counts its memory as freed (without the wait it still counted
    /// most of it).
    #[tokio::test]
    async fn a_reading_after_unlink_counts_the_memory_as_freed() {
        let driver = testkit_driver();
        let key = format!(
            "routemq-test:used-memory:{{{}-{}}}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let before = driver.used_memory().await.unwrap();
        // 300,000 fields of 16 bytes: about 25 MB, one object.
        let mut fill = redis::cmd("EVAL");
        fill.arg(
            "for i = 1, tonumber(ARGV[1]) do redis.call('HSET', KEYS[1], i, ARGV[2]) end return 1",
        )
        .arg(1)
        .arg(&key)
        .arg(300_000)
        .arg("0123456789abcdef");
        let _: Value = driver.inner.pool.cmd(&fill).await.unwrap();
        let filled = driver.used_memory().await.unwrap();
        let grew = filled.saturating_sub(before);
        assert!(grew > 10_000_000, "the hash took {grew} bytes");
        let mut unlink = redis::cmd("UNLINK");
        unlink.arg(&key);
        let removed: u64 = driver.inner.pool.cmd(&unlink).await.unwrap();
        assert_eq!(removed, 1);
        let after = driver.used_memory().await.unwrap();
        assert!(
            after < before + grew / 4,
            "{before} bytes before the hash, {filled} with it, {after} after UNLINK"
        );
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
