//! `routemq push`: enqueue one raw job.

use std::sync::Arc;

use routemq_core::{Codec, Driver, JobOptions, Queue, When};
use serde::Serialize;

use crate::cli::PushArgs;
use crate::commands::queue_arg;
use crate::output::Output;
use crate::{CliError, ConfigError, EncryptionConfig};

#[derive(Serialize)]
struct Pushed<'a> {
    id: String,
    queue: &'a str,
    job: &'a str,
    delay_ms: Option<u128>,
    /// The id of the key that sealed the data, when encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    encrypted_with: Option<String>,
}

pub(crate) async fn run(
    driver: Arc<dyn Driver>,
    args: &PushArgs,
    known_jobs: &[&str],
    encryption: &EncryptionConfig,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let queue = queue_arg("--queue", &args.queue)?;
    let encrypt = args.encrypt || encryption.encrypt_all;
    let key_id = encryption.keyring.current_key_id();
    if args.encrypt && key_id.is_none() {
        return Err(ConfigError::NoEncryptionKey {
            asked_by: "--encrypt",
        }
        .into());
    }
    if args.job.trim().is_empty() {
        return Err(CliError::usage("--job", "the job name must not be empty"));
    }
    let data: serde_json::Value = serde_json::from_str(&args.data)
        .map_err(|e| CliError::usage("--data", format!("is not valid JSON: {e}")))?;
    if !known_jobs.contains(&args.job.as_str()) {
        eprintln!(
            "routemq: note: no job type {:?} is registered in this binary; a worker that knows it must run it",
            args.job
        );
    }
    let mut options = JobOptions::new().queue(queue.as_str()).codec(Codec::Json);
    if let Some(tries) = args.tries {
        if tries == 0 {
            return Err(CliError::usage("--tries", "must be at least 1"));
        }
        options = options.max_tries(tries);
    }
    if let Some(timeout) = args.timeout {
        options = options.timeout(timeout);
    }
    let bytes = serde_json::to_vec(&data).map_err(|e| CliError::usage("--data", e.to_string()))?;
    if encrypt {
        options = options.encrypted();
    }
    let id = Queue::from_arc(driver)
        .with_keyring(encryption.keyring.clone())
        .dispatch_raw(&args.job, bytes, &options, args.delay.map(When::After))
        .await?;
    let pushed = Pushed {
        id: id.to_string(),
        queue: queue.as_str(),
        job: &args.job,
        delay_ms: args.delay.map(|d| d.as_millis()),
        encrypted_with: key_id.filter(|_| encrypt).map(|k| k.to_string()),
    };
    out.either(&pushed, &id)
}
