//! `routemq pause QUEUE` (workers stop starting the queue's jobs) and
//! `routemq resume QUEUE` (they take them again).

use std::sync::Arc;

use routemq_core::Driver;

use crate::cli::PauseArgs;
use crate::commands::queue_arg;
use crate::output::Output;
use crate::CliError;

/// Pauses (`pause = true`) or resumes the queue `args` names and says whether
/// that changed anything.
pub(crate) async fn run(
    driver: Arc<dyn Driver>,
    args: &PauseArgs,
    pause: bool,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let queue = queue_arg("QUEUE", &args.queue)?;
    let changed = if pause {
        driver.pause(&queue).await?
    } else {
        driver.resume(&queue).await?
    };
    let text = match (pause, changed) {
        (true, true) => format!(
            "paused queue {queue}: workers start none of its jobs until `routemq resume {queue}`"
        ),
        (true, false) => format!("queue {queue} was already paused"),
        (false, true) => format!("resumed queue {queue}"),
        (false, false) => format!("queue {queue} was not paused"),
    };
    out.either(
        &serde_json::json!({ "queue": queue.as_str(), "paused": pause, "changed": changed }),
        text,
    )
}
