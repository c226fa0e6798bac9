use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::{Backoff, Codec, JobId, QueueName, TraceContext};

const SECRET: &str = "s3cret-card-4111";

fn plain(codec: Codec) -> Envelope {
    let data = codec
        .encode("card", &serde_json::json!({ "card": SECRET, "n": 7 }))
        .unwrap();
    Envelope {
        id: JobId::generate(),
        name: "payments.charge".into(),
        queue: QueueName::new("payments").unwrap(),
        codec,
        data,
        encryption: None,
        max_tries: 4,
        timeout: Duration::from_secs(9),
        backoff: Backoff::list([Duration::from_secs(2)]),
        created_at_ms: 1_700_000_000_000,
        trace: TraceContext::new(),
        keep_result: None,
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |k| map.get(k).cloned()
}

/// Seals, encodes, decodes and opens: the bytes stored hold no plaintext and
/// everything readable stays readable.
#[test]
fn round_trip_through_both_codecs_hides_the_data() {
    let ring = Keyring::new(EncryptionKey::generate());
    for codec in [Codec::Json, Codec::MsgPack] {
        let original = plain(codec);
        let mut env = original.clone();
        ring.seal(&mut env).unwrap();
        let marker = env.encryption.expect("marked encrypted");
        assert_eq!(marker.cipher, Cipher::XChaCha20Poly1305);
        assert_eq!(Some(marker.key_id), ring.current_key_id());
        let stored = env.encode().unwrap();
        assert!(
            !stored.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "{codec:?}: plaintext in {:?}",
            String::from_utf8_lossy(&stored)
        );
        let back = Envelope::decode(&stored).unwrap();
        assert_eq!(back, env, "{codec:?}");
        assert_eq!(back.name, "payments.charge");
        assert_eq!(back.queue.as_str(), "payments");
        assert_eq!(back.max_tries, 4);
        let opened = ring.open(&back).unwrap();
        assert_eq!(opened, original, "{codec:?}");
    }
}

#[test]
fn json_marker_and_data_are_as_documented() {
    let ring = Keyring::new(EncryptionKey::generate());
    let mut env = plain(Codec::Json);
    ring.seal(&mut env).unwrap();
    let text = String::from_utf8(env.encode().unwrap()).unwrap();
    let kid = ring.current_key_id().unwrap().to_string();
    assert!(
        text.contains(&format!(
            r#""enc":{{"alg":"xchacha20poly1305","kid":"{kid}"}}"#
        )),
        "{text}"
    );
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(value["data"].is_string(), "{text}");
    assert_eq!(value["name"], "payments.charge");
}

#[test]
fn each_seal_uses_a_fresh_nonce() {
    let ring = Keyring::new(EncryptionKey::generate());
    let (mut a, mut b) = (plain(Codec::Json), plain(Codec::Json));
    b.id = a.id.clone();
    ring.seal(&mut a).unwrap();
    ring.seal(&mut b).unwrap();
    assert_ne!(a.data, b.data);
}

#[test]
fn plain_envelopes_open_unchanged_and_decode_as_before() {
    let env = plain(Codec::Json);
    let old_bytes = env.encode().unwrap();
    assert!(!String::from_utf8_lossy(&old_bytes).contains("\"enc\""));
    let back = Envelope::decode(&old_bytes).unwrap();
    assert_eq!(back.encryption, None);
    assert_eq!(Keyring::empty().open(&back).unwrap(), env);
}

#[test]
fn a_wrong_key_or_no_key_is_named_with_the_key_id() {
    let mut env = plain(Codec::Json);
    let ring = Keyring::new(EncryptionKey::generate());
    ring.seal(&mut env).unwrap();
    let kid = ring.current_key_id().unwrap();

    let other = Keyring::new(EncryptionKey::generate());
    let err = other.open(&env).unwrap_err();
    assert!(
        matches!(err, DecryptError::NoMatchingKey { key_id, .. } if key_id == kid),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("cannot decrypt job data"), "{text}");
    assert!(text.contains(&kid.to_string()), "{text}");
    assert!(text.contains("ROUTEMQ_ENCRYPTION_KEY"), "{text}");

    let err = Keyring::empty().open(&env).unwrap_err().to_string();
    assert!(
        err.contains(&kid.to_string()) && err.contains("none"),
        "{err}"
    );
}

#[test]
fn tampered_ciphertext_does_not_open() {
    let ring = Keyring::new(EncryptionKey::generate());
    let mut env = plain(Codec::MsgPack);
    ring.seal(&mut env).unwrap();
    for at in [0, 30, env.data.len() - 1] {
        let mut bad = env.clone();
        bad.data[at] ^= 0x01;
        let err = ring.open(&bad).unwrap_err();
        assert!(
            matches!(err, DecryptError::Tampered { .. }),
            "byte {at}: {err:?}"
        );
    }
    let mut short = env.clone();
    short.data.truncate(10);
    assert!(matches!(
        ring.open(&short),
        Err(DecryptError::Truncated { len: 10 })
    ));
}

/// The ciphertext is bound to its job: moved into another job (id), renamed,
/// moved to another queue or reinterpreted with another codec, it does not open.
#[test]
fn associated_data_binds_id_name_queue_and_codec() {
    let ring = Keyring::new(EncryptionKey::generate());
    let mut env = plain(Codec::Json);
    ring.seal(&mut env).unwrap();
    let mut swapped = plain(Codec::Json);
    ring.seal(&mut swapped).unwrap();
    swapped.data = env.data.clone();
    assert!(matches!(
        ring.open(&swapped),
        Err(DecryptError::Tampered { .. })
    ));

    type Tweak = fn(&mut Envelope);
    let tweaks: [(&str, Tweak); 3] = [
        ("name", |e| e.name = "payments.refund".into()),
        ("queue", |e| e.queue = QueueName::new("other").unwrap()),
        ("codec", |e| e.codec = Codec::MsgPack),
    ];
    for (what, tweak) in tweaks {
        let mut bad = env.clone();
        tweak(&mut bad);
        let err = ring.open(&bad).unwrap_err();
        assert!(
            matches!(err, DecryptError::Tampered { .. }),
            "{what}: {err:?}"
        );
    }
    assert!(
        ring.open(&env).is_ok(),
        "the untouched envelope still opens"
    );
}

#[test]
fn rotation_old_keys_decrypt_the_new_key_encrypts() {
    let (old, new) = ([1u8; 32], [2u8; 32]);
    let before = Keyring::from_lookup(lookup(&[(ENCRYPTION_KEY_VAR, b64(&old))])).unwrap();
    let mut sealed_before = plain(Codec::Json);
    before.seal(&mut sealed_before).unwrap();

    let after = Keyring::from_lookup(lookup(&[
        (ENCRYPTION_KEY_VAR, b64(&new)),
        (
            PREVIOUS_KEYS_VAR,
            format!("{}, {}", b64(&[3u8; 32]), b64(&old)),
        ),
    ]))
    .unwrap();
    assert_eq!(after.previous_key_ids().len(), 2);
    assert_eq!(
        after.open(&sealed_before).unwrap().data,
        plain(Codec::Json).data
    );

    let mut sealed_after = plain(Codec::Json);
    after.seal(&mut sealed_after).unwrap();
    let marker = sealed_after.encryption.unwrap();
    assert_eq!(marker.key_id, EncryptionKey::from_bytes(new).id());
    assert_ne!(marker.key_id, EncryptionKey::from_bytes(old).id());
    assert!(
        before.open(&sealed_after).is_err(),
        "the old ring cannot read the new key's jobs"
    );
}

#[test]
fn key_ids_are_stable_hex_of_sha256() {
    // SHA-256 of 32 zero bytes starts 66687aad.
    let id = EncryptionKey::from_bytes([0u8; 32]).id();
    assert_eq!(id.to_string(), "66687aad");
    assert_eq!(KeyId::parse("66687aad"), Some(id));
    assert_eq!(KeyId::parse("66687aa"), None);
    assert_eq!(KeyId::parse("zz687aad"), None);
}

#[test]
fn bad_keys_name_the_variable_and_never_show_the_value() {
    let short = b64(b"sixteen byte key");
    let cases = [
        (
            vec![(ENCRYPTION_KEY_VAR, short.clone())],
            "ROUTEMQ_ENCRYPTION_KEY decodes to 16 bytes",
            short.clone(),
        ),
        (
            vec![(ENCRYPTION_KEY_VAR, "not*base64!".to_owned())],
            "ROUTEMQ_ENCRYPTION_KEY is not valid base64",
            "not*base64!".to_owned(),
        ),
        (
            vec![(PREVIOUS_KEYS_VAR, format!("{},{short}", b64(&[1; 32])))],
            "ROUTEMQ_PREVIOUS_KEYS entry 2 decodes to 16 bytes",
            short.clone(),
        ),
        (
            vec![(
                PREVIOUS_KEYS_VAR,
                format!("{},,{}", b64(&[1; 32]), b64(&[2; 32])),
            )],
            "ROUTEMQ_PREVIOUS_KEYS entry 2 is empty",
            b64(&[1; 32]),
        ),
    ];
    for (vars, expected, value) in cases {
        let err = Keyring::from_lookup(lookup(&vars)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(expected), "{text}");
        assert!(!text.contains(&value), "the value leaked: {text}");
        assert!(!format!("{err:?}").contains(&value), "{err:?}");
    }
    assert!(
        Keyring::from_lookup(lookup(&[(ENCRYPTION_KEY_VAR, "  ".into())]))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn debug_shows_key_ids_only() {
    let key = EncryptionKey::from_bytes([7u8; 32]);
    let ring = Keyring::new(key.clone()).with_previous(EncryptionKey::from_bytes([8u8; 32]));
    let encoded = key.to_base64();
    for text in [format!("{ring:?}"), format!("{key:?}")] {
        assert!(!text.contains(encoded.as_str()), "{text}");
        assert!(!text.contains("7, 7"), "{text}");
        assert!(text.contains(&key.id().to_string()), "{text}");
    }
}

#[test]
fn sealing_without_a_current_key_is_refused() {
    let ring = Keyring::empty().with_previous(EncryptionKey::generate());
    let mut env = plain(Codec::Json);
    assert_eq!(ring.seal(&mut env), Err(EncryptError::NoKey));
    assert!(EncryptError::NoKey
        .to_string()
        .contains("ROUTEMQ_ENCRYPTION_KEY"));
    assert_eq!(env, plain_with_id(&env), "nothing changed");
}

fn plain_with_id(env: &Envelope) -> Envelope {
    let mut p = plain(env.codec);
    p.id = env.id.clone();
    p
}

#[test]
fn corrupt_encrypted_json_data_is_a_decode_error() {
    let ring = Keyring::new(EncryptionKey::generate());
    let mut env = plain(Codec::Json);
    ring.seal(&mut env).unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&env.encode().unwrap()).unwrap();
    for bad in [
        serde_json::json!({ "card": SECRET }),
        serde_json::json!("***"),
    ] {
        value["data"] = bad;
        let err = Envelope::decode(value.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("encrypted job data"), "{err}");
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Charge {
    card: String,
}

impl crate::Job for Charge {
    const NAME: &'static str = "payments.charge";
    fn options() -> crate::JobOptions {
        crate::JobOptions::new().queue("payments").encrypted()
    }
    async fn handle(&self, _: &crate::JobContext) -> Result<(), crate::JobError> {
        Ok(())
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Plain {
    card: String,
}

impl crate::Job for Plain {
    const NAME: &'static str = "plain";
    async fn handle(&self, _: &crate::JobContext) -> Result<(), crate::JobError> {
        Ok(())
    }
}

fn has_secret(bytes: &[u8]) -> bool {
    bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes())
}

#[test]
fn the_queue_seals_jobs_that_ask_and_all_jobs_when_told() {
    let ring = Keyring::new(EncryptionKey::generate());
    let queue = crate::Queue::new(crate::MemoryDriver::new()).with_keyring(ring.clone());
    let none = crate::JobOptions::new();
    let charge = Charge {
        card: SECRET.into(),
    };
    let pending = queue.pending(&charge, &none, None).unwrap();
    assert!(!has_secret(&pending.payload));
    let env = Envelope::decode(&pending.payload).unwrap();
    assert_eq!(env.queue.as_str(), "payments");
    assert!(ring.open(&env).is_ok());

    // A dispatch cannot switch encryption off for a type that asks for it.
    let off = crate::JobOptions {
        encrypted: Some(false),
        ..crate::JobOptions::new()
    };
    let pending = queue.pending(&charge, &off, None).unwrap();
    assert!(!has_secret(&pending.payload));

    let plain_job = Plain {
        card: SECRET.into(),
    };
    assert!(has_secret(
        &queue.pending(&plain_job, &none, None).unwrap().payload
    ));
    let all = queue.clone().encrypt_all(true);
    assert!(!has_secret(
        &all.pending(&plain_job, &none, None).unwrap().payload
    ));
    let one = crate::JobOptions::new().encrypted();
    assert!(!has_secret(
        &queue.pending(&plain_job, &one, None).unwrap().payload
    ));
}

#[test]
fn the_queue_refuses_to_dispatch_in_the_clear_without_a_key() {
    let queue = crate::Queue::new(crate::MemoryDriver::new());
    let err = queue
        .pending(
            &Charge {
                card: SECRET.into(),
            },
            &crate::JobOptions::new(),
            None,
        )
        .unwrap_err();
    assert!(
        matches!(err, crate::DriverError::Encrypt(EncryptError::NoKey)),
        "{err:?}"
    );
}
