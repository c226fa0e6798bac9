//! The `routemq` command line, built by this package so its tests always have a
//! binary with both drivers (the workspace's `target/debug/routemq` may be a build
//! with other features): the same `main` as `crates/routemq-cli/src/main.rs`.

fn main() -> std::process::ExitCode {
    routemq_cli::App::new().run()
}
