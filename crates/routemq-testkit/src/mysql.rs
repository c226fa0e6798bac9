//! MySQL/MariaDB for tests: a fresh schema per test ([`MysqlSchema`]) on a server
//! found in this order — `ROUTEMQ_TEST_MYSQL_URL`; a `mariadbd`/`mysqld` this
//! process starts on a free port with a temporary data directory
//! ([`MysqlServer`], shared by the process's tests; `ROUTEMQ_TEST_MYSQLD` names
//! the binary); a container of `ROUTEMQ_TEST_MYSQL_IMAGE` (default
//! [`DEFAULT_MYSQL_IMAGE`]) started through testcontainers on the host network
//! when a Docker engine answers. `ROUTEMQ_TEST_MYSQL` picks one source instead:
//! `container`, `local` or `url`. Otherwise [`MysqlSchema::create`] fails saying
//! how to provide a server: it never skips.
//!
//! Servers and containers started here are tied to this process through a
//! watchdog shell that reads the process's end of a pipe: they go away when the
//! handle drops or the test binary exits, even on a panic or abort.

mod server;

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use tokio::sync::OnceCell;

pub use server::{mysql_image, MysqlServer, DEFAULT_MYSQL_IMAGE};

/// The variable naming a server to use instead of starting one.
pub const MYSQL_URL_VAR: &str = "ROUTEMQ_TEST_MYSQL_URL";

/// The variable that picks one kind of server: `container`, `local` or `url`.
pub const MYSQL_SOURCE_VAR: &str = "ROUTEMQ_TEST_MYSQL";

/// Why no MySQL could be provided.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MysqlProvisionError {
    /// No source of a server worked.
    #[error("no MySQL/MariaDB server for tests ({tried}). Provide one: set {MYSQL_URL_VAR}=mysql://root@127.0.0.1:3306/test, or install mariadb-server (mariadbd and mariadb-install-db) or mysql-server, or start a Docker engine; {MYSQL_SOURCE_VAR}=container|local|url picks one")]
    NoServer {
        /// What was tried and why each failed.
        tried: String,
    },
    /// Starting or stopping a server process failed.
    #[error("MySQL test server: {0}")]
    Server(String),
    /// The server answered with an error.
    #[error("MySQL test server at {url}: {cause}")]
    Sql {
        /// The server's URL.
        url: String,
        /// The client's error (shown in the message, not also a `source()`).
        cause: mysql_async::Error,
    },
}

/// A fresh, empty database (schema) `routemq_t_<random>` for one test, dropped
/// when the handle drops.
#[derive(Debug)]
pub struct MysqlSchema {
    name: String,
    url: String,
    admin_url: String,
    _server: Option<Arc<MysqlServer>>,
}

static SHARED: OnceCell<Arc<MysqlServer>> = OnceCell::const_new();

impl MysqlSchema {
    /// A fresh schema on the first server source that works (see the module
    /// docs).
    pub async fn create() -> Result<MysqlSchema, MysqlProvisionError> {
        let only = std::env::var(MYSQL_SOURCE_VAR).unwrap_or_default();
        let url = std::env::var(MYSQL_URL_VAR).unwrap_or_default();
        match only.as_str() {
            "" | "auto" | "url" if !url.is_empty() => Self::create_at(&url, None).await,
            "url" => Err(MysqlProvisionError::NoServer {
                tried: format!("{MYSQL_SOURCE_VAR}=url but {MYSQL_URL_VAR} is unset"),
            }),
            "" | "auto" | "local" | "container" => {
                let server = SHARED
                    .get_or_try_init(|| async {
                        let server = match only.as_str() {
                            "local" => MysqlServer::start_local().await,
                            "container" => MysqlServer::start_container().await,
                            _ => MysqlServer::start_any().await,
                        }?;
                        server.report().await;
                        Ok::<_, MysqlProvisionError>(Arc::new(server))
                    })
                    .await?;
                server.create_schema().await
            }
            other => Err(MysqlProvisionError::Server(format!(
                "{MYSQL_SOURCE_VAR}={other:?}: expected container, local, url or auto"
            ))),
        }
    }

    /// A fresh schema on the server of `admin_url` (any database in the path).
    pub(crate) async fn create_at(
        admin_url: &str,
        server: Option<Arc<MysqlServer>>,
    ) -> Result<MysqlSchema, MysqlProvisionError> {
        let name = format!("routemq_t_{}", random_hex());
        let sql_err = |cause| MysqlProvisionError::Sql {
            url: admin_url.to_owned(),
            cause,
        };
        let opts = mysql_async::Opts::from_url(admin_url)
            .map_err(|e| MysqlProvisionError::Server(format!("{MYSQL_URL_VAR}: {e}")))?;
        let mut conn = mysql_async::Conn::new(opts).await.map_err(sql_err)?;
        conn.query_drop(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .await
        .map_err(sql_err)?;
        conn.disconnect().await.map_err(sql_err)?;
        Ok(MysqlSchema {
            url: with_db(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
            _server: server,
        })
    }

    /// `mysql://…/routemq_t_<random>`: the URL to hand to the driver.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for MysqlSchema {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // A thread of its own: Drop may run inside or outside a runtime.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let opts = mysql_async::Opts::from_url(&admin_url).ok()?;
                let mut conn = mysql_async::Conn::new(opts).await.ok()?;
                conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                    .await
                    .ok()?;
                conn.disconnect().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            tracing::warn!(schema = %self.name, "could not drop test schema");
        }
    }
}

/// `url` with its database path replaced by `db` (query options kept).
pub(crate) fn with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// 64 random bits as hex, from the standard library's randomly keyed hasher.
pub(crate) fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_get_the_schema_name() {
        assert_eq!(
            with_db("mysql://root@127.0.0.1:3306/test", "s1"),
            "mysql://root@127.0.0.1:3306/s1"
        );
        assert_eq!(with_db("mysql://u:p@h:1", "s"), "mysql://u:p@h:1/s");
        assert_eq!(
            with_db("mysql://u@h:1/db?require_ssl=true", "s"),
            "mysql://u@h:1/s?require_ssl=true"
        );
        assert_ne!(random_hex(), random_hex());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn schemas_are_fresh_isolated_and_dropped() {
        let a = MysqlSchema::create().await.unwrap();
        let b = MysqlSchema::create().await.unwrap();
        assert_ne!(a.name(), b.name());
        let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(a.url()).unwrap())
            .await
            .unwrap();
        let db: Option<String> = conn.query_first("SELECT DATABASE()").await.unwrap();
        assert_eq!(db.as_deref(), Some(a.name()));
        let tables: Vec<String> = conn.query("SHOW TABLES").await.unwrap();
        assert!(tables.is_empty());
        let name = a.name().to_owned();
        drop(a);
        let left: Option<String> = conn
            .exec_first(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?",
                (name,),
            )
            .await
            .unwrap();
        assert_eq!(left, None, "schema not dropped");
        conn.disconnect().await.unwrap();
        drop(b);
    }
}
