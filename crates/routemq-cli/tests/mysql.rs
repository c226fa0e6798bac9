//! Every verb against a real MariaDB/MySQL (from the testkit: `ROUTEMQ_TEST_MYSQL_URL` or a
//! `mariadbd` it starts), each test in its own schema, migrated by `routemq migrate`.

mod scenarios;
mod support;

use support::Backend;

#[test]
fn push_and_stats() {
    scenarios::push_and_stats(&Backend::mysql());
}

#[test]
fn failed_job_round_trip() {
    scenarios::failed_round_trip(&Backend::mysql());
}

#[test]
fn failed_housekeeping() {
    scenarios::failed_housekeeping(&Backend::mysql());
}

#[test]
fn clear_needs_force() {
    scenarios::clear_queue(&Backend::mysql());
}

#[test]
fn workers_lists_a_live_worker() {
    scenarios::workers_lists_a_live_worker(&Backend::mysql());
}

#[test]
fn pause_and_resume_a_running_worker() {
    scenarios::pause_and_resume_a_running_worker(&Backend::mysql());
}

#[test]
fn concurrent_unique_pushes_store_one_job() {
    scenarios::concurrent_unique_pushes_store_one_job(&Backend::mysql());
}

#[test]
fn unique_scopes_and_debounce() {
    scenarios::unique_scopes_and_debounce(&Backend::mysql());
}

#[test]
fn bad_unique_flags() {
    scenarios::bad_unique_flags(&Backend::mysql());
}

#[test]
fn rate_limited_drain_by_two_workers() {
    scenarios::rate_limit::rate_limited_drain_by_two_workers(&Backend::mysql());
}

#[test]
fn group_concurrency_by_two_workers() {
    scenarios::rate_limit::group_concurrency_by_two_workers(&Backend::mysql());
}

#[test]
fn sigterm_lets_the_running_job_finish() {
    scenarios::sigterm_lets_the_running_job_finish(&Backend::mysql());
}

#[test]
fn sigterm_gives_back_the_jobs_claimed_ahead() {
    scenarios::sigterm_gives_back_the_jobs_claimed_ahead(&Backend::mysql());
}

#[test]
fn demo_accounts_for_every_job() {
    scenarios::demo(&Backend::mysql());
}

#[test]
fn config_shows_no_secret() {
    scenarios::config_shows_no_secret(&Backend::mysql());
}

#[test]
fn migrate_is_idempotent() {
    let b = Backend::mysql();
    let again = b.ok(&["migrate", "--json"]);
    assert_eq!(again["applied"], serde_json::json!([]), "{again}");
    assert!(
        !again["already_applied"].as_array().unwrap().is_empty(),
        "{again}"
    );
}

#[test]
fn bench_prints_the_figures() {
    scenarios::bench(&Backend::mysql());
}

#[test]
fn bench_with_filler_prints_its_figures() {
    scenarios::bench_with_filler(&Backend::mysql(), scenarios::StoreFigure::Required);
}

#[test]
fn schedule_add_list_run_remove() {
    scenarios::schedule_verbs(&Backend::mysql());
}

#[test]
fn four_workers_fire_each_tick_once() {
    scenarios::schedules_fire_each_tick_once_across_workers(&Backend::mysql());
}

#[test]
fn tenant_b_is_not_delayed_by_tenant_a() {
    scenarios::groups::tenant_b_is_not_delayed_by_tenant_a(&Backend::mysql());
}

#[test]
fn cancel_a_running_sleep() {
    scenarios::tracking::cancel_a_running_sleep(&Backend::mysql());
}

#[test]
fn batch_survives_a_killed_worker() {
    scenarios::workflows::batch_survives_a_killed_worker(&Backend::mysql());
}

#[test]
fn chain_survives_a_killed_worker() {
    scenarios::workflows::chain_survives_a_killed_worker(&Backend::mysql());
}
