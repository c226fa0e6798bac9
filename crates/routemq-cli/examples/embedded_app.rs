//! An application embedding the RouteMQ command line with its own job type.
//!
//! ```text
//! cargo run -p routemq-cli --example embedded_app -- --connection memory demo
//! QUEUE_CONNECTION=redis REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo run -p routemq-cli --example embedded_app -- push --queue emails \
//!   --job emails.send --data '{"to": "ada@example.com", "subject": "hi"}'
//! QUEUE_CONNECTION=redis REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo run -p routemq-cli --example embedded_app -- work --queue emails --stop-when-empty
//! ```
//!
//! Every verb (`work`, `push`, `stats`, `failed …`, `demo`, …) is there; `work`
//! runs `emails.send` beside the built-in `routemq.*` jobs.

use std::process::ExitCode;
use std::time::Duration;

use routemq_core::{Backoff, Job, JobContext, JobError, JobOptions};
use serde::{Deserialize, Serialize};

/// The application's job: send one email.
#[derive(Debug, Serialize, Deserialize)]
struct SendEmail {
    to: String,
    subject: String,
}

impl Job for SendEmail {
    const NAME: &'static str = "emails.send";

    fn options() -> JobOptions {
        JobOptions::new()
            .queue("emails")
            .max_tries(5)
            .backoff(Backoff::exponential(
                Duration::from_secs(1),
                Duration::from_secs(60),
            ))
    }

    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        if !self.to.contains('@') {
            return Err(JobError::fatal(format!(
                "{:?} is not an email address",
                self.to
            )));
        }
        println!(
            "sending {:?} to {} (job {}, attempt {})",
            self.subject,
            self.to,
            ctx.id(),
            ctx.attempt()
        );
        Ok(())
    }
}

fn main() -> ExitCode {
    routemq_cli::App::new()
        .name("myapp")
        .register::<SendEmail>()
        .run()
}
