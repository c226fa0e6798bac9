//! Job data codecs.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Why a MessagePack encode or decode failed in a build without the feature.
#[cfg(not(feature = "msgpack"))]
const NO_MSGPACK: &str =
    "MessagePack support is not compiled in: enable the `msgpack` feature of routemq (or routemq-core)";

/// How a job's data (and the envelope around it) is encoded. Recorded in every
/// envelope, so one queue can hold jobs of both codecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// JSON: readable with `redis-cli` and SQL. The default.
    #[default]
    Json,
    /// MessagePack via `rmp-serde` (maps with field names): compact and fast.
    #[serde(rename = "msgpack")]
    MsgPack,
}

/// A value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Encoding failed (a type whose `Serialize` refuses the value).
    #[error("cannot encode {what} as {codec:?}: {message}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// The codec.
        codec: Codec,
        /// The serializer's message.
        message: String,
    },
    /// Decoding failed: corrupt bytes or data that does not fit the type.
    #[error("cannot decode {what} as {codec:?}: {message}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The codec.
        codec: Codec,
        /// The deserializer's message.
        message: String,
    },
}

impl Codec {
    /// The codec's name as stored (`json`, `msgpack`).
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Json => "json",
            Codec::MsgPack => "msgpack",
        }
    }

    /// Encodes `value`; `what` names it in errors. Without the `msgpack` feature,
    /// [`Codec::MsgPack`] is an error saying how to turn it on.
    pub fn encode<T: Serialize + ?Sized>(
        self,
        what: &str,
        value: &T,
    ) -> Result<Vec<u8>, CodecError> {
        let res = match self {
            Codec::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
            #[cfg(feature = "msgpack")]
            Codec::MsgPack => rmp_serde::to_vec_named(value).map_err(|e| e.to_string()),
            #[cfg(not(feature = "msgpack"))]
            Codec::MsgPack => Err(NO_MSGPACK.to_owned()),
        };
        res.map_err(|message| CodecError::Encode {
            what: what.to_owned(),
            codec: self,
            message,
        })
    }

    /// Decodes `bytes` as a `T`; `what` names it in errors.
    pub fn decode<T: DeserializeOwned>(self, what: &str, bytes: &[u8]) -> Result<T, CodecError> {
        let res = match self {
            Codec::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
            #[cfg(feature = "msgpack")]
            Codec::MsgPack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
            #[cfg(not(feature = "msgpack"))]
            Codec::MsgPack => Err(NO_MSGPACK.to_owned()),
        };
        res.map_err(|message| CodecError::Decode {
            what: what.to_owned(),
            codec: self,
            message,
        })
    }
}

impl std::str::FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Codec::Json),
            "msgpack" | "messagepack" | "rmp" => Ok(Codec::MsgPack),
            other => Err(format!("unknown codec {other:?}; use json or msgpack")),
        }
    }
}
