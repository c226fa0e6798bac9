//! Applies the versioned SQL files of `migrations/` once each, recording them in
//! `routemq_migrations`.
//!
//! A small runner rather than refinery: refinery-core 0.10 needs Rust 1.92 (this
//! workspace supports 1.85) and takes no lock, while several workers starting at
//! once against a fresh database is the normal case here. This runner holds a
//! named server lock (`GET_LOCK`, named after a hash of the database name so it
//! stays within MySQL's 64-character limit) while it works, verifies the
//! checksum of every applied migration, and refuses a database migrated by a
//! newer release.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::error::map;
use crate::MigrationError;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version, from the file name's number; applied in increasing order.
    pub version: u32,
    /// The file name.
    pub name: &'static str,
    /// The SQL text: statements separated by `;` at the end of a line.
    pub sql: &'static str,
}

/// Every migration this build ships, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_create_queue_tables.sql",
        sql: include_str!("../../../migrations/0001_create_queue_tables.sql"),
    },
    Migration {
        version: 2,
        name: "0002_create_queue_workers.sql",
        sql: include_str!("../../../migrations/0002_create_queue_workers.sql"),
    },
    Migration {
        version: 3,
        name: "0003_create_queue_paused.sql",
        sql: include_str!("../../../migrations/0003_create_queue_paused.sql"),
    },
    Migration {
        version: 4,
        name: "0004_create_queue_schedules.sql",
        sql: include_str!("../../../migrations/0004_create_queue_schedules.sql"),
    },
    Migration {
        version: 5,
        name: "0005_create_queue_unique_locks.sql",
        sql: include_str!("../../../migrations/0005_create_queue_unique_locks.sql"),
    },
    Migration {
        version: 6,
        name: "0006_create_queue_rate_limits.sql",
        sql: include_str!("../../../migrations/0006_create_queue_rate_limits.sql"),
    },
    Migration {
        version: 7,
        name: "0007_create_queue_groups.sql",
        sql: include_str!("../../../migrations/0007_create_queue_groups.sql"),
    },
    Migration {
        version: 8,
        name: "0008_group_controls.sql",
        sql: include_str!("../../../migrations/0008_group_controls.sql"),
    },
    Migration {
        version: 9,
        name: "0009_create_queue_outbox.sql",
        sql: include_str!("../../../migrations/0009_create_queue_outbox.sql"),
    },
    Migration {
        version: 10,
        name: "0010_failed_retry_to_other_stores.sql",
        sql: include_str!("../../../migrations/0010_failed_retry_to_other_stores.sql"),
    },
    Migration {
        version: 11,
        name: "0011_failed_jobs_keep_the_group.sql",
        sql: include_str!("../../../migrations/0011_failed_jobs_keep_the_group.sql"),
    },
    Migration {
        version: 12,
        name: "0012_job_tracking.sql",
        sql: include_str!("../../../migrations/0012_job_tracking.sql"),
    },
    Migration {
        version: 13,
        name: "0013_workflows.sql",
        sql: include_str!("../../../migrations/0013_workflows.sql"),
    },
    Migration {
        version: 14,
        name: "0014_create_queue_history.sql",
        sql: include_str!("../../../migrations/0014_create_queue_history.sql"),
    },
    Migration {
        version: 15,
        name: "0015_claim_room.sql",
        sql: include_str!("../../../migrations/0015_claim_room.sql"),
    },
];

/// What [`migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call.
    pub applied: Vec<u32>,
    /// Versions that were applied already.
    pub already_applied: Vec<u32>,
}

const LOCK_WAIT: Duration = Duration::from_secs(60);

/// The migration lock's name: `routemq_migrate.` and 40 hex digits of the
/// database name's SHA-256 (56 characters, within the 64 both servers allow).
/// SHA2 because MySQL 9 no longer has SHA1() or MD5(); MariaDB has all three.
const LOCK_NAME: &str = "CONCAT('routemq_migrate.', LEFT(SHA2(DATABASE(), 256), 40))";

const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS routemq_migrations (
    version    INT UNSIGNED NOT NULL,
    name       VARCHAR(255) NOT NULL,
    checksum   CHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (version)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin";

const HISTORY_EXISTS: &str = "SELECT COUNT(*) FROM information_schema.tables
    WHERE table_schema = DATABASE() AND table_name = 'routemq_migrations'";

/// Applies every migration of [`MIGRATIONS`] not yet recorded, on the
/// connection's current database. Safe to run concurrently and repeatedly.
pub async fn migrate(conn: &mut Conn) -> Result<MigrationReport, MigrationError> {
    let lock: Option<i64> = conn
        .exec_first(
            format!("SELECT GET_LOCK({LOCK_NAME}, ?)"),
            (LOCK_WAIT.as_secs(),),
        )
        .await
        .map_err(map)?;
    if lock != Some(1) {
        return Err(MigrationError::LockTimeout);
    }
    let result = apply(conn).await;
    let released = conn
        .query_drop(format!("DO RELEASE_LOCK({LOCK_NAME})"))
        .await
        .map_err(map);
    let report = result?;
    released?;
    Ok(report)
}

async fn apply(conn: &mut Conn) -> Result<MigrationReport, MigrationError> {
    // Created only when missing: CREATE TABLE IF NOT EXISTS on an existing
    // table leaves a "table already exists" note (a warning) on every start.
    // The lock makes the check and the create one step.
    let history: Option<u64> = conn.query_first(HISTORY_EXISTS).await.map_err(map)?;
    if history == Some(0) {
        conn.query_drop(CREATE_HISTORY).await.map_err(map)?;
    }
    let recorded: Vec<(u32, String)> = conn
        .query("SELECT version, checksum FROM routemq_migrations ORDER BY version")
        .await
        .map_err(map)?;
    let mut report = MigrationReport::default();
    for (version, checksum) in &recorded {
        let Some(m) = MIGRATIONS.iter().find(|m| m.version == *version) else {
            return Err(MigrationError::Unknown { version: *version });
        };
        let shipped = checksum_hex(m.sql);
        if &shipped != checksum {
            return Err(MigrationError::Changed {
                version: m.version,
                name: m.name,
                recorded: checksum.clone(),
                shipped,
            });
        }
        report.already_applied.push(*version);
    }
    for m in MIGRATIONS {
        if report.already_applied.contains(&m.version) {
            continue;
        }
        for statement in statements(m.sql) {
            match conn.query_drop(&statement).await {
                Ok(()) => {}
                // Re-run after a crash between an ADD COLUMN and the record of
                // its migration: the column is there, which is what it wanted.
                Err(mysql_async::Error::Server(e))
                    if e.code == ER_DUP_FIELDNAME && adds_column(&statement) => {}
                // Likewise for an index added on its own: it is there.
                Err(mysql_async::Error::Server(e))
                    if e.code == ER_DUP_KEYNAME && adds_only_keys(&statement) => {}
                Err(e) => {
                    return Err(MigrationError::Statement {
                        version: m.version,
                        name: m.name,
                        source: map(e),
                    })
                }
            }
        }
        conn.exec_drop(
            "INSERT INTO routemq_migrations (version, name, checksum) VALUES (?, ?, ?)",
            (m.version, m.name, checksum_hex(m.sql)),
        )
        .await
        .map_err(map)?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        report.applied.push(m.version);
    }
    Ok(report)
}

/// MySQL's and MariaDB's "Duplicate column name" error.
const ER_DUP_FIELDNAME: u16 = 1060;

/// MySQL's and MariaDB's "Duplicate key name" error.
const ER_DUP_KEYNAME: u16 = 1061;

/// True for `ALTER TABLE … ADD COLUMN …`: one of the statements besides
/// `CREATE TABLE IF NOT EXISTS` a migration may hold (made idempotent by
/// [`ER_DUP_FIELDNAME`] above; MySQL has no `ADD COLUMN IF NOT EXISTS`); the
/// other is an ALTER that only adds indexes ([`adds_only_keys`]).
fn adds_column(statement: &str) -> bool {
    statement.starts_with("ALTER TABLE ") && statement.contains(" ADD COLUMN ")
}

/// True for `ALTER TABLE t ADD KEY|INDEX …[, ADD KEY|INDEX …]`: an ALTER that
/// only adds indexes, made idempotent by [`ER_DUP_KEYNAME`] (MySQL has no
/// `ADD INDEX IF NOT EXISTS`). An ALTER that also adds a column is not one: it
/// is atomic, so a "duplicate key name" there means its columns were not added
/// either.
fn adds_only_keys(statement: &str) -> bool {
    let Some(rest) = statement.strip_prefix("ALTER TABLE ") else {
        return false;
    };
    // Past the table name, every clause (split at commas outside parentheses)
    // is ADD KEY / ADD INDEX.
    let Some((_, clauses)) = rest.trim_start().split_once(char::is_whitespace) else {
        return false;
    };
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in clauses.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&clauses[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&clauses[start..]);
    parts.iter().all(|clause| {
        let words: Vec<&str> = clause.split_whitespace().take(2).collect();
        matches!(words.as_slice(), ["ADD", "KEY" | "INDEX"])
    })
}

/// Splits a migration into statements: a statement ends with `;` at the end of
/// a line; `--` comment lines are dropped. (The shipped files hold no routines,
/// so no statement contains such a line inside it.)
pub(crate) fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            let stmt = current.trim().trim_end_matches(';').trim().to_owned();
            if !stmt.is_empty() {
                out.push(stmt);
            }
            current.clear();
        }
    }
    let rest = current.trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// FNV-1a (64-bit) of the file, as 16 hex digits: detects edited migrations.
pub(crate) fn checksum_hex(sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_migrations_are_ordered_and_split_into_create_statements() {
        let mut last = 0;
        for m in MIGRATIONS {
            assert!(m.version > last, "{} out of order", m.name);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
            last = m.version;
            let stmts = statements(m.sql);
            assert!(!stmts.is_empty());
            for s in stmts {
                assert!(
                    s.starts_with("CREATE TABLE IF NOT EXISTS")
                        || adds_column(&s)
                        || adds_only_keys(&s),
                    "{s}"
                );
                assert!(!s.contains(';'), "{s}");
            }
        }
    }

    #[test]
    fn every_file_in_migrations_is_shipped() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let shipped: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(
            files, shipped,
            "add new migrations/*.sql files to MIGRATIONS"
        );
        for m in MIGRATIONS {
            let on_disk = std::fs::read_to_string(format!("{dir}/{}", m.name)).unwrap();
            assert_eq!(on_disk, m.sql);
        }
    }

    #[test]
    fn only_alters_adding_nothing_but_indexes_count_as_adding_keys() {
        assert!(adds_only_keys(
            "ALTER TABLE queue_jobs\n    ADD KEY queue_jobs_uuid_index (uuid)"
        ));
        assert!(adds_only_keys(
            "ALTER TABLE t ADD INDEX a (x, y), ADD KEY b (z)"
        ));
        assert!(!adds_only_keys(
            "ALTER TABLE t ADD COLUMN c INT, ADD INDEX a (c)"
        ));
        assert!(!adds_only_keys("ALTER TABLE t ADD INDEX a (x), DROP KEY b"));
        assert!(!adds_only_keys("ALTER TABLE t DROP INDEX a"));
        assert!(!adds_only_keys("CREATE INDEX a ON t (x)"));
        assert!(!adds_only_keys("ALTER TABLE t"));
    }

    #[test]
    fn comments_and_blank_lines_are_dropped() {
        let s = statements("-- c\nSELECT 1;\n\n  -- d\nSELECT\n  2;\nSELECT 3");
        assert_eq!(s, vec!["SELECT 1", "SELECT\n  2", "SELECT 3"]);
    }

    #[test]
    fn checksum_changes_with_the_text() {
        assert_eq!(checksum_hex("a").len(), 16);
        assert_ne!(checksum_hex("a"), checksum_hex("b"));
        assert_eq!(checksum_hex("a"), checksum_hex("a"));
    }
}
