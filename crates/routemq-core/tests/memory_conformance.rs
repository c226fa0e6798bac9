//! The driver conformance suite against the in-memory driver
//! (`cargo test -p routemq-core --features testing`).

#![cfg(feature = "testing")]

routemq_core::conformance_suite!(|| async {
    routemq_core::conformance::Fresh::new(routemq_core::MemoryDriver::new())
});
