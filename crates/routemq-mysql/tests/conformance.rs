//! The driver conformance suite against a real MySQL/MariaDB, one fresh schema
//! per rule.

mod common;

use std::sync::Arc;

use routemq_core::Driver;

routemq_core::conformance_suite!(|| async { Arc::new(common::fresh().await) as Arc<dyn Driver> });
