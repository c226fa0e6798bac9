//! Running a `MULTI`/`EXEC` transaction (a push, `push.rs`) through the pool,
//! on a cluster across a slot's move.
//!
//! The cluster client follows `MOVED` and `ASK` for a command, a script and a
//! plain pipeline, but not inside a transaction: each queued command of a
//! transaction sent to a slot's old owner is refused (`MOVED` once the slot has
//! moved; `ASK` or `TRYAGAIN` while its keys are moving), `EXEC` then answers
//! `EXECABORT`, and nothing of the transaction was written. Without help, every
//! push to a queue whose slot had moved failed, until something else made the
//! client reload its slot map.
//!
//! So on a cluster a transaction refused that way is sent again. After a `MOVED`
//! the client is first made to learn the slot's owner: one `EXISTS` of the
//! transaction's first key, which the client follows to the new owner, reloading
//! its slot map (`READONLY`, from a master a failover demoted, is handled the
//! same). After `ASK`, `TRYAGAIN`, `CLUSTERDOWN` or `MASTERDOWN` (the slot is
//! moving, or the cluster is electing a master), and after a second `MOVED`,
//! it waits first, 10 ms and doubling up to 250 ms. It gives up
//! [`SLOT_MOVE_WAIT`] after the first refusal, returning the last one.
//! Resending is safe because an aborted transaction wrote nothing.

use std::time::Duration;

use deadpool::managed;
use redis::{Arg, Pipeline, RedisError, ServerErrorKind};
use routemq_core::DriverError;
use tokio::time::Instant;

use crate::error::{is_connection_error, redis_error};
use crate::pool::Pool;

/// How long a transaction refused because its slot is moving is tried again.
const SLOT_MOVE_WAIT: Duration = Duration::from_secs(5);
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const MAX_PAUSE: Duration = Duration::from_millis(250);

/// Why a cluster refused a command (a transaction: all of it) for its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotRefusal {
    /// The slot has a new owner: learn it, then send again.
    Moved,
    /// The slot is moving, or its master is being replaced: wait, then send again.
    Moving,
}

/// What a cluster's refusal of one command of kind `kind` says about its slot
/// (`None`: not a slot's refusal).
fn slot_refusal_of(kind: Option<ServerErrorKind>) -> Option<SlotRefusal> {
    match kind? {
        // READONLY: a master demoted to replica by a failover.
        ServerErrorKind::Moved | ServerErrorKind::ReadOnly => Some(SlotRefusal::Moved),
        ServerErrorKind::Ask
        | ServerErrorKind::TryAgain
        | ServerErrorKind::ClusterDown
        | ServerErrorKind::MasterDown => Some(SlotRefusal::Moving),
        _ => None,
    }
}

/// The refusal in `e`, when every command of the transaction was refused for
/// its slot (a transaction aborted for another reason, or an error of another
/// kind, is not one).
fn slot_refusal(e: &RedisError) -> Option<SlotRefusal> {
    let refused = e.clone().into_server_errors()?;
    let mut kinds = refused.iter().map(|(_, err)| slot_refusal_of(err.kind()));
    let first = kinds.next()??;
    kinds.try_fold(first, |seen, next| match next? {
        SlotRefusal::Moved => Some(SlotRefusal::Moved),
        SlotRefusal::Moving => Some(seen),
    })
}

/// The first key of the transaction's first command: the slot it is sent to.
fn first_key(tx: &Pipeline) -> Option<Vec<u8>> {
    let cmd = tx.cmd_iter().next()?;
    match cmd.args_iter().nth(1)? {
        Arg::Simple(key) => Some(key.to_vec()),
        _ => None,
    }
}

impl Pool {
    /// Runs the transaction `tx` (a pipeline marked atomic) for `()`; see the
    /// module docs for a cluster's slot moves.
    pub async fn transaction(&self, tx: &Pipeline) -> Result<(), DriverError> {
        debug_assert!(tx.is_transaction());
        // Read at the first refusal, not on every push.
        let mut refused_at: Option<Instant> = None;
        let mut pause = FIRST_PAUSE;
        let mut moved_before = false;
        loop {
            let mut conn = self.get().await?;
            let err = match tx.query_async::<()>(&mut *conn).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let refusal = match self.is_cluster() {
                true => slot_refusal(&err),
                false => None,
            };
            let first_refusal = *refused_at.get_or_insert_with(Instant::now);
            match refusal {
                Some(refusal) if first_refusal.elapsed() < SLOT_MOVE_WAIT => {
                    if refusal == SlotRefusal::Moved {
                        if let Some(key) = first_key(tx) {
                            // Followed by the client, which reloads its slot
                            // map; what it answers does not matter.
                            let _ = redis::cmd("EXISTS")
                                .arg(key)
                                .query_async::<redis::Value>(&mut *conn)
                                .await;
                        }
                    }
                    drop(conn);
                    // The first `MOVED` is sent again at once; a second one
                    // (the slot map not reloaded yet) waits like a move.
                    if refusal == SlotRefusal::Moving || moved_before {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(MAX_PAUSE);
                    }
                    moved_before |= refusal == SlotRefusal::Moved;
                }
                _ => {
                    if is_connection_error(&err) {
                        drop(managed::Object::take(conn));
                    }
                    return Err(redis_error(err));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transaction() -> Pipeline {
        let mut tx = redis::pipe();
        tx.atomic();
        tx.cmd("HSET")
            .arg("routemq:queue:{q}:jobs")
            .arg("id")
            .arg("body");
        tx.cmd("RPUSH").arg("routemq:queue:{q}").arg("id");
        tx
    }

    /// The error a command refused with `reply` is.
    fn refused(reply: &str) -> RedisError {
        match redis::parse_redis_value(format!("-{reply}\r\n").as_bytes()) {
            Ok(redis::Value::ServerError(e)) => e.into(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_transaction_refused_for_its_slot_is_told_apart() {
        assert_eq!(
            slot_refusal(&refused("MOVED 1929 127.0.0.1:7001")),
            Some(SlotRefusal::Moved)
        );
        assert_eq!(
            slot_refusal(&refused("ASK 1929 127.0.0.1:7001")),
            Some(SlotRefusal::Moving)
        );
        assert_eq!(
            slot_refusal(&refused(
                "TRYAGAIN Multiple keys request during rehashing of slot"
            )),
            Some(SlotRefusal::Moving)
        );
        assert_eq!(
            slot_refusal(&refused("CLUSTERDOWN The cluster is down")),
            Some(SlotRefusal::Moving)
        );
        assert_eq!(
            slot_refusal(&refused(
                "WRONGTYPE Operation against a key holding the wrong kind of value"
            )),
            None
        );
        assert_eq!(slot_refusal(&refused("OOM command not allowed")), None);
        assert_eq!(
            slot_refusal(&refused(
                "READONLY You can't write against a read only replica."
            )),
            Some(SlotRefusal::Moved)
        );
    }

    #[test]
    fn the_first_key_is_the_first_commands() {
        assert_eq!(
            first_key(&transaction()).as_deref(),
            Some(&b"routemq:queue:{q}:jobs"[..])
        );
        assert_eq!(first_key(&redis::pipe()), None);
    }
}
