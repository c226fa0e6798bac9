//! Fair groups end to end: tenant B's 10 jobs finish while tenant A still has
//! thousands queued, with `routemq work` draining the queue.

use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use routemq_cli::{connect, Config, Unconfigured};
use routemq_core::{unix_ms, Backoff, Codec, Envelope, GroupKey, JobId, PendingJob, QueueName};

use crate::support::{queue, Backend};

/// 10,000 jobs of group A (bulk, 20 ms each) then 10 of group B (through
/// `routemq push --group B`, failing at once so they are seen in the failed
/// store); one `routemq work` with 2 slots drains the queue. B's 10 jobs are
/// all done while at least 9,000 of A's are still ready.
pub fn tenant_b_is_not_delayed_by_tenant_a(b: &Backend) {
    let q = queue("groups");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let env = b.env.clone();
        let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let config = Config::resolve(lookup, None, Unconfigured::Refuse).expect("config");
        let driver = connect(&config).await.expect("connect");
        let queue = QueueName::new(q.clone()).unwrap();
        let a = GroupKey::new("A").unwrap();
        let jobs: Vec<PendingJob> = (0..10_000)
            .map(|_| {
                let env = Envelope {
                    id: JobId::generate(),
                    name: "routemq.sleep".into(),
                    queue: queue.clone(),
                    codec: Codec::Json,
                    data: br#"{"ms":20}"#.to_vec(),
                    encryption: None,
                    max_tries: 1,
                    timeout: Duration::from_secs(30),
                    backoff: Backoff::fixed(Duration::from_secs(1)),
                    created_at_ms: unix_ms(SystemTime::now()),
                    trace: Default::default(),
                    keep_result: None,
                };
                PendingJob::new(&env, None)
                    .unwrap()
                    .in_group(Some(a.clone()))
            })
            .collect();
        driver.push_bulk(jobs).await.expect("bulk push of group A");
    });
    for n in 0..10 {
        let pushed = b.ok(&[
            "push",
            "--queue",
            &q,
            "--job",
            "routemq.fail",
            "--tries",
            "1",
            "--group",
            "B",
            "--data",
            &format!("{{\"message\":\"b{n}\"}}"),
            "--json",
        ]);
        assert_eq!(pushed["group"], "B", "{pushed}");
    }
    assert_eq!(b.stats(&q)["ready"], 10_010);

    let mut worker = b
        .std_cmd(&["work", "--queue", &q, "--concurrency", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let s = loop {
        let s = b.stats(&q);
        if s["failed"] == 10 {
            break s;
        }
        assert!(Instant::now() < deadline, "B's jobs not done in 60 s: {s}");
        std::thread::sleep(Duration::from_millis(50));
    };
    super::terminate(&mut worker);
    let out = worker.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let ready = s["ready"].as_u64().unwrap();
    assert!(
        ready >= 9_000,
        "B's 10 jobs finished with only {ready} of A's jobs still queued: {s}"
    );
}
