//! The JSON envelope's encoder. It writes the bytes `serde_json` writes for
//! the envelope's wire struct (`JsonWire`), but with the keys and the
//! object's frame written as literals and the numbers with `itoa`: serde's
//! per-field path escaped every key byte by byte, cloned the id, name, queue
//! and backoff into the wire struct, serialised the backoff through serde's
//! internally tagged enum adapter and grew its buffer from empty. That was
//! the largest part of a bulk push's client CPU under callgrind: about 6,500
//! of 15,600 instructions per job.
//!
//! Values that are strings, the float, the trace map and the encryption marker
//! still go through `serde_json`, so escaping and float formatting are
//! `serde_json`'s own. `JsonWire` stays the decoder and the reference: the
//! tests check this writer's bytes against `serde_json::to_vec` of it for
//! arbitrary envelopes of every backoff kind.

use serde::Serialize;

use super::Envelope;
use crate::Backoff;

/// Bytes of an envelope beyond its strings and data, with room to spare, so
/// the buffer is allocated once.
const FRAME_BYTES: usize = 256;

/// The JSON envelope of `env` with `data` (valid JSON, no surrounding
/// whitespace) inline.
pub(super) fn write_envelope(
    env: &Envelope,
    data: &str,
    timeout_ms: u64,
    keep_result_ms: Option<u64>,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(
        FRAME_BYTES
            + env.id.as_str().len()
            + env.name.len()
            + env.queue.as_str().len()
            + data.len(),
    );
    out.extend_from_slice(b"{\"id\":");
    string(&mut out, env.id.as_str())?;
    out.extend_from_slice(b",\"name\":");
    string(&mut out, &env.name)?;
    out.extend_from_slice(b",\"queue\":");
    string(&mut out, env.queue.as_str())?;
    // Only an envelope of codec JSON is written here.
    out.extend_from_slice(b",\"codec\":\"json\",\"data\":");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b",\"max_tries\":");
    integer(&mut out, env.max_tries);
    out.extend_from_slice(b",\"timeout_ms\":");
    integer(&mut out, timeout_ms);
    out.extend_from_slice(b",\"backoff\":");
    backoff(&mut out, &env.backoff)?;
    out.extend_from_slice(b",\"created_at_ms\":");
    integer(&mut out, env.created_at_ms);
    if !env.trace.is_empty() {
        out.extend_from_slice(b",\"trace\":");
        value(&mut out, &env.trace)?;
    }
    if let Some(enc) = &env.encryption {
        out.extend_from_slice(b",\"enc\":");
        value(&mut out, enc)?;
    }
    if let Some(ms) = keep_result_ms {
        out.extend_from_slice(b",\"keep_result_ms\":");
        integer(&mut out, ms);
    }
    out.push(b'}');
    Ok(out)
}

/// `Backoff`'s serde form: `{"kind":…}` then the variant's fields.
fn backoff(out: &mut Vec<u8>, backoff: &Backoff) -> Result<(), serde_json::Error> {
    match backoff {
        Backoff::Fixed { delay_ms } => {
            out.extend_from_slice(b"{\"kind\":\"fixed\",\"delay_ms\":");
            integer(out, *delay_ms);
        }
        Backoff::Exponential {
            base_ms,
            cap_ms,
            jitter,
        } => {
            out.extend_from_slice(b"{\"kind\":\"exponential\",\"base_ms\":");
            integer(out, *base_ms);
            out.extend_from_slice(b",\"cap_ms\":");
            integer(out, *cap_ms);
            out.extend_from_slice(b",\"jitter\":");
            value(out, jitter)?;
        }
        Backoff::List { delays_ms } => {
            out.extend_from_slice(b"{\"kind\":\"list\",\"delays_ms\":[");
            for (i, ms) in delays_ms.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                integer(out, *ms);
            }
            out.push(b']');
        }
    }
    out.push(b'}');
    Ok(())
}

/// `s` as a JSON string. One that needs no escape (no control character, no
/// `"` or `\`: every id, job name and queue name RouteMQ makes) is copied as
/// it is; any other goes through `serde_json`'s escaping, which checks byte by
/// byte.
fn string(out: &mut Vec<u8>, s: &str) -> Result<(), serde_json::Error> {
    // A fold without an early exit, so the check runs many bytes at a time.
    let needs_escape = s.bytes().fold(false, |seen, b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        return value(out, s);
    }
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, v)
}

fn integer(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use serde_json::value::RawValue;

    use super::super::JsonWire;
    use super::*;
    use crate::{Cipher, Codec, Encryption, JobId, KeyId, QueueName};

    prop_compose! {
        fn any_envelope()(
            id in ".*",
            name in ".*",
            queue in "[a-z0-9_.-]{1,20}",
            data in ".*",
            sealed in any::<bool>(),
            max_tries in any::<u32>(),
            timeout_ms in any::<u64>(),
            backoff in crate::backoff::any_backoff(),
            created_at_ms in any::<i64>(),
            trace in proptest::collection::btree_map(".*", ".*", 0..3),
            keep_result_ms in proptest::option::of(any::<u64>()),
        ) -> Envelope {
            Envelope {
                id: JobId::from_string(id),
                name,
                queue: QueueName::new(queue).unwrap_or_else(|_| QueueName::new("q").unwrap()),
                codec: Codec::Json,
                // A JSON string: any text becomes valid JSON data.
                data: serde_json::to_vec(&data).unwrap(),
                encryption: sealed.then(|| Encryption {
                    cipher: Cipher::XChaCha20Poly1305,
                    key_id: KeyId::parse("ab12cd34").unwrap(),
                }),
                max_tries,
                timeout: Duration::from_millis(timeout_ms),
                backoff,
                created_at_ms,
                trace,
                keep_result: keep_result_ms.map(Duration::from_millis),
            }
        }
    }

    /// What `serde_json` writes for the same envelope.
    fn by_serde(env: &Envelope, data: &RawValue, timeout_ms: u64, keep: Option<u64>) -> Vec<u8> {
        serde_json::to_vec(&JsonWire {
            id: env.id.clone(),
            name: env.name.clone(),
            queue: env.queue.clone(),
            codec: Codec::Json,
            data,
            max_tries: env.max_tries,
            timeout_ms,
            backoff: env.backoff.clone(),
            created_at_ms: env.created_at_ms,
            trace: env.trace.clone(),
            enc: env.encryption,
            keep_result_ms: keep,
        })
        .unwrap()
    }

    proptest! {
        #[test]
        fn writes_what_serde_json_writes(env in any_envelope()) {
            let text = std::str::from_utf8(&env.data).unwrap();
            let data: &RawValue = serde_json::from_str(text).unwrap();
            let timeout_ms = u64::try_from(env.timeout.as_millis()).unwrap_or(u64::MAX);
            let keep = env.keep_result.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            let ours = write_envelope(&env, data.get(), timeout_ms, keep).unwrap();
            let theirs = by_serde(&env, data, timeout_ms, keep);
            prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
        }
    }

    #[test]
    fn special_floats_are_written_as_serde_json_writes_them() {
        for jitter in [f64::NAN, f64::INFINITY, -0.0, 0.2, 1e300, 5e-324] {
            let env = Envelope {
                backoff: Backoff::Exponential {
                    base_ms: 1,
                    cap_ms: 2,
                    jitter,
                },
                ..Envelope::new(
                    "n",
                    QueueName::new("q").unwrap(),
                    Codec::Json,
                    b"{}".to_vec(),
                )
            };
            let data: &RawValue = serde_json::from_str("{}").unwrap();
            let ours = write_envelope(&env, data.get(), 1, None).unwrap();
            assert_eq!(ours, by_serde(&env, data, 1, None), "jitter {jitter}");
        }
    }
}
