//! The driver conformance suite against a real MySQL/MariaDB, one fresh schema
//! per rule.

mod common;

use routemq_core::conformance::Fresh;

routemq_core::conformance_suite!(|| async {
    let held = common::fresh().await;
    Fresh::new(held.driver.clone()).keeping(held)
});
