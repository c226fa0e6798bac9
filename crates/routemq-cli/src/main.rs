//! The `routemq` binary: the built-in job types and every verb. Run `routemq --help`.

fn main() -> std::process::ExitCode {
    routemq_cli::App::new().run()
}
