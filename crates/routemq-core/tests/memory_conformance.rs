//! The driver conformance suite against the in-memory driver
//! (`cargo test -p routemq-core --features testing`).

#![cfg(feature = "testing")]

routemq_core::conformance_suite!(|| async {
    std::sync::Arc::new(routemq_core::MemoryDriver::new())
        as std::sync::Arc<dyn routemq_core::Driver>
});
