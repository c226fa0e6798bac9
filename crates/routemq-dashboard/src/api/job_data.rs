//! A stored envelope as the API shows it: its header fields for listings, and
//! its data as a JSON value for the job page (MessagePack converted to JSON;
//! encrypted data is never opened, only marked).

use routemq_core::{Codec, Envelope};
use serde::Serialize;
use serde_json::Value;

/// The fields of an envelope a listing shows (never the data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Header {
    pub(crate) name: String,
    pub(crate) queue: String,
    pub(crate) codec: &'static str,
    pub(crate) created_at_ms: i64,
    pub(crate) max_tries: u32,
    pub(crate) timeout_ms: u64,
    pub(crate) encrypted: bool,
}

impl Header {
    fn of(env: &Envelope) -> Self {
        Header {
            name: env.name.clone(),
            queue: env.queue.to_string(),
            codec: env.codec.as_str(),
            created_at_ms: env.created_at_ms,
            max_tries: env.max_tries,
            timeout_ms: u64::try_from(env.timeout.as_millis()).unwrap_or(u64::MAX),
            encrypted: env.encryption.is_some(),
        }
    }
}

/// The header and the data of an envelope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Described {
    #[serde(flatten)]
    pub(crate) header: Header,
    /// The job's fields as JSON; `None` when encrypted or undecodable.
    pub(crate) data: Option<Value>,
    /// Why `data` could not be decoded.
    pub(crate) data_error: Option<String>,
    /// How long a result is kept, if the job keeps one.
    pub(crate) keep_result_ms: Option<u64>,
}

/// Decodes stored envelope bytes; an empty or corrupt payload is an error
/// message to show.
fn decode(bytes: &[u8]) -> Result<Envelope, String> {
    if bytes.is_empty() {
        return Err("the backend holds no payload for this job".to_owned());
    }
    Envelope::decode(bytes).map_err(|e| e.to_string())
}

/// The header of stored envelope bytes.
pub(crate) fn header(bytes: &[u8]) -> Result<Header, String> {
    decode(bytes).map(|env| Header::of(&env))
}

/// The header and the data of stored envelope bytes.
pub(crate) fn describe(bytes: &[u8]) -> Result<Described, String> {
    let env = decode(bytes)?;
    let (data, data_error) = match (&env.encryption, env.codec) {
        (Some(_), _) => (None, None),
        (None, Codec::Json) => {
            split(serde_json::from_slice::<Value>(&env.data).map_err(|e| e.to_string()))
        }
        (None, Codec::MsgPack) => split(
            Codec::MsgPack
                .decode::<Value>("job data", &env.data)
                .map_err(|e| e.to_string()),
        ),
    };
    Ok(Described {
        header: Header::of(&env),
        data,
        data_error,
        keep_result_ms: env
            .keep_result
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    })
}

fn split(r: Result<Value, String>) -> (Option<Value>, Option<String>) {
    match r {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    }
}

/// A kept result (JSON bytes) as a value; text that is not JSON as a string.
pub(crate) fn result_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use routemq_core::QueueName;

    fn envelope(codec: Codec, data: Vec<u8>) -> Envelope {
        Envelope::new(
            "emails.send",
            QueueName::new("emails").unwrap(),
            codec,
            data,
        )
    }

    #[test]
    fn both_codecs_come_out_as_json() {
        let value = serde_json::json!({"to": "a@b.c", "n": 3, "tags": ["x"]});
        for codec in [Codec::Json, Codec::MsgPack] {
            let data = codec.encode("data", &value).unwrap();
            let bytes = envelope(codec, data).encode().unwrap();
            let d = describe(&bytes).unwrap();
            assert_eq!(d.data, Some(value.clone()), "{codec:?}");
            assert_eq!(d.header.name, "emails.send");
            assert_eq!(d.header.codec, codec.as_str());
        }
    }

    #[test]
    fn encrypted_data_is_not_opened() {
        let mut env = envelope(Codec::Json, br#"{"secret":1}"#.to_vec());
        env.encryption = Some(routemq_core::Encryption {
            cipher: routemq_core::Cipher::XChaCha20Poly1305,
            key_id: routemq_core::KeyId::parse("ab12cd34").unwrap(),
        });
        env.data = vec![1, 2, 3, 4];
        let d = describe(&env.encode().unwrap()).unwrap();
        assert!(d.header.encrypted);
        assert_eq!(d.data, None);
        assert_eq!(d.data_error, None);
    }

    #[test]
    fn a_missing_or_corrupt_payload_is_a_message() {
        assert!(header(b"").is_err());
        assert!(describe(b"{nope").unwrap_err().contains("envelope"));
    }
}
