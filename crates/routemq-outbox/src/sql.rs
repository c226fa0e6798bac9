//! The SQL of the outbox (`src/sql/*.sql`, each with a header comment).

pub(crate) const STAGE: &str = include_str!("sql/outbox_stage.sql");
pub(crate) const BATCH: &str = include_str!("sql/outbox_batch.sql");
pub(crate) const STATUS: &str = include_str!("sql/outbox_status.sql");
pub(crate) const LOCK: &str = include_str!("sql/relay_lock.sql");
pub(crate) const UNLOCK: &str = include_str!("sql/relay_unlock.sql");
const DELETE_HEAD: &str = include_str!("sql/outbox_delete_head.sql");

/// `outbox_delete_head.sql` with an id list of `n` placeholders.
pub(crate) fn delete(n: usize) -> String {
    let mut s = String::with_capacity(DELETE_HEAD.len() + 3 * n + 4);
    s.push_str(DELETE_HEAD.trim_end());
    s.push_str(" (");
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s.push(')');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn delete_lists_one_placeholder_per_row() {
        assert!(super::delete(3).ends_with("WHERE id IN (?, ?, ?)"));
    }
}
