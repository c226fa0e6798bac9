//! [`by_queue`]: a call's jobs or leases split by queue, since each queue's
//! keys take a script (and on a cluster a slot) of their own.

use routemq_core::QueueName;

/// `items` grouped by queue (in the order the queues first appear), keeping
/// their order within each queue.
pub(crate) fn by_queue<T>(
    items: &[T],
    queue_of: impl Fn(&T) -> &QueueName,
) -> Vec<(&QueueName, Vec<&T>)> {
    let mut groups: Vec<(&QueueName, Vec<&T>)> = Vec::new();
    for item in items {
        let q = queue_of(item);
        match groups.iter_mut().find(|(g, _)| *g == q) {
            Some((_, list)) => list.push(item),
            None => groups.push((q, vec![item])),
        }
    }
    groups
}
