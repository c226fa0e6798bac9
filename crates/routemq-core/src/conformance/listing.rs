//! Rules of [`JobListing`](crate::JobListing): a queue's jobs in one state, in
//! the contract's order and a page at a time, each with its stored envelope and
//! attempts; listing changes nothing; a finished state is refused and a page is
//! never longer than [`MAX_LIST_PAGE`]; `job_envelope` follows a job while it is
//! stored.

use std::time::{Duration, SystemTime};

use crate::{
    unix_ms, ChainPlan, Driver, DriverError, GroupKey, JobId, JobState, JobSummary, ListPage,
    PendingJob, QueueName, MAX_LIST_PAGE,
};

use super::fixture::{assert_counts, claim, claim_one, job, ok, push_job, queue};
use super::DriverFactory;

/// One page of `q`'s jobs in `state`; checks that every summary is in `state`.
async fn list(
    d: &dyn Driver,
    q: &QueueName,
    state: JobState,
    offset: u64,
    limit: usize,
) -> Vec<JobSummary> {
    let page = ListPage {
        state,
        offset,
        limit,
    };
    let got = ok(d.list_jobs(q, page).await, "list_jobs");
    assert!(
        got.len() <= limit.min(MAX_LIST_PAGE),
        "list_jobs({page:?}) returned {} jobs",
        got.len()
    );
    for s in &got {
        assert_eq!(
            s.state, state,
            "list_jobs({page:?}) summary in another state: {s:?}"
        );
    }
    got
}

fn summary_ids(page: &[JobSummary]) -> Vec<JobId> {
    page.iter().map(|s| s.id.clone()).collect()
}

fn job_ids(jobs: &[PendingJob]) -> Vec<JobId> {
    jobs.iter().map(|j| j.id.clone()).collect()
}

/// Asserts that `s` carries `j`'s stored envelope bytes and `attempts`.
fn assert_stored(s: &JobSummary, j: &PendingJob, attempts: u32, rule: &str) {
    assert_eq!(s.id, j.id, "{rule}: summary of another job");
    assert!(
        s.envelope == j.payload,
        "{rule}: the summary of {} must carry the envelope bytes as pushed ({} bytes), got {} bytes",
        j.id,
        j.payload.len(),
        s.envelope.len()
    );
    assert_eq!(s.attempts, attempts, "{rule}: attempts of {}: {s:?}", j.id);
}

/// Ready jobs list in claim order (oldest first), grouped jobs after the
/// ungrouped ones; pages of 3 at offsets 0, 3 and 6 cover 7 jobs exactly; each
/// summary carries the pushed envelope and 0 attempts; listing claims nothing.
pub async fn listing_ready_is_fifo_and_paged(factory: &dyn DriverFactory) {
    let rule = "listing_ready_is_fifo_and_paged";
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("list_ready");
    let before = unix_ms(SystemTime::now());
    let jobs: Vec<PendingJob> = (0..7).map(|n| job(&q, n, 3, None)).collect();
    for j in &jobs {
        push_job(d, j.clone()).await;
    }
    let after = unix_ms(SystemTime::now());
    let want = job_ids(&jobs);
    for (offset, range) in [(0u64, 0..3), (3, 3..6), (6, 6..7)] {
        let page = list(d, &q, JobState::Ready, offset, 3).await;
        assert_eq!(
            summary_ids(&page),
            want[range.clone()].to_vec(),
            "{rule}: page at offset {offset} of 3 lists the jobs in push order"
        );
        for (s, j) in page.iter().zip(&jobs[range]) {
            assert_stored(s, j, 0, rule);
            assert_eq!(s.lease_until_ms, None, "{rule}: a ready job has no lease");
            if let Some(at) = s.due_at_ms {
                assert!(
                    (before - 1000..=after + 1000).contains(&at),
                    "{rule}: a ready job became available when pushed ({before}..={after}), \
                     got due_at_ms {at}"
                );
            }
        }
    }
    assert!(
        list(d, &q, JobState::Ready, 7, 3).await.is_empty(),
        "{rule}: a page past the end is empty"
    );
    assert!(
        list(d, &q, JobState::Ready, 0, 0).await.is_empty(),
        "{rule}: a page of limit 0 is empty"
    );
    for other in [JobState::Delayed, JobState::Running, JobState::Waiting] {
        assert!(
            list(d, &q, other, 0, 10).await.is_empty(),
            "{rule}: no job of the queue is {}",
            other.as_str()
        );
    }
    assert!(
        list(d, &queue("list_ready_other"), JobState::Ready, 0, 10)
            .await
            .is_empty(),
        "{rule}: another queue lists nothing"
    );

    // Listing changed nothing: every job is still ready, none was claimed.
    assert_counts(d, &q, (7, 0, 0, 0), "after listing").await;
    let r = claim_one(d, &q, "claim after listing").await;
    assert_eq!(
        r.lease.job_id, want[0],
        "{rule}: listing claims nothing: the first claim still gets the first job"
    );
    assert_eq!(r.attempt, 1, "{rule}: listing counts no attempt");
    assert_eq!(
        summary_ids(&list(d, &q, JobState::Ready, 0, 10).await),
        want[1..].to_vec(),
        "{rule}: the claimed job left the ready listing"
    );

    // Grouped jobs follow the ungrouped ones, in their lane's order.
    let g = GroupKey::new("tenant-a").expect("valid group");
    let q = queue("list_ready_groups");
    let mixed = [
        job(&q, 0, 3, None),
        job(&q, 1, 3, None).in_group(Some(g.clone())),
        job(&q, 2, 3, None).in_group(Some(g)),
        job(&q, 3, 3, None),
    ];
    for j in &mixed {
        push_job(d, j.clone()).await;
    }
    let ids = job_ids(&mixed);
    assert_eq!(
        summary_ids(&list(d, &q, JobState::Ready, 0, 10).await),
        vec![
            ids[0].clone(),
            ids[3].clone(),
            ids[1].clone(),
            ids[2].clone()
        ],
        "{rule}: ungrouped ready jobs first in push order, then the group's lane in its order"
    );
}

/// Delayed jobs list soonest due first with their due time; running jobs
/// soonest lease deadline first with the deadline and 1 attempt; a chain's
/// later links list as waiting, oldest first.
pub async fn listing_delayed_running_and_waiting(factory: &dyn DriverFactory) {
    let rule = "listing_delayed_running_and_waiting";
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("list_states");
    let now = SystemTime::now();
    let delayed: Vec<PendingJob> = [60u64, 30, 45]
        .iter()
        .enumerate()
        .map(|(n, s)| job(&q, n as u64, 3, Some(now + Duration::from_secs(*s))))
        .collect();
    for j in &delayed {
        push_job(d, j.clone()).await;
    }
    let page = list(d, &q, JobState::Delayed, 0, 10).await;
    let soonest_first = [&delayed[1], &delayed[2], &delayed[0]];
    assert_eq!(
        summary_ids(&page),
        soonest_first
            .iter()
            .map(|j| j.id.clone())
            .collect::<Vec<_>>(),
        "{rule}: delayed jobs list soonest due first"
    );
    for (s, j) in page.iter().zip(soonest_first) {
        assert_stored(s, j, 0, rule);
        let due = unix_ms(j.available_at.expect("a delayed job"));
        assert!(
            s.due_at_ms.is_some_and(|at| (at - due).abs() <= 5),
            "{rule}: a delayed job carries its due time {due}, got {:?}",
            s.due_at_ms
        );
        assert_eq!(s.lease_until_ms, None, "{rule}: a delayed job has no lease");
    }
    assert_eq!(
        summary_ids(&list(d, &q, JobState::Delayed, 1, 1).await),
        vec![delayed[2].id.clone()],
        "{rule}: the delayed page at offset 1 of 1"
    );

    let ready: Vec<PendingJob> = (10..13).map(|n| job(&q, n, 3, None)).collect();
    for j in &ready {
        push_job(d, j.clone()).await;
    }
    let long = claim_one(d, &q, "claim with a long lease").await;
    let short = claim(d, std::slice::from_ref(&q), 1, Duration::from_secs(30)).await;
    assert_eq!(short.len(), 1, "{rule}: a second ready job to claim");
    let short = &short[0];
    assert_eq!(
        (&long.lease.job_id, &short.lease.job_id),
        (&ready[0].id, &ready[1].id),
        "{rule}: claims take the ready jobs in order"
    );
    let running = list(d, &q, JobState::Running, 0, 10).await;
    assert_eq!(
        summary_ids(&running),
        vec![ready[1].id.clone(), ready[0].id.clone()],
        "{rule}: running jobs list soonest lease deadline first (a 30 s lease before a 60 s one)"
    );
    for (s, (j, r)) in running.iter().zip([(&ready[1], short), (&ready[0], &long)]) {
        assert_stored(s, j, 1, rule);
        let deadline = unix_ms(r.lease.expires_at);
        // The claim's deadline may be computed on the client and the stored one
        // on the server: allow for the clock reads between them.
        assert!(
            s.lease_until_ms
                .is_some_and(|at| (at - deadline).abs() <= 100),
            "{rule}: a running job carries its lease deadline {deadline}, got {:?}",
            s.lease_until_ms
        );
    }
    assert_eq!(
        summary_ids(&list(d, &q, JobState::Running, 1, 5).await),
        vec![ready[0].id.clone()],
        "{rule}: the running page at offset 1"
    );
    assert_eq!(
        summary_ids(&list(d, &q, JobState::Ready, 0, 10).await),
        vec![ready[2].id.clone()],
        "{rule}: the job not claimed is still ready"
    );

    // Two chains pushed apart in time: their later links wait, oldest first.
    let chain = |from: u64, n: u64| -> Vec<PendingJob> {
        (from..from + n).map(|k| job(&q, k, 3, None)).collect()
    };
    let first = chain(20, 3);
    let second = chain(30, 2);
    ok(
        d.push_chain(ChainPlan {
            queue: q.clone(),
            links: first.clone(),
            catch: None,
        })
        .await,
        "push_chain",
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    ok(
        d.push_chain(ChainPlan {
            queue: q.clone(),
            links: second.clone(),
            catch: None,
        })
        .await,
        "push_chain",
    );
    let waiting = list(d, &q, JobState::Waiting, 0, 10).await;
    assert_eq!(
        waiting.len(),
        3,
        "{rule}: the later links of both chains wait: {:?}",
        summary_ids(&waiting)
    );
    let mut first_links = summary_ids(&waiting[..2]);
    first_links.sort();
    let mut want_first = vec![first[1].id.clone(), first[2].id.clone()];
    want_first.sort();
    assert_eq!(
        (first_links, &waiting[2].id),
        (want_first, &second[1].id),
        "{rule}: the first chain's waiting links list before the second chain's"
    );
    for s in &waiting {
        let j = first[1..]
            .iter()
            .chain(&second[1..])
            .find(|j| j.id == s.id)
            .expect("a listed link");
        assert_stored(s, j, 0, rule);
        assert_eq!(s.lease_until_ms, None, "{rule}: a waiting job has no lease");
    }
    assert_eq!(
        summary_ids(&list(d, &q, JobState::Waiting, 2, 10).await),
        vec![second[1].id.clone()],
        "{rule}: the waiting page at offset 2"
    );
    assert_eq!(
        summary_ids(&list(d, &q, JobState::Ready, 0, 10).await),
        vec![
            ready[2].id.clone(),
            first[0].id.clone(),
            second[0].id.clone()
        ],
        "{rule}: each chain's first link is ready, after the older ready job"
    );
}

/// Listing a finished state (succeeded, failed, cancelled) is an
/// `InvalidArgument` naming it; a page asked with a huge limit holds at most
/// [`MAX_LIST_PAGE`] jobs, and the next offset continues it.
pub async fn listing_rejects_finished_states_and_caps_the_page(factory: &dyn DriverFactory) {
    let rule = "listing_rejects_finished_states_and_caps_the_page";
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("list_cap");
    for state in [JobState::Succeeded, JobState::Failed, JobState::Cancelled] {
        let page = ListPage {
            state,
            offset: 0,
            limit: 10,
        };
        match d.list_jobs(&q, page).await {
            Err(DriverError::InvalidArgument(msg)) => assert!(
                msg.to_lowercase().contains(state.as_str()),
                "{rule}: the InvalidArgument must name the state {}: {msg}",
                state.as_str()
            ),
            other => panic!(
                "{rule}: listing {} jobs must be an InvalidArgument, got {other:?}",
                state.as_str()
            ),
        }
    }
    let total = MAX_LIST_PAGE + 5;
    let jobs: Vec<PendingJob> = (0..total as u64).map(|n| job(&q, n, 3, None)).collect();
    let want = job_ids(&jobs);
    ok(d.push_bulk(jobs).await, "push_bulk");
    let page = list(d, &q, JobState::Ready, 0, 10_000).await;
    assert_eq!(
        page.len(),
        MAX_LIST_PAGE,
        "{rule}: a limit of 10000 is cut to MAX_LIST_PAGE"
    );
    assert!(
        summary_ids(&page) == want[..MAX_LIST_PAGE],
        "{rule}: the capped page lists the oldest MAX_LIST_PAGE jobs in push order"
    );
    let rest = list(d, &q, JobState::Ready, MAX_LIST_PAGE as u64, 10_000).await;
    assert_eq!(
        summary_ids(&rest),
        want[MAX_LIST_PAGE..].to_vec(),
        "{rule}: the next page lists the rest"
    );
}

/// `job_envelope` returns the stored bytes while the job is ready, delayed,
/// waiting or running, and `None` once it is acked, failed, cancelled or
/// cleared, for an unknown id and on another queue.
pub async fn job_envelope_follows_the_job(factory: &dyn DriverFactory) {
    let rule = "job_envelope_follows_the_job";
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("list_envelope");
    let envelope = |id: &JobId| {
        let (q, id) = (q.clone(), id.clone());
        async move { ok(d.job_envelope(&q, &id).await, "job_envelope") }
    };
    let ready = job(&q, 1, 1, None);
    let later = job(&q, 2, 3, Some(SystemTime::now() + Duration::from_secs(60)));
    push_job(d, ready.clone()).await;
    push_job(d, later.clone()).await;
    assert_eq!(
        envelope(&ready.id).await,
        Some(ready.payload.clone()),
        "{rule}: a ready job's envelope"
    );
    assert_eq!(
        envelope(&later.id).await,
        Some(later.payload.clone()),
        "{rule}: a delayed job's envelope"
    );
    assert_eq!(
        ok(
            d.job_envelope(&queue("list_envelope_other"), &ready.id)
                .await,
            "job_envelope"
        ),
        None,
        "{rule}: a job is known only on its own queue"
    );
    assert_eq!(
        envelope(&JobId::generate()).await,
        None,
        "{rule}: an unknown id"
    );

    let r = claim_one(d, &q, "claim the ready job").await;
    assert_eq!(r.lease.job_id, ready.id);
    assert_eq!(
        envelope(&ready.id).await,
        Some(ready.payload.clone()),
        "{rule}: a running job's envelope"
    );
    ok(d.ack(&r.lease).await, "ack");
    assert_eq!(envelope(&ready.id).await, None, "{rule}: after ack");

    let links = vec![job(&q, 3, 1, None), job(&q, 4, 3, None)];
    ok(
        d.push_chain(ChainPlan {
            queue: q.clone(),
            links: links.clone(),
            catch: None,
        })
        .await,
        "push_chain",
    );
    assert_eq!(
        envelope(&links[1].id).await,
        Some(links[1].payload.clone()),
        "{rule}: a waiting chain link's envelope"
    );
    let r = claim_one(d, &q, "claim the chain's first link").await;
    assert_eq!(r.lease.job_id, links[0].id);
    ok(d.fail(&r.lease, "boom").await, "fail");
    assert_eq!(
        envelope(&links[0].id).await,
        None,
        "{rule}: after a final fail (the failed store has it)"
    );

    ok(d.cancel(&q, &later.id).await, "cancel");
    assert_eq!(envelope(&later.id).await, None, "{rule}: after cancel");

    let cleared = job(&q, 5, 3, None);
    push_job(d, cleared.clone()).await;
    assert!(
        envelope(&cleared.id).await.is_some(),
        "{rule}: before clear"
    );
    ok(d.clear(&q).await, "clear");
    assert_eq!(envelope(&cleared.id).await, None, "{rule}: after clear");
    assert_eq!(
        envelope(&links[1].id).await,
        None,
        "{rule}: clear removes waiting links too"
    );
}
