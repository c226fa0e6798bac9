//! The whole driver conformance suite against real Redis (plain key mode).

use std::sync::Arc;

use routemq_core::Driver;
use routemq_redis::{RedisConfig, RedisDriver};

routemq_core::conformance_suite!(|| async {
    let target = routemq_testkit::redis::redis();
    let config = RedisConfig::from_url(&target.url)
        .expect("testkit URL")
        .prefix(target.prefix);
    Arc::new(RedisDriver::new(config).expect("driver")) as Arc<dyn Driver>
});
