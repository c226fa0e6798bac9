//! A user with a password, over TCP, without and with TLS: the way an application
//! connects to a production server (root without a password over the local socket
//! is how the other tests connect). On Oracle MySQL the user authenticates with
//! `caching_sha2_password` (its default plugin), on MariaDB with
//! `mysql_native_password`. The privilege cache is flushed first, so MySQL runs
//! the full `caching_sha2_password` exchange (RSA key over plain TCP), not the
//! fast path of a cached login.

mod common;

use common::{job, q};
use routemq_core::prelude::*;
use routemq_core::{FailedQuery, JobId};
use routemq_mysql::mysql_async::prelude::Queryable;
use routemq_mysql::mysql_async::{Conn, Opts};
use routemq_mysql::{MysqlConfig, MysqlDriver};
use routemq_testkit::mysql::MysqlSchema;

const LEASE: std::time::Duration = std::time::Duration::from_secs(30);
const PASSWORD: &str = "p4ss-w0rd!x";

/// A throwaway user with `PASSWORD` and every privilege on `schema`, dropped on
/// [`TestUser::drop_user`].
struct TestUser {
    name: String,
    hosts: [&'static str; 3],
}

impl TestUser {
    async fn create(admin: &mut Conn, schema: &str, plugin: Option<&str>) -> TestUser {
        let user = TestUser {
            name: format!("rmq_{:08x}", rand::random::<u32>()),
            hosts: ["%", "localhost", "127.0.0.1"],
        };
        for host in user.hosts {
            // MariaDB spells a plugin choice differently; its default is
            // mysql_native_password, which `IDENTIFIED BY` gives.
            let create = match plugin {
                Some(plugin) => format!(
                    "CREATE USER '{}'@'{host}' IDENTIFIED WITH {plugin} BY '{PASSWORD}'",
                    user.name
                ),
                None => format!(
                    "CREATE USER '{}'@'{host}' IDENTIFIED BY '{PASSWORD}'",
                    user.name
                ),
            };
            admin
                .query_drop(create)
                .await
                .expect("create the test user");
            let grant = format!("GRANT ALL ON `{schema}`.* TO '{}'@'{host}'", user.name);
            admin.query_drop(grant).await.expect("grant on the schema");
        }
        admin
            .query_drop("FLUSH PRIVILEGES")
            .await
            .expect("flush the privilege cache");
        user
    }

    async fn drop_user(self, admin: &mut Conn) {
        for host in self.hosts {
            let drop = format!("DROP USER IF EXISTS '{}'@'{host}'", self.name);
            admin.query_drop(drop).await.expect("drop the test user");
        }
    }
}

/// Migrates, then runs a job of `queue` through push, claim and ack and another through
/// fail into the failed store, over `url`; returns the session's TLS cipher
/// (empty without TLS) and the user the server authenticated.
async fn whole_lifecycle(url: &str, queue: &str) -> (String, String) {
    let driver = MysqlDriver::connect_and_migrate(MysqlConfig::from_url(url).expect("a URL"))
        .await
        .unwrap_or_else(|e| panic!("connect and migrate as a password user: {e}"));
    let queue = q(queue);
    let qs = std::slice::from_ref(&queue);
    let ok_id = driver.push(job(&queue, 1, None)).await.expect("push");
    let claimed = driver.claim(qs, 1, LEASE).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].lease.job_id, ok_id);
    driver.ack(&claimed[0].lease).await.expect("ack");

    let failing: JobId = driver.push(job(&queue, 2, None)).await.expect("push");
    let claimed = driver.claim(qs, 1, LEASE).await.expect("claim");
    driver
        .fail(&claimed[0].lease, "boom as a password user")
        .await
        .expect("fail");
    let failed = driver
        .failed_list(&FailedQuery {
            queue: Some(queue.clone()),
            ..FailedQuery::default()
        })
        .await
        .expect("failed list");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, failing);
    assert_eq!(driver.stats(&queue).await.expect("stats").failed, 1);

    let mut conn = driver.pool().get_conn().await.expect("a pooled connection");
    let cipher: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .expect("the session's TLS status");
    let user: Option<String> = conn
        .query_first("SELECT CURRENT_USER()")
        .await
        .expect("the session's user");
    drop(conn);
    driver.disconnect().await.expect("disconnect");
    (
        cipher.map(|(_, c)| c).unwrap_or_default(),
        user.unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_user_over_tcp_runs_every_step_without_and_with_tls() {
    let schema = MysqlSchema::create()
        .await
        .expect("a MySQL/MariaDB for tests");
    let opts = Opts::from_url(schema.url()).expect("the testkit's URL");
    let (host, port) = (opts.ip_or_hostname().to_owned(), opts.tcp_port());
    let mut admin = Conn::new(opts).await.expect("an admin connection");
    let version: String = admin
        .query_first("SELECT VERSION()")
        .await
        .expect("the version")
        .expect("a version row");
    let mariadb = version.contains("MariaDB");
    let plugin = (!mariadb).then_some("caching_sha2_password");
    let tls_on: Option<(String, String)> = admin
        .query_first("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
        .await
        .expect("have_ssl");
    // MySQL 9 has no have_ssl any more: it always serves TLS, with a certificate
    // it generates at initialisation when none is given.
    let tls_on = !mariadb || tls_on.is_some_and(|(_, v)| v.eq_ignore_ascii_case("YES"));
    let user = TestUser::create(&mut admin, schema.name(), plugin).await;

    // Plain TCP (prefer_socket=false: mysql_async would otherwise move to the
    // server's socket when it runs on this machine).
    let base = format!(
        "mysql://{}:{PASSWORD}@{host}:{port}/{}?prefer_socket=false",
        user.name,
        schema.name()
    );
    let (cipher, who) = whole_lifecycle(&base, "plain-tcp").await;
    assert!(
        who.starts_with(&format!("{}@", user.name)),
        "{version}: authenticated as {who:?}"
    );
    assert!(cipher.is_empty(), "{version}: TLS without asking: {cipher}");

    // A wrong password is an error naming the server's refusal, not a hang.
    let wrong = base.replace(PASSWORD, "not-the-password");
    let err = MysqlDriver::connect(MysqlConfig::from_url(&wrong).unwrap())
        .await
        .expect_err("a wrong password must be refused");
    assert!(
        err.to_string().contains("Access denied"),
        "{version}: {err}"
    );

    // TLS: Oracle MySQL generates a self-signed certificate at initialisation, so
    // the CA is not verified here (an operator gives DB_SSL_CA instead).
    if tls_on {
        let tls = format!("{base}&require_ssl=true&verify_ca=false&verify_identity=false");
        let (cipher, who) = whole_lifecycle(&tls, "tls").await;
        assert!(
            !cipher.is_empty(),
            "{version}: require_ssl gave no TLS session"
        );
        assert!(who.starts_with(&format!("{}@", user.name)), "{who}");
    } else {
        eprintln!("{version}: the TLS half is not run: the server has have_ssl != YES");
    }
    user.drop_user(&mut admin).await;
}
