//! End-to-end tests across RouteMQ crates live in `tests/tests/`.
