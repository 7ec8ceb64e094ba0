//! The gateway's records behind one trait, [`Store`], with two implementations:
//!
//! - [`pg::PgStore`]: **production**. PostgreSQL (the Debian `postgresql` package),
//!   shared by every replica behind the load balancer and by the admin CLI; versioned
//!   migrations embedded in the binary and applied at start under an advisory lock.
//! - [`sqlite::SqliteStore`]: the demo on a laptop and the fast tests (the rusqlite build the
//!   kiosk's outbox uses; one SQLite in a workspace build), in memory or in one file. One
//!   process only.
//!
//! What is kept: submissions with their per-kiosk idempotency keys, the receipt as first
//! sent, the dossier status for the lookup, the day's dossier sequence and clinic queue
//! counters, the catalogue per mode, the kiosk registry (heartbeats), enrolment tokens (their
//! SHA-256 only), the client certificates issued and revoked, and the forwarding queue.
//!
//! **Personal data:** a submission's body (name, ID number, date of birth) is kept only until
//! it is forwarded to the one-stop system, then erased after the configured retention
//! (default 0: at once); a dead letter's body stays [`DEAD_LETTER_RETENTION_MS`] for an
//! operator, then is erased too; a submission that is not forwarded (a clinic registration,
//! or a gateway without forwarding) never stores it. What remains is the SHA-256 of the body
//! (to tell a replay from a reused key), the receipt and the procedure: no personal data.
//! Those go too after their retention ([`crate::retention`]: idempotency keys 30 days,
//! receipts 365 days by default).

use sha2::{Digest as _, Sha256};

pub mod pg;
pub mod pg_tls;
pub mod pool;
pub mod sqlite;

pub use self::pg::PgStore;
pub use self::pool::PgPool;
pub use self::sqlite::SqliteStore;

/// Why the store failed; the message names the database, never a citizen's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite's error.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL's error (connection lost, constraint, ...).
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// The database holds something this gateway did not write (a newer schema, a bad row).
    #[error("the database is not this gateway's: {0}")]
    Schema(String),
    /// The TLS material for PostgreSQL (message naming the file or the part).
    #[error("TLS to PostgreSQL: {0}")]
    Tls(String),
    /// No database connection could be had in time (every pooled connection busy, or
    /// PostgreSQL does not answer): the request should be retried later (503).
    #[error("PostgreSQL busy or unreachable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether the failure is passing (no connection in time, a connection that broke
    /// because PostgreSQL restarted): the client should retry later, answered as 503 with
    /// `Retry-After` rather than 500.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Postgres(e) => e.is_closed(),
            _ => false,
        }
    }
}

/// The PostgreSQL connection pool of one process ([`PgStore`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections open at once (requests beyond wait for one).
    pub max_size: u32,
    /// How long a request waits for a connection before it is answered 503 with
    /// `Retry-After` (the kiosk keeps the submission in its outbox and retries).
    pub acquire_timeout: std::time::Duration,
}

impl Default for PoolSettings {
    /// 8 connections, 2 s. A replica on a 2-4 core server spends most of a submission
    /// waiting for PostgreSQL's commit (fsync), so a few connections per core keep the cores
    /// busy; PostgreSQL's default `max_connections` (100) still leaves room for 10 replicas
    /// and the admin CLI. A transaction takes milliseconds, so no connection in 2 s means
    /// PostgreSQL is down or overwhelmed: the kiosk (15 s request timeout) is told to come
    /// back rather than kept waiting.
    fn default() -> Self {
        Self {
            max_size: 8,
            acquire_timeout: std::time::Duration::from_secs(2),
        }
    }
}

/// How long a dead letter's body is kept for an operator to resend or correct it: 30 days.
pub const DEAD_LETTER_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

/// Result of the store's operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// An outstanding or spent enrolment token as `token list` shows it (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// First 12 hex digits of its hash (to tell tokens apart).
    pub id: String,
    /// The kiosk it is bound to.
    pub kiosk: String,
    /// The site it is bound to.
    pub site: String,
    /// Expiry, Unix ms.
    pub expires_ms: i64,
    /// `outstanding`, `used`, `revoked` or `expired` (at the `now_ms` of the listing).
    pub state: &'static str,
}

impl TokenRow {
    /// The state word for a token's columns at `now_ms`.
    #[must_use]
    pub fn state_of(expires_ms: i64, used: bool, revoked: bool, now_ms: i64) -> &'static str {
        match (used, revoked) {
            (true, _) => "used",
            (false, true) => "revoked",
            (false, false) if expires_ms < now_ms => "expired",
            (false, false) => "outstanding",
        }
    }
}

/// A presented token's row: what an enrolment checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCheck {
    /// The kiosk it is bound to.
    pub kiosk: String,
    /// The site.
    pub site: String,
    /// Expiry, Unix ms.
    pub expires_ms: i64,
    /// Spent by an enrolment.
    pub used: bool,
    /// Revoked by an operator.
    pub revoked: bool,
}

/// A client certificate the CA issued, for the revocation list and the expiry metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRecord {
    /// Serial, lower-case hex.
    pub serial: String,
    /// The kiosk (its CN).
    pub kiosk: String,
    /// The site.
    pub site: String,
    /// Issued, Unix ms.
    pub issued_ms: i64,
    /// End of validity, Unix ms.
    pub not_after_ms: i64,
}

/// A submission already accepted: enough to answer a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Row id.
    pub id: i64,
    /// SHA-256 (hex) of the body first received.
    pub body_hash: String,
    /// The receipt's JSON as first sent.
    pub receipt: Vec<u8>,
}

/// A submission to record.
#[derive(Debug, Clone, Copy)]
pub struct NewSubmission<'a> {
    /// The verified kiosk id (`-` on the demo's plain HTTP).
    pub kiosk: &'a str,
    /// Its `Idempotency-Key`.
    pub key: &'a str,
    /// `referenceUid`.
    pub reference_uid: &'a str,
    /// `tthc` or `clinic`.
    pub kind: &'a str,
    /// `MaTTHC`.
    pub procedure_code: &'a str,
    /// `TenTTHC` (for the lookup after the body is erased).
    pub procedure_name: &'a str,
    /// The body as received (personal: erased after forwarding).
    pub body: &'a [u8],
    /// The day of the dossier sequence, `YYYY-MM-DD` in Asia/Ho_Chi_Minh.
    pub day: &'a str,
    /// For a clinic registration: the department whose queue number to draw.
    pub queue_department: Option<&'a str>,
    /// Queue it for forwarding to the one-stop system.
    pub forward: bool,
    /// Now, Unix ms.
    pub now_ms: i64,
}

/// The receipt a store asks for once it holds the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRow {
    /// `MaHoSo`.
    pub dossier_code: String,
    /// `MaTraCuu`.
    pub lookup_code: String,
    /// The receipt's JSON, sent as the 201 body and to every replay.
    pub json: Vec<u8>,
}

/// What [`Store::accept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Recorded: the receipt to answer with.
    New(Vec<u8>),
    /// Nothing recorded: a unique key was taken meanwhile (the same `referenceUid` or
    /// idempotency key accepted by another replica, or a lookup code drawn twice). Look the
    /// submission up again, or retry with a new lookup code.
    Conflict,
}

/// What the status lookup shows (no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// `TenTTHC`.
    pub procedure_name: String,
    /// `received`, `forwarded`, `forward_failed`, or what the one-stop system reported since
    /// (`processing`, `ready`, `returned`, `done`).
    pub status: String,
    /// The receipt's JSON.
    pub receipt: Vec<u8>,
    /// Where to collect the result, if the one-stop system said.
    pub collect_place: Option<String>,
    /// From when, `yyyyMMddHHmmss`, if the one-stop system said.
    pub collect_at: Option<String>,
}

/// The states whose progress the gateway asks the one-stop system for (forwarded, not
/// final).
pub const POLLED_STATES: [&str; 4] = ["forwarded", "processing", "ready", "returned"];

/// One forwarded dossier whose progress to ask the one-stop system for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollJob {
    /// The submission's row id.
    pub id: i64,
    /// `referenceUid`: how the one-stop system knows it.
    pub reference_uid: String,
    /// `MaHoSo`.
    pub dossier_code: String,
    /// Its state now.
    pub status: String,
    /// Polls without news (no change, or failed) in a row, for the backoff.
    pub attempts: u32,
}

/// What the one-stop system reported for a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The new state (one of [`POLLED_STATES`] or `done`).
    pub status: String,
    /// Where to collect the result.
    pub collect_place: Option<String>,
    /// From when, `yyyyMMddHHmmss`.
    pub collect_at: Option<String>,
}

/// One leased item of the forwarding queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardJob {
    /// The submission's row id.
    pub id: i64,
    /// `referenceUid`: the one-stop system's idempotency key.
    pub reference_uid: String,
    /// `MaHoSo`.
    pub dossier_code: String,
    /// The body (personal).
    pub body: Vec<u8>,
    /// Attempts before this one.
    pub attempts: u32,
}

/// A catalogue as served: the document and its version (the ETag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// `{"version": ..., "entries": [...]}`.
    pub json: Vec<u8>,
    /// The version.
    pub version: String,
}

/// The numbers `/metrics` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Submissions waiting to be forwarded (including those leased now).
    pub forward_pending: u64,
    /// Submissions given up on (dead letters): an operator must look.
    pub forward_dead: u64,
    /// Distinct kiosks seen (heartbeat or submission) since the given time.
    pub kiosks_seen: u64,
    /// Per kiosk, the latest not-revoked certificate's end of validity, Unix ms.
    pub cert_not_after: Vec<(String, i64)>,
}

/// The records, as the protocol ([`crate::State`]) and the admin CLI use them.
///
/// Every method is one transaction: a crash leaves all of it or none. Times are passed in.
pub trait Store: Send {
    /// Another handle on the same records that can be used at the same time as this one
    /// (a pooled store: [`PgStore`]); `None` (the default, SQLite): one handle only, callers
    /// take turns on it.
    fn try_clone(&self) -> Option<Box<dyn Store>> {
        None
    }

    /// A cheap query: the database answers (readiness).
    ///
    /// # Errors
    ///
    /// The database is unreachable.
    fn ping(&mut self) -> Result<()>;

    /// Records a new token's hash bound to `kiosk` and `site`.
    ///
    /// # Errors
    ///
    /// The database.
    fn insert_token(
        &mut self,
        hash: &str,
        kiosk: &str,
        site: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()>;

    /// Every token, newest first.
    ///
    /// # Errors
    ///
    /// The database.
    fn list_tokens(&mut self, now_ms: i64) -> Result<Vec<TokenRow>>;

    /// Revokes the unused tokens of `kiosk`; how many.
    ///
    /// # Errors
    ///
    /// The database.
    fn revoke_tokens(&mut self, kiosk: &str, now_ms: i64) -> Result<u64>;

    /// The token with this hash.
    ///
    /// # Errors
    ///
    /// The database.
    fn find_token(&mut self, hash: &str) -> Result<Option<TokenCheck>>;

    /// Spends the token (if still unused) and records the certificate, together; `false` if
    /// the token was spent meanwhile (nothing recorded).
    ///
    /// # Errors
    ///
    /// The database.
    fn spend_token(&mut self, hash: &str, cert: &CertRecord, now_ms: i64) -> Result<bool>;

    /// Records a renewed certificate.
    ///
    /// # Errors
    ///
    /// The database.
    fn record_certificate(&mut self, cert: &CertRecord) -> Result<()>;

    /// The site of the kiosk's latest certificate.
    ///
    /// # Errors
    ///
    /// The database.
    fn latest_site(&mut self, kiosk: &str) -> Result<Option<String>>;

    /// Revokes every certificate of `kiosk` and its unused tokens; how many certificates.
    ///
    /// # Errors
    ///
    /// The database.
    fn revoke_kiosk(&mut self, kiosk: &str, now_ms: i64) -> Result<u64>;

    /// Whether the certificate with this serial was revoked.
    ///
    /// # Errors
    ///
    /// The database.
    fn is_revoked(&mut self, serial: &str) -> Result<bool>;

    /// The submission under this kiosk's idempotency key.
    ///
    /// # Errors
    ///
    /// The database.
    fn by_key(&mut self, kiosk: &str, key: &str) -> Result<Option<Stored>>;

    /// The submission with this `referenceUid`.
    ///
    /// # Errors
    ///
    /// The database.
    fn by_uid(&mut self, reference_uid: &str) -> Result<Option<Stored>>;

    /// Adds another idempotency key for an accepted submission (the same submission under a
    /// new key); a key already there is left as is.
    ///
    /// # Errors
    ///
    /// The database.
    fn add_key(&mut self, kiosk: &str, key: &str, id: i64) -> Result<()>;

    /// Draws the day's dossier number (and the department's queue number), asks `receipt`
    /// for the receipt with them, and records the submission, its key and (if asked) its
    /// forwarding, in one transaction.
    ///
    /// # Errors
    ///
    /// The database.
    fn accept(
        &mut self,
        new: &NewSubmission<'_>,
        receipt: &mut dyn FnMut(u32, Option<u32>) -> ReceiptRow,
    ) -> Result<Accepted>;

    /// The status of the dossier, if `lookup_code` is its lookup code.
    ///
    /// # Errors
    ///
    /// The database.
    fn status(&mut self, dossier_code: &str, lookup_code: &str) -> Result<Option<StatusRow>>;

    /// Stores the catalogue served for `mode` (every replica serves the same).
    ///
    /// # Errors
    ///
    /// The database.
    fn set_catalog(&mut self, mode: &str, catalog: &Catalog) -> Result<()>;

    /// The catalogue for `mode`.
    ///
    /// # Errors
    ///
    /// The database.
    fn catalog(&mut self, mode: &str) -> Result<Option<Catalog>>;

    /// Records a kiosk's heartbeat (its JSON, no personal data) in the registry.
    ///
    /// # Errors
    ///
    /// The database.
    fn heartbeat(&mut self, kiosk: &str, json: &[u8], now_ms: i64) -> Result<()>;

    /// The recorded heartbeat of every kiosk seen since `seen_since_ms`, by kiosk id: `(kiosk,
    /// the JSON [`Store::heartbeat`] stored)`. Kiosks without a heartbeat are left out.
    ///
    /// # Errors
    ///
    /// The database.
    fn heartbeats(&mut self, seen_since_ms: i64) -> Result<Vec<(String, Vec<u8>)>>;

    /// Leases up to `limit` due forwarding items for `lease_ms` (other replicas skip them; a
    /// lease that runs out, because its replica died, makes the item due again).
    ///
    /// # Errors
    ///
    /// The database.
    fn lease_forward(&mut self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<ForwardJob>>;

    /// The one-stop system took the submission: done; its body is erased once
    /// `retention_ms` have passed (0: now).
    ///
    /// # Errors
    ///
    /// The database.
    fn forward_done(&mut self, id: i64, now_ms: i64, retention_ms: i64) -> Result<()>;

    /// The attempt failed: due again at `retry_at_ms`, or a dead letter if `None` (the body
    /// is kept for the operator for [`DEAD_LETTER_RETENTION_MS`]).
    ///
    /// # Errors
    ///
    /// The database.
    fn forward_failed(
        &mut self,
        id: i64,
        retry_at_ms: Option<i64>,
        error: &str,
        now_ms: i64,
    ) -> Result<()>;

    /// Leases up to `limit` forwarded, not final dossiers whose poll is due at `now_ms`, for
    /// `lease_ms` (another replica skips them; a replica that dies lets them fall due again).
    ///
    /// # Errors
    ///
    /// The database.
    fn lease_status_polls(
        &mut self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<PollJob>>;

    /// Records a poll: the new state if the one-stop system reported one (`None`: no change, or
    /// no answer), the next poll at `next_due_ms`; `quiet` counts one more poll without news
    /// (for the backoff; reset to 0 otherwise). A dossier no longer in [`POLLED_STATES`] is
    /// left alone.
    ///
    /// # Errors
    ///
    /// The database.
    fn status_polled(
        &mut self,
        id: i64,
        update: Option<&StatusUpdate>,
        next_due_ms: i64,
        quiet: bool,
    ) -> Result<()>;

    /// Erases the bodies whose retention has passed; how many.
    ///
    /// # Errors
    ///
    /// The database.
    fn erase_due(&mut self, now_ms: i64) -> Result<u64>;

    /// The gauges for `/metrics`; kiosks counted if seen since `seen_since_ms`.
    ///
    /// # Errors
    ///
    /// The database.
    fn gauges(&mut self, seen_since_ms: i64) -> Result<Gauges>;

    /// How many distinct submissions were accepted.
    ///
    /// # Errors
    ///
    /// The database.
    fn count_submissions(&mut self) -> Result<u64>;

    /// `(referenceUid, MaHoSo, MaTTHC)` of every submission, in arrival order (no personal
    /// data; tests and the demo).
    ///
    /// # Errors
    ///
    /// The database.
    fn submissions(&mut self) -> Result<Vec<(String, String, String)>>;

    /// Deletes up to `limit` idempotency keys of submissions received before `before_ms`;
    /// how many. (A replay of such a submission is still answered from its `referenceUid`
    /// while the submission is kept.) Safe to run on several replicas at once.
    ///
    /// # Errors
    ///
    /// The database.
    fn prune_keys(&mut self, before_ms: i64, limit: u32) -> Result<u64>;

    /// Deletes up to `limit` submissions received before `before_ms` whose forwarding is not
    /// pending (receipt, status, keys, the finished queue row); how many. Their status lookup
    /// answers "not found" afterwards. Safe to run on several replicas at once.
    ///
    /// # Errors
    ///
    /// The database.
    fn prune_receipts(&mut self, before_ms: i64, limit: u32) -> Result<u64>;

    /// How many rows [`Store::prune_keys`] and [`Store::prune_receipts`] would delete with
    /// these cutoffs, without a limit (`prune --dry-run`).
    ///
    /// # Errors
    ///
    /// The database.
    fn count_prunable(
        &mut self,
        keys_before_ms: i64,
        receipts_before_ms: i64,
    ) -> Result<(u64, u64)>;

    /// The dead letters (no personal data), oldest first.
    ///
    /// # Errors
    ///
    /// The database.
    fn dead_letters(&mut self) -> Result<Vec<DeadLetter>>;

    /// Puts a dead letter (or, with `None`, every dead letter whose body is still kept) back
    /// in the forwarding queue, due at `now_ms` with its attempts reset; how many. A dead
    /// letter whose body was erased cannot be retried.
    ///
    /// # Errors
    ///
    /// The database.
    fn retry_dead(&mut self, id: Option<i64>, now_ms: i64) -> Result<u64>;

    /// Gives a dead letter up for good: its body erased now, out of the dead-letter list
    /// (state `dropped`; its status lookup still says `forward_failed`); `false` if `id` is
    /// not a dead letter.
    ///
    /// # Errors
    ///
    /// The database.
    fn drop_dead(&mut self, id: i64) -> Result<bool>;
}

/// A dead letter as `kiosk-gateway forward dead list` shows it (no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The submission's row id (what `forward retry|drop` take).
    pub id: i64,
    /// The kiosk that sent it.
    pub kiosk: String,
    /// `MaTTHC`.
    pub procedure_code: String,
    /// Forwarding attempts made.
    pub attempts: u32,
    /// The last attempt's error (the adapter's status or a network error).
    pub last_error: String,
    /// When the submission was received, Unix ms.
    pub received_ms: i64,
    /// Whether its body is still kept (it can be retried).
    pub has_body: bool,
}

/// The SHA-256 of a token or body, hex: what the database keeps instead.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::ca::hex(&Sha256::digest(bytes))
}

/// The SHA-256 of a token, hex.
#[must_use]
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Where the records are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StoreConfig {
    /// SQLite in memory (the demo, tests).
    #[default]
    Memory,
    /// A SQLite file (a demo that keeps its records; one process).
    Sqlite(std::path::PathBuf),
    /// PostgreSQL (production, several replicas): a libpq-style connection string, e.g.
    /// `host=/run/postgresql dbname=kiosk_gateway user=kiosk_gateway`.
    Postgres(String),
    /// PostgreSQL over TLS (a database on another host): the connection string (with
    /// `sslmode=require`) and the PEM file of the CA that signed the server's certificate.
    PostgresTls {
        /// The connection string.
        url: String,
        /// The CA file.
        ca: std::path::PathBuf,
    },
}

impl StoreConfig {
    /// Opens (creating, migrating) the store.
    ///
    /// # Errors
    ///
    /// The database cannot be opened or migrated.
    pub fn open(&self) -> Result<Box<dyn Store>> {
        self.open_pooled(PoolSettings::default())
    }

    /// As [`StoreConfig::open`], with these pool settings for PostgreSQL (ignored by SQLite).
    ///
    /// # Errors
    ///
    /// The database cannot be opened or migrated.
    pub fn open_pooled(&self, pool: PoolSettings) -> Result<Box<dyn Store>> {
        Ok(match self {
            Self::Memory => Box::new(SqliteStore::open(None)?),
            Self::Sqlite(p) => Box::new(SqliteStore::open(Some(p))?),
            Self::Postgres(url) => Box::new(PgStore::connect_pooled(url, None, pool)?),
            Self::PostgresTls { url, ca } => {
                let pem = std::fs::read_to_string(ca)
                    .map_err(|e| StoreError::Tls(format!("{}: {e}", ca.display())))?;
                let tls = pg_tls::RustlsMake::new(&pem).map_err(StoreError::Tls)?;
                Box::new(PgStore::connect_pooled(url, Some(tls), pool)?)
            }
        })
    }

    /// For messages: the file, `:memory:`, or the connection string without a password.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Memory => ":memory:".to_owned(),
            Self::Sqlite(p) => p.display().to_string(),
            Self::Postgres(url) | Self::PostgresTls { url, .. } => url
                .split_whitespace()
                .filter(|kv| !kv.starts_with("password"))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

#[cfg(test)]
pub(crate) mod contract {
    //! One behaviour test run against both stores.

    use super::*;

    fn new<'a>(uid: &'a str, key: &'a str, body: &'a [u8]) -> NewSubmission<'a> {
        NewSubmission {
            kiosk: "kiosk-01",
            key,
            reference_uid: uid,
            kind: "tthc",
            procedure_code: "1.004194",
            procedure_name: "Đăng ký tạm trú",
            body,
            day: "2026-01-05",
            queue_department: None,
            forward: true,
            now_ms: 1000,
        }
    }

    fn receipt(seq: u32, code: &str) -> ReceiptRow {
        ReceiptRow {
            dossier_code: format!("D-{seq:04}"),
            lookup_code: code.to_owned(),
            json: format!("{{\"MaHoSo\":\"D-{seq:04}\"}}").into_bytes(),
        }
    }

    /// Tokens, certificates, submissions, conflicts, forwarding leases, erasure, gauges.
    pub(crate) fn check(s: &mut dyn Store) {
        s.ping().expect("ping");
        // Tokens: hashed, single use, listed by state.
        s.insert_token(&token_hash("secret-a"), "kiosk-01", "HN-01", 0, 10_000)
            .expect("a");
        s.insert_token(&token_hash("secret-b"), "kiosk-02", "HN-01", 1, 10)
            .expect("b");
        let states: Vec<_> = s
            .list_tokens(100)
            .expect("list")
            .into_iter()
            .map(|t| (t.kiosk, t.state))
            .collect();
        assert_eq!(
            states,
            [
                ("kiosk-02".to_owned(), "expired"),
                ("kiosk-01".to_owned(), "outstanding")
            ]
        );
        let cert = CertRecord {
            serial: "0a".into(),
            kiosk: "kiosk-01".into(),
            site: "HN-01".into(),
            issued_ms: 5,
            not_after_ms: 86_400_000,
        };
        let ha = token_hash("secret-a");
        assert!(s.spend_token(&ha, &cert, 50).expect("spend"));
        let again = CertRecord {
            serial: "0b".into(),
            ..cert.clone()
        };
        assert!(!s.spend_token(&ha, &again, 51).expect("spent"));
        assert!(s.find_token(&ha).expect("find").is_some_and(|t| t.used));
        assert_eq!(s.find_token(&token_hash("nope")).expect("find"), None);
        assert_eq!(
            s.latest_site("kiosk-01").expect("site").as_deref(),
            Some("HN-01")
        );
        assert!(!s.is_revoked("0a").expect("revoked?"));
        // Submissions: a conflict on referenceUid records nothing.
        let mut n = 0;
        let r = s
            .accept(&new("uid-1", "key-1", b"body-1"), &mut |seq, q| {
                assert_eq!((seq, q), (1, None));
                n += 1;
                receipt(seq, "AAAAAAAA")
            })
            .expect("accept");
        assert_eq!(r, Accepted::New(b"{\"MaHoSo\":\"D-0001\"}".to_vec()));
        let dup = s
            .accept(&new("uid-1", "key-2", b"body-1"), &mut |seq, _| {
                receipt(seq, "BBBBBBBB")
            })
            .expect("dup");
        assert_eq!(dup, Accepted::Conflict);
        // The same lookup code drawn twice: a conflict too; the sequence is not consumed.
        let clash = s
            .accept(&new("uid-2", "key-2", b"body-2"), &mut |seq, _| {
                receipt(seq, "AAAAAAAA")
            })
            .expect("clash");
        assert_eq!(clash, Accepted::Conflict);
        let clinic = NewSubmission {
            queue_department: Some("KHAM-NOI"),
            kind: "clinic",
            forward: false,
            ..new("uid-2", "key-2", b"body-2")
        };
        let r = s
            .accept(&clinic, &mut |seq, q| {
                assert_eq!((seq, q), (2, Some(1)));
                receipt(seq, "CCCCCCCC")
            })
            .expect("clinic");
        assert!(matches!(r, Accepted::New(_)));
        let by_key = s.by_key("kiosk-01", "key-1").expect("key").expect("found");
        assert_eq!(by_key.body_hash, sha256_hex(b"body-1"));
        assert_eq!(s.by_key("kiosk-02", "key-1").expect("other kiosk"), None);
        let by_uid = s.by_uid("uid-1").expect("uid").expect("found");
        assert_eq!(by_uid.id, by_key.id);
        s.add_key("kiosk-01", "key-9", by_uid.id).expect("add");
        s.add_key("kiosk-01", "key-9", by_uid.id)
            .expect("add twice");
        assert_eq!(
            s.by_key("kiosk-01", "key-9").expect("key 9").map(|x| x.id),
            Some(by_uid.id)
        );
        assert_eq!(s.count_submissions().expect("count"), 2);
        let st = s
            .status("D-0001", "AAAAAAAA")
            .expect("status")
            .expect("found");
        assert_eq!(st.status, "received");
        assert_eq!(s.status("D-0001", "CCCCCCCC").expect("status"), None);
        // Forwarding: only the TTHC was queued; a lease hides it from a second leaser.
        let jobs = s.lease_forward(2000, 30_000, 10).expect("lease");
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            (
                jobs[0].reference_uid.as_str(),
                jobs[0].body.as_slice(),
                jobs[0].attempts
            ),
            ("uid-1", &b"body-1"[..], 0)
        );
        assert!(s
            .lease_forward(2001, 30_000, 10)
            .expect("leased")
            .is_empty());
        // A failure makes it due again at the retry time, with one attempt counted.
        s.forward_failed(jobs[0].id, Some(5000), "HTTP 503", 2002)
            .expect("failed");
        assert!(s.lease_forward(4999, 30_000, 10).expect("early").is_empty());
        let jobs = s.lease_forward(5000, 30_000, 10).expect("due");
        assert_eq!(jobs.first().map(|j| j.attempts), Some(1));
        let g = s.gauges(0).expect("gauges");
        assert_eq!(
            (g.forward_pending, g.forward_dead, g.kiosks_seen),
            (1, 0, 1)
        );
        assert_eq!(g.cert_not_after, [("kiosk-01".to_owned(), 86_400_000)]);
        // Done with retention 0: the body is gone at once, the status says forwarded, the
        // replay check (hash) still works.
        s.forward_done(jobs[0].id, 6000, 0).expect("done");
        assert!(s
            .lease_forward(90_000, 30_000, 10)
            .expect("none")
            .is_empty());
        let st = s
            .status("D-0001", "AAAAAAAA")
            .expect("status")
            .expect("found");
        assert_eq!(st.status, "forwarded");
        assert_eq!(
            s.by_uid("uid-1").expect("uid").map(|x| x.body_hash),
            Some(sha256_hex(b"body-1"))
        );
        assert_eq!(s.erase_due(7000).expect("erase"), 0, "already erased");
        // Status polls: only the forwarded dossier is due; a lease hides it.
        let polls = s.lease_status_polls(7000, 60_000, 10).expect("polls");
        assert_eq!(
            polls
                .iter()
                .map(|p| (p.reference_uid.as_str(), p.status.as_str(), p.attempts))
                .collect::<Vec<_>>(),
            [("uid-1", "forwarded", 0)]
        );
        assert!(s
            .lease_status_polls(7001, 60_000, 10)
            .expect("leased")
            .is_empty());
        s.status_polled(polls[0].id, None, 8000, true)
            .expect("failed poll");
        let again = s.lease_status_polls(8000, 60_000, 10).expect("due again");
        assert_eq!(again.first().map(|p| p.attempts), Some(1));
        let ready = StatusUpdate {
            status: "ready".into(),
            collect_place: Some("Quầy 3".into()),
            collect_at: Some("20260106080000".into()),
        };
        s.status_polled(polls[0].id, Some(&ready), 9000, false)
            .expect("ready");
        let st = s
            .status("D-0001", "AAAAAAAA")
            .expect("status")
            .expect("found");
        assert_eq!(
            (
                st.status.as_str(),
                st.collect_place.as_deref(),
                st.collect_at.as_deref()
            ),
            ("ready", Some("Quầy 3"), Some("20260106080000"))
        );
        let done = StatusUpdate {
            status: "done".into(),
            collect_place: None,
            collect_at: None,
        };
        let p = s.lease_status_polls(9000, 60_000, 10).expect("due");
        assert_eq!(
            p.first().map(|p| p.attempts),
            Some(0),
            "reset by a good poll"
        );
        s.status_polled(polls[0].id, Some(&done), 10_000, false)
            .expect("done");
        assert!(s
            .lease_status_polls(99_999_999, 60_000, 10)
            .expect("final")
            .is_empty());
        // A final state stays final whatever a late poll says.
        s.status_polled(polls[0].id, Some(&ready), 10_001, false)
            .expect("late");
        let st = s
            .status("D-0001", "AAAAAAAA")
            .expect("status")
            .expect("found");
        assert_eq!(st.status, "done");
        // Catalogue and heartbeat.
        let cat = Catalog {
            json: b"{\"version\":\"v1\",\"entries\":[]}".to_vec(),
            version: "v1".into(),
        };
        s.set_catalog("hospital", &cat).expect("set");
        s.set_catalog("hospital", &cat).expect("set again");
        assert_eq!(s.catalog("hospital").expect("cat"), Some(cat));
        assert_eq!(s.catalog("one-stop-shop").expect("cat"), None);
        s.heartbeat("kiosk-07", b"{}", 10_000).expect("heartbeat");
        s.heartbeat("kiosk-07", b"{}", 10_001).expect("heartbeat");
        assert_eq!(s.gauges(9_000).expect("gauges").kiosks_seen, 1);
        s.heartbeat("kiosk-08", b"{\"n\":1}", 500)
            .expect("old heartbeat");
        assert_eq!(
            s.heartbeats(9_000).expect("heartbeats"),
            [("kiosk-07".to_owned(), b"{}".to_vec())]
        );
        assert_eq!(s.heartbeats(0).expect("heartbeats").len(), 2);
        // Revocation.
        assert_eq!(s.revoke_kiosk("kiosk-01", 8000).expect("revoke"), 1);
        assert!(s.is_revoked("0a").expect("revoked"));
        assert!(s.gauges(0).expect("gauges").cert_not_after.is_empty());
        assert_eq!(
            s.submissions().expect("list"),
            [
                (
                    "uid-1".to_owned(),
                    "D-0001".to_owned(),
                    "1.004194".to_owned()
                ),
                (
                    "uid-2".to_owned(),
                    "D-0002".to_owned(),
                    "1.004194".to_owned()
                )
            ]
        );
    }

    /// Retention: old keys and receipts go in bounded batches, young ones and a submission
    /// still waiting to be forwarded stay; the status lookup of a pruned dossier finds
    /// nothing (the protocol answers 404), a replay of a pruned key is caught by its
    /// `referenceUid` while the submission is kept.
    pub(crate) fn check_retention(s: &mut dyn Store) {
        const DAY: i64 = 24 * 3600 * 1000;
        let now = 400 * DAY;
        let at = |uid: &'static str, key: &'static str, when: i64, forward: bool| NewSubmission {
            now_ms: when,
            forward,
            ..new(uid, key, b"body")
        };
        let olds = [
            ("old-1", "k-old-1", "OLD00001", now - 380 * DAY, false),
            ("old-2", "k-old-2", "OLD00002", now - 370 * DAY, true),
            ("old-pending", "k-old-p", "OLD0000P", now - 390 * DAY, true),
            ("mid", "k-mid", "MID00001", now - 40 * DAY, false),
            ("young", "k-young", "YNG00001", now - DAY, true),
        ];
        for (uid, key, code, when, forward) in olds {
            let r = s
                .accept(&at(uid, key, when, forward), &mut |seq, _| ReceiptRow {
                    dossier_code: format!("D-{uid}"),
                    lookup_code: code.to_owned(),
                    json: format!("{{\"seq\":{seq}}}").into_bytes(),
                })
                .expect("accept");
            assert!(matches!(r, Accepted::New(_)), "{uid}");
        }
        // old-2 and young were forwarded; old-pending is still waiting (never pruned).
        let jobs = s.lease_forward(now, 60_000, 10).expect("lease");
        assert_eq!(jobs.len(), 3);
        for j in jobs.iter().filter(|j| j.reference_uid != "old-pending") {
            s.forward_done(j.id, now, 0).expect("done");
        }
        let r = crate::retention::Retention {
            batch: 1,
            ..crate::retention::Retention::default()
        };
        // Dry run: counts, deletes nothing. Keys of old-1, old-2, old-pending, mid (4);
        // receipts old-1 and old-2 (2).
        let counted = r.count(s, now).expect("count");
        assert_eq!((counted.keys, counted.receipts), (4, 2));
        assert_eq!(s.count_submissions().expect("n"), 5);
        // Batches of one: all of it still goes in one run.
        let pruned = r.prune(s, now).expect("prune");
        assert_eq!(
            (pruned.receipts, pruned.keys),
            (2, 2),
            "keys of old-pending and mid"
        );
        assert_eq!(
            s.status("D-old-1", "OLD00001").expect("status"),
            None,
            "a pruned dossier is unknown"
        );
        assert_eq!(s.status("D-old-2", "OLD00002").expect("status"), None);
        assert_eq!(
            s.status("D-young", "YNG00001")
                .expect("status")
                .map(|r| r.status),
            Some("forwarded".to_owned())
        );
        assert!(s.status("D-mid", "MID00001").expect("status").is_some());
        assert!(s
            .by_key("kiosk-01", "k-young")
            .expect("young key")
            .is_some());
        assert_eq!(s.by_key("kiosk-01", "k-mid").expect("mid key"), None);
        assert!(s.by_uid("mid").expect("mid uid").is_some(), "replay by uid");
        assert!(s
            .status("D-old-pending", "OLD0000P")
            .expect("status")
            .is_some());
        assert_eq!(s.count_submissions().expect("n"), 3);
        // Again: nothing left to do (another replica pruned first).
        assert_eq!(
            r.prune(s, now).expect("again"),
            crate::retention::Pruned::default()
        );
        assert_eq!(
            r.count(s, now).expect("count"),
            crate::retention::Pruned::default()
        );
    }

    /// The operator's dead-letter commands: list (no body), retry one or all (back in the
    /// queue, attempts reset), drop (body erased, out of the list).
    pub(crate) fn check_dead_letter_ops(s: &mut dyn Store) {
        for (uid, key, code) in [
            ("uid-a", "key-a", "AAAAAAAA"),
            ("uid-b", "key-b", "BBBBBBBB"),
            ("uid-c", "key-c", "CCCCCCCC"),
        ] {
            s.accept(&new(uid, key, b"body"), &mut |seq, _| receipt(seq, code))
                .expect("accept");
        }
        for j in s.lease_forward(1000, 10, 10).expect("lease") {
            s.forward_failed(j.id, None, "HTTP 400", 1500)
                .expect("dead");
        }
        let dead = s.dead_letters().expect("list");
        assert_eq!(dead.len(), 3);
        assert_eq!(
            (
                dead[0].kiosk.as_str(),
                dead[0].procedure_code.as_str(),
                dead[0].attempts,
                dead[0].last_error.as_str(),
                dead[0].received_ms,
                dead[0].has_body
            ),
            ("kiosk-01", "1.004194", 1, "HTTP 400", 1000, true)
        );
        let (a, b, c) = (dead[0].id, dead[1].id, dead[2].id);
        // Retry one: due now, attempts from 0, status back to received.
        assert_eq!(s.retry_dead(Some(a), 2000).expect("retry"), 1);
        assert_eq!(
            s.retry_dead(Some(a), 2000).expect("again"),
            0,
            "not dead now"
        );
        let jobs = s.lease_forward(2000, 10, 10).expect("lease");
        assert_eq!(
            jobs.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(),
            [(a, 0)]
        );
        assert_eq!(
            s.status("D-0001", "AAAAAAAA").expect("s").map(|r| r.status),
            Some("received".to_owned())
        );
        // Drop one: out of the list and the gauge, body erased, never retried.
        assert!(s.drop_dead(b).expect("drop"));
        assert!(!s.drop_dead(b).expect("drop twice"));
        assert!(!s.drop_dead(a).expect("not dead"));
        assert_eq!(s.retry_dead(Some(b), 3000).expect("dropped"), 0);
        assert_eq!(s.gauges(0).expect("g").forward_dead, 1);
        // A dead letter whose body was erased cannot be retried.
        assert_eq!(
            s.erase_due(1500 + DEAD_LETTER_RETENTION_MS).expect("erase"),
            1
        );
        let left = s.dead_letters().expect("list");
        assert_eq!(
            left.iter().map(|d| (d.id, d.has_body)).collect::<Vec<_>>(),
            [(c, false)]
        );
        assert_eq!(s.retry_dead(None, 4000).expect("all"), 0);
    }

    /// A dead letter stays out of the queue, shows in the status and the gauges, and its body
    /// is erased after [`DEAD_LETTER_RETENTION_MS`].
    pub(crate) fn check_dead_letter(s: &mut dyn Store) {
        let r = s
            .accept(&new("uid-d", "key-d", b"body-d"), &mut |seq, _| {
                receipt(seq, "DDDDDDDD")
            })
            .expect("accept");
        assert!(matches!(r, Accepted::New(_)));
        let job = s
            .lease_forward(1000, 10, 1)
            .expect("lease")
            .pop()
            .expect("job");
        s.forward_failed(job.id, None, "HTTP 400", 2).expect("dead");
        assert_eq!(s.gauges(0).expect("g").forward_dead, 1);
        assert!(s.lease_forward(100_000, 10, 1).expect("lease").is_empty());
        let st = s.status("D-0001", "DDDDDDDD").expect("s").expect("found");
        assert_eq!(st.status, "forward_failed");
        assert_eq!(s.erase_due(1 + DEAD_LETTER_RETENTION_MS).expect("kept"), 0);
        assert_eq!(
            s.erase_due(2 + DEAD_LETTER_RETENTION_MS).expect("erased"),
            1
        );
    }
}
