//! The whole driver conformance suite against real Redis (plain key mode).

use routemq_core::conformance::Fresh;
use routemq_redis::{RedisConfig, RedisDriver};

routemq_core::conformance_suite!(|| async {
    let target = routemq_testkit::redis::redis();
    let config = RedisConfig::from_url(&target.url)
        .expect("testkit URL")
        .prefix(target.prefix);
    Fresh::new(RedisDriver::new(config).expect("driver"))
});
