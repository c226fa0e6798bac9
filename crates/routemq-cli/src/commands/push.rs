//! `routemq push`: enqueue one raw job, unique under `--unique-key` and in
//! `--group` if asked.

use std::sync::Arc;

use routemq_core::{Codec, Driver, GroupKey, JobOptions, Queue, Unique, UniqueKey, When};
use serde::Serialize;

use crate::cli::{PushArgs, UniqueUntil};
use crate::commands::queue_arg;
use crate::output::Output;
use crate::{CliError, ConfigError, EncryptionConfig};

#[derive(Serialize)]
struct Pushed<'a> {
    id: String,
    queue: &'a str,
    job: &'a str,
    delay_ms: Option<u128>,
    /// The job's group, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    /// The id of the key that sealed the data, when encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    encrypted_with: Option<String>,
    /// The unique key was held: nothing was stored, `id` is the holder's.
    duplicate: bool,
    /// The holder had not started and took this push's data and due time.
    debounced: bool,
}

/// The uniqueness `args` ask for, if any.
fn unique(args: &PushArgs) -> Result<Option<Unique>, CliError> {
    let Some(key) = &args.unique_key else {
        return Ok(None);
    };
    UniqueKey::new(key.clone()).map_err(|e| CliError::usage("--unique-key", e.to_string()))?;
    let mut unique = Unique::key(key.clone());
    unique = match (args.unique_for, args.unique_until) {
        (Some(d), _) if d.is_zero() => {
            return Err(CliError::usage("--unique-for", "must be longer than 0"))
        }
        (Some(d), _) => unique.for_duration(d),
        (None, Some(UniqueUntil::Started)) => unique.until_started(),
        (None, Some(UniqueUntil::Finished)) => unique.until_finished(),
        (None, None) => unique,
    };
    if let Some(d) = args.debounce {
        unique = unique.debounce(d);
    }
    Ok(Some(unique))
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
    if let Some(group) = &args.group {
        GroupKey::new(group.clone()).map_err(|e| CliError::usage("--group", e.to_string()))?;
        options = options.group(group.clone());
    }
    if let Some(u) = unique(args)? {
        options = options.unique(u);
    }
    let done = Queue::from_arc(driver)
        .with_keyring(encryption.keyring.clone())
        .dispatch_raw_unique(&args.job, bytes, &options, args.delay.map(When::After))
        .await?;
    let id = done.id;
    let text = match (done.duplicate, done.debounced) {
        (false, _) => id.to_string(),
        (true, false) => format!("{id} duplicate"),
        (true, true) => format!("{id} duplicate debounced"),
    };
    let pushed = Pushed {
        id: id.to_string(),
        queue: queue.as_str(),
        job: &args.job,
        delay_ms: args.delay.map(|d| d.as_millis()),
        group: args.group.as_deref(),
        encrypted_with: key_id.filter(|_| encrypt).map(|k| k.to_string()),
        duplicate: done.duplicate,
        debounced: done.debounced,
    };
    out.either(&pushed, text)
}
