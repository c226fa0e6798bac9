//! Listing a queue in Redis, beyond the conformance rules: grouped ready jobs are
//! listed lane by lane in group-name order (parked lanes included) in both key
//! modes; a page's cost does not grow with the queue (one `EVALSHA` running the
//! same few commands for a queue of a million jobs as for one of ten); the
//! waiting order index follows the waiting set, and waiting jobs stored before
//! it existed are still listed; `job_envelope` reads no other field.

mod common;

use std::time::{Duration, SystemTime};

use common::{commands_naming, job, job_with_id, now_ms, queue, setup, v7_at, Setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_core::{ChainPlan, GroupKey, JobId, JobState, JobSummary, ListPage, PendingJob};
use routemq_redis::KeyMode;

/// The queue's key base (`{prefix}:queue:{name}`, the name in a hash tag in
/// cluster mode).
fn base(s: &Setup, mode: KeyMode, q: &str) -> String {
    match mode {
        KeyMode::Plain => format!("{}:queue:{q}", s.target.prefix),
        KeyMode::Cluster => format!("{}:queue:{{{q}}}", s.target.prefix),
    }
}

async fn list(s: &Setup, q: &str, state: JobState, offset: u64, limit: usize) -> Vec<JobSummary> {
    let page = ListPage {
        state,
        offset,
        limit,
    };
    s.driver.list_jobs(&queue(q), page).await.unwrap()
}

fn ids(page: &[JobSummary]) -> Vec<JobId> {
    page.iter().map(|s| s.id.clone()).collect()
}

fn grouped(q: &str, n: usize, g: &str) -> PendingJob {
    job(q, n, 3).in_group(Some(GroupKey::new(g).unwrap()))
}

async fn grouped_lanes_in_group_name_order(mode: KeyMode) {
    let s = setup(mode).await;
    let d = &s.driver;
    let name = "lst_groups";
    let q = queue(name);
    let jobs = vec![
        job(name, 0, 3),
        grouped(name, 1, "b"),
        grouped(name, 2, "b"),
        grouped(name, 3, "a"),
        job(name, 4, 3),
        grouped(name, 5, "c"),
    ];
    for j in &jobs {
        d.push(j.clone()).await.unwrap();
    }
    let id = |i: usize| jobs[i].id.clone();
    let all = vec![id(0), id(4), id(3), id(1), id(2), id(5)];
    assert_eq!(
        ids(&list(&s, name, JobState::Ready, 0, 100).await),
        all,
        "ungrouped first, then lanes a, b, c, each from its head"
    );
    assert_eq!(
        ids(&list(&s, name, JobState::Ready, 1, 3).await),
        all[1..4].to_vec(),
        "a page across the ungrouped list and two lanes"
    );
    assert_eq!(
        ids(&list(&s, name, JobState::Ready, 4, 10).await),
        all[4..].to_vec(),
        "a page starting inside a lane"
    );
    assert!(list(&s, name, JobState::Ready, 6, 10).await.is_empty());

    // Holding lane a parks it at the next claim: still listed, in its place; the
    // claims rotate the lanes, the listing's order does not move.
    d.hold_group(&q, &GroupKey::new("a").unwrap(), Duration::from_secs(60))
        .await
        .unwrap();
    let got = d
        .claim(std::slice::from_ref(&q), 3, Duration::from_secs(30))
        .await
        .unwrap();
    let taken: Vec<JobId> = got.iter().map(|r| r.lease.job_id.clone()).collect();
    let mut conn = s.raw.clone();
    let parked: Vec<String> = conn
        .zrange(format!("{}:parked", base(&s, mode, name)), 0, -1)
        .await
        .unwrap();
    assert_eq!(parked, ["a"], "lane a is parked (claimed {taken:?})");
    let left: Vec<JobId> = all.into_iter().filter(|i| !taken.contains(i)).collect();
    assert_eq!(
        ids(&list(&s, name, JobState::Ready, 0, 100).await),
        left,
        "a parked lane is listed in its place"
    );
    let running = list(&s, name, JobState::Running, 0, 100).await;
    assert_eq!(running.len(), 3);
    assert!(running
        .iter()
        .all(|r| r.attempts == 1 && r.lease_until_ms.is_some()));
}

#[tokio::test]
async fn grouped_ready_jobs_list_lane_by_lane_in_group_name_order() {
    grouped_lanes_in_group_name_order(KeyMode::Plain).await;
}

#[tokio::test]
async fn grouped_ready_jobs_list_the_same_in_cluster_mode() {
    grouped_lanes_in_group_name_order(KeyMode::Cluster).await;
}

/// Appends `n` bodiless ids (`x1`, `x2`, …) to list `key`, server side, in
/// slices small enough not to stall a shared server.
async fn fill_list(s: &Setup, key: &str, n: usize) {
    let mut conn = s.raw.clone();
    let script = redis::Script::new(
        "local t = {}
         for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do
           t[#t + 1] = 'x' .. i
           if #t == 1000 then redis.call('RPUSH', KEYS[1], unpack(t)) t = {} end
         end
         if #t > 0 then redis.call('RPUSH', KEYS[1], unpack(t)) end",
    );
    let slice = 100_000;
    for from in (1..=n).step_by(slice) {
        let to = (from + slice - 1).min(n);
        let () = script
            .key(key)
            .arg(from)
            .arg(to)
            .invoke_async(&mut conn)
            .await
            .unwrap();
    }
}

/// Adds `n` bodiless members (`y1`, … scored far ahead) to zset `key`.
async fn fill_zset(s: &Setup, key: &str, n: usize) {
    let mut conn = s.raw.clone();
    let script = redis::Script::new(
        "local t = {}
         for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do
           t[#t + 1] = 4000000000000 + i
           t[#t + 1] = 'y' .. i
           if #t == 2000 then redis.call('ZADD', KEYS[1], unpack(t)) t = {} end
         end
         if #t > 0 then redis.call('ZADD', KEYS[1], unpack(t)) end",
    );
    let slice = 50_000;
    for from in (1..=n).step_by(slice) {
        let to = (from + slice - 1).min(n);
        let () = script
            .key(key)
            .arg(from)
            .arg(to)
            .invoke_async(&mut conn)
            .await
            .unwrap();
    }
}

/// The commands one `list_jobs` call runs on the server, naming the queue.
async fn page_commands(
    s: &Setup,
    b: &str,
    q: &str,
    state: JobState,
    offset: u64,
) -> (Vec<JobSummary>, Vec<Vec<String>>) {
    commands_naming(s, b, list(s, q, state, offset, 10)).await
}

fn names(commands: &[Vec<String>]) -> Vec<&str> {
    commands.iter().map(|c| c[0].as_str()).collect()
}

#[tokio::test]
async fn a_page_of_a_million_jobs_costs_what_a_page_of_ten_costs() {
    let s = setup(KeyMode::Plain).await;
    let d = &s.driver;
    let later = SystemTime::now() + Duration::from_secs(3600);
    // Every job a page shows lies in one bucket of the jobs hash (their ids
    // share one millisecond), so the page is one `HMGET` however the pushes
    // fall against a 256 ms boundary.
    let t = now_ms();
    let mut k = 0;
    for name in ["lst_small", "lst_big"] {
        for n in 0..10 {
            for at in [None, Some(later)] {
                let id = JobId::from_string(v7_at(t, k));
                k += 1;
                d.push(job_with_id(name, n, 3, at, id)).await.unwrap();
            }
        }
    }
    let big = base(&s, KeyMode::Plain, "lst_big");
    fill_list(&s, &big, 1_000_000).await;
    fill_zset(&s, &format!("{big}:delayed"), 200_000).await;
    let small = base(&s, KeyMode::Plain, "lst_small");

    for state in [JobState::Ready, JobState::Delayed] {
        let (small_page, small_cmds) = page_commands(&s, &small, "lst_small", state, 0).await;
        let (big_page, big_cmds) = page_commands(&s, &big, "lst_big", state, 0).await;
        let shape = match state {
            JobState::Ready => ["EVALSHA", "LLEN", "LRANGE", "HMGET"],
            _ => ["EVALSHA", "ZCARD", "ZRANGE", "HMGET"],
        };
        assert_eq!(names(&small_cmds), shape, "{state:?} of 10: {small_cmds:?}");
        assert_eq!(
            names(&big_cmds),
            shape,
            "{state:?} of a million: the same commands: {big_cmds:?}"
        );
        let range = &big_cmds[2];
        assert_eq!(&range[2..4], ["0", "9"], "one page read: {range:?}");
        let hmget = &big_cmds[3];
        assert_eq!(hmget.len(), 2 + 20, "10 bodies and metadata: {hmget:?}");
        assert_eq!(small_page.len(), 10);
        assert_eq!(big_page.len(), 10);
        assert!(big_page.iter().all(|j| !j.envelope.is_empty()));
    }

    // A page deep in the list: the same commands, bodiless ids shown with an
    // empty envelope. Fields found in no bucket make the script ask once
    // whether the pre-bucket jobs hash exists (it does not here).
    let (deep, cmds) = page_commands(&s, &big, "lst_big", JobState::Ready, 999_000).await;
    assert_eq!(
        names(&cmds),
        ["EVALSHA", "LLEN", "LRANGE", "HMGET", "EXISTS"]
    );
    assert_eq!(&cmds[2][2..4], ["999000", "999009"]);
    let want: Vec<String> = (998_991..=999_000).map(|i| format!("x{i}")).collect();
    let got: Vec<&str> = deep.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(got, want, "offset 999000 skips the 10 jobs and 998990 ids");
    assert!(deep
        .iter()
        .all(|j| j.envelope.is_empty() && j.attempts == 0));

    // A page past the end reads no range at all.
    let (past, cmds) = page_commands(&s, &big, "lst_big", JobState::Delayed, 300_000).await;
    assert!(past.is_empty());
    assert_eq!(names(&cmds), ["EVALSHA", "ZCARD"]);

    let mut conn = s.raw.clone();
    let _: () = conn
        .del(&[big.clone(), format!("{big}:delayed")])
        .await
        .unwrap();
}

#[tokio::test]
async fn the_waiting_order_index_follows_the_waiting_set() {
    let s = setup(KeyMode::Cluster).await;
    let d = &s.driver;
    let name = "lst_waiting";
    let q = queue(name);
    let b = base(&s, KeyMode::Cluster, name);
    let links: Vec<PendingJob> = (0..4).map(|n| job(name, n, 1)).collect();
    let catch = job(name, 9, 1);
    d.push_chain(ChainPlan {
        queue: q.clone(),
        links: links.clone(),
        catch: Some(catch.clone()),
    })
    .await
    .unwrap();
    let want = vec![
        links[1].id.clone(),
        links[2].id.clone(),
        links[3].id.clone(),
        catch.id.clone(),
    ];
    assert_eq!(
        ids(&list(&s, name, JobState::Waiting, 0, 10).await),
        want,
        "later links in chain order, then the catch"
    );
    let mut conn = s.raw.clone();
    let sizes = |mut conn: redis::aio::MultiplexedConnection| {
        let b = b.clone();
        async move {
            let set: usize = conn.scard(format!("{b}:waiting")).await.unwrap();
            let order: usize = conn.zcard(format!("{b}:waiting:order")).await.unwrap();
            (set, order)
        }
    };
    assert_eq!(sizes(conn.clone()).await, (4, 4));

    // A cancel takes a waiting job out of both.
    d.cancel(&q, &links[3].id).await.unwrap();
    assert_eq!(sizes(conn.clone()).await, (3, 3));
    // The first link's ack releases the second.
    let r = d
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(30))
        .await
        .unwrap();
    d.ack(&r[0].lease).await.unwrap();
    assert_eq!(sizes(conn.clone()).await, (2, 2));
    assert_eq!(
        ids(&list(&s, name, JobState::Waiting, 0, 10).await),
        vec![links[2].id.clone(), catch.id.clone()]
    );
    assert_eq!(
        ids(&list(&s, name, JobState::Ready, 0, 10).await),
        vec![links[1].id.clone()]
    );

    // Waiting jobs stored before the index existed: listed from the set, by
    // their stored time, then id.
    let _: () = conn.del(format!("{b}:waiting:order")).await.unwrap();
    let mut legacy = vec![links[2].id.clone(), catch.id.clone()];
    legacy.sort();
    assert_eq!(ids(&list(&s, name, JobState::Waiting, 0, 10).await), legacy);
    assert_eq!(
        ids(&list(&s, name, JobState::Waiting, 1, 10).await),
        legacy[1..].to_vec()
    );

    // A failing link releases the catch; clear leaves no waiting key.
    let r = d
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(30))
        .await
        .unwrap();
    d.fail(&r[0].lease, "boom").await.unwrap();
    assert_eq!(
        ids(&list(&s, name, JobState::Ready, 0, 10).await),
        vec![catch.id.clone()]
    );
    d.clear(&q).await.unwrap();
    assert_eq!(sizes(conn.clone()).await, (0, 0));
}

#[tokio::test]
async fn job_envelope_reads_only_a_stored_jobs_body() {
    let s = setup(KeyMode::Plain).await;
    let d = &s.driver;
    let name = "lst_envelope";
    let q = queue(name);
    let j = job(name, 1, 3);
    d.push(j.clone()).await.unwrap();
    assert_eq!(
        d.job_envelope(&q, &j.id).await.unwrap(),
        Some(j.payload.clone())
    );
    for field in ["meta", "group", "run", "cancel"] {
        let other = JobId::from_string(format!("{}:{field}", j.id));
        assert_eq!(d.job_envelope(&q, &other).await.unwrap(), None, "{other}");
    }
    // A bodiless ready-list element (a foreign payload) is listed, not read.
    let mut conn = s.raw.clone();
    let _: () = conn
        .rpush(base(&s, KeyMode::Plain, name), r#"{"job":"foreign"}"#)
        .await
        .unwrap();
    let page = list(&s, name, JobState::Ready, 0, 10).await;
    assert_eq!(page.len(), 2);
    assert_eq!(page[1].id.as_str(), r#"{"job":"foreign"}"#);
    assert!(page[1].envelope.is_empty());
    assert_eq!((page[1].attempts, page[1].due_at_ms), (0, None));
    assert_eq!(d.job_envelope(&q, &page[1].id).await.unwrap(), None);
}
