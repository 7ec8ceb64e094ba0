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
//! - [`store`]: the records in SQLite (submissions and idempotency keys per kiosk, receipts,
//!   counters, enrolment tokens stored hashed, issued and revoked certificates), shared by the
//!   service and the admin CLI.
//! - [`status`]: where each accepted dossier stands, for the status lookup.
//! - [`ca`]: the deployment CA from files (`ca.key`, `ca.pem`), the proof-of-possession check
//!   of enrolment requests, client and server certificates.
//! - [`tls`]: the rustls server configuration, client certificates chained to the CA and
//!   checked against the revocation list at every handshake; the kiosk id from the verified
//!   certificate.
//! - [`server`]: [`Gateway`], hyper HTTP/1.1 on a tokio runtime of its own thread, with fault
//!   injection for the kiosk's tests and the demo.
//! - The binary `kiosk-gateway` (`src/main.rs`): `serve`, `ca init`, `ca server-cert`,
//!   `token new|list|revoke`, `kiosk revoke`.
//!
//! **Architecture invariant:** the kiosk id comes from the verified client certificate only;
//! no header sets it (the `X-Client-Cert-CN` of the old demo front is ignored). The gateway
//! knows nothing of the kiosk's sessions, devices or UI; it shares only `kiosk-wire`.
//!
//! # Not yet (issue 15)
//!
//! Forwarding to the one-stop system, PostgreSQL, erasure of personal fields after
//! forwarding, metrics and heartbeats: the records are SQLite and keep each body as received,
//! so point a gateway at synthetic citizens only.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use time::PrimitiveDateTime;

pub mod ca;
pub mod server;
pub mod state;
pub mod status;
pub mod store;
pub mod tls;

pub use server::{Fault, Gateway};
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
    /// The SQLite file of the records; `None` keeps them in memory.
    pub db_path: Option<PathBuf>,
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
        "cannot open the gateway's database {path}: {source}; give a writable file path (a \
         new file is created)"
    )]
    Store {
        /// The file, or `:memory:`.
        path: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The CA files.
    #[error(transparent)]
    Ca(#[from] ca::CaError),
    /// The TLS material (message naming the part).
    #[error("TLS: {0}")]
    Tls(String),
}
