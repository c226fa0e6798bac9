//! Rules about payload sizes.

use std::time::Duration;

use super::super::fixture::{
    assert_counts, assert_nothing_claimable, claim_one, envelope, job, ok, push_job, queue,
};
use super::super::DriverFactory;
use crate::{Codec, DriverError, Envelope, PendingJob, QueueName};

/// One mebibyte.
const MIB: usize = 1 << 20;

/// A MessagePack envelope whose data is `len` bytes covering every byte value.
fn binary_envelope(queue: &QueueName, len: usize) -> Envelope {
    let mut env = envelope(queue, 0, 1);
    env.codec = Codec::MsgPack;
    env.data = (0..len).map(|i| (i % 251) as u8 ^ (i >> 8) as u8).collect();
    env
}

/// A valid MessagePack job whose encoded payload is exactly `size` bytes.
fn job_of_size(queue: &QueueName, size: usize) -> PendingJob {
    // The header is the same for every data length from 64 KiB up, so a small
    // probe measures it without encoding the big payload twice.
    let probe_len = size.min(100_000);
    let probe = binary_envelope(queue, probe_len);
    let overhead = probe.encode().expect("msgpack encodes").len() - probe_len;
    let env = binary_envelope(queue, size.saturating_sub(overhead));
    let job = PendingJob::new(&env, None).expect("msgpack encodes");
    assert_eq!(
        job.payload.len(),
        size,
        "the suite sized the payload exactly"
    );
    job
}

/// A 1 MiB job round-trips byte for byte through push, claim and the failed store.
pub async fn one_mib_payload_round_trips(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("big");
    let env = binary_envelope(&q, MIB);
    let pending = PendingJob::new(&env, None).expect("msgpack encodes");
    let payload = pending.payload.clone();
    assert!(
        d.max_payload_bytes() >= payload.len(),
        "the driver's payload limit ({} bytes) must admit a 1 MiB job",
        d.max_payload_bytes()
    );
    let id = push_job(d, pending).await;
    let r = claim_one(d, &q, "the 1 MiB job").await;
    assert_eq!(r.lease.job_id, id);
    assert_eq!(
        r.payload.len(),
        payload.len(),
        "the payload keeps its length"
    );
    assert!(
        r.payload == payload,
        "the 1 MiB payload comes back byte for byte"
    );
    let back = r.envelope().expect("the payload decodes");
    assert!(back == env, "the envelope decodes to what was pushed");
    ok(d.fail(&r.lease, "too big to handle").await, "fail");
    let f = ok(d.failed_show(&id).await, "failed_show").expect("the big job is stored");
    assert!(
        f.payload == payload,
        "the failed store keeps the 1 MiB payload byte for byte"
    );
    assert!(ok(d.failed_retry(&id).await, "failed_retry"));
    let again = claim_one(d, &q, "the retried 1 MiB job").await;
    assert!(
        again.payload == payload,
        "a retried payload is byte for byte the same"
    );
}

/// A payload one byte over `max_payload_bytes` is rejected with `PayloadTooLarge`
/// by `push` and `push_bulk` (which then stores none of its jobs).
pub async fn oversize_payload_is_rejected(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("oversize");
    let limit = d.max_payload_bytes();
    let big = job_of_size(&q, limit + 1);

    let check = |res: Result<_, DriverError>, call: &str| match res {
        Err(DriverError::PayloadTooLarge {
            size,
            limit: reported,
            driver,
        }) => {
            assert_eq!(size, limit + 1, "{call}: PayloadTooLarge reports the size");
            assert_eq!(reported, limit, "{call}: PayloadTooLarge reports the limit");
            assert_eq!(
                driver,
                d.connection_name(),
                "{call}: PayloadTooLarge names the driver"
            );
        }
        other => panic!(
            "{call} of a payload over the limit must fail with PayloadTooLarge, got {other:?}"
        ),
    };

    check(d.push(big.clone()).await.map(|_| ()), "push");
    assert_counts(d, &q, (0, 0, 0, 0), "after a rejected push").await;

    let small_first = job(&q, 1, 3, None);
    let delayed = job(
        &q,
        2,
        3,
        Some(std::time::SystemTime::now() + Duration::from_secs(60)),
    );
    check(
        d.push_bulk(vec![small_first, delayed, big])
            .await
            .map(|_| ()),
        "push_bulk",
    );
    assert_counts(d, &q, (0, 0, 0, 0), "after a rejected push_bulk").await;
    assert_nothing_claimable(d, &q, "after a rejected push_bulk").await;
    let queues = ok(d.queues().await, "queues");
    assert!(
        queues.is_empty(),
        "rejected pushes must store nothing, yet queues() lists {queues:?}"
    );
}
