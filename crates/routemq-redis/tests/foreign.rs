//! Payloads the driver did not write: a Python RouteMQ JSON payload or corrupt
//! bytes pushed straight into the ready list are adopted, never lost.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{job, queue, setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_redis::KeyMode;

#[tokio::test]
async fn foreign_payloads_are_adopted_and_can_be_failed_with_a_reason() {
    let mut s = setup(KeyMode::Plain).await;
    let p = s.target.prefix.clone();
    let d = &s.driver;
    let q = queue("default");
    d.push(job("default", 1, 3)).await.unwrap();
    let python = r#"{"job":"SendEmail","data":{"to":"a@b.c"},"attempts":0}"#;
    let corrupt: &[u8] = &[0xff, 0x00, 0xc3, 0x28, b'{', 0x80];
    let _: () = s
        .raw
        .rpush(format!("{p}:queue:default"), python)
        .await
        .unwrap();
    let _: () = s
        .raw
        .rpush(format!("{p}:queue:default"), corrupt)
        .await
        .unwrap();

    let got = d
        .claim(std::slice::from_ref(&q), 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        got.len(),
        3,
        "own job first, then both foreign payloads, in order"
    );
    assert!(got[0].envelope().is_ok());
    assert_eq!(got[1].payload, python.as_bytes());
    assert_eq!(got[2].payload, corrupt);
    for r in &got[1..] {
        assert_eq!((r.attempt, r.max_tries), (1, 1));
        assert!(r.envelope().is_err(), "a foreign payload does not decode");
        assert_ne!(r.lease.job_id, got[0].lease.job_id);
    }
    d.ack(&got[0].lease).await.unwrap();
    d.fail(&got[1].lease, "cannot decode job envelope")
        .await
        .unwrap();
    d.fail(&got[2].lease, "cannot decode job envelope")
        .await
        .unwrap();

    let shown = d.failed_show(&got[2].lease.job_id).await.unwrap().unwrap();
    assert_eq!(shown.payload, corrupt, "bytes survive the failed store");
    let records: Vec<String> = s
        .raw
        .lrange(format!("{p}:queue:failed:default"), 0, -1)
        .await
        .unwrap();
    let newest: serde_json::Value = serde_json::from_str(&records[0]).unwrap();
    assert_eq!(newest["payload_encoding"], "base64");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(newest["payload"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, corrupt);
    let older: serde_json::Value = serde_json::from_str(&records[1]).unwrap();
    assert_eq!(
        older["payload"], python,
        "UTF-8 payloads stay readable text"
    );

    // Retrying a foreign payload puts the same bytes back under its new id.
    assert!(d.failed_retry(&got[2].lease.job_id).await.unwrap());
    let again = d
        .claim(std::slice::from_ref(&q), 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].lease.job_id, got[2].lease.job_id);
    assert_eq!(again[0].payload, corrupt);
}

#[tokio::test]
async fn a_foreign_payload_shaped_like_a_framed_body_keeps_its_bytes() {
    let mut s = setup(KeyMode::Plain).await;
    let p = s.target.prefix.clone();
    let d = &s.driver;
    let q = queue("framed");
    // Byte 0, a length, '|': what a stored body with metadata in front starts
    // with. Adopted, it is stored framed, so none of it is taken for metadata.
    let shaped: &[u8] = b"\x003|0|1x-rest";
    let _: () = s
        .raw
        .rpush(format!("{p}:queue:framed"), shaped)
        .await
        .unwrap();
    let got = d
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, shaped);
    let listed = d
        .list_jobs(
            &q,
            routemq_core::ListPage {
                state: routemq_core::JobState::Running,
                offset: 0,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed[0].envelope, shaped);
    d.fail(&got[0].lease, "cannot decode job envelope")
        .await
        .unwrap();
    let shown = d.failed_show(&got[0].lease.job_id).await.unwrap().unwrap();
    assert_eq!(shown.payload, shaped, "bytes survive the failed store");
}

#[tokio::test]
async fn an_expired_foreign_payload_goes_to_the_failed_store() {
    let mut s = setup(KeyMode::Plain).await;
    let p = s.target.prefix.clone();
    let d = &s.driver;
    let q = queue("default");
    let _: () = s
        .raw
        .rpush(format!("{p}:queue:default"), "garbage")
        .await
        .unwrap();
    let got = d
        .claim(std::slice::from_ref(&q), 1, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    tokio::time::sleep(Duration::from_millis(120)).await;
    let report = d.reclaim_expired(std::slice::from_ref(&q)).await.unwrap();
    assert_eq!((report.released, report.failed), (0, 1));
    let failed = d.failed_show(&got[0].lease.job_id).await.unwrap().unwrap();
    assert_eq!(failed.payload, b"garbage");
    assert!(
        failed.exception.contains("lease expired"),
        "{}",
        failed.exception
    );
}
