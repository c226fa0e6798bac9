//! Tidy checks over the repository's text (in the manner of rust-analyzer's
//! tidy tests): storage scripts carry a header saying their parameters and what
//! they guarantee, and every file or type a document names exists. They read
//! files only; no server is needed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The workspace root (this package lives in `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every file below `dir` (relative to the root), skipping build output and VCS data.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "target" || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn all_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    files(&root(), &mut out);
    out.sort();
    out
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", rel(path)))
}

/// The leading `--` comment lines of a SQL or Lua file, joined.
fn header(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn has_ext(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|e| e == ext)
}

/// Every statement file of the MySQL driver says its parameters and its guarantee
/// in a leading comment, like the Lua scripts do; every migration opens with a
/// comment saying what it creates.
#[test]
fn sql_files_have_headers() {
    let mut problems = Vec::new();
    let mut seen = 0;
    for path in all_files().iter().filter(|p| has_ext(p, "sql")) {
        seen += 1;
        let head = header(&read(path));
        let name = rel(path);
        if head.is_empty() {
            problems.push(format!("{name}: no header comment"));
            continue;
        }
        if name.starts_with("migrations/") {
            continue;
        }
        for word in ["Params", "Guarantee"] {
            if !head.contains(word) {
                problems.push(format!("{name}: the header does not say `{word}`"));
            }
        }
    }
    assert!(
        seen > 20,
        "found only {seen} .sql files: is the root right?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every Lua script names its keys and arguments and what it guarantees.
#[test]
fn lua_files_have_headers() {
    let mut problems = Vec::new();
    let mut seen = 0;
    for path in all_files().iter().filter(|p| has_ext(p, "lua")) {
        seen += 1;
        let head = header(&read(path));
        let name = rel(path);
        if !head.contains("Guarantee") {
            problems.push(format!("{name}: the header does not say `Guarantee`"));
        }
        if !name.ends_with("lib.lua") && !head.contains("KEYS") {
            problems.push(format!("{name}: the header does not name its KEYS"));
        }
    }
    assert!(seen > 10, "found only {seen} .lua files");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The spans between backticks in `text`.
fn code_spans(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(code), Some(_)) = (parts.next(), parts.next()) {
            out.push(code);
        }
    }
    out
}

/// A span that names a file or folder of the repository.
fn looks_like_path(span: &str) -> bool {
    let exts = [
        ".rs", ".lua", ".sql", ".md", ".toml", ".yml", ".yaml", ".sh", ".lock",
    ];
    let path_chars = span
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-*".contains(c));
    path_chars
        && !span.contains("://")
        && (exts.iter().any(|e| span.ends_with(e))
            || (span.contains('/')
                && (span.starts_with("crates/")
                    || span.starts_with("src/")
                    || span.starts_with("tests/")
                    || span.starts_with("migrations")
                    || span.starts_with("xtask")
                    || span.starts_with("../")
                    || span.starts_with(".ci"))))
}

/// Whether `span`, named in `doc`, is a file or folder of the repository: from
/// the root, from the document's folder, or (a path relative to some crate) as
/// the tail of a repository path. A path that leaves the repository is stale.
fn path_exists(span: &str, doc: &Path, every: &[String]) -> bool {
    let span = span.trim_start_matches('/');
    let doc_dir = doc.parent().unwrap_or(Path::new(""));
    let resolved = doc_dir.join(span);
    if let Ok(canon) = resolved.canonicalize() {
        return canon.starts_with(root().canonicalize().unwrap());
    }
    if span.contains('*') {
        let dir = span.rsplit_once('/').map_or("", |(d, _)| d);
        return dir.is_empty()
            || root().join(dir).is_dir()
            || every.iter().any(|f| f.contains(&format!("{dir}/")));
    }
    let span = span.trim_end_matches('/');
    root().join(span).exists()
        || every.iter().any(|f| {
            f == span || f.ends_with(&format!("/{span}")) || f.contains(&format!("/{span}/"))
        })
}

/// Names from the Rust sources (outside comments): what a document may name.
fn rust_words() -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let this_file = Path::new(file!()).file_name().expect("a file name");
    for path in all_files().iter().filter(|p| has_ext(p, "rs")) {
        if path.file_name() == Some(this_file) {
            continue; // its own made-up names must not count
        }
        for line in read(path).lines() {
            let code = line.split("//").next().unwrap_or("");
            for w in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if w.starts_with(|c: char| c.is_ascii_uppercase()) {
                    words.insert(w.to_owned());
                }
            }
        }
    }
    words
}

/// A span that names a Rust type, trait or variant: `RedisDriver`,
/// `Driver::claim`, `JobError::fatal(..)`.
fn type_in(span: &str) -> Option<&str> {
    let head = span.split("::").next()?;
    let head = head.split(['<', '(', ' ']).next()?;
    let camel = head.len() > 2
        && head.starts_with(|c: char| c.is_ascii_uppercase())
        && head.chars().any(|c| c.is_ascii_lowercase())
        && head.chars().all(|c| c.is_ascii_alphanumeric());
    camel.then_some(head)
}

/// Every file, folder and type that the documentation names exists: in the
/// Markdown documents, in backticks; in the Rust sources' module docs (`//!`),
/// file names in backticks.
#[test]
fn every_doc_reference_names_something_that_exists() {
    let all = all_files();
    let every: Vec<String> = all.iter().map(|p| rel(p)).collect();
    let words = rust_words();
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in &all {
        let text = read_if_text(path);
        let is_md = has_ext(path, "md");
        let doc_text = if is_md {
            text
        } else if has_ext(path, "rs") {
            text.lines()
                .filter(|l| l.trim_start().starts_with("//!"))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            continue;
        };
        for span in code_spans(&doc_text) {
            if looks_like_path(span) {
                checked += 1;
                if !path_exists(span, path, &every) {
                    problems.push(format!("{}: `{span}` is not in the repository", rel(path)));
                }
            } else if is_md {
                if let Some(ty) = type_in(span) {
                    checked += 1;
                    if !words.contains(ty) {
                        problems.push(format!("{}: `{span}` names no Rust item", rel(path)));
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} references checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn read_if_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The reference check can fail: a made-up file and a made-up type are caught.
#[test]
fn the_reference_check_catches_made_up_names() {
    let every: Vec<String> = all_files().iter().map(|p| rel(p)).collect();
    let doc = root().join("README.md");
    assert!(path_exists(
        "crates/routemq-redis/src/lua/claim.lua",
        &doc,
        &every
    ));
    assert!(path_exists("src/lua/claim.lua", &doc, &every));
    assert!(!path_exists(
        "crates/routemq-redis/src/lua/nope.lua",
        &doc,
        &every
    ));
    assert!(!path_exists("../shared/DESIGN.md", &doc, &every));
    let words = rust_words();
    assert!(words.contains(type_in("MysqlDriver").unwrap()));
    assert!(!words.contains(type_in("MySqlDriver").unwrap()));
}
