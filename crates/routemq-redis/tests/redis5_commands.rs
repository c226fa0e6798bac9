//! Redis 5.0 compatibility: every command the scripts and the Rust sources send
//! must exist in Redis 5.0.

use std::collections::BTreeSet;
use std::path::Path;

/// Commands of Redis 5.0 the driver may use (a subset is enough; anything newer —
/// LMOVE, BLMOVE, GETDEL, LPOS, ZRANGESTORE, XAUTOCLAIM, COPY, … — is missing).
const REDIS_5_ALLOWED: &[&str] = &[
    "BLPOP",
    "DEL",
    "EVAL",
    "EVALSHA",
    "EXISTS",
    "EXPIRE",
    "GET",
    "HDEL",
    "HEXISTS",
    "HGET",
    "HGETALL",
    "HINCRBY",
    "HLEN",
    "HMGET",
    "HMSET",
    "HSET",
    "INFO",
    "LINDEX",
    "LLEN",
    "LPOP",
    "LPUSH",
    "LRANGE",
    "LREM",
    "LTRIM",
    "PERSIST",
    "PEXPIRE",
    "PING",
    "PTTL",
    "RPOP",
    "RPUSH",
    "SADD",
    "SCARD",
    "SCRIPT",
    "SET",
    "SISMEMBER",
    "SMEMBERS",
    "SREM",
    "SSCAN",
    "TIME",
    "UNLINK",
    "ZADD",
    "ZCARD",
    "ZRANGE",
    "ZRANGEBYSCORE",
    "ZREM",
    "ZREMRANGEBYSCORE",
    "ZREVRANGE",
    "ZSCAN",
    "ZSCORE",
];

/// Commands added after 5.0 (a safety net if the allowlist above grows carelessly).
const NEWER: &[&str] = &[
    "LMOVE",
    "BLMOVE",
    "GETDEL",
    "GETEX",
    "LPOS",
    "ZRANGESTORE",
    "XAUTOCLAIM",
    "COPY",
    "SMISMEMBER",
    "ZMSCORE",
    "ZUNION",
    "ZINTER",
    "ZDIFF",
    "ZRANDMEMBER",
    "HRANDFIELD",
    "LMPOP",
    "BLMPOP",
    "ZMPOP",
    "BZMPOP",
    "SINTERCARD",
    "EXPIRETIME",
    "FUNCTION",
    "FCALL",
];

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every quoted word in `text` that follows `marker` (e.g. `redis.call('`).
fn quoted_after(text: &str, marker: &str) -> Vec<String> {
    text.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = &text[i + marker.len()..];
            let end = rest.find(['\'', '"'])?;
            Some(rest[..end].to_ascii_uppercase())
        })
        .collect()
}

fn used_commands() -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for entry in std::fs::read_dir(src().join("lua")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for marker in [
            "redis.call('",
            "redis.call(\"",
            "redis.pcall('",
            "redis.pcall(\"",
        ] {
            used.extend(quoted_after(&text, marker));
        }
        // A command name passed to a helper: chunked('ZREM', …).
        for marker in ["chunked('", "chunked_pairs('"] {
            used.extend(quoted_after(&text, marker));
        }
    }
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for marker in ["cmd(\"", ".cmd(\""] {
                used.extend(quoted_after(&text, marker));
            }
        }
    }
    used
}

#[test]
fn every_command_exists_in_redis_5() {
    let used = used_commands();
    assert!(used.len() >= 20, "the scan found too little: {used:?}");
    for must in [
        "EVALSHA",
        "BLPOP",
        "ZRANGEBYSCORE",
        "LRANGE",
        "LTRIM",
        "ZREM",
        "ZREMRANGEBYSCORE",
        "ZREVRANGE",
    ] {
        assert!(
            used.contains(must),
            "{must} not found; the scan is broken: {used:?}"
        );
    }
    let outside: Vec<_> = used
        .iter()
        .filter(|c| !REDIS_5_ALLOWED.contains(&c.as_str()))
        .collect();
    assert!(
        outside.is_empty(),
        "commands outside the Redis 5.0 allowlist: {outside:?}"
    );
    for c in NEWER {
        assert!(!REDIS_5_ALLOWED.contains(c), "{c} is newer than Redis 5.0");
    }
}

#[test]
fn scripts_avoid_redis_6_syntax() {
    for entry in std::fs::read_dir(src().join("lua")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap().to_ascii_uppercase();
        for bad in [
            "'BYSCORE'",
            "\"BYSCORE\"",
            "'BYLEX'",
            "'REV'",
            "'GETDEL'",
            "'LMOVE'",
            "'LPOS'",
        ] {
            assert!(
                !text.contains(bad),
                "{} uses {bad}, which Redis 5.0 does not have",
                path.display()
            );
        }
        // LPOP/RPOP with a count are Redis 6.2.
        assert!(!text.contains("'LPOP', KEYS[1], "), "{}", path.display());
    }
}

#[test]
fn every_script_has_a_header_naming_keys_argv_and_guarantee() {
    for entry in std::fs::read_dir(src().join("lua")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            header.contains("Guarantee"),
            "{} lacks a guarantee",
            path.display()
        );
        if !path.ends_with("lib.lua") {
            assert!(header.contains("KEYS"), "{} lacks KEYS", path.display());
        }
    }
}
