//! Rules of [`JobLifecycle`](crate::JobLifecycle): order, timing, concurrency,
//! leases, payload limits and unique jobs.

mod concurrency;
mod idle_claim;
mod leases;
mod order;
mod payload;
mod timing;
mod unique;

pub use concurrency::{
    concurrent_claimers_get_each_job_once, concurrent_claimers_of_many_groups_get_each_job_once,
};
pub use idle_claim::{
    wait_and_claim_claims_ready_jobs_and_keeps_its_timeout, wait_and_claim_gets_a_pushed_job_once,
};
pub use leases::{
    ack_batch_of_many, attempts_count_past_two_digits, attempts_counted_at_claim,
    expired_lease_is_reclaimed, expired_lease_without_tries_left_fails,
    extend_lease_prevents_reclaim, stale_owner_gets_lease_lost_everywhere,
};
pub use order::{bulk_push_keeps_ids_and_order, fifo_within_queue, strict_priority_across_queues};
pub use payload::{one_mib_payload_round_trips, oversize_payload_is_rejected};
pub use timing::{
    delay_precision, release_with_delay, wait_for_jobs_returns_around_due_time,
    wait_for_jobs_wakes_on_push,
};
pub use unique::{
    unique_concurrent_dispatches_store_one_job, unique_debounce_replaces_data_and_pushes_due_time,
    unique_duplicate_returns_the_existing_id, unique_for_duration_expires_and_goes_with_its_job,
    unique_lock_follows_a_reclaimed_lease, unique_lock_released_by_clear,
    unique_until_finished_holds_until_ack, unique_until_finished_releases_on_final_fail,
    unique_until_started_releases_at_claim,
};
