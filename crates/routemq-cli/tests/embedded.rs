//! The library side: an application's own job type run by the same verbs, in
//! process, on a shared memory driver.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use routemq_cli::App;
use routemq_core::{Job, JobContext, JobError, MemoryDriver};
use serde::{Deserialize, Serialize};

static SENT: AtomicU32 = AtomicU32::new(0);

#[derive(Serialize, Deserialize)]
struct SendEmail {
    to: String,
}

impl Job for SendEmail {
    const NAME: &'static str = "emails.send";
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        if self.to.contains('@') {
            SENT.fetch_add(1, Ordering::SeqCst);
            Ok(())
        } else {
            Err(JobError::fatal(format!("bad address {:?}", self.to)))
        }
    }
}

fn run(app: &App, args: &[&str]) -> serde_json::Value {
    let mut out = Vec::new();
    let mut argv = vec!["myapp"];
    argv.extend_from_slice(args);
    app.run_from(argv, &mut out)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out)
        )
    })
}

#[test]
fn an_app_runs_its_own_job_type_through_the_verbs() {
    let driver = Arc::new(MemoryDriver::new());
    let app = App::new()
        .name("myapp")
        .register::<SendEmail>()
        .with_driver(driver);
    assert!(app.job_names().contains(&"emails.send"));
    assert!(app.job_names().contains(&"routemq.noop"));

    run(
        &app,
        &[
            "push",
            "--queue",
            "emails",
            "--job",
            "emails.send",
            "--data",
            r#"{"to":"a@b.c"}"#,
            "--json",
        ],
    );
    run(
        &app,
        &[
            "push",
            "--queue",
            "emails",
            "--job",
            "emails.send",
            "--data",
            r#"{"to":"nobody"}"#,
            "--json",
        ],
    );
    let stats = run(&app, &["stats", "--json"]);
    assert_eq!(stats[0]["queue"], "emails");
    assert_eq!(stats[0]["ready"], 2);

    let report = run(
        &app,
        &[
            "work",
            "--queue",
            "emails",
            "--stop-when-empty",
            "--sleep",
            "0.1",
            "--json",
        ],
    );
    assert_eq!(report["processed"], 1, "{report}");
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(SENT.load(Ordering::SeqCst), 1);

    let failed = run(&app, &["failed", "list", "--json"]);
    assert_eq!(failed[0]["job"], "emails.send");
    assert_eq!(failed[0]["data"]["to"], "nobody");
    assert!(
        failed[0]["exception"]
            .as_str()
            .unwrap()
            .contains("bad address"),
        "{failed}"
    );
}

#[test]
fn help_uses_the_app_name_and_bad_args_keep_clap_exit_codes() {
    let app = App::new()
        .name("myapp")
        .with_driver(Arc::new(MemoryDriver::new()));
    let mut out = Vec::new();
    let err = app.run_from(["myapp", "--help"], &mut out).unwrap_err();
    assert_eq!(err.exit_code(), 0);
    assert!(err.to_string().contains("Usage: myapp"), "{err}");
    let err = app.run_from(["myapp", "nonsense"], &mut out).unwrap_err();
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn a_type_registered_twice_under_one_name_keeps_the_last() {
    #[derive(Serialize, Deserialize)]
    struct MyNoop {}
    impl Job for MyNoop {
        const NAME: &'static str = "routemq.noop";
        async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
            Err(JobError::fatal("replaced"))
        }
    }
    let app = App::new()
        .register::<MyNoop>()
        .with_driver(Arc::new(MemoryDriver::new()));
    assert_eq!(
        app.job_names()
            .iter()
            .filter(|n| **n == "routemq.noop")
            .count(),
        1
    );
    run(&app, &["push", "--job", "routemq.noop", "--json"]);
    let report = run(
        &app,
        &["work", "--stop-when-empty", "--sleep", "0.1", "--json"],
    );
    assert_eq!(
        report["failed"], 1,
        "the app's type ran, not the built-in: {report}"
    );
}
