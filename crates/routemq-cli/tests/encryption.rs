//! Encrypted job data from the command line: `push --encrypt`, bad keys, the
//! worker with and without the key, `failed show` and `config`. The round trip
//! runs on a real Redis and MySQL/MariaDB (from the testkit).

mod support;

use std::time::Duration;

use routemq_core::EncryptionKey;
use support::{clean_cmd, queue, Backend};

const SECRET: &str = "s3cret-card-4111";

fn output(cmd: &mut assert_cmd::Command) -> (Option<i32>, String, String) {
    let out = cmd.timeout(Duration::from_secs(60)).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_key_that_is_not_32_bytes_of_base64_stops_every_verb_without_echoing_it() {
    let short = "c2l4dGVlbiBieXRlIGtleQ=="; // "sixteen byte key"
    let long = EncryptionKey::generate();
    let cases = [
        (
            "ROUTEMQ_ENCRYPTION_KEY",
            short.to_owned(),
            "ROUTEMQ_ENCRYPTION_KEY decodes to 16 bytes",
        ),
        (
            "ROUTEMQ_ENCRYPTION_KEY",
            "%%not-base64%%".to_owned(),
            "ROUTEMQ_ENCRYPTION_KEY is not valid base64",
        ),
        (
            "ROUTEMQ_PREVIOUS_KEYS",
            format!("{},{short}", long.to_base64().as_str()),
            "ROUTEMQ_PREVIOUS_KEYS entry 2 decodes to 16 bytes",
        ),
    ];
    for (var, value, expected) in cases {
        for verb in [&["config"][..], &["push", "--job", "routemq.noop"][..]] {
            let (code, stdout, stderr) = output(
                clean_cmd()
                    .env("QUEUE_CONNECTION", "memory")
                    .env(var, &value)
                    .args(verb),
            );
            assert_eq!(code, Some(2), "{verb:?} {var}: {stderr}");
            assert!(stderr.contains(expected), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            for part in value.split(',') {
                assert!(!stderr.contains(part), "the key was echoed: {stderr}");
                assert!(!stdout.contains(part), "the key was echoed: {stdout}");
            }
        }
    }
}

#[test]
fn push_encrypt_without_a_key_names_the_variable() {
    let (code, stdout, stderr) = output(clean_cmd().env("QUEUE_CONNECTION", "memory").args([
        "push",
        "--job",
        "routemq.noop",
        "--encrypt",
    ]));
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("--encrypt needs a key"), "{stderr}");
    assert!(stderr.contains("ROUTEMQ_ENCRYPTION_KEY"), "{stderr}");

    let (code, _, stderr) = output(
        clean_cmd()
            .env("QUEUE_CONNECTION", "memory")
            .env("ROUTEMQ_ENCRYPT_ALL", "true")
            .args(["push", "--job", "routemq.noop"]),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("ROUTEMQ_ENCRYPT_ALL=true needs a key"),
        "{stderr}"
    );
}

#[test]
fn config_shows_key_ids_never_keys() {
    let (current, old) = (EncryptionKey::generate(), EncryptionKey::generate());
    let cmd = || {
        let mut cmd = clean_cmd();
        cmd.env("QUEUE_CONNECTION", "memory")
            .env("ROUTEMQ_ENCRYPTION_KEY", current.to_base64().as_str())
            .env("ROUTEMQ_PREVIOUS_KEYS", old.to_base64().as_str())
            .env("ROUTEMQ_ENCRYPT_ALL", "yes");
        cmd
    };
    let (code, stdout, stderr) = output(cmd().args(["config", "--json"]));
    assert_eq!(code, Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        json["encryption"]["key_id"],
        current.id().to_string(),
        "{json}"
    );
    assert_eq!(
        json["encryption"]["previous_key_ids"][0],
        old.id().to_string(),
        "{json}"
    );
    assert_eq!(json["encryption"]["encrypt_all"], true, "{json}");
    assert_eq!(json["variables"]["ROUTEMQ_ENCRYPTION_KEY"], "***", "{json}");
    let (_, text, _) = output(cmd().args(["config"]));
    assert!(text.contains(&format!("key {}", current.id())), "{text}");
    for out in [&stdout, &text] {
        assert!(!out.contains(current.to_base64().as_str()), "{out}");
        assert!(!out.contains(old.to_base64().as_str()), "{out}");
    }
}

/// Pushed encrypted; a worker without the key fails it with the reason; `failed
/// show` describes the data instead of printing ciphertext; retried, a worker
/// with the key runs it.
fn encrypted_round_trip(b: &Backend) {
    let key = EncryptionKey::generate();
    let kid = key.id().to_string();
    let q = queue("enc");
    let data = format!(r#"{{"card": "{SECRET}"}}"#);
    let with_key = |args: &[&str]| {
        let mut cmd = b.cmd(args);
        cmd.env("ROUTEMQ_ENCRYPTION_KEY", key.to_base64().as_str());
        support::json_of(
            &cmd.timeout(Duration::from_secs(60)).output().unwrap(),
            args,
        )
    };
    let pushed = with_key(&[
        "push",
        "--queue",
        &q,
        "--job",
        "routemq.noop",
        "--data",
        &data,
        "--encrypt",
        "--tries",
        "1",
        "--json",
    ]);
    assert_eq!(pushed["encrypted_with"], kid.as_str(), "{pushed}");
    let id = pushed["id"].as_str().unwrap().to_owned();

    let work = [
        "work",
        "--queue",
        &q,
        "--stop-when-empty",
        "--sleep",
        "0.2",
        "--json",
    ];
    let report = b.ok(&work);
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(report["processed"], 0, "{report}");

    let shown = b.ok(&["failed", "show", &id, "--json"]);
    assert_eq!(shown["encrypted"], true, "{shown}");
    let described = shown["data"].as_str().unwrap();
    assert!(
        described.starts_with(&format!("<encrypted with key {kid}, ")),
        "{shown}"
    );
    let reason = shown["exception"].as_str().unwrap();
    assert!(reason.contains("cannot decrypt job data"), "{reason}");
    assert!(reason.contains(&kid), "{reason}");
    assert!(!shown.to_string().contains(SECRET), "{shown}");
    let (code, text, _) = output(&mut b.cmd(&["failed", "show", &id]));
    assert_eq!(code, Some(0));
    assert!(text.contains("<encrypted with key"), "{text}");
    assert!(!text.contains(SECRET), "{text}");

    let retried = b.ok(&["failed", "retry", &id, "--json"]);
    assert_eq!(retried["retried"][0], id.as_str(), "{retried}");
    let report = with_key(&work);
    assert_eq!(report["processed"], 1, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
}

#[test]
fn redis_encrypted_round_trip() {
    encrypted_round_trip(&Backend::redis());
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_encrypted_round_trip() {
    encrypted_round_trip(&Backend::mysql());
}
