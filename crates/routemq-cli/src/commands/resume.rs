//! `routemq resume QUEUE`: workers take the paused queue's jobs again.

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
    let changed = driver.resume(&queue).await?;
    out.either(
        &serde_json::json!({ "queue": queue.as_str(), "paused": false, "changed": changed }),
        if changed {
            format!("resumed queue {queue}")
        } else {
            format!("queue {queue} was not paused")
        },
    )
}
