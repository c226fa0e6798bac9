//! Every verb against a real Redis (from the testkit: `ROUTEMQ_TEST_REDIS_URL` or a
//! `redis-server` it starts), each test under its own key prefix; one bench
//! test on a `redis-server` of its own.

mod scenarios;
mod support;

use support::Backend;

#[test]
fn push_and_stats() {
    scenarios::push_and_stats(&Backend::redis());
}

#[test]
fn failed_job_round_trip() {
    scenarios::failed_round_trip(&Backend::redis());
}

#[test]
fn failed_housekeeping() {
    scenarios::failed_housekeeping(&Backend::redis());
}

#[test]
fn clear_needs_force() {
    scenarios::clear_queue(&Backend::redis());
}

#[test]
fn workers_lists_a_live_worker() {
    scenarios::workers_lists_a_live_worker(&Backend::redis());
}

#[test]
fn pause_and_resume_a_running_worker() {
    scenarios::pause_and_resume_a_running_worker(&Backend::redis());
}

#[test]
fn concurrent_unique_pushes_store_one_job() {
    scenarios::concurrent_unique_pushes_store_one_job(&Backend::redis());
}

#[test]
fn unique_scopes_and_debounce() {
    scenarios::unique_scopes_and_debounce(&Backend::redis());
}

#[test]
fn bad_unique_flags() {
    scenarios::bad_unique_flags(&Backend::redis());
}

#[test]
fn rate_limited_drain_by_two_workers() {
    scenarios::rate_limit::rate_limited_drain_by_two_workers(&Backend::redis());
}

#[test]
fn group_concurrency_by_two_workers() {
    scenarios::rate_limit::group_concurrency_by_two_workers(&Backend::redis());
}

#[test]
fn sigterm_lets_the_running_job_finish() {
    scenarios::sigterm_lets_the_running_job_finish(&Backend::redis());
}

#[test]
fn sigterm_gives_back_the_jobs_claimed_ahead() {
    scenarios::sigterm_gives_back_the_jobs_claimed_ahead(&Backend::redis());
}

#[test]
fn demo_accounts_for_every_job() {
    scenarios::demo(&Backend::redis());
}

#[test]
fn config_shows_no_secret() {
    scenarios::config_shows_no_secret(&Backend::redis());
}

#[test]
fn migrate_is_a_no_op() {
    let out = Backend::redis().ok(&["migrate", "--json"]);
    assert_eq!(out["connection"], "redis");
    assert_eq!(out["applied"], serde_json::json!([]));
}

#[test]
fn bench_prints_the_figures() {
    scenarios::bench(&Backend::redis());
}

/// On the shared server other tests' writes and deletes can shrink Redis over
/// the fill, so the store's figure may be missing here; the next test gives it
/// a server of its own.
#[test]
fn bench_with_filler_prints_its_figures() {
    scenarios::bench_with_filler(&Backend::redis(), scenarios::StoreFigure::MayBeMissing);
}

/// On a `redis-server` of its own nothing but the filler changes Redis's
/// memory, so the store's bytes per queued job must be a number.
#[test]
fn bench_with_filler_on_a_server_of_its_own_gives_the_store_figure() {
    let server = routemq_testkit::redis::RedisServer::start_new().expect("redis-server");
    scenarios::bench_with_filler(
        &Backend::redis_at(&server.url()),
        scenarios::StoreFigure::Required,
    );
}

#[test]
fn schedule_add_list_run_remove() {
    scenarios::schedule_verbs(&Backend::redis());
}

#[test]
fn four_workers_fire_each_tick_once() {
    scenarios::schedules_fire_each_tick_once_across_workers(&Backend::redis());
}

#[test]
fn tenant_b_is_not_delayed_by_tenant_a() {
    scenarios::groups::tenant_b_is_not_delayed_by_tenant_a(&Backend::redis());
}

#[test]
fn cancel_a_running_sleep() {
    scenarios::tracking::cancel_a_running_sleep(&Backend::redis());
}

#[test]
fn batch_survives_a_killed_worker() {
    scenarios::workflows::batch_survives_a_killed_worker(&Backend::redis());
}

#[test]
fn chain_survives_a_killed_worker() {
    scenarios::workflows::chain_survives_a_killed_worker(&Backend::redis());
}
