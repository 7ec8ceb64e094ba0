//! [`DemoGateway`]: the kiosk gateway of the demo, on `127.0.0.1`.
//!
//! Split in two like the rest of the kiosk: [`DemoState::handle`] is the protocol (a parsed
//! request and the time in, a response out; no sockets), and [`DemoGateway`] is the thin loop
//! that accepts connections on one thread and feeds it.
//!
//! What the gateway receives lives in its own SQLite database (through the same rusqlite
//! build as the outbox, unkeyed, so a plain SQLite file): accepted submissions with their
//! idempotency keys, `referenceUid`, exact body and receipt, and the per-day dossier sequence
//! and clinic queue counters. With [`DemoGatewayConfig::db_path`] unset the database is in
//! memory and goes with the gateway; with a file, a restarted gateway answers replays of what
//! it accepted before with the same receipt and never issues a dossier code twice. The file
//! holds the bodies as received (the demo's synthetic citizens): never point a demo gateway
//! at real people's data.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use rusqlite::{params, Connection, OptionalExtension as _};
use time::PrimitiveDateTime;

use super::codes;
use super::dto::{
    ErrorBody, SubmissionKind, SubmissionReceipt, SubmissionRequest, SubmissionStatus,
};
use super::enrol::EnrolmentAuthority;
use super::http::{self, Head, HttpError};
use crate::catalog::Catalog;
use crate::config::Mode;

/// How long the server waits for a client to send its request or read the answer. The loop
/// serves one connection at a time, so this also bounds how long a stuck client delays others.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest accepted `Idempotency-Key`.
const MAX_KEY_LEN: usize = 128;

/// Settings of a [`DemoGateway`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoGatewayConfig {
    /// The receiving agency's code, the first part of every dossier code.
    pub agency: String,
    /// Working days until the appointment, for procedures.
    pub working_days: u8,
    /// A fixed "now" for reproducible receipts (tests, screenshots); `None` uses the clock.
    pub fixed_now: Option<PrimitiveDateTime>,
    /// Seed of the lookup-code generator; `None` seeds from the OS.
    pub seed: Option<u64>,
    /// The SQLite file that keeps what the gateway received across restarts; `None` keeps it
    /// in memory for the gateway's lifetime.
    pub db_path: Option<PathBuf>,
    /// Lifetime of the client certificates enrolment issues; `None`: 30 days.
    pub cert_lifetime: Option<Duration>,
}

impl Default for DemoGatewayConfig {
    fn default() -> Self {
        Self {
            agency: "000.00.01.H29".to_owned(),
            working_days: 3,
            fixed_now: None,
            seed: None,
            db_path: None,
            cert_lifetime: None,
        }
    }
}

/// Why [`DemoGateway::start`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoGatewayError {
    /// The agency code in the configuration is malformed.
    #[error("agency code {0:?} is malformed: use A-Z, 0-9 and '.', e.g. 000.00.01.H29")]
    Agency(String),
    /// Binding the loopback socket or spawning the thread failed.
    #[error("cannot start the demo gateway on 127.0.0.1: {0}")]
    Io(#[from] io::Error),
    /// The gateway's database cannot be opened or is not one of its databases.
    #[error(
        "cannot open the demo gateway's database {path}: {source}; give a writable file \
         path (a new file is created), or none to keep it in memory"
    )]
    Store {
        /// The file, or `:memory:`.
        path: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

/// A fault the demo gateway injects, for the outbox's tests and for demonstrating offline
/// mode. Queued faults apply to the next `POST /v1/submissions` requests, one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Close the connection without handling or answering the request (as a reset).
    Refuse,
    /// Answer 500 without handling.
    ServerError,
    /// Answer 429 with `Retry-After` in seconds, without handling.
    TooManyRequests {
        /// The `Retry-After` value.
        retry_after_secs: u32,
    },
    /// Wait this long, then handle normally.
    Slow(Duration),
    /// Handle (commit) the submission, then close without answering: the client cannot know
    /// it was received and must retry; the replay must not make a second dossier.
    LoseResponse,
}

/// A response produced by [`DemoState::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Extra headers beside `Content-Type`, `Content-Length` and `Connection`.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

impl Response {
    fn json(status: u16, value: &impl serde::Serialize) -> Self {
        // Serialising our own DTOs (strings, numbers, no maps with non-string keys) cannot fail;
        // should it ever, an empty object still keeps the response well-formed.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Self {
            status,
            headers: Vec::new(),
            body,
        }
    }

    fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self::json(
            status,
            &ErrorBody {
                error: code.to_owned(),
                message: message.into(),
            },
        )
    }

    fn from_http_error(e: &HttpError) -> Self {
        match e {
            HttpError::HeadTooLarge => Self::error(431, "head_too_large", e.to_string()),
            HttpError::BodyTooLarge(_) => Self::error(413, "body_too_large", e.to_string()),
            HttpError::LengthRequired => Self::error(411, "length_required", e.to_string()),
            HttpError::Io(_) => Self::error(408, "timeout", "request not received in time"),
            HttpError::Malformed(_) => Self::error(400, "malformed_http", e.to_string()),
        }
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        headers.extend(self.headers.iter().map(|(n, v)| (*n, v.as_str())));
        http::write_response(self.status, &headers, &self.body)
    }
}

/// The gateway's tables. `body` is the exact body first received, to tell a replay from a
/// reused key (the IETF draft speaks of a fingerprint; the whole body is exact and costs
/// nothing in a demo); `receipt` is the receipt's JSON as first sent, so a replay gets the
/// same bytes. Several idempotency keys may name one submission (the business-key dedup).
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS submissions (
        id            INTEGER PRIMARY KEY,
        reference_uid TEXT NOT NULL UNIQUE,
        dossier_code  TEXT NOT NULL UNIQUE,
        lookup_code   TEXT NOT NULL UNIQUE,
        body          BLOB NOT NULL,
        receipt       BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        key        TEXT PRIMARY KEY,
        submission INTEGER NOT NULL REFERENCES submissions(id)
    );
    CREATE TABLE IF NOT EXISTS day_sequence (
        day  TEXT PRIMARY KEY,
        last INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS queue_numbers (
        day        TEXT NOT NULL,
        department TEXT NOT NULL,
        last       INTEGER NOT NULL,
        PRIMARY KEY (day, department)
    );
";

/// The demo gateway's protocol state: pure apart from the clock and generator it is built
/// with, and the SQLite database that keeps what it received.
pub struct DemoState {
    config: DemoGatewayConfig,
    rng: StdRng,
    db: Connection,
    /// The deployment CA and the outstanding enrolment tokens (`None` if the CA could not be
    /// made: enrolment then answers 503, everything else works).
    enrolment: Option<EnrolmentAuthority>,
    /// What `GET /v1/catalog` serves instead of the built-in catalogue, per mode.
    catalogs: Vec<Catalog>,
}

/// The header in which a TLS terminator in front of the gateway passes the common name of the
/// client certificate it verified (the kiosk id), as reverse proxies do.
pub const CLIENT_CN_HEADER: &str = "X-Client-Cert-CN";

/// A catalogue's version: a hash of its gateway form (stable for the same content).
fn catalog_version(c: &Catalog) -> String {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    c.to_gateway_json("").to_string().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Unix milliseconds (enrolment tokens and certificate validity follow the real clock).
fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl std::fmt::Debug for DemoState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoState")
            .field("config", &self.config)
            .field("received", &self.received())
            .finish_non_exhaustive()
    }
}

impl DemoState {
    /// Opens the state: the database at `config.db_path` (created if absent, its earlier
    /// submissions kept), or a fresh one in memory.
    ///
    /// # Errors
    ///
    /// [`DemoGatewayError::Store`] if the database cannot be opened or set up (a folder that
    /// does not exist, a file that is not SQLite).
    pub fn open(config: DemoGatewayConfig) -> Result<Self, DemoGatewayError> {
        let name = config
            .db_path
            .as_ref()
            .map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string());
        let store = |source| DemoGatewayError::Store {
            path: name.clone(),
            source,
        };
        let db = match &config.db_path {
            Some(p) => Connection::open(p),
            None => Connection::open_in_memory(),
        }
        .map_err(store)?;
        // Every accepted submission is on disk before its 201 leaves: a replay after a crash
        // finds it. (`journal_mode` answers a row, hence `query_row`.)
        db.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(store)?;
        db.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .and_then(|()| db.execute_batch(SCHEMA))
            .map_err(store)?;
        let enrolment = EnrolmentAuthority::new("Demo deployment CA")
            .map_err(|e| tracing::error!(error = %e, "demo gateway: no enrolment CA"))
            .ok()
            .map(|a| match config.cert_lifetime {
                Some(l) => a.with_lifetime(l),
                None => a,
            });
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng(),
        };
        Ok(Self {
            config,
            rng,
            db,
            enrolment,
            catalogs: Vec::new(),
        })
    }

    /// How many distinct submissions were accepted.
    pub fn received(&self) -> usize {
        self.db
            .query_row("SELECT COUNT(*) FROM submissions", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }

    /// `referenceUid` to dossier code of every accepted submission.
    pub fn dossiers(&self) -> HashMap<String, String> {
        let rows = self
            .db
            .prepare("SELECT reference_uid, dossier_code FROM submissions")
            .and_then(|mut st| {
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<HashMap<String, String>, _>>()
            });
        rows.unwrap_or_else(|e| {
            tracing::error!(error = %e, "demo gateway cannot read its database");
            HashMap::new()
        })
    }

    /// The procedure code (`MaTTHC`) of every accepted submission, in arrival order.
    pub fn procedure_codes(&self) -> Vec<String> {
        let rows = self
            .db
            .prepare("SELECT body FROM submissions ORDER BY id")
            .and_then(|mut st| {
                st.query_map([], |r| r.get::<_, Vec<u8>>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_default();
        rows.iter()
            .filter_map(|b| serde_json::from_slice::<SubmissionRequest>(b).ok())
            .map(|r| r.procedure_code.clone())
            .collect()
    }

    /// Answers one request.
    pub fn handle(&mut self, head: &Head, body: &[u8]) -> Response {
        let (path, query) = head
            .second
            .split_once('?')
            .unwrap_or((head.second.as_str(), ""));
        let method = head.first.as_str();
        match path {
            "/healthz" if method == "GET" => {
                Response::json(200, &serde_json::json!({"status": "ok"}))
            }
            "/v1/submissions" if method == "POST" => self.submit(head, body),
            "/v1/enrolment" if method == "POST" => self.enrol(head, body),
            "/v1/enrolment" => method_not_allowed("POST"),
            "/v1/enrolment/renew" if method == "POST" => self.renew(head, body),
            "/v1/enrolment/renew" => method_not_allowed("POST"),
            "/v1/catalog" if method == "GET" => self.catalog(head, query),
            "/v1/catalog" => method_not_allowed("GET"),
            _ if path.starts_with("/v1/submissions/") && method == "GET" => {
                self.lookup(&path["/v1/submissions/".len()..], query)
            }
            "/healthz" | "/v1/submissions" => {
                method_not_allowed(if path == "/healthz" { "GET" } else { "POST" })
            }
            _ if path.starts_with("/v1/submissions/") => method_not_allowed("GET"),
            _ => Response::error(404, "not_found", "no such endpoint"),
        }
    }

    /// `POST /v1/enrolment`: a technician's token and the kiosk's CSR for a client certificate
    /// from this gateway's deployment CA ([`DemoState::enrolment_ca_pem`]).
    fn enrol(&mut self, head: &Head, body: &[u8]) -> Response {
        let bearer = head
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(authority) = &mut self.enrolment else {
            return Response::error(503, "enrolment_unavailable", "no enrolment CA");
        };
        match authority.enrol(bearer, body, now_ms()) {
            Ok(r) => Response::json(201, &r),
            Err(e) => Response::error(e.status, e.code, e.message),
        }
    }

    /// `POST /v1/enrolment/renew`: the caller is the kiosk named by [`CLIENT_CN_HEADER`],
    /// which the TLS terminator in front sets from the verified client certificate (and
    /// strips from what clients send).
    fn renew(&mut self, head: &Head, body: &[u8]) -> Response {
        let Some(authority) = &mut self.enrolment else {
            return Response::error(503, "enrolment_unavailable", "no enrolment CA");
        };
        match authority.renew(head.header(CLIENT_CN_HEADER), body, now_ms()) {
            Ok(r) => Response::json(201, &r),
            Err(e) => Response::error(e.status, e.code, e.message),
        }
    }

    /// `GET /v1/catalog?mode=...`: the catalogue for the mode (the built-in one unless
    /// [`DemoState::set_catalog`] replaced it), its version as ETag; 304 for `If-None-Match`
    /// with the current version.
    fn catalog(&self, head: &Head, query: &str) -> Response {
        let mode = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("mode="))
            .unwrap_or_default();
        let mode = match mode {
            "one-stop-shop" => Mode::OneStopShop,
            "hospital" => Mode::Hospital,
            _ => {
                return Response::error(
                    400,
                    "invalid_mode",
                    "mode must be one-stop-shop or hospital",
                )
            }
        };
        let catalog = self
            .catalogs
            .iter()
            .find(|c| c.mode() == mode)
            .cloned()
            .unwrap_or_else(|| Catalog::builtin(mode));
        let version = catalog_version(&catalog);
        let etag = format!("\"{version}\"");
        if head.header("if-none-match") == Some(etag.as_str()) {
            let mut r = Response::json(304, &serde_json::json!({}));
            r.body.clear();
            r.headers.push(("ETag", etag));
            return r;
        }
        let mut r = Response::json(200, &catalog.to_gateway_json(&version));
        r.headers.push(("ETag", etag));
        r
    }

    /// Serves `catalog` at `GET /v1/catalog` for its mode from now on.
    pub fn set_catalog(&mut self, catalog: Catalog) {
        self.catalogs.retain(|c| c.mode() != catalog.mode());
        self.catalogs.push(catalog);
    }

    /// A single-use enrolment token for `kioskctl enrol`, valid for 15 minutes; `None` without
    /// an enrolment CA.
    pub fn issue_enrolment_token(&mut self) -> Option<String> {
        self.enrolment.as_mut().map(|a| a.issue_token(now_ms()))
    }

    /// The deployment CA that signs enrolled kiosks' certificates, PEM.
    pub fn enrolment_ca_pem(&self) -> Option<String> {
        self.enrolment.as_ref().map(|a| a.ca_pem().to_owned())
    }

    fn submit(&mut self, head: &Head, body: &[u8]) -> Response {
        match self.try_submit(head, body) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "demo gateway cannot use its database");
                Response::error(500, "internal", "the gateway cannot store the submission")
            }
        }
    }

    fn try_submit(&mut self, head: &Head, body: &[u8]) -> rusqlite::Result<Response> {
        let key = match head.header("idempotency-key") {
            None | Some("") => {
                return Ok(Response::error(
                    400,
                    "missing_idempotency_key",
                    "POST /v1/submissions requires an Idempotency-Key header",
                ))
            }
            Some(k) if k.len() > MAX_KEY_LEN => {
                return Ok(Response::error(
                    400,
                    "invalid_idempotency_key",
                    "Idempotency-Key too long",
                ))
            }
            Some(k) => k.to_owned(),
        };
        // The key first: a replay is answered from the database without parsing again.
        let by_key = self
            .db
            .query_row(
                "SELECT submission FROM idempotency_keys WHERE key = ?1",
                [&key],
                |r| r.get::<_, i64>(0),
            )
            .optional()?;
        if let Some(id) = by_key {
            return self.replay(id, body, "idempotency_key_reused", "Idempotency-Key");
        }
        let request: SubmissionRequest = match serde_json::from_slice(body) {
            Ok(r) => r,
            // serde's message may quote the offending value, which may be personal: report
            // the position and category only.
            Err(e) => {
                return Ok(Response::error(
                    400,
                    "invalid_json",
                    format!(
                        "body is not a valid submission ({:?} error at line {} column {})",
                        e.classify(),
                        e.line(),
                        e.column()
                    ),
                ))
            }
        };
        if let Err(e) = request.validate() {
            return Ok(Response::error(400, "invalid_field", e.to_string()));
        }
        // The business key: the same submission under a new idempotency key (the kiosk lost
        // its key store, or the gateway forgot an old key) must not make a second dossier.
        let by_uid = self
            .db
            .query_row(
                "SELECT id FROM submissions WHERE reference_uid = ?1",
                [&request.reference_uid],
                |r| r.get::<_, i64>(0),
            )
            .optional()?;
        if let Some(id) = by_uid {
            let response = self.replay(id, body, "reference_uid_reused", "referenceUid")?;
            if response.status == 200 {
                self.db.execute(
                    "INSERT INTO idempotency_keys (key, submission) VALUES (?1, ?2)",
                    params![key, id],
                )?;
            }
            return Ok(response);
        }
        // Counters, the submission and its key in one transaction: a crash leaves either all
        // of it or none, so a dossier code is never issued twice.
        let tx = self.db.transaction()?;
        let receipt = new_receipt(&tx, &self.config, &mut self.rng, &request)?;
        let response = Response::json(201, &receipt);
        tx.execute(
            "INSERT INTO submissions (reference_uid, dossier_code, lookup_code, body, receipt)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                request.reference_uid,
                receipt.dossier_code,
                receipt.lookup_code,
                body,
                response.body
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO idempotency_keys (key, submission) VALUES (?1, ?2)",
            params![key, id],
        )?;
        tx.commit()?;
        tracing::info!(dossier = %receipt.dossier_code, "demo gateway accepted a submission");
        Ok(response)
    }

    fn replay(&self, id: i64, body: &[u8], code: &str, what: &str) -> rusqlite::Result<Response> {
        let (first_body, receipt) = self.db.query_row(
            "SELECT body, receipt FROM submissions WHERE id = ?1",
            [id],
            |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)),
        )?;
        Ok(if first_body == body {
            Response {
                status: 200,
                headers: Vec::new(),
                body: receipt,
            }
        } else {
            Response::error(
                422,
                code,
                format!("{what} already used for a different submission"),
            )
        })
    }

    fn lookup(&self, dossier: &str, query: &str) -> Response {
        let code = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("code="))
            .filter(|c| !c.is_empty());
        let Some(code) = code else {
            return Response::error(400, "missing_code", "add ?code=<MaTraCuu> to the request");
        };
        // One answer for "no such dossier" and "wrong code", so the endpoint does not reveal
        // which dossier codes exist.
        let found = self
            .db
            .query_row(
                "SELECT body, receipt FROM submissions WHERE dossier_code = ?1 AND lookup_code = ?2",
                [dossier, code],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional();
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "demo gateway cannot read its database");
                return Response::error(500, "internal", "the gateway cannot read its records");
            }
        };
        // Both were written by this gateway from values it had parsed or made.
        let parsed = found.and_then(|(body, receipt)| {
            let request = serde_json::from_slice::<SubmissionRequest>(&body).ok()?;
            let receipt = serde_json::from_slice::<SubmissionReceipt>(&receipt).ok()?;
            Some((request, receipt))
        });
        match parsed {
            Some((request, receipt)) => Response::json(
                200,
                &SubmissionStatus {
                    dossier_code: receipt.dossier_code,
                    status: "received".to_owned(),
                    procedure_name: request.procedure_name,
                    received_at: receipt.received_at,
                    appointment: receipt.appointment,
                    queue_number: receipt.queue_number,
                },
            ),
            None => Response::error(
                404,
                "not_found",
                "no dossier with this code and lookup code",
            ),
        }
    }
}

/// The next receipt: bumps the day's dossier sequence (and the department's queue number for
/// a clinic registration) inside the caller's transaction.
fn new_receipt(
    tx: &rusqlite::Transaction<'_>,
    config: &DemoGatewayConfig,
    rng: &mut StdRng,
    request: &SubmissionRequest,
) -> rusqlite::Result<SubmissionReceipt> {
    let now = config.fixed_now.unwrap_or_else(codes::now_vietnam);
    let day = now.date();
    let day_key = day.to_string();
    let seq: u32 = tx.query_row(
        "INSERT INTO day_sequence (day, last) VALUES (?1, 1)
         ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
        [&day_key],
        |r| r.get(0),
    )?;
    let dossier_code = codes::dossier_code(&config.agency, day, seq);
    let lookup_code = loop {
        let code = codes::generate_lookup_code(rng);
        let taken = tx
            .query_row(
                "SELECT 1 FROM submissions WHERE lookup_code = ?1",
                [&code],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !taken {
            break code;
        }
    };
    let queue_number = if request.kind == SubmissionKind::Clinic {
        Some(tx.query_row(
            "INSERT INTO queue_numbers (day, department, last) VALUES (?1, ?2, 1)
             ON CONFLICT (day, department) DO UPDATE SET last = last + 1 RETURNING last",
            [&day_key, &request.procedure_code],
            |r| r.get::<_, u32>(0),
        )?)
    } else {
        None
    };
    Ok(SubmissionReceipt {
        dossier_code,
        received_at: codes::format_portal_time(now),
        appointment: codes::format_portal_time(codes::appointment(
            now,
            request.kind,
            config.working_days,
        )),
        lookup_code,
        queue_number,
    })
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = Response::error(405, "method_not_allowed", format!("use {allow}"));
    r.headers.push(("Allow", allow.to_owned()));
    r
}

struct Shared {
    stop: AtomicBool,
    state: Mutex<DemoState>,
    /// Refuse every connection (the gateway or the network is down).
    down: AtomicBool,
    faults: Mutex<VecDeque<Fault>>,
    /// `POST /v1/submissions` requests that reached the handler (replays included).
    posts: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, DemoState> {
        // `handle` never panics by design; if it ever did, the database is still consistent
        // (each submission is one transaction), so keep serving rather than poison every
        // later request.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The demo gateway: an HTTP/1.1 server on `127.0.0.1`, one thread, its records in SQLite
/// ([`DemoGatewayConfig::db_path`], in memory by default).
///
/// Stopped by [`DemoGateway::stop`] or on drop; both wait for the thread to end.
pub struct DemoGateway {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for DemoGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoGateway")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl DemoGateway {
    /// Starts a gateway with the default configuration on a free loopback port.
    ///
    /// # Errors
    ///
    /// [`DemoGatewayError::Io`] if the socket cannot be bound or the thread spawned.
    pub fn start() -> Result<Self, DemoGatewayError> {
        Self::start_with(DemoGatewayConfig::default())
    }

    /// Starts a gateway with `config` on a free loopback port.
    ///
    /// # Errors
    ///
    /// [`DemoGatewayError::Agency`] for a malformed agency code, [`DemoGatewayError::Io`] if
    /// the socket cannot be bound or the thread spawned.
    pub fn start_with(config: DemoGatewayConfig) -> Result<Self, DemoGatewayError> {
        if !codes::is_agency_code(&config.agency) {
            return Err(DemoGatewayError::Agency(config.agency));
        }
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            state: Mutex::new(DemoState::open(config)?),
            down: AtomicBool::new(false),
            faults: Mutex::new(VecDeque::new()),
            posts: AtomicUsize::new(0),
        });
        let thread = std::thread::Builder::new()
            .name("demo-gateway".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || serve(&listener, &shared)
            })?;
        tracing::info!(%addr, "demo gateway listening");
        Ok(Self {
            addr,
            shared,
            thread: Some(thread),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `catalog` at `GET /v1/catalog` for its mode from now on.
    pub fn set_catalog(&self, catalog: Catalog) {
        self.shared.lock().set_catalog(catalog);
    }

    /// A single-use enrolment token (what a technician would be given), valid 15 minutes.
    pub fn issue_enrolment_token(&self) -> Option<String> {
        self.shared.lock().issue_enrolment_token()
    }

    /// The deployment CA that signs enrolled kiosks' certificates, PEM.
    pub fn enrolment_ca_pem(&self) -> Option<String> {
        self.shared.lock().enrolment_ca_pem()
    }

    /// How many distinct submissions were accepted (replays not counted).
    pub fn received(&self) -> usize {
        self.shared.lock().received()
    }

    /// Queues a fault for the next submission request.
    pub fn inject(&self, fault: Fault) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(fault);
    }

    /// Takes the gateway down (every connection is closed unanswered) or back up.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// How many submission requests reached the gateway, replays included.
    pub fn submission_requests(&self) -> usize {
        self.shared.posts.load(Ordering::SeqCst)
    }

    /// The dossier codes of the accepted submissions, by `referenceUid` (no personal data).
    pub fn dossiers(&self) -> HashMap<String, String> {
        self.shared.lock().dossiers()
    }

    /// The procedure code (`MaTTHC`) of every accepted submission, in arrival order.
    pub fn procedure_codes(&self) -> Vec<String> {
        self.shared.lock().procedure_codes()
    }

    /// Stops the server and waits for its thread (at most one in-flight request, bounded by
    /// the client timeout of 5 s).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.shared.stop.store(true, Ordering::SeqCst);
        // `accept` blocks; a connection of our own wakes it to see the flag. This avoids a
        // polling loop that would wake the idle kiosk every few milliseconds all day.
        match TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)) {
            Ok(_) => {
                if thread.join().is_err() {
                    tracing::error!("demo gateway thread panicked");
                }
            }
            // Only possible when the process is out of file descriptors; joining would then
            // block forever, so the thread is left to end with the process.
            Err(e) => tracing::error!(error = %e, "cannot wake the demo gateway to stop it"),
        }
    }
}

impl Drop for DemoGateway {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(listener: &TcpListener, shared: &Shared) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        match conn {
            Ok(stream) => {
                if let Err(e) = serve_one(stream, shared) {
                    tracing::debug!(error = %e, "demo gateway connection failed");
                }
            }
            Err(e) => {
                // E.g. too many open files: back off instead of spinning on the error.
                tracing::warn!(error = %e, "demo gateway accept failed");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    tracing::info!("demo gateway stopped");
}

fn serve_one(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    if shared.down.load(Ordering::SeqCst) {
        // Dropping the stream unread makes the kernel reset the connection.
        return Ok(());
    }
    let response = match http::read_message(&mut stream, false) {
        Ok((head, body)) => {
            let is_submission = head.first == "POST" && head.second == "/v1/submissions";
            let fault = if is_submission {
                shared.posts.fetch_add(1, Ordering::SeqCst);
                shared
                    .faults
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front()
            } else {
                None
            };
            match fault {
                Some(Fault::Refuse) => return Ok(()),
                Some(Fault::ServerError) => {
                    Response::error(500, "injected", "injected server error")
                }
                Some(Fault::TooManyRequests { retry_after_secs }) => {
                    let mut r = Response::error(429, "too_many_requests", "slow down");
                    r.headers
                        .push(("Retry-After", retry_after_secs.to_string()));
                    r
                }
                Some(Fault::Slow(d)) => {
                    std::thread::sleep(d);
                    shared.lock().handle(&head, &body)
                }
                Some(Fault::LoseResponse) => {
                    let _committed = shared.lock().handle(&head, &body);
                    return Ok(());
                }
                None => shared.lock().handle(&head, &body),
            }
        }
        Err(e) => Response::from_http_error(&e),
    };
    stream.write_all(&response.to_bytes())?;
    stream.flush()?;
    // Lingering close: if we answered before reading the whole request (413, 400), closing
    // with unread bytes makes the kernel send a reset that can destroy our answer before the
    // client reads it. Half-close, then drain briefly.
    stream.shutdown(Shutdown::Write)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut sink = [0u8; 8192];
    let mut drained = 0usize;
    while drained < 2 * http::MAX_BODY {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, target: &str, headers: &[(&str, &str)]) -> Head {
        Head {
            first: method.to_owned(),
            second: target.to_owned(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn state() -> DemoState {
        DemoState::open(DemoGatewayConfig {
            fixed_now: Some(time::macros::datetime!(2026-01-09 16:00)),
            seed: Some(7),
            ..DemoGatewayConfig::default()
        })
        .expect("in-memory database")
    }

    fn body(uid: &str, kind: &str, dept: &str) -> Vec<u8> {
        format!(
            r#"{{"referenceUid":"{uid}","kind":"{kind}","MaTTHC":"{dept}","TenTTHC":"Khám","ChuHoSo":"NGUYEN VAN AN","SoCCCD":"001090123456","NgaySinh":"01/01/1990","faceMatched":true,"faceScore":0.9,"livenessPassed":true,"submittedAt":"20260109160000"}}"#
        )
        .into_bytes()
    }

    fn post(s: &mut DemoState, key: &str, body: &[u8]) -> Response {
        s.handle(
            &head("POST", "/v1/submissions", &[("Idempotency-Key", key)]),
            body,
        )
    }

    #[test]
    fn receipts_count_per_day_and_queue_per_department() {
        let mut s = state();
        let r1 = post(&mut s, "a", &body("a", "tthc", "1.004194"));
        assert_eq!(r1.status, 201);
        let receipt: SubmissionReceipt = serde_json::from_slice(&r1.body).expect("receipt");
        assert_eq!(receipt.dossier_code, "000.00.01.H29-260109-0001");
        assert_eq!(receipt.received_at, "20260109160000");
        assert_eq!(receipt.appointment, "20260114160000"); // Fri + 3 working days
        assert_eq!(receipt.queue_number, None);
        assert_eq!(receipt.validate(), Ok(()));

        let c1 = post(&mut s, "b", &body("b", "clinic", "K01"));
        let c2 = post(&mut s, "c", &body("c", "clinic", "K01"));
        let c3 = post(&mut s, "d", &body("d", "clinic", "K02"));
        let q = |r: &Response| {
            let rec: SubmissionReceipt = serde_json::from_slice(&r.body).expect("receipt");
            (rec.dossier_code, rec.queue_number, rec.appointment)
        };
        assert_eq!(
            q(&c1),
            (
                "000.00.01.H29-260109-0002".into(),
                Some(1),
                "20260109160000".into()
            )
        );
        assert_eq!(q(&c2).1, Some(2));
        assert_eq!(q(&c3).1, Some(1));
        assert_eq!(s.received(), 4);
    }

    #[test]
    fn business_key_dedup_under_a_new_idempotency_key() {
        let mut s = state();
        let b = body("u1", "tthc", "1.004194");
        let first = post(&mut s, "k1", &b);
        let again = post(&mut s, "k2", &b);
        assert_eq!((first.status, again.status), (201, 200));
        assert_eq!(first.body, again.body);
        let other = post(&mut s, "k3", &body("u1", "tthc", "1.000001"));
        assert_eq!(other.status, 422);
        assert_eq!(s.received(), 1);
    }

    #[test]
    fn errors_never_echo_values() {
        let mut s = state();
        let r = post(
            &mut s,
            "k",
            br#"{"referenceUid":"x","SoCCCD":001090123456}"#,
        );
        assert_eq!(r.status, 400);
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains("001090123456"), "{text}");
        let bad_id = String::from_utf8(body("x", "tthc", "1"))
            .expect("utf8")
            .replace("001090123456", "00109012345X");
        let r = post(&mut s, "k", bad_id.as_bytes());
        assert_eq!(r.status, 400);
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            text.contains("SoCCCD") && !text.contains("00109012345X"),
            "{text}"
        );
    }

    #[test]
    fn routing() {
        let mut s = state();
        assert_eq!(s.handle(&head("GET", "/healthz", &[]), b"").status, 200);
        assert_eq!(s.handle(&head("GET", "/nope", &[]), b"").status, 404);
        let r = s.handle(&head("DELETE", "/v1/submissions", &[]), b"");
        assert_eq!(r.status, 405);
        assert_eq!(r.headers, vec![("Allow", "POST".to_owned())]);
        let r = s.handle(&head("GET", "/v1/submissions/X", &[]), b"");
        assert_eq!(r.status, 400);
        let r = s.handle(&head("GET", "/v1/submissions/X?code=ABCDEFGH", &[]), b"");
        assert_eq!(r.status, 404);
    }

    #[test]
    fn enrolment_route_takes_a_bearer_token_once() {
        let mut s = state();
        let token = s.issue_enrolment_token().expect("token");
        let (_, csr) = super::super::enrol::new_key_and_csr("kiosk-01").expect("csr");
        let body = serde_json::json!({"kioskId": "kiosk-01", "csr": csr}).to_string();
        let auth = format!("Bearer {token}");
        let post = |s: &mut DemoState, auth: &str| {
            s.handle(
                &head("POST", "/v1/enrolment", &[("Authorization", auth)]),
                body.as_bytes(),
            )
        };
        assert_eq!(post(&mut s, "Bearer wrong").status, 401);
        let r = post(&mut s, &auth);
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert!(v["certificate"]
            .as_str()
            .is_some_and(|c| c.starts_with("-----BEGIN CERTIFICATE-----")));
        assert_eq!(v["caCertificate"].as_str(), s.enrolment_ca_pem().as_deref());
        assert_eq!(post(&mut s, &auth).status, 401, "single use");
        let r = s.handle(&head("GET", "/v1/enrolment", &[]), b"");
        assert_eq!(r.status, 405);
    }

    #[test]
    fn catalogue_route_serves_the_mode_with_an_etag() {
        let mut s = state();
        let r = s.handle(&head("GET", "/v1/catalog?mode=hospital", &[]), b"");
        assert_eq!(r.status, 200);
        let (c, version) =
            Catalog::from_gateway_json(&r.body, Mode::Hospital).expect("a valid catalogue");
        assert_eq!(c, Catalog::builtin(Mode::Hospital));
        let etag = format!("\"{version}\"");
        assert!(r.headers.contains(&("ETag", etag.clone())));
        let r = s.handle(
            &head(
                "GET",
                "/v1/catalog?mode=hospital",
                &[("If-None-Match", &etag)],
            ),
            b"",
        );
        assert_eq!((r.status, r.body.len()), (304, 0));
        // A new catalogue is a new version.
        let mut one = Catalog::builtin(Mode::Hospital).to_gateway_json("x");
        one["entries"].as_array_mut().expect("entries").truncate(1);
        let one = serde_json::to_vec(&one).expect("json");
        s.set_catalog(
            Catalog::from_gateway_json(&one, Mode::Hospital)
                .expect("valid")
                .0,
        );
        let r = s.handle(
            &head(
                "GET",
                "/v1/catalog?mode=hospital",
                &[("If-None-Match", &etag)],
            ),
            b"",
        );
        assert_eq!(r.status, 200);
        let (c, _) = Catalog::from_gateway_json(&r.body, Mode::Hospital).expect("valid");
        assert_eq!(c.entries().len(), 1);
        assert_eq!(
            s.handle(&head("GET", "/v1/catalog?mode=x", &[]), b"")
                .status,
            400
        );
        assert_eq!(s.handle(&head("POST", "/v1/catalog", &[]), b"").status, 405);
    }
}
