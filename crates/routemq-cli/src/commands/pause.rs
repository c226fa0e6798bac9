//! `routemq pause QUEUE`: workers stop starting the queue's jobs.

use std::sync::Arc;

use routemq_core::Driver;

use crate::cli::PauseArgs;
use crate::commands::queue_arg;
use crate::output::Output;
use crate::CliError;

pub(crate) async fn run(
    driver: Arc<dyn Driver>,
    args: &PauseArgs,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let queue = queue_arg("QUEUE", &args.queue)?;
    let changed = driver.pause(&queue).await?;
    out.either(
        &serde_json::json!({ "queue": queue.as_str(), "paused": true, "changed": changed }),
        if changed {
            format!("paused queue {queue}: workers start none of its jobs until `routemq resume {queue}`")
        } else {
            format!("queue {queue} was already paused")
        },
    )
}
