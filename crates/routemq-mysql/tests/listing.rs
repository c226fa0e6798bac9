//! Listing a queue in MySQL (JobListing, migration 0014) beyond the conformance
//! rules: a ready listing over the ungrouped jobs and more groups than one read
//! of the rotation takes, page by page; reservations without a lease; grouped
//! delayed jobs; a listing never waits for a claim's locks; and the plans:
//! every listing picks its page from an index range in the listing's order
//! (no sort, no table scan).

mod common;

use std::time::{Duration, SystemTime};

use common::{job, plan, q, raw};
use routemq_core::prelude::*;
use routemq_core::{GroupKey, JobId, JobState, JobSummary, ListPage, PendingJob, QueueName};
use routemq_mysql::mysql_async::prelude::Queryable;
use routemq_mysql::mysql_async::TxOpts;

const LEASE: Duration = Duration::from_secs(60);

async fn list(
    d: &common::Held,
    queue: &QueueName,
    state: JobState,
    offset: u64,
    limit: usize,
) -> Vec<JobSummary> {
    d.list_jobs(
        queue,
        ListPage {
            state,
            offset,
            limit,
        },
    )
    .await
    .unwrap()
}

fn ids(page: &[JobSummary]) -> Vec<JobId> {
    page.iter().map(|s| s.id.clone()).collect()
}

fn grouped(queue: &QueueName, n: u64, group: &str, at: Option<SystemTime>) -> PendingJob {
    job(queue, n, at).in_group(Some(GroupKey::new(group).unwrap()))
}

/// 5 ungrouped ready jobs, then 70 groups (more than the 64 one read of the
/// rotation takes) of 2 ready jobs each, pushed in shuffled group order, and
/// one group with only a delayed job: the listing is the ungrouped jobs in
/// push order, then the groups in key order, each in push order; every page
/// size and offset cuts that same sequence, including offsets that skip whole
/// parts (counted, not read).
#[tokio::test(flavor = "multi_thread")]
async fn ready_listing_spans_the_ungrouped_jobs_and_many_groups_page_by_page() {
    let d = common::fresh().await;
    let queue = q("list_many_groups");
    let later = Some(SystemTime::now() + Duration::from_secs(3600));
    let plain: Vec<PendingJob> = (0..5).map(|n| job(&queue, n, None)).collect();
    d.push_bulk(plain.clone()).await.unwrap();
    let mut order: Vec<u64> = (0..70).collect();
    // A fixed shuffle: push order differs from key order.
    order.sort_by_key(|g| (g * 37) % 70);
    let mut by_group: Vec<Vec<JobId>> = vec![Vec::new(); 70];
    for (n, g) in order.iter().enumerate() {
        for k in 0..2 {
            let j = grouped(&queue, 100 + 2 * n as u64 + k, &format!("g{g:02}"), None);
            by_group[*g as usize].push(j.id.clone());
            d.push(j).await.unwrap();
        }
    }
    d.push(grouped(&queue, 999, "g00-later", later))
        .await
        .unwrap();
    let mut want: Vec<JobId> = plain.iter().map(|j| j.id.clone()).collect();
    want.extend(by_group.into_iter().flatten());
    assert_eq!(want.len(), 145);

    let all = list(&d, &queue, JobState::Ready, 0, 500).await;
    assert_eq!(ids(&all), want, "the whole ready listing");
    assert!(all.iter().all(|s| s.due_at_ms.is_some() && s.attempts == 0));
    for size in [1usize, 7, 64, 100] {
        let mut walked = Vec::new();
        let mut offset = 0u64;
        loop {
            let page = list(&d, &queue, JobState::Ready, offset, size).await;
            assert!(page.len() <= size);
            if page.is_empty() {
                break;
            }
            offset += page.len() as u64;
            walked.extend(ids(&page));
        }
        assert_eq!(walked, want, "pages of {size}");
    }
    // Offsets that skip the ungrouped part and the first read of groups.
    for offset in [5u64, 6, 5 + 128, 5 + 129, 144, 145, 1000] {
        let page = list(&d, &queue, JobState::Ready, offset, 3).await;
        let from = (offset as usize).min(want.len());
        let to = (from + 3).min(want.len());
        assert_eq!(ids(&page), want[from..to].to_vec(), "offset {offset}");
    }
    // The delayed grouped job lists as delayed.
    let delayed = list(&d, &queue, JobState::Delayed, 0, 10).await;
    assert_eq!(delayed.len(), 1);
    assert!(delayed[0].due_at_ms.is_some());

    // A claim takes one job per lane; the claimed ones leave the ready
    // listing and list as running, the rest keep their order.
    let claimed = d
        .claim(std::slice::from_ref(&queue), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 10);
    let taken: Vec<JobId> = claimed.iter().map(|r| r.lease.job_id.clone()).collect();
    let rest: Vec<JobId> = want
        .iter()
        .filter(|id| !taken.contains(id))
        .cloned()
        .collect();
    assert_eq!(ids(&list(&d, &queue, JobState::Ready, 0, 500).await), rest);
    let mut running = ids(&list(&d, &queue, JobState::Running, 0, 500).await);
    running.sort();
    let mut taken_sorted = taken.clone();
    taken_sorted.sort();
    assert_eq!(running, taken_sorted);
}

/// A row reserved by hand without a lease deadline (the original driver's
/// rows) lists as running, before the leased ones; a released job leaves the
/// running listing.
#[tokio::test(flavor = "multi_thread")]
async fn running_lists_reservations_without_a_lease_first() {
    let d = common::fresh().await;
    let queue = q("list_running");
    let jobs: Vec<PendingJob> = (0..3).map(|n| job(&queue, n, None)).collect();
    d.push_bulk(jobs.clone()).await.unwrap();
    let claimed = d
        .claim(std::slice::from_ref(&queue), 2, LEASE)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let mut c = raw(&d).await;
    c.exec_drop(
        "UPDATE queue_jobs SET reserved_at = NOW(6) - INTERVAL 1 MINUTE, attempts = 1
         WHERE uuid = ?",
        (jobs[2].id.as_str(),),
    )
    .await
    .unwrap();
    let running = list(&d, &queue, JobState::Running, 0, 10).await;
    assert_eq!(
        ids(&running),
        vec![jobs[2].id.clone(), jobs[0].id.clone(), jobs[1].id.clone()]
    );
    assert_eq!(running[0].lease_until_ms, None);
    assert!(running[1..].iter().all(|s| s.lease_until_ms.is_some()));
    assert!(list(&d, &queue, JobState::Ready, 0, 10).await.is_empty());

    d.release(&claimed[0].lease, Duration::ZERO).await.unwrap();
    assert_eq!(
        ids(&list(&d, &queue, JobState::Running, 0, 10).await),
        vec![jobs[2].id.clone(), jobs[1].id.clone()]
    );
    assert_eq!(
        ids(&list(&d, &queue, JobState::Ready, 0, 10).await),
        vec![jobs[0].id.clone()]
    );
}

/// A listing is a plain read: it neither waits for nor takes locks, so it
/// answers while a claim holds the queue's rows and rotation locked.
#[tokio::test(flavor = "multi_thread")]
async fn listing_does_not_wait_for_a_claims_locks() {
    let d = common::fresh().await;
    let queue = q("list_locked");
    d.push(job(&queue, 1, None)).await.unwrap();
    d.push(grouped(&queue, 2, "g", None)).await.unwrap();
    let mut c = raw(&d).await;
    let mut tx = c.start_transaction(TxOpts::default()).await.unwrap();
    tx.exec_drop(
        "SELECT id FROM queue_jobs WHERE queue = ? FOR UPDATE",
        (queue.as_str(),),
    )
    .await
    .unwrap();
    tx.exec_drop(
        "SELECT turn FROM queue_groups WHERE queue = ? FOR UPDATE",
        (queue.as_str(),),
    )
    .await
    .unwrap();
    let page = tokio::time::timeout(
        Duration::from_secs(5),
        list(&d, &queue, JobState::Ready, 0, 10),
    )
    .await
    .expect("listing must not wait for row locks");
    assert_eq!(page.len(), 2);
    tx.rollback().await.unwrap();
}

/// The listing filters, as listing_page.sql picks a page with them: ordered
/// index ranges (no sort, no table scan) with realistic statistics: thousands
/// of ready, delayed, reserved and waiting jobs over several queues, grouped
/// and not, then ANALYZE TABLE.
#[tokio::test(flavor = "multi_thread")]
async fn listing_pages_are_picked_from_an_index_range_without_sorting() {
    let d = common::fresh().await;
    let later = Some(SystemTime::now() + Duration::from_secs(3600));
    let queues = [q("default"), q("emails"), q("reports")];
    for (i, queue) in queues.iter().enumerate() {
        let ready: Vec<_> = (0..1500).map(|n| job(queue, n, None)).collect();
        d.push_bulk(ready).await.unwrap();
        let delayed: Vec<_> = (0..500).map(|n| job(queue, n, later)).collect();
        d.push_bulk(delayed).await.unwrap();
        let claimed = d
            .claim(std::slice::from_ref(queue), 100 * (i + 1), LEASE)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 100 * (i + 1));
        let links: Vec<_> = (0..200).map(|n| job(queue, n, None)).collect();
        for chain in links.chunks(4) {
            d.push_chain(routemq_core::ChainPlan {
                queue: queue.clone(),
                links: chain.to_vec(),
                catch: None,
            })
            .await
            .unwrap();
        }
    }
    let groups = q("grouped");
    let mut grouped_jobs = Vec::new();
    for n in 0..2000u64 {
        let at = if n % 4 == 0 { later } else { None };
        grouped_jobs.push(grouped(&groups, n, &format!("g{}", n % 40), at));
    }
    d.push_bulk(grouped_jobs).await.unwrap();
    let mut c = raw(&d).await;
    c.query_drop("ANALYZE TABLE queue_jobs").await.unwrap();

    let filter = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let page = |f: &str| format!("SELECT id FROM queue_jobs {f} LIMIT 50 OFFSET 10");
    let cases: [(&str, String, &[&str]); 4] = [
        (
            "delayed",
            filter(include_str!("../src/sql/listing_delayed.sql")),
            &["queue_jobs_claim_index"],
        ),
        (
            "running",
            filter(include_str!("../src/sql/listing_running.sql")),
            &["queue_jobs_lease_index"],
        ),
        (
            "waiting",
            filter(include_str!("../src/sql/listing_waiting.sql")),
            &["queue_jobs_claim_index"],
        ),
        (
            "ready",
            filter(include_str!("../src/sql/listing_ready.sql")),
            &["queue_jobs_claim_index", "queue_jobs_group_index"],
        ),
    ];
    for queue in ["default", "emails", "reports", "grouped"] {
        for (name, f, indexes) in &cases {
            // A queue with no reservation may sort its none (any plan is fine).
            if *name == "running" && queue == "grouped" {
                continue;
            }
            let (tables, sorts, text) = plan(&mut c, &page(f), (queue,)).await;
            assert_eq!(tables.len(), 1, "{name} ({queue}): {text}");
            assert!(
                indexes.contains(&tables[0].1.as_str()),
                "{name} ({queue}) reads {}: {text}",
                tables[0].1
            );
            assert!(
                ["range", "ref"].contains(&tables[0].2.as_str()),
                "{name} ({queue}): {text}"
            );
            assert!(!sorts, "{name} ({queue}) must not sort: {text}");
        }
    }
    // A read of groups: one exact range per group, in the listing's order.
    let lanes = filter(include_str!("../src/sql/listing_ready_lanes.sql"))
        .replace("{lanes}", "(?, ?, ?, ?)");
    let (tables, sorts, text) =
        plan(&mut c, &page(&lanes), ("grouped", "g1", "g2", "g3", "g3")).await;
    assert_eq!(
        tables,
        vec![(
            "queue_jobs".to_owned(),
            "queue_jobs_group_index".to_owned(),
            "range".to_owned()
        )],
        "lanes: {text}"
    );
    assert!(!sorts, "lanes must not sort: {text}");
}
