//! The envelope: what a backend stores for one job.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use base64::Engine as _;

use crate::{Backoff, Codec, CodecError, Encryption, JobId, QueueName};

mod json_writer;

/// Trace context propagated from producer to worker (W3C `traceparent`,
/// `tracestate`, or any string pairs an application wants to carry).
pub type TraceContext = BTreeMap<String, String>;

/// Everything a backend stores about one job except its mutable state (attempts,
/// reservation, availability), which lives in the backend so that claiming never
/// re-encodes user data.
///
/// Encoded form: with [`Codec::Json`] a JSON object whose `data` field holds the
/// job's JSON inline, so `redis-cli` and SQL show it readably; with
/// [`Codec::MsgPack`] a MessagePack map whose `data` is a binary string. The first
/// byte tells them apart (`{` versus a MessagePack map marker), so
/// [`Envelope::decode`] needs no hint.
///
/// An encrypted envelope (see [`Keyring::seal`](crate::Keyring::seal)) carries an
/// `enc` marker (`{"alg":"xchacha20poly1305","kid":"ab12cd34"}`) and its sealed
/// data as a base64 string in JSON, as a binary string in MessagePack; envelopes
/// without the marker decode as plain ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Unique, time-ordered id.
    pub id: JobId,
    /// The job type's stable name ([`Job::NAME`](crate::Job::NAME)).
    pub name: String,
    /// The queue the job was dispatched to.
    pub queue: QueueName,
    /// Codec of [`Envelope::data`] and of the envelope itself.
    pub codec: Codec,
    /// The job's fields, encoded with `codec`; when `encryption` is set, the
    /// sealed form of those bytes (nonce, ciphertext, tag).
    pub data: Vec<u8>,
    /// Set when `data` is encrypted: which cipher and key sealed it.
    pub encryption: Option<Encryption>,
    /// Attempts allowed before the job goes to the failed store (at least 1).
    pub max_tries: u32,
    /// Run time allowed per attempt.
    pub timeout: Duration,
    /// Delay policy between attempts.
    pub backoff: Backoff,
    /// Dispatch time, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Trace context from the producer: with feature `otel`, the dispatching
    /// span's W3C `traceparent`/`tracestate` (see `routemq_core::otel`); empty when
    /// there was none.
    pub trace: TraceContext,
    /// How long the job's succeeded record and its result are kept
    /// ([`JobOptions::keep_result`](crate::JobOptions::keep_result)); `None`
    /// keeps nothing.
    pub keep_result: Option<Duration>,
}

#[derive(Serialize, Deserialize)]
struct JsonWire<'a> {
    id: JobId,
    name: String,
    queue: QueueName,
    codec: Codec,
    #[serde(borrow)]
    data: &'a RawValue,
    max_tries: u32,
    timeout_ms: u64,
    backoff: Backoff,
    created_at_ms: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    trace: TraceContext,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enc: Option<Encryption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_result_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct PackWire {
    id: JobId,
    name: String,
    queue: QueueName,
    codec: Codec,
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
    max_tries: u32,
    timeout_ms: u64,
    backoff: Backoff,
    created_at_ms: i64,
    #[serde(default)]
    trace: TraceContext,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enc: Option<Encryption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_result_ms: Option<u64>,
}

/// Whether [`Envelope::encode_checked`] parses JSON data before writing it
/// inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataCheck {
    /// Parse it: data from outside (`Queue::dispatch_raw`, an envelope built
    /// by hand) may not be JSON, and must not make the envelope invalid.
    Parse,
    /// The data is `Codec::encode`'s output for a typed job, in the
    /// envelope's codec: for JSON, `serde_json`'s, valid by construction and
    /// without surrounding whitespace; parsing it again cost about 3
    /// instructions a byte.
    CodecOutput,
}

impl Envelope {
    /// A new job's envelope: a fresh id, created now, with the default options
    /// ([`JobOptions`](crate::JobOptions): 3 tries, 60 s timeout, the default
    /// backoff, no trace, nothing kept); `data` is the job's fields already
    /// encoded with `codec`. Change the public fields for other settings.
    ///
    /// ```
    /// use routemq_core::{Codec, Envelope, PendingJob, QueueName};
    /// let env = Envelope {
    ///     max_tries: 1,
    ///     ..Envelope::new("reports.build", QueueName::new("reports").unwrap(), Codec::Json, br#"{"day":1}"#.to_vec())
    /// };
    /// let job = PendingJob::new(&env, None).unwrap();
    /// assert_eq!(job.max_tries, 1);
    /// ```
    pub fn new(name: impl Into<String>, queue: QueueName, codec: Codec, data: Vec<u8>) -> Self {
        Envelope {
            id: JobId::generate(),
            name: name.into(),
            queue,
            codec,
            data,
            encryption: None,
            max_tries: crate::JobOptions::DEFAULT_MAX_TRIES,
            timeout: crate::JobOptions::DEFAULT_TIMEOUT,
            backoff: Backoff::default(),
            created_at_ms: crate::unix_ms(std::time::SystemTime::now()),
            trace: TraceContext::new(),
            keep_result: None,
        }
    }

    /// Encodes the envelope with its own codec.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        self.encode_checked(DataCheck::Parse)
    }

    /// Encodes the envelope; `check` says whether JSON data is parsed first
    /// (see [`DataCheck`]).
    pub(crate) fn encode_checked(&self, check: DataCheck) -> Result<Vec<u8>, CodecError> {
        let timeout_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        let keep_result_ms = self
            .keep_result
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        match self.codec {
            Codec::Json => {
                let sealed;
                let text = match self.encryption {
                    Some(_) => {
                        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.data);
                        sealed = serde_json::to_string(&b64).map_err(|e| CodecError::Encode {
                            what: format!("job {} data", self.id),
                            codec: Codec::Json,
                            message: e.to_string(),
                        })?;
                        sealed.as_str()
                    }
                    None => std::str::from_utf8(&self.data).map_err(|e| CodecError::Encode {
                        what: format!("job {} data", self.id),
                        codec: Codec::Json,
                        message: e.to_string(),
                    })?,
                };
                let data = match check {
                    DataCheck::Parse => {
                        let data: &RawValue =
                            serde_json::from_str(text).map_err(|e| CodecError::Encode {
                                what: format!("job {} data", self.id),
                                codec: Codec::Json,
                                message: e.to_string(),
                            })?;
                        data.get()
                    }
                    DataCheck::CodecOutput => text,
                };
                json_writer::write_envelope(self, data, timeout_ms, keep_result_ms).map_err(|e| {
                    CodecError::Encode {
                        what: "envelope".into(),
                        codec: Codec::Json,
                        message: e.to_string(),
                    }
                })
            }
            Codec::MsgPack => Codec::MsgPack.encode(
                "envelope",
                &PackWire {
                    id: self.id.clone(),
                    name: self.name.clone(),
                    queue: self.queue.clone(),
                    codec: Codec::MsgPack,
                    data: self.data.clone(),
                    max_tries: self.max_tries,
                    timeout_ms,
                    backoff: self.backoff.clone(),
                    created_at_ms: self.created_at_ms,
                    trace: self.trace.clone(),
                    enc: self.encryption,
                    keep_result_ms,
                },
            ),
        }
    }

    /// Decodes an envelope of either codec (told apart by the first byte).
    pub fn decode(bytes: &[u8]) -> Result<Envelope, CodecError> {
        let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
        match first {
            Some(b'{') => {
                let w: JsonWire<'_> =
                    serde_json::from_slice(bytes).map_err(|e| CodecError::Decode {
                        what: "job envelope".into(),
                        codec: Codec::Json,
                        message: e.to_string(),
                    })?;
                let data = match w.enc {
                    None => w.data.get().as_bytes().to_vec(),
                    Some(_) => sealed_from_json(w.data)?,
                };
                Ok(Envelope {
                    id: w.id,
                    name: w.name,
                    queue: w.queue,
                    codec: w.codec,
                    data,
                    encryption: w.enc,
                    max_tries: w.max_tries.max(1),
                    timeout: Duration::from_millis(w.timeout_ms),
                    backoff: w.backoff,
                    created_at_ms: w.created_at_ms,
                    trace: w.trace,
                    keep_result: w.keep_result_ms.map(Duration::from_millis),
                })
            }
            _ => {
                let w: PackWire = Codec::MsgPack.decode("job envelope", bytes)?;
                Ok(Envelope {
                    id: w.id,
                    name: w.name,
                    queue: w.queue,
                    codec: w.codec,
                    data: w.data,
                    encryption: w.enc,
                    max_tries: w.max_tries.max(1),
                    timeout: Duration::from_millis(w.timeout_ms),
                    backoff: w.backoff,
                    created_at_ms: w.created_at_ms,
                    trace: w.trace,
                    keep_result: w.keep_result_ms.map(Duration::from_millis),
                })
            }
        }
    }
}

/// The sealed bytes of an encrypted JSON envelope: `data` is a base64 string.
fn sealed_from_json(data: &RawValue) -> Result<Vec<u8>, CodecError> {
    let bad = |message: String| CodecError::Decode {
        what: "encrypted job data".into(),
        codec: Codec::Json,
        message,
    };
    let text: String = serde_json::from_str(data.get())
        .map_err(|e| bad(format!("expected a base64 string: {e}")))?;
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| bad(format!("not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Sample {
        to: String,
        n: i64,
        tags: Vec<String>,
        blob: Option<Vec<u8>>,
        f: f32,
    }

    fn envelope(codec: Codec, data: Vec<u8>) -> Envelope {
        Envelope {
            id: JobId::generate(),
            name: "emails.send".into(),
            queue: QueueName::new("emails").unwrap(),
            codec,
            data,
            encryption: None,
            max_tries: 5,
            timeout: Duration::from_millis(1500),
            backoff: Backoff::list([Duration::from_secs(1)]),
            created_at_ms: 1_700_000_000_000,
            trace: [("traceparent".to_string(), "00-abc-def-01".to_string())].into(),
            keep_result: Some(Duration::from_secs(60)),
        }
    }

    proptest! {
        #[test]
        fn job_data_round_trips_through_both_codecs(
            to in ".*", n in any::<i64>(), tags in proptest::collection::vec(".*", 0..5),
            blob in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
            f in -1e6f32..1e6f32,
        ) {
            let sample = Sample { to, n, tags, blob, f };
            for codec in [Codec::Json, Codec::MsgPack] {
                let data = codec.encode("sample", &sample).unwrap();
                let env = envelope(codec, data);
                let bytes = env.encode().unwrap();
                let back = Envelope::decode(&bytes).unwrap();
                prop_assert_eq!(&back, &env);
                let decoded: Sample = back.codec.decode("sample", &back.data).unwrap();
                prop_assert_eq!(&decoded, &sample);
            }
        }

        #[test]
        fn typed_json_data_is_written_the_same_without_the_parse(
            to in ".*", n in any::<i64>(), tags in proptest::collection::vec(".*", 0..5),
            blob in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
            f in proptest::num::f32::ANY,
        ) {
            let sample = Sample { to, n, tags, blob, f };
            let env = envelope(Codec::Json, Codec::Json.encode("sample", &sample).unwrap());
            prop_assert_eq!(
                env.encode_checked(DataCheck::CodecOutput).unwrap(),
                env.encode().unwrap()
            );
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Envelope::decode(&bytes);
        }
    }

    #[test]
    fn data_from_outside_that_is_not_json_is_refused() {
        for data in [&b"{\"to\":"[..], b"not json", b"{} {}", b""] {
            let err = envelope(Codec::Json, data.to_vec()).encode().unwrap_err();
            assert!(
                err.to_string().contains("data"),
                "{:?}: {err}",
                String::from_utf8_lossy(data)
            );
        }
    }

    #[test]
    fn json_envelope_is_readable() {
        let env = envelope(Codec::Json, br#"{"to":"a@b.c"}"#.to_vec());
        let text = String::from_utf8(env.encode().unwrap()).unwrap();
        assert!(text.contains(r#""data":{"to":"a@b.c"}"#), "{text}");
        assert!(text.contains(r#""name":"emails.send""#), "{text}");
    }

    #[test]
    fn corrupt_payload_names_the_problem() {
        let err = Envelope::decode(b"{not json").unwrap_err().to_string();
        assert!(err.contains("job envelope"), "{err}");
        let err = Envelope::decode(b"").unwrap_err().to_string();
        assert!(err.contains("job envelope"), "{err}");
    }
}
