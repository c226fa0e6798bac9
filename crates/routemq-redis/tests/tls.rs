//! `rediss://` against a `redis-server` started with TLS (run with
//! `cargo test -p routemq-redis --features tls --test tls`; needs `openssl` and a
//! redis-server built with TLS, as Debian's is).

#![cfg(feature = "tls")]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{job, queue};
use routemq_core::prelude::*;
use routemq_redis::{RedisConfig, RedisDriver};
use routemq_testkit::{free_port, redis::RedisServer};

#[tokio::test]
async fn a_tls_connection_round_trips_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (ca, ca_key, cert, key, csr, ext) = (
        path("ca.pem"),
        path("ca.key"),
        path("cert.pem"),
        path("key.pem"),
        path("req.csr"),
        path("ext.cnf"),
    );
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl must be installed for the TLS test");
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=routemq-test-ca",
        "-keyout",
        &ca_key,
        "-out",
        &ca,
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &key,
        "-out",
        &csr,
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &ext,
        "-out",
        &cert,
    ]);
    let tls_port = free_port().unwrap().to_string();
    let _server = RedisServer::start_with(&[
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "no",
    ])
    .expect("redis-server with TLS support");
    // The test CA is trusted through the platform store, which
    // rustls-native-certs reads from SSL_CERT_FILE.
    std::env::set_var("SSL_CERT_FILE", &ca);
    let url = format!("rediss://localhost:{tls_port}/0");
    let d = RedisDriver::new(RedisConfig::from_url(&url).unwrap()).unwrap();
    d.ping().await.expect("TLS ping");
    let q = queue("default");
    d.push(job("default", 1, 1)).await.unwrap();
    let got = d
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    d.ack(&got[0].lease).await.unwrap();
    d.wait_for_jobs(std::slice::from_ref(&q), Duration::from_millis(100))
        .await
        .expect("blocking wait over TLS");

    // A plain client on the TLS port fails as Unavailable/Backend, never "no job".
    let plain = format!("redis://localhost:{tls_port}/0");
    let bad = RedisDriver::new(
        RedisConfig::from_url(&plain)
            .unwrap()
            .connect_timeout(Duration::from_millis(500)),
    )
    .unwrap();
    assert!(bad.claim(&[q], 1, Duration::from_secs(5)).await.is_err());
}
