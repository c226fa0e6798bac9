//! Tidy: every environment variable any crate of the workspace reads is in the
//! "Environment variables" table of the top-level README.md.
//!
//! Variables are found in two ways: by scanning the Rust sources of the workspace
//! (`env::var("X")`, `env::var_os("X")`, lookups such as `get("X_Y")` in
//! `from_lookup`, clap `env = "X"`, `*_VAR: &str = "X"` constants, any
//! `"ROUTEMQ_…"` literal, tracing's `from_default_env` for `RUST_LOG`), and from
//! the lists the configuration code publishes (`RedisConfig::VARIABLES`,
//! `MysqlConfig::VARIABLES`, `routemq_cli::variables()`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/routemq-cli is two levels below the workspace root")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_var_name(name: &str, need_underscore: bool) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && (!need_underscore || name.contains('_'))
}

/// The string literal starting right after `at` (just past the opening quote).
fn literal_at(text: &str, at: usize) -> &str {
    let rest = &text[at..];
    &rest[..rest.find('"').unwrap_or(0)]
}

/// Variable names read in `text`.
fn names_read(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    // (pattern, needs a '_' in the name: for generic call names such as `get`).
    let patterns: &[(&str, bool)] = &[
        ("env::var(\"", false),
        ("env::var_os(\"", false),
        ("env = \"", false),
        ("_VAR: &str = \"", false),
        ("var(\"", true),
        ("var_os(\"", true),
        ("get(\"", true),
        ("lookup(\"", true),
        ("unset(\"", true),
        ("\"ROUTEMQ_", true),
    ];
    for (pattern, need_underscore) in patterns {
        for (at, _) in text.match_indices(pattern) {
            let start = if pattern.starts_with("\"ROUTEMQ_") {
                at + 1
            } else {
                at + pattern.len()
            };
            let name = literal_at(text, start);
            if is_var_name(name, *need_underscore) {
                found.insert(name.to_owned());
            }
        }
    }
    if text.contains("from_default_env") {
        found.insert("RUST_LOG".to_owned());
    }
    found
}

/// The names in the first column of the README's "Environment variables" table.
fn readme_table(readme: &str) -> BTreeSet<String> {
    let section = readme
        .split("\n## Environment variables")
        .nth(1)
        .expect("README.md has a \"## Environment variables\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

/// Every variable read in the workspace's sources or published by the
/// configuration code, with a file that reads it.
fn variables_read() -> Vec<(String, String)> {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["crates", "tests", "xtask"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    let this_file = Path::new(file!()).file_name().unwrap().to_owned();
    let mut seen = BTreeSet::new();
    let mut read = Vec::new();
    for file in &files {
        // This test's own patterns are not variables.
        if file.file_name() == Some(this_file.as_os_str()) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for name in names_read(&text) {
            if seen.insert(name.clone()) {
                let shown = file.strip_prefix(&root).unwrap_or(file);
                read.push((name, shown.display().to_string()));
            }
        }
    }
    let published = routemq_cli::variables();
    for name in published {
        if seen.insert(name.to_owned()) {
            read.push((name.to_owned(), "routemq_cli::variables()".to_owned()));
        }
    }
    read
}

#[test]
fn every_variable_read_is_in_the_readme_table() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table = readme_table(&readme);
    let read = variables_read();
    assert!(
        read.len() > 20,
        "the scan found too few variables ({}); is it broken? {read:?}",
        read.len()
    );
    let missing: Vec<String> = read
        .iter()
        .filter(|(name, _)| !table.contains(name))
        .map(|(name, file)| format!("{name} (read in {file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "environment variables missing from the table in README.md (## Environment variables): {}",
        missing.join(", ")
    );
}

#[test]
fn the_scanner_finds_each_form_of_read() {
    let text = r#"
        std::env::var("PLAIN");
        std::env::var_os("OS_FORM");
        let port = get("DB_PORT");
        let host = var("REDIS_HOST");
        #[arg(long, env = "CLAP_FORM")]
        pub const X_VAR: &str = "CONST_FORM";
        let e = "ROUTEMQ_TEST_THING";
        map.get("lowercase");
        get("NOUNDERSCORE");
        tracing_subscriber::EnvFilter::try_from_default_env();
    "#;
    let names: Vec<String> = names_read(text).into_iter().collect();
    assert_eq!(
        names,
        [
            "CLAP_FORM",
            "CONST_FORM",
            "DB_PORT",
            "OS_FORM",
            "PLAIN",
            "REDIS_HOST",
            "ROUTEMQ_TEST_THING",
            "RUST_LOG"
        ]
    );
    let table = readme_table("x\n## Environment variables\n\n| Variable |\n|---|\n| `A_B` | x |\n\n## Next\n| `NOT_IT` |");
    assert_eq!(table.into_iter().collect::<Vec<_>>(), ["A_B"]);
}
