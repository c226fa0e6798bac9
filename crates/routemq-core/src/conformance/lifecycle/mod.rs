//! Rules of [`JobLifecycle`](crate::JobLifecycle): order, timing, concurrency,
//! leases and payload limits.

mod concurrency;
mod leases;
mod order;
mod payload;
mod timing;

pub use concurrency::concurrent_claimers_get_each_job_once;
pub use leases::{
    ack_batch_of_many, attempts_counted_at_claim, expired_lease_is_reclaimed,
    expired_lease_without_tries_left_fails, extend_lease_prevents_reclaim,
    stale_owner_gets_lease_lost_everywhere,
};
pub use order::{bulk_push_keeps_ids_and_order, fifo_within_queue, strict_priority_across_queues};
pub use payload::{one_mib_payload_round_trips, oversize_payload_is_rejected};
pub use timing::{
    delay_precision, release_with_delay, wait_for_jobs_returns_around_due_time,
    wait_for_jobs_wakes_on_push,
};
