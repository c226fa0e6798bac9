//! Kills a store's client connections from a separate admin connection, as an
//! operator or a network fault would: Redis `CLIENT KILL TYPE normal SKIPME yes`,
//! MySQL `KILL CONNECTION` for every connection to the test's schema but the
//! admin one.
//!
//! The Redis killer must point at a server of the test's own (the testkit starts
//! one): `CLIENT KILL TYPE normal` takes every client of the server. The MySQL
//! killer only touches connections whose current database is the test's schema,
//! so other tests on the shared server are left alone.

use routemq_mysql::mysql_async::{self, prelude::Queryable};

/// An admin connection that kills the others.
pub enum ConnectionKiller {
    /// Kills every normal client of this Redis server but itself.
    Redis(redis::aio::MultiplexedConnection),
    /// Kills every connection to this schema but itself.
    Mysql {
        /// The admin connection.
        conn: mysql_async::Conn,
        /// The schema whose connections are killed.
        schema: String,
    },
}

impl ConnectionKiller {
    /// An admin connection to the Redis server at `url`.
    pub async fn redis(url: &str) -> Self {
        let conn = redis::Client::open(url)
            .expect("a valid Redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("an admin Redis connection");
        ConnectionKiller::Redis(conn)
    }

    /// An admin connection to `schema` at `url` (a URL naming that schema).
    pub async fn mysql(url: &str, schema: &str) -> Self {
        let opts = mysql_async::Opts::from_url(url).expect("a valid MySQL URL");
        let conn = mysql_async::Conn::new(opts)
            .await
            .expect("an admin MySQL connection");
        ConnectionKiller::Mysql {
            conn,
            schema: schema.to_owned(),
        }
    }

    /// Kills the connections once; returns how many were killed.
    pub async fn kill(&mut self) -> u64 {
        match self {
            ConnectionKiller::Redis(conn) => redis::cmd("CLIENT")
                .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"])
                .query_async(conn)
                .await
                .expect("CLIENT KILL"),
            ConnectionKiller::Mysql { conn, schema } => {
                let ids: Vec<u64> = conn
                    .exec(
                        "SELECT ID FROM information_schema.PROCESSLIST \
                         WHERE DB = ? AND ID <> CONNECTION_ID()",
                        (schema.as_str(),),
                    )
                    .await
                    .expect("list connections");
                let mut killed = 0;
                for id in ids {
                    // A connection may close on its own between the listing and
                    // the kill ("Unknown thread id"): not an error here.
                    if conn
                        .query_drop(format!("KILL CONNECTION {id}"))
                        .await
                        .is_ok()
                    {
                        killed += 1;
                    }
                }
                killed
            }
        }
    }
}
