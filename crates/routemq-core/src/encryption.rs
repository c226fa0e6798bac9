//! Encrypted job data (Laravel's `ShouldBeEncrypted`): the [`Keyring`] of
//! [`EncryptionKey`]s, and sealing/opening an [`Envelope`]'s data with
//! XChaCha20-Poly1305.
//!
//! Only [`Envelope::data`] is encrypted; the id, name, queue, codec, tries,
//! timeout and backoff stay readable so `stats` and the failed store work. The
//! sealed data is `nonce (24 random bytes) || ciphertext || tag (16 bytes)`, and
//! the associated data binds the job's id, name, queue and codec (and the cipher
//! and key id), so a ciphertext moved into another job does not open.

use std::fmt;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Envelope;

/// The variable holding the current key (standard base64 of 32 bytes).
pub const ENCRYPTION_KEY_VAR: &str = "ROUTEMQ_ENCRYPTION_KEY";
/// The variable holding older keys, comma-separated base64, for rotation.
pub const PREVIOUS_KEYS_VAR: &str = "ROUTEMQ_PREVIOUS_KEYS";

/// Bytes in a key.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Prefix of the associated data; changes if its layout ever does.
const AAD_DOMAIN: &[u8] = b"routemq/enc/v1";

/// The AEAD cipher of an encrypted envelope (stored as `alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cipher {
    /// XChaCha20-Poly1305 with a random 24-byte nonce per job.
    #[serde(rename = "xchacha20poly1305")]
    XChaCha20Poly1305,
}

impl Cipher {
    /// The name as stored (`xchacha20poly1305`).
    pub fn as_str(self) -> &'static str {
        match self {
            Cipher::XChaCha20Poly1305 => "xchacha20poly1305",
        }
    }
}

/// Names a key without revealing it: the first 4 bytes of the key's SHA-256,
/// shown as 8 hex digits (`ab12cd34`). Stored in every encrypted envelope, so the
/// worker picks the right key at once during a rotation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 4]);

impl KeyId {
    fn of(key: &[u8; KEY_LEN]) -> Self {
        let digest = Sha256::digest(key);
        KeyId([digest[0], digest[1], digest[2], digest[3]])
    }

    /// The id's four bytes.
    pub fn as_bytes(&self) -> [u8; 4] {
        self.0
    }

    /// Parses 8 hex digits.
    pub fn parse(text: &str) -> Option<KeyId> {
        if text.len() != 8 || !text.is_ascii() {
            return None;
        }
        let mut out = [0u8; 4];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(KeyId(out))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        KeyId::parse(&text).ok_or_else(|| serde::de::Error::custom("a key id is 8 hex digits"))
    }
}

/// The marker of an encrypted envelope: which cipher, which key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Encryption {
    /// The cipher (`alg`).
    #[serde(rename = "alg")]
    pub cipher: Cipher,
    /// The key that sealed the data (`kid`).
    #[serde(rename = "kid")]
    pub key_id: KeyId,
}

/// One 32-byte key. `Debug` shows only its [`KeyId`]; the bytes are wiped from
/// memory when the key is dropped.
#[derive(Clone)]
pub struct EncryptionKey {
    id: KeyId,
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("id", &self.id)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

impl EncryptionKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let bytes = Zeroizing::new(bytes);
        EncryptionKey {
            id: KeyId::of(&bytes),
            bytes,
        }
    }

    /// A new random key (for tests and key generation).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut *bytes);
        EncryptionKey {
            id: KeyId::of(&bytes),
            bytes,
        }
    }

    /// The key in standard base64, as `ROUTEMQ_ENCRYPTION_KEY` holds it. Handle
    /// the result as a secret.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(*self.bytes))
    }

    /// Parses standard base64 of exactly 32 bytes; `var` and `entry` (1-based, for
    /// a list) name the source in the error, which never shows the value.
    pub fn from_base64(
        var: &'static str,
        entry: Option<usize>,
        text: &str,
    ) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(KeyError::Empty { var, entry });
        }
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| KeyError::NotBase64 { var, entry })?,
        );
        let bytes: [u8; KEY_LEN] =
            decoded
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::WrongLength {
                    var,
                    entry,
                    len: decoded.len(),
                })?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&*self.bytes))
    }
}

/// ` entry N` for a list entry, nothing for a single variable.
fn entry_suffix(entry: &Option<usize>) -> String {
    entry.map(|i| format!(" entry {i}")).unwrap_or_default()
}

/// A configured key cannot be used. Names the variable (and the entry of a list);
/// never shows the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not standard base64.
    #[error("{var}{} is not valid base64 (value not shown); a key is 32 random bytes in standard base64, e.g. from `openssl rand -base64 32`", entry_suffix(entry))]
    NotBase64 {
        /// The variable.
        var: &'static str,
        /// The 1-based entry of a comma-separated list.
        entry: Option<usize>,
    },
    /// Decodes to the wrong number of bytes.
    #[error("{var}{} decodes to {len} bytes (value not shown); a key must be exactly 32 bytes, e.g. from `openssl rand -base64 32`", entry_suffix(entry))]
    WrongLength {
        /// The variable.
        var: &'static str,
        /// The 1-based entry of a comma-separated list.
        entry: Option<usize>,
        /// How many bytes it decodes to.
        len: usize,
    },
    /// An empty entry in a list (`a,,b`).
    #[error("{var}{} is empty; remove the extra comma", entry_suffix(entry))]
    Empty {
        /// The variable.
        var: &'static str,
        /// The 1-based entry of a comma-separated list.
        entry: Option<usize>,
    },
}

/// Job data could not be encrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptError {
    /// Encryption was asked for but no current key is configured.
    #[error("cannot encrypt job data: no key is configured; set ROUTEMQ_ENCRYPTION_KEY to 32 random bytes in base64 (e.g. from `openssl rand -base64 32`)")]
    NoKey,
    /// The cipher refused the data (larger than it can seal).
    #[error("cannot encrypt job data: the data ({len} bytes) is too large for the cipher")]
    TooLarge {
        /// The data's length.
        len: usize,
    },
}

fn ids(list: &[KeyId]) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    list.iter()
        .map(KeyId::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An encrypted job's data could not be decrypted. The worker fails such a job
/// with this message; it never runs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// No configured key has the envelope's key id.
    #[error("cannot decrypt job data: no key in ROUTEMQ_ENCRYPTION_KEY/ROUTEMQ_PREVIOUS_KEYS matches (key id {key_id}; configured: {})", ids(configured))]
    NoMatchingKey {
        /// The key the data was sealed with.
        key_id: KeyId,
        /// The ids of the configured keys.
        configured: Vec<KeyId>,
    },
    /// The key matched but the data did not authenticate.
    #[error("cannot decrypt job data with key {key_id}: authentication failed (the data, or the job id, name, queue or codec it is bound to, was altered)")]
    Tampered {
        /// The key tried.
        key_id: KeyId,
    },
    /// Shorter than a nonce and a tag.
    #[error("cannot decrypt job data: the sealed data is {len} bytes, shorter than a nonce and tag ({} bytes)", NONCE_LEN + TAG_LEN)]
    Truncated {
        /// The sealed data's length.
        len: usize,
    },
}

/// The keys for encrypted job data: the current key (encrypts; from
/// `ROUTEMQ_ENCRYPTION_KEY`) and older keys (only decrypt; from
/// `ROUTEMQ_PREVIOUS_KEYS`). `Debug` shows key ids only.
///
/// ```
/// use routemq_core::{EncryptionKey, Keyring};
/// let old = EncryptionKey::generate();
/// let new = EncryptionKey::generate();
/// let ring = Keyring::new(new.clone()).with_previous(old.clone());
/// assert_eq!(ring.current_key_id(), Some(new.id()));
/// assert!(!format!("{ring:?}").contains(new.to_base64().as_str()));
///
/// let env = |name: &str| match name {
///     "ROUTEMQ_ENCRYPTION_KEY" => Some("c2hvcnQ=".to_owned()),
///     _ => None,
/// };
/// let err = Keyring::from_lookup(env).unwrap_err().to_string();
/// assert!(err.contains("ROUTEMQ_ENCRYPTION_KEY decodes to 5 bytes"), "{err}");
/// ```
#[derive(Clone, Default)]
pub struct Keyring {
    current: Option<EncryptionKey>,
    previous: Vec<EncryptionKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current_key_id())
            .field(
                "previous",
                &self.previous.iter().map(|k| k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// The variables [`Keyring::from_lookup`] reads.
    pub const VARIABLES: &'static [&'static str] = &[ENCRYPTION_KEY_VAR, PREVIOUS_KEYS_VAR];

    /// No keys: encrypted jobs can be neither dispatched nor run.
    pub fn empty() -> Self {
        Self::default()
    }

    /// `current` encrypts (and decrypts).
    pub fn new(current: EncryptionKey) -> Self {
        Keyring {
            current: Some(current),
            previous: Vec::new(),
        }
    }

    /// Adds an older key that only decrypts.
    pub fn with_previous(mut self, key: EncryptionKey) -> Self {
        self.previous.push(key);
        self
    }

    /// Reads `ROUTEMQ_ENCRYPTION_KEY` and `ROUTEMQ_PREVIOUS_KEYS` through `lookup`
    /// (a variable's value, if set; empty counts as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, KeyError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let current = get(ENCRYPTION_KEY_VAR)
            .map(|v| EncryptionKey::from_base64(ENCRYPTION_KEY_VAR, None, &Zeroizing::new(v)))
            .transpose()?;
        let previous = match get(PREVIOUS_KEYS_VAR).map(Zeroizing::new) {
            None => Vec::new(),
            Some(list) => list
                .trim()
                .trim_end_matches(',')
                .split(',')
                .enumerate()
                .map(|(i, part)| EncryptionKey::from_base64(PREVIOUS_KEYS_VAR, Some(i + 1), part))
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(Keyring { current, previous })
    }

    /// Reads the keys from the process environment.
    pub fn from_env() -> Result<Self, KeyError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The id of the key that encrypts, if any.
    pub fn current_key_id(&self) -> Option<KeyId> {
        self.current.as_ref().map(|k| k.id)
    }

    /// The ids of the older keys, in order.
    pub fn previous_key_ids(&self) -> Vec<KeyId> {
        self.previous.iter().map(|k| k.id).collect()
    }

    /// Whether no key at all is configured.
    pub fn is_empty(&self) -> bool {
        self.current.is_none() && self.previous.is_empty()
    }

    fn all(&self) -> impl Iterator<Item = &EncryptionKey> {
        self.current.iter().chain(self.previous.iter())
    }

    /// Encrypts `envelope.data` in place with the current key and marks the
    /// envelope encrypted. An envelope already encrypted is left as it is.
    pub fn seal(&self, envelope: &mut Envelope) -> Result<(), EncryptError> {
        if envelope.encryption.is_some() {
            return Ok(());
        }
        let key = self.current.as_ref().ok_or(EncryptError::NoKey)?;
        let marker = Encryption {
            cipher: Cipher::XChaCha20Poly1305,
            key_id: key.id,
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(envelope, &marker);
        let sealed = key
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &envelope.data,
                    aad: &aad,
                },
            )
            .map_err(|_| EncryptError::TooLarge {
                len: envelope.data.len(),
            })?;
        let mut data = Vec::with_capacity(NONCE_LEN + sealed.len());
        data.extend_from_slice(&nonce);
        data.extend_from_slice(&sealed);
        envelope.data = data;
        envelope.encryption = Some(marker);
        Ok(())
    }

    /// The envelope with its data decrypted and the marker removed; an envelope
    /// that is not encrypted comes back unchanged.
    pub fn open(&self, envelope: &Envelope) -> Result<Envelope, DecryptError> {
        let Some(marker) = envelope.encryption else {
            return Ok(envelope.clone());
        };
        let key = self.all().find(|k| k.id == marker.key_id).ok_or_else(|| {
            DecryptError::NoMatchingKey {
                key_id: marker.key_id,
                configured: self.all().map(|k| k.id).collect(),
            }
        })?;
        if envelope.data.len() < NONCE_LEN + TAG_LEN {
            return Err(DecryptError::Truncated {
                len: envelope.data.len(),
            });
        }
        let (nonce, sealed) = envelope.data.split_at(NONCE_LEN);
        let aad = associated_data(envelope, &marker);
        let plain = key
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| DecryptError::Tampered { key_id: key.id })?;
        let mut open = envelope.clone();
        open.data = plain;
        open.encryption = None;
        Ok(open)
    }
}

/// What the ciphertext is bound to: domain, cipher, key id, job id, name, queue
/// and codec, each length-prefixed so no two envelopes share the bytes.
fn associated_data(envelope: &Envelope, marker: &Encryption) -> Vec<u8> {
    let id = envelope.id.to_string();
    let key_id = marker.key_id.to_string();
    let parts: [&[u8]; 6] = [
        marker.cipher.as_str().as_bytes(),
        key_id.as_bytes(),
        id.as_bytes(),
        envelope.name.as_bytes(),
        envelope.queue.as_str().as_bytes(),
        envelope.codec.as_str().as_bytes(),
    ];
    let mut aad = AAD_DOMAIN.to_vec();
    for part in parts {
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad
}

#[cfg(test)]
#[path = "encryption_tests.rs"]
mod tests;
