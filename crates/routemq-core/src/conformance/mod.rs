//! The driver conformance suite: one async function per rule of the [`Driver`]
//! contract, run against every driver (memory, Redis, MySQL) so they behave alike.
//!
//! A driver crate runs the whole suite from one test file:
//!
//! ```ignore
//! routemq_core::conformance_suite!(|| async {
//!     routemq_core::conformance::Fresh::new(make_driver().await)
//! });
//! ```
//!
//! The rules are grouped by the capability they check, in the modules
//! [`lifecycle`], [`failed_store`], [`admin`], [`worker_registry`],
//! [`schedule_store`], [`rate_limits`], [`tracking`], [`workflows`], [`history`]
//! and [`listing`] (one per trait of the contract), and [`groups`] and
//! [`group_limits`] (fair groups and their controls, across traits); [`RULES`]
//! lists them all.
//!
//! Each rule takes a [`DriverFactory`], asks it for a driver over a fresh, empty,
//! isolated store, and panics with a message naming the broken rule. Timings are
//! tolerant of a loaded machine and of remote backends (leases of a few hundred
//! milliseconds, generous upper bounds), yet every assertion can fail.

use std::any::Any;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;

use crate::Driver;

pub mod admin;
pub mod failed_store;
mod fixture;
pub mod group_limits;
pub mod groups;
pub mod history;
pub mod lifecycle;
pub mod listing;
pub mod rate_limits;
pub mod schedule_store;
pub mod tracking;
pub mod worker_registry;
pub mod workflows;

pub use admin::{
    clear_removes_jobs_and_fences_holders, paused_queue_is_not_claimed_and_resume_restores_it,
    paused_queue_is_not_waited_for_and_resume_wakes, paused_queue_keeps_running_jobs_settleable,
    queues_lists_known_queues, stats_track_each_step,
};
pub use failed_store::{
    corrupt_payload_can_be_failed, fail_records_the_error, failed_flush_all_and_per_queue,
    failed_list_newest_first_filtered_and_paged, failed_prune_by_cutoff,
    failed_show_retry_and_forget,
};
pub use group_limits::{
    capped_group_is_waited_for_until_a_job_ends, controls_apply_to_each_of_many_groups,
    group_concurrency_caps_running_jobs_per_group,
    group_concurrency_holds_across_concurrent_claimers, hold_group_holds_one_group_until_it_passes,
    per_group_rate_limit_gives_each_group_a_window,
};
pub use groups::{
    a_ready_group_is_found_behind_many_waiting_ones, failed_grouped_job_keeps_its_group,
    group_backlog_does_not_delay_another_group, grouped_jobs_release_reclaim_settle_and_clear,
    groups_take_turns_in_claims, pause_unique_and_rate_limit_hold_for_grouped_jobs,
    ungrouped_jobs_take_turns_and_keep_fifo,
};
pub use history::{
    history_concurrent_writers_sum_exactly, history_deltas_add_up,
    history_ignores_minutes_past_retention, history_range_is_inclusive_ordered_and_per_queue,
};
pub use lifecycle::{
    ack_batch_of_many, attempts_count_past_two_digits, attempts_counted_at_claim,
    bulk_push_keeps_ids_and_order, concurrent_claimers_get_each_job_once,
    concurrent_claimers_of_many_groups_get_each_job_once, delay_precision,
    expired_lease_is_reclaimed, expired_lease_without_tries_left_fails,
    extend_lease_prevents_reclaim, fifo_within_queue, one_mib_payload_round_trips,
    oversize_payload_is_rejected, release_with_delay, stale_owner_gets_lease_lost_everywhere,
    strict_priority_across_queues, wait_and_claim_claims_ready_jobs_and_keeps_its_timeout,
    wait_and_claim_gets_a_pushed_job_once, wait_for_jobs_returns_around_due_time,
    wait_for_jobs_wakes_on_push,
};
pub use lifecycle::{
    unique_concurrent_dispatches_store_one_job, unique_debounce_replaces_data_and_pushes_due_time,
    unique_duplicate_returns_the_existing_id, unique_for_duration_expires_and_goes_with_its_job,
    unique_lock_follows_a_reclaimed_lease, unique_lock_released_by_clear,
    unique_until_finished_holds_until_ack, unique_until_finished_releases_on_final_fail,
    unique_until_started_releases_at_claim,
};
pub use listing::{
    job_envelope_follows_the_job, listing_delayed_running_and_waiting,
    listing_ready_is_fifo_and_paged, listing_rejects_finished_states_and_caps_the_page,
};
pub use rate_limits::{
    hold_queue_blocks_claims_until_it_passes, rate_limit_holds_across_concurrent_claimers,
    rate_limit_set_list_and_clear, rate_limited_queue_is_waited_for_until_the_window_opens,
    rate_limited_queue_resumes_when_the_window_opens, release_uncounted_keeps_the_attempt_count,
};
pub use schedule_store::{
    schedule_missed_ticks_follow_the_policy, schedule_run_now_keeps_next_run,
    schedule_tick_fires_once_under_concurrent_firers, schedule_upsert_list_remove_round_trip,
};
pub use tracking::{
    tracking_cancel_removes_waiting_jobs, tracking_cancel_requests_reach_the_running_worker,
    tracking_cancelled_running_job_never_runs_again, tracking_kept_records_expire,
    tracking_run_records_are_fenced_and_go_with_the_job, tracking_status_follows_a_job,
};
pub use worker_registry::worker_heartbeats_expire_and_can_be_removed;
pub use workflows::{
    workflow_batch_counts_and_releases_callbacks,
    workflow_batch_is_exact_under_concurrency_and_cancel,
    workflow_batch_then_add_and_failure_policy,
    workflow_chain_failure_runs_catch_and_keeps_the_rest, workflow_chain_runs_links_in_order,
};

/// A driver over a fresh, empty, isolated store, with whatever must live as long
/// as the driver (a test schema that is dropped with it, a server handle).
/// Dereferences to the `Arc<dyn Driver>`.
pub struct Fresh {
    driver: Arc<dyn Driver>,
    _keep: Option<Box<dyn Any + Send + Sync>>,
}

impl Fresh {
    /// A driver that needs nothing kept beside it.
    pub fn new(driver: impl Driver) -> Self {
        Fresh {
            driver: Arc::new(driver),
            _keep: None,
        }
    }

    /// Keeps `guard` alive until this handle drops (after the driver).
    pub fn keeping(mut self, guard: impl Any + Send + Sync) -> Self {
        self._keep = Some(Box::new(guard));
        self
    }
}

impl Deref for Fresh {
    type Target = Arc<dyn Driver>;
    fn deref(&self) -> &Arc<dyn Driver> {
        &self.driver
    }
}

/// Gives each rule a driver over a fresh, empty, isolated store.
#[async_trait]
pub trait DriverFactory: Send + Sync {
    /// A driver over a fresh, empty, isolated store.
    async fn fresh(&self) -> Fresh;
}

#[async_trait]
impl<F, Fut> DriverFactory for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Fresh> + Send,
{
    async fn fresh(&self) -> Fresh {
        (self)().await
    }
}

/// Calls `$crate::$callback!` with the arguments given followed by every rule's
/// name: the one list the suite macro and [`RULES`] are both built from.
#[doc(hidden)]
#[macro_export]
macro_rules! __routemq_conformance_rules {
    ($callback:ident ! ($($args:tt)*)) => {
        $crate::$callback! { ($($args)*)
            // JobLifecycle
            fifo_within_queue,
            strict_priority_across_queues,
            bulk_push_keeps_ids_and_order,
            delay_precision,
            wait_for_jobs_wakes_on_push,
            wait_for_jobs_returns_around_due_time,
            wait_and_claim_gets_a_pushed_job_once,
            wait_and_claim_claims_ready_jobs_and_keeps_its_timeout,
            release_with_delay,
            concurrent_claimers_get_each_job_once,
            concurrent_claimers_of_many_groups_get_each_job_once,
            attempts_counted_at_claim,
            attempts_count_past_two_digits,
            expired_lease_is_reclaimed,
            expired_lease_without_tries_left_fails,
            stale_owner_gets_lease_lost_everywhere,
            extend_lease_prevents_reclaim,
            ack_batch_of_many,
            // JobLifecycle: unique jobs and debounce
            unique_duplicate_returns_the_existing_id,
            unique_concurrent_dispatches_store_one_job,
            unique_until_started_releases_at_claim,
            unique_until_finished_holds_until_ack,
            unique_until_finished_releases_on_final_fail,
            unique_lock_follows_a_reclaimed_lease,
            unique_lock_released_by_clear,
            unique_for_duration_expires_and_goes_with_its_job,
            unique_debounce_replaces_data_and_pushes_due_time,
            // FailedStore
            fail_records_the_error,
            failed_list_newest_first_filtered_and_paged,
            failed_show_retry_and_forget,
            failed_flush_all_and_per_queue,
            failed_prune_by_cutoff,
            corrupt_payload_can_be_failed,
            one_mib_payload_round_trips,
            oversize_payload_is_rejected,
            // QueueAdmin
            stats_track_each_step,
            clear_removes_jobs_and_fences_holders,
            queues_lists_known_queues,
            paused_queue_is_not_claimed_and_resume_restores_it,
            paused_queue_keeps_running_jobs_settleable,
            paused_queue_is_not_waited_for_and_resume_wakes,
            // WorkerRegistry
            worker_heartbeats_expire_and_can_be_removed,
            // ScheduleStore
            schedule_upsert_list_remove_round_trip,
            schedule_tick_fires_once_under_concurrent_firers,
            schedule_missed_ticks_follow_the_policy,
            schedule_run_now_keeps_next_run,
            // RateLimits
            rate_limit_set_list_and_clear,
            rate_limit_holds_across_concurrent_claimers,
            rate_limited_queue_resumes_when_the_window_opens,
            rate_limited_queue_is_waited_for_until_the_window_opens,
            release_uncounted_keeps_the_attempt_count,
            hold_queue_blocks_claims_until_it_passes,
            // Fair groups
            groups_take_turns_in_claims,
            ungrouped_jobs_take_turns_and_keep_fifo,
            group_backlog_does_not_delay_another_group,
            a_ready_group_is_found_behind_many_waiting_ones,
            grouped_jobs_release_reclaim_settle_and_clear,
            pause_unique_and_rate_limit_hold_for_grouped_jobs,
            failed_grouped_job_keeps_its_group,
            // Per-group controls
            group_concurrency_caps_running_jobs_per_group,
            group_concurrency_holds_across_concurrent_claimers,
            per_group_rate_limit_gives_each_group_a_window,
            hold_group_holds_one_group_until_it_passes,
            capped_group_is_waited_for_until_a_job_ends,
            controls_apply_to_each_of_many_groups,
            // JobTracking
            tracking_status_follows_a_job,
            tracking_kept_records_expire,
            tracking_run_records_are_fenced_and_go_with_the_job,
            tracking_cancel_removes_waiting_jobs,
            tracking_cancel_requests_reach_the_running_worker,
            tracking_cancelled_running_job_never_runs_again,
            // Workflows
            workflow_chain_runs_links_in_order,
            workflow_chain_failure_runs_catch_and_keeps_the_rest,
            workflow_batch_counts_and_releases_callbacks,
            workflow_batch_then_add_and_failure_policy,
            workflow_batch_is_exact_under_concurrency_and_cancel,
            // History
            history_deltas_add_up,
            history_concurrent_writers_sum_exactly,
            history_range_is_inclusive_ordered_and_per_queue,
            history_ignores_minutes_past_retention,
            // JobListing
            listing_ready_is_fifo_and_paged,
            listing_delayed_running_and_waiting,
            listing_rejects_finished_states_and_caps_the_page,
            job_envelope_follows_the_job,
        }
    };
}

/// Expands to the rule names as a `&[&str]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __routemq_conformance_names {
    (() $($rule:ident),* $(,)?) => {
        &[$(stringify!($rule)),*]
    };
}

/// Expands to one test per rule (and one that checks the list against [`RULES`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __routemq_conformance_tests {
    (($factory:expr) $($rule:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $rule() {
                let f = $factory;
                $crate::conformance::$rule(&f).await;
            }
        )*

        #[test]
        fn conformance_suite_runs_every_rule() {
            let ran: &[&str] = &[$(stringify!($rule)),*];
            assert_eq!(ran, $crate::conformance::RULES);
        }
    };
}

/// Runs the whole conformance suite against the drivers `$factory` makes: one
/// `#[tokio::test]` per rule, named after the rule.
///
/// `$factory` is anything implementing [`DriverFactory`],
/// typically a closure `|| async { Fresh::new(driver) }`. The
/// calling crate needs `tokio` (with `macros` and `rt-multi-thread`) as a
/// dev-dependency.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr) => {
        $crate::__routemq_conformance_rules!(__routemq_conformance_tests!($factory));
    };
}

/// The names of every rule, in the order the suite runs them.
pub const RULES: &[&str] = __routemq_conformance_rules!(__routemq_conformance_names!());

#[cfg(test)]
mod tests {
    use super::RULES;

    /// Every `pub async fn` in the rule files is listed in [`RULES`] (and so in the
    /// suite macro), and every listed name is such a function.
    #[test]
    fn every_rule_function_is_in_the_suite() {
        let sources = [
            include_str!("admin.rs"),
            include_str!("failed_store.rs"),
            include_str!("worker_registry.rs"),
            include_str!("schedule_store.rs"),
            include_str!("rate_limits.rs"),
            include_str!("groups.rs"),
            include_str!("group_limits.rs"),
            include_str!("tracking.rs"),
            include_str!("workflows.rs"),
            include_str!("history.rs"),
            include_str!("listing.rs"),
            include_str!("lifecycle/concurrency.rs"),
            include_str!("lifecycle/idle_claim.rs"),
            include_str!("lifecycle/leases.rs"),
            include_str!("lifecycle/order.rs"),
            include_str!("lifecycle/payload.rs"),
            include_str!("lifecycle/timing.rs"),
            include_str!("lifecycle/unique.rs"),
        ];
        let mut defined: Vec<&str> = sources
            .iter()
            .flat_map(|s| s.lines())
            .filter_map(|l| l.trim_start().strip_prefix("pub async fn "))
            .map(|l| l.split('(').next().unwrap_or(l).trim())
            .collect();
        defined.sort_unstable();
        let mut listed = RULES.to_vec();
        listed.sort_unstable();
        assert_eq!(defined, listed);
        assert!(RULES.len() >= 29, "the suite lost rules: {}", RULES.len());
    }
}
