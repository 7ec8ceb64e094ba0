//! [`PgPool`]: the PostgreSQL connections of one process, shared by its concurrent requests.
//!
//! r2d2 (the synchronous pool by the `postgres` client's author): the store is synchronous
//! and runs on tokio's blocking pool, where the async pools (deadpool, bb8) would need every
//! query rewritten for `tokio-postgres`. The connection manager is written here (rather than
//! `r2d2_postgres`) because TLS is optional per configuration: one manager type for a plain
//! connection and for rustls ([`super::pg_tls::RustlsMake`]).
//!
//! Broken connections (PostgreSQL restarted) are dropped when they come back to the pool
//! (`Client::is_closed` after the failed call), and a connection idle for more than
//! [`IDLE_CHECK`] is checked with an empty query before it is handed out, so after a restart
//! at most the calls already on a connection fail (the kiosk retries with the same
//! idempotency key). Connections are opened on demand (none kept idle beyond 10 minutes).

use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use super::pg_tls::RustlsMake;
use super::{PoolSettings, Result, StoreError};

/// A connection idle longer than this is checked before use.
pub const IDLE_CHECK: Duration = Duration::from_secs(2);

/// One pooled connection and when it was last handed out.
pub struct PgConn {
    client: Client,
    last_used: Instant,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn").finish_non_exhaustive()
    }
}

impl std::ops::Deref for PgConn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Opens connections for the pool.
pub(crate) struct Manager {
    url: String,
    tls: Option<RustlsMake>,
}

/// Opens one connection (the pool's and the migration's).
pub(crate) fn open(
    url: &str,
    tls: Option<&RustlsMake>,
) -> std::result::Result<Client, postgres::Error> {
    match tls {
        Some(tls) => Client::connect(url, tls.clone()),
        None => Client::connect(url, NoTls),
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<PgConn, postgres::Error> {
        let client = open(&self.url, self.tls.as_ref())?;
        Ok(PgConn {
            client,
            last_used: Instant::now(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> std::result::Result<(), postgres::Error> {
        if conn.last_used.elapsed() >= IDLE_CHECK {
            conn.client.simple_query("")?;
        }
        conn.last_used = Instant::now();
        Ok(())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

/// The pool's failures to connect go to the log (never a citizen's value: connection errors).
#[derive(Debug)]
struct LogErrors;

impl r2d2::HandleError<postgres::Error> for LogErrors {
    fn handle_error(&self, error: postgres::Error) {
        tracing::warn!(error = %error, "cannot open a PostgreSQL connection");
    }
}

/// The connections of one process to one database (cheap to clone: a handle).
#[derive(Clone)]
pub struct PgPool(r2d2::Pool<Manager>);

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.0.state();
        f.debug_struct("PgPool")
            .field("connections", &state.connections)
            .field("idle", &state.idle_connections)
            .finish()
    }
}

/// A connection taken from the pool; back to it on drop.
pub(crate) type Pooled = r2d2::PooledConnection<Manager>;

impl PgPool {
    /// A pool of up to `settings.max_size` connections (none opened yet).
    ///
    /// # Errors
    ///
    /// A `max_size` of 0.
    pub fn new(url: &str, tls: Option<RustlsMake>, settings: PoolSettings) -> Result<Self> {
        if settings.max_size == 0 {
            return Err(StoreError::Unavailable(
                "the PostgreSQL pool size must be at least 1".to_owned(),
            ));
        }
        let pool = r2d2::Pool::builder()
            .max_size(settings.max_size)
            .min_idle(Some(0))
            .connection_timeout(settings.acquire_timeout.max(Duration::from_millis(1)))
            .test_on_check_out(true)
            .error_handler(Box::new(LogErrors))
            .build_unchecked(Manager {
                url: url.to_owned(),
                tls,
            });
        Ok(Self(pool))
    }

    /// A connection, waiting up to the acquire timeout.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`]: none free in time, or PostgreSQL does not answer.
    pub(crate) fn get(&self) -> Result<Pooled> {
        self.0
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Connections open now (busy and idle).
    #[must_use]
    pub fn connections(&self) -> u32 {
        self.0.state().connections
    }
}
