//! AUTH with a password and with an ACL user name, against a server the test
//! starts itself.

mod common;

use std::time::Duration;

use common::{job, queue};
use routemq_core::prelude::*;
use routemq_core::DriverError;
use routemq_redis::{RedisConfig, RedisDriver};
use routemq_testkit::redis::RedisServer;

async fn round_trip(d: &RedisDriver) {
    let q = queue("default");
    d.push(job("default", 1, 1)).await.unwrap();
    let got = d.claim(&[q], 1, Duration::from_secs(5)).await.unwrap();
    d.ack(&got[0].lease).await.unwrap();
}

#[tokio::test]
async fn password_auth_works_and_a_wrong_password_is_an_error() {
    let server = RedisServer::start_with(&["--requirepass", "s3cret"]).unwrap();
    let url = format!("redis://:s3cret@127.0.0.1:{}/0", server.port());
    round_trip(&RedisDriver::new(RedisConfig::from_url(&url).unwrap()).unwrap()).await;
    let parts = RedisConfig::from_parts("127.0.0.1", server.port(), 1)
        .unwrap()
        .password("s3cret");
    round_trip(&RedisDriver::new(parts).unwrap()).await;

    let wrong = RedisConfig::from_parts("127.0.0.1", server.port(), 0)
        .unwrap()
        .password("nope");
    let err = RedisDriver::new(wrong).unwrap().ping().await.unwrap_err();
    assert!(
        matches!(
            err,
            DriverError::Backend { .. } | DriverError::Unavailable { .. }
        ),
        "{err}"
    );
    assert!(
        err.to_string().to_lowercase().contains("auth") || err.to_string().contains("WRONGPASS"),
        "{err}"
    );
}

#[tokio::test]
async fn acl_user_auth_works() {
    let server = RedisServer::start_with(&[]).unwrap();
    let admin = redis::Client::open(server.url()).unwrap();
    let mut conn = admin.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "routemq", "on", ">pw1", "~*", "+@all"][..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let url = format!("redis://routemq:pw1@127.0.0.1:{}/0", server.port());
    round_trip(&RedisDriver::new(RedisConfig::from_url(&url).unwrap()).unwrap()).await;
    let parts = RedisConfig::from_parts("127.0.0.1", server.port(), 0)
        .unwrap()
        .username("routemq")
        .password("pw1");
    round_trip(&RedisDriver::new(parts).unwrap()).await;
}
