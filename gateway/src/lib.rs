//! The provincial kiosk gateway: where the kiosks' mutual TLS ends.
//!
//! A province's kiosks never talk to the one-stop system, the national portal or a
//! hospital's HIS with organisational credentials: they talk to this gateway, which
//! authenticates each kiosk by its client certificate, enrols new kiosks, answers submissions
//! with receipts, serves the catalogue and the status lookup (wire format: `kiosk-wire`).
//!
//! # Layout
//!
//! - [`state`]: the protocol, [`State::handle`]: a request, the verified [`Peer`] and the
//!   time in, a response out; no sockets.
//! - [`store`]: the records behind the [`store::Store`] trait: PostgreSQL in production
//!   ([`store::PgStore`], shared by every replica and the admin CLI), SQLite for the demo and
//!   the fast tests ([`store::SqliteStore`]). Submissions and idempotency keys per kiosk,
//!   receipts, dossier status, counters, the catalogue, the kiosk registry (heartbeats),
//!   enrolment tokens stored hashed, issued and revoked certificates, the forwarding queue.
//! - [`forward`]: the durable forwarding of TTHC dossiers to the provincial one-stop system
//!   through an OpenCPS-style adapter (`referenceUid` = submission id), retries with backoff,
//!   dead letters; personal fields erased once forwarded.
//! - [`onestop_sim`]: a simulator of that system with fault injection (tests, load test,
//!   `kiosk-gateway onestop-sim`).
//! - [`retention`]: how long idempotency keys (30 days) and receipts (365 days) are kept,
//!   and the pruning `serve` runs every hour (`kiosk-gateway prune` by hand).
//! - [`metrics`]: the Prometheus text of `/metrics`.
//! - [`testing`]: a throw-away PostgreSQL cluster for tests.
//! - [`ca`]: the deployment CA from files (`ca.key`, `ca.pem`), the proof-of-possession check
//!   of enrolment requests, client and server certificates.
//! - [`tls`]: the rustls server configuration, client certificates chained to the CA and
//!   checked against the revocation list on every new connection before its first request;
//!   the kiosk id from the verified certificate.
//! - [`server`]: [`Gateway`], hyper HTTP/1.1 on a tokio runtime of its own thread: per-kiosk
//!   rate limit, metrics, the forwarding worker, graceful shutdown, and fault injection for
//!   the kiosk's tests and the demo.
//! - The binary `kiosk-gateway` (`src/main.rs`): `serve`, `ca init`, `ca server-cert`,
//!   `token new|list|revoke`, `kiosk revoke`, `onestop-sim`.
//!
//! **Architecture invariant:** the kiosk id comes from the verified client certificate only;
//! no header sets it (the `X-Client-Cert-CN` of the old demo front is ignored). The gateway
//! knows nothing of the kiosk's sessions, devices or UI; it shares only `kiosk-wire`.
//!
//! **Architecture invariant:** nothing that matters lives in a replica's memory (only the
//! rate limiter's buckets and the metrics counters, both per replica by nature): N replicas
//! behind a TCP load balancer share one PostgreSQL.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use time::PrimitiveDateTime;

pub mod ca;
pub mod forward;
pub mod metrics;
pub mod onestop_sim;
pub mod retention;
pub mod server;
pub mod state;
pub mod store;
pub mod testing;
pub mod tls;

pub use forward::ForwardConfig;
pub use store::{PoolSettings, StoreConfig};

pub use server::{Fault, Gateway, Limits};
pub use state::{Peer, Request, Response, State};

/// How the gateway speaks TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tls {
    /// Plain HTTP: the demo on 127.0.0.1 only (no kiosk identity, so no renewal).
    #[default]
    Off,
    /// A server certificate for these names (DNS names or IP addresses) issued at start-up by
    /// the gateway's own CA (tests, a first deployment).
    SelfIssued(Vec<String>),
    /// The server certificate chain and key from PEM files.
    Files {
        /// Certificate chain, PEM.
        cert: PathBuf,
        /// Private key, PEM.
        key: PathBuf,
    },
}

/// Settings of a [`Gateway`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// The receiving agency's code, the first part of every dossier code.
    pub agency: String,
    /// Working days until the appointment, for procedures.
    pub working_days: u8,
    /// A fixed "now" for reproducible receipts (tests, screenshots); `None` uses the clock.
    pub fixed_now: Option<PrimitiveDateTime>,
    /// Seed of the lookup-code generator; `None` seeds from the OS.
    pub seed: Option<u64>,
    /// The SQLite file of the records (demo); `None` keeps them in memory. Ignored when
    /// `postgres` is set.
    pub db_path: Option<PathBuf>,
    /// The PostgreSQL connection string (production, several replicas), e.g.
    /// `host=/run/postgresql dbname=kiosk_gateway user=kiosk_gateway`.
    pub postgres: Option<String>,
    /// The CA (PEM file) of PostgreSQL's server certificate: connect over TLS (put
    /// `sslmode=require` in `postgres`). `None`: no TLS (a Unix socket or a private link).
    pub postgres_ca: Option<PathBuf>,
    /// PostgreSQL's connection pool of this replica (size, acquire timeout: a request that
    /// gets no connection in time is answered 503 with `Retry-After`).
    pub pool: store::PoolSettings,
    /// Time limits and size bounds against slow or hostile clients.
    pub limits: server::Limits,
    /// How long idempotency keys and receipts are kept, and how often this replica prunes.
    pub prune: retention::Retention,
    /// Forward TTHC dossiers to the one-stop system; `None`: keep them (the demo).
    pub forward: Option<ForwardConfig>,
    /// How long a forwarded submission's personal fields are kept; zero (the default):
    /// erased as soon as the one-stop system took it.
    pub retention: Duration,
    /// Per kiosk: requests allowed in a burst, and refilled per second (`None`: no limit).
    pub rate_limit: Option<(u32, u32)>,
    /// Lifetime of the client certificates enrolment issues; `None`: 30 days.
    pub cert_lifetime: Option<Duration>,
    /// The folder of the CA files (`kiosk-gateway ca init`); `None`: a CA in memory.
    pub ca_dir: Option<PathBuf>,
    /// TLS.
    pub tls: Tls,
    /// Where to listen; default `127.0.0.1:0` (a free loopback port).
    pub listen: SocketAddr,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            agency: "000.00.01.H29".to_owned(),
            working_days: 3,
            fixed_now: None,
            seed: None,
            db_path: None,
            postgres: None,
            postgres_ca: None,
            pool: store::PoolSettings::default(),
            prune: retention::Retention::default(),
            limits: server::Limits::default(),
            forward: None,
            retention: Duration::ZERO,
            rate_limit: Some((60, 5)),
            cert_lifetime: None,
            ca_dir: None,
            tls: Tls::Off,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        }
    }
}

/// Why [`Gateway::start_with`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The agency code in the configuration is malformed.
    #[error("agency code {0:?} is malformed: use A-Z, 0-9 and '.', e.g. 000.00.01.H29")]
    Agency(String),
    /// Binding the socket or starting the runtime failed.
    #[error("cannot start the kiosk gateway: {0}")]
    Io(#[from] std::io::Error),
    /// The database cannot be opened or is not the gateway's.
    #[error(
        "cannot open the gateway's database {path}: {source}; give a writable SQLite file \
         path (a new file is created) or a reachable PostgreSQL (--postgres)"
    )]
    Store {
        /// The file, `:memory:`, or the connection string without its password.
        path: String,
        /// The store's error.
        #[source]
        source: store::StoreError,
    },
    /// The CA files.
    #[error(transparent)]
    Ca(#[from] ca::CaError),
    /// The TLS material (message naming the part).
    #[error("TLS: {0}")]
    Tls(String),
}

impl GatewayConfig {
    /// Where the records are: PostgreSQL if set, else the SQLite file, else memory.
    #[must_use]
    pub fn store(&self) -> StoreConfig {
        match (&self.postgres, &self.db_path) {
            (Some(url), _) => match &self.postgres_ca {
                Some(ca) => StoreConfig::PostgresTls {
                    url: url.clone(),
                    ca: ca.clone(),
                },
                None => StoreConfig::Postgres(url.clone()),
            },
            (None, Some(p)) => StoreConfig::Sqlite(p.clone()),
            (None, None) => StoreConfig::Memory,
        }
    }
}
