//! [`Outbox`]: the SQLCipher-encrypted table of submissions and every state change of a row.
//!
//! ```text
//!  enqueue ─► pending ──claim──► in_flight ──ack──► delivered (payload erased)
//!               ▲  ▲               │  │
//!               │  └─retry_later───┘  └──dead──► dead (+ alert) ──retry──► pending
//!               └──── lease expired (crash) ─────┘
//! ```
//!
//! Every method is one short transaction on one connection behind a mutex. Times are passed
//! in as Unix milliseconds so the tests (and the worker under a mocked clock) decide what
//! "now" is. Durability: WAL with `synchronous=FULL`, so a commit that returned survives a
//! power cut; that is what lets the kiosk print "received" before the gateway has it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::key::QueueKey;
use crate::schema::{self, MigrateError};

/// Longest error text kept in a row: enough to diagnose, bounded so a misbehaving gateway
/// cannot fill the disk.
const MAX_ERROR_LEN: usize = 300;

/// What a submission is for (the gateway's intake path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An administrative procedure for the one-stop-shop office.
    Tthc,
    /// A clinic registration (FHIR on the gateway side).
    Clinic,
}

impl Kind {
    /// The stored (and displayed) name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tthc => "tthc",
            Self::Clinic => "clinic",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "tthc" => Some(Self::Tthc),
            "clinic" => Some(Self::Clinic),
            _ => None,
        }
    }
}

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for its next attempt.
    Pending,
    /// Being sent by a worker that holds a lease on it.
    InFlight,
    /// The gateway acknowledged it; the payload is erased.
    Delivered,
    /// Given up (refused by the gateway, or too old): an operator must look.
    Dead,
}

impl State {
    /// The stored (and displayed) name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "in_flight" => Some(Self::InFlight),
            "delivered" => Some(Self::Delivered),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// The class of the last error, kept per row to decide what a returning network retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// No answer from the gateway.
    Unreachable,
    /// The gateway asked to retry later (5xx, 408, 409, 425, 429) or answered garbage.
    Transient,
    /// The gateway refused the credentials (401/403).
    Unauthorized,
    /// The gateway refused the submission for good (400, 422, other 4xx).
    Permanent,
    /// Older than the configured bound.
    Expired,
}

impl ErrorClass {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Transient => "transient",
            Self::Unauthorized => "unauthorized",
            Self::Permanent => "permanent",
            Self::Expired => "expired",
        }
    }
}

/// A submission to store.
#[derive(Debug, Clone, Copy)]
pub struct NewItem<'a> {
    /// Its id: also the `Idempotency-Key`, so the caller chooses it (usually
    /// [`Outbox::new_id`]) and puts it into the payload before enqueueing.
    pub id: Uuid,
    /// What it is for.
    pub kind: Kind,
    /// FIFO applies within a partition (one citizen, one dossier). Must not be personal data:
    /// use [`Outbox::partition_for`] to derive one from a citizen's ID number.
    pub partition: &'a str,
    /// The bytes the transport sends (JSON for TTHC, a FHIR bundle for clinics).
    pub payload: &'a [u8],
}

/// The answer to [`Outbox::enqueue`]: the row is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The row's id.
    pub id: Uuid,
    /// Its position in the FIFO order.
    pub seq: i64,
    /// `false` when the same id and payload were enqueued before (an idempotent repeat).
    pub new: bool,
}

/// A row a worker has leased and must now send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The id (`Idempotency-Key`).
    pub id: Uuid,
    /// FIFO position.
    pub seq: i64,
    /// What it is for.
    pub kind: Kind,
    /// Its partition.
    pub partition: String,
    /// The bytes to send.
    pub payload: Vec<u8>,
    /// Attempts including this one.
    pub attempts: u32,
    /// When it was enqueued (Unix ms).
    pub created_at: i64,
    /// The class of the previous attempt's error, if any.
    pub last_error: Option<String>,
}

/// One row as a technician may see it: no payload, no partition key, no receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// FIFO position.
    pub seq: i64,
    /// The id.
    pub id: Uuid,
    /// What it is for.
    pub kind: Kind,
    /// Where it stands.
    pub state: State,
    /// Attempts so far.
    pub attempts: u32,
    /// Enqueued at (Unix ms).
    pub created_at: i64,
    /// Next attempt at (Unix ms), for pending rows.
    pub next_attempt_at: i64,
    /// Delivered at (Unix ms).
    pub delivered_at: Option<i64>,
    /// Class of the last error.
    pub last_error_kind: Option<String>,
    /// The last error's text (gateways name fields, never values).
    pub last_error: Option<String>,
    /// Whether the payload is still stored (false once delivered and erased).
    pub has_payload: bool,
    /// SHA-256 of the payload, kept after erasure to prove what was sent.
    pub payload_sha256: [u8; 32],
}

/// An operator alert: a dead letter or a submission that outlived the age bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its number.
    pub seq: i64,
    /// When (Unix ms).
    pub at: i64,
    /// The row concerned.
    pub item_id: String,
    /// Why (no personal data).
    pub reason: String,
    /// Whether a technician has dealt with it (`kioskctl queue retry`).
    pub acknowledged: bool,
}

/// Counts per state, for `kioskctl queue status` and the health screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Pending rows.
    pub pending: u64,
    /// Rows being sent.
    pub in_flight: u64,
    /// Delivered rows (payload erased).
    pub delivered: u64,
    /// Dead letters.
    pub dead: u64,
    /// Enqueue time of the oldest undelivered row (Unix ms).
    pub oldest_undelivered: Option<i64>,
    /// Alerts not yet acknowledged.
    pub open_alerts: u64,
}

/// The durability settings in force on the outbox's connection, read back from SQLite
/// ([`Outbox::durability`]): what makes "received" survive a power cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// `journal_mode`: `wal`.
    pub journal_mode: String,
    /// `synchronous`: 2 (`FULL`: the WAL is fsync'd at every commit).
    pub synchronous: i64,
    /// `secure_delete`: 1 (freed pages are zeroed).
    pub secure_delete: i64,
    /// `max_page_count`: the size limit in pages.
    pub max_page_count: i64,
}

/// Options of [`Outbox::open`].
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Upper bound on the database size in 4 KiB pages (SQLite's `max_page_count`): a quota
    /// that keeps the queue from filling the disk; reaching it refuses new submissions exactly
    /// as a full disk does. `None`: no quota.
    pub max_pages: Option<u32>,
    /// Open read-only (kioskctl's `status`/`list`): the database must exist.
    pub read_only: bool,
}

/// Why the outbox failed. [`OutboxError::refuses_submissions`] tells the kiosk to stop
/// taking new submissions; every message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The key does not open the database.
    #[error(
        "queue database {path} cannot be opened with this queue key (wrong key, or not a \
         queue database); nothing was changed: restore the kiosk's original key file, never \
         delete the database (it may hold undelivered submissions)"
    )]
    WrongKey {
        /// The database.
        path: PathBuf,
    },
    /// The disk (or the queue's quota) is full: new submissions are refused.
    #[error(
        "queue storage is full (its size limit, `queue.max_size_mb`, or the disk): new \
         submissions are refused until space is freed; check `kioskctl queue status` (are \
         submissions being delivered?) and `df` on the data partition"
    )]
    Full,
    /// The database is read-only (file mode, read-only file system, failing disk).
    #[error(
        "queue database {path} is read-only: new submissions are refused; check the file's \
         owner and mode and whether the file system was remounted read-only (disk errors)"
    )]
    ReadOnly {
        /// The database.
        path: PathBuf,
    },
    /// Written by a newer build.
    #[error(transparent)]
    Schema(#[from] MigrateError),
    /// No such row.
    #[error("no queue item {0}")]
    NotFound(Uuid),
    /// The same id was enqueued before with a different payload.
    #[error("queue item {0} exists with a different payload")]
    Conflict(Uuid),
    /// A row that this build cannot read (a corrupted or hand-edited database).
    #[error("queue row {0} is malformed; run `kioskctl queue status` and call support")]
    Corrupt(i64),
    /// Any other SQLite error.
    #[error("queue database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl OutboxError {
    /// Whether the kiosk must stop accepting submissions (it cannot keep them).
    #[must_use]
    pub fn refuses_submissions(&self) -> bool {
        !matches!(self, Self::NotFound(_) | Self::Conflict(_))
    }

    fn from_sqlite(e: rusqlite::Error, path: &Path) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Self::Full,
            Some(ErrorCode::ReadOnly) => Self::ReadOnly {
                path: path.to_owned(),
            },
            Some(ErrorCode::NotADatabase) => Self::WrongKey {
                path: path.to_owned(),
            },
            _ => Self::Sqlite(e),
        }
    }
}

/// The outbox: one encrypted SQLite database.
pub struct Outbox {
    conn: Mutex<Connection>,
    path: PathBuf,
    partition_secret: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

type Result<T, E = OutboxError> = std::result::Result<T, E>;

impl Outbox {
    /// Opens (creating if needed) the queue at `path` with `key`, upgrades its schema and
    /// checks that it is writable.
    ///
    /// # Errors
    ///
    /// [`OutboxError::WrongKey`] when the key does not fit (nothing is written then),
    /// [`OutboxError::ReadOnly`], [`OutboxError::Full`], [`OutboxError::Schema`] for a
    /// database from a newer build, [`OutboxError::Sqlite`] otherwise.
    pub fn open(path: &Path, key: &QueueKey, options: &OpenOptions) -> Result<Self> {
        let err = |e| OutboxError::from_sqlite(e, path);
        let flags = if options.read_only {
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let mut conn = Connection::open_with_flags(path, flags).map_err(err)?;
        // SQLCipher logs decryption failures to stderr itself; our error says it better.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")
            .map_err(err)?;
        // The key must be the first statement touching the database; the literal is a raw
        // 256-bit key (no KDF).
        let lit = key.sqlcipher_literal();
        conn.execute_batch(&Zeroizing::new(format!(
            "PRAGMA key = \"{}\";",
            lit.as_str()
        )))
        .map_err(err)?;
        // The first read decrypts page 1: a wrong key fails here, before anything is written.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        if !options.read_only {
            if conn.is_readonly(rusqlite::MAIN_DB).map_err(err)? {
                return Err(OutboxError::ReadOnly {
                    path: path.to_owned(),
                });
            }
            // WAL: readers (kioskctl) never block the writer; FULL: fsync at every commit,
            // because a receipt was promised. secure_delete: freed pages are zeroed, so an
            // erased payload does not linger in free pages.
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(OutboxError::ReadOnly {
                    path: path.to_owned(),
                });
            }
            conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;")
                .map_err(err)?;
            if let Some(pages) = options.max_pages {
                conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
                    .map_err(err)?;
            }
            schema::migrate(&mut conn).map_err(|e| match e {
                MigrateError::Sqlite(s) => OutboxError::from_sqlite(s, path),
                e => OutboxError::Schema(e),
            })?;
        } else {
            let v = schema::version(&conn).map_err(err)?;
            if v != schema::CURRENT {
                return Err(OutboxError::Schema(MigrateError::Newer {
                    found: v,
                    known: schema::CURRENT,
                }));
            }
        }
        let mut h = Sha256::new();
        h.update(b"kiosk-outbox partition v1");
        h.update(key.bytes());
        let partition_secret = Zeroizing::new(<[u8; 32]>::from(h.finalize()));
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            partition_secret,
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new UUIDv7 (time-ordered) for [`NewItem::id`].
    #[must_use]
    pub fn new_id() -> Uuid {
        Uuid::now_v7()
    }

    /// A partition key derived from personal data (e.g. the citizen's ID number) with a secret
    /// from the queue key, so the key itself reveals nothing without the queue key.
    #[must_use]
    pub fn partition_for(&self, data: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(*self.partition_secret);
        h.update(data);
        let d = h.finalize();
        d[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a method leaves no half-done transaction (rusqlite rolls back on
        // drop), so the connection is still consistent.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn err(&self, e: rusqlite::Error) -> OutboxError {
        OutboxError::from_sqlite(e, &self.path)
    }

    /// Stores a submission durably (fsync'd before this returns). Enqueueing the same id with
    /// the same payload again is a no-op answered with the first row.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Full`] or [`OutboxError::ReadOnly`]: the kiosk must refuse the
    /// submission and say so; [`OutboxError::Conflict`] for the same id with another payload.
    pub fn enqueue(&self, item: NewItem<'_>, now_ms: i64) -> Result<Enqueued> {
        let hash: [u8; 32] = Sha256::digest(item.payload).into();
        let id = item.id.to_string();
        let conn = self.lock();
        let inserted = conn
            .execute(
                "INSERT INTO outbox (id, kind, partition_key, payload, payload_sha256, state,
                                     created_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    id,
                    item.kind.as_str(),
                    item.partition,
                    item.payload,
                    hash,
                    now_ms
                ],
            )
            .map_err(|e| self.err(e))?;
        let (seq, stored_hash): (i64, Vec<u8>) = conn
            .query_row(
                "SELECT seq, payload_sha256 FROM outbox WHERE id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))?;
        if stored_hash != hash {
            return Err(OutboxError::Conflict(item.id));
        }
        Ok(Enqueued {
            id: item.id,
            seq,
            new: inserted == 1,
        })
    }

    /// Leases up to `limit` due rows for `lease_ms`: the oldest pending row of each partition
    /// that has no earlier undelivered row (FIFO per partition), oldest first across
    /// partitions. Counts the attempt now, so a crash mid-send still counts.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn claim_due(&self, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<Claimed>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let rows = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT seq, id, kind, partition_key, payload, attempts, created_at,
                            last_error_kind
                     FROM outbox o
                     WHERE state = 'pending' AND next_attempt_at <= ?1 AND payload IS NOT NULL
                       AND NOT EXISTS (
                           SELECT 1 FROM outbox p
                           WHERE p.partition_key = o.partition_key AND p.seq < o.seq
                             AND p.state IN ('pending', 'in_flight'))
                     ORDER BY seq LIMIT ?2",
                )
                .map_err(|e| self.err(e))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mapped = stmt
                .query_map(params![now_ms, limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, u32>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                })
                .map_err(|e| self.err(e))?;
            mapped
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.err(e))?
        };
        let mut out = Vec::with_capacity(rows.len());
        {
            let mut upd = tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'in_flight', lease_until = ?2,
                                       attempts = attempts + 1
                     WHERE seq = ?1",
                )
                .map_err(|e| self.err(e))?;
            for (seq, id, kind, partition, payload, attempts, created_at, last_error) in rows {
                upd.execute(params![seq, now_ms.saturating_add(lease_ms)])
                    .map_err(|e| self.err(e))?;
                let (Ok(id), Some(kind)) = (Uuid::parse_str(&id), Kind::parse(&kind)) else {
                    return Err(OutboxError::Corrupt(seq));
                };
                out.push(Claimed {
                    id,
                    seq,
                    kind,
                    partition,
                    payload,
                    attempts: attempts + 1,
                    created_at,
                    last_error,
                });
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// Records delivery: stores the receipt, erases the payload and the partition key (the
    /// hash stays). Accepted even if the lease expired meanwhile: delivered is the truth.
    /// Returns `false` if the row was already delivered (a duplicate ack).
    ///
    /// # Errors
    ///
    /// [`OutboxError::NotFound`], SQLite errors.
    pub fn ack(&self, id: Uuid, receipt: &[u8], now_ms: i64) -> Result<bool> {
        let conn = self.lock();
        let n = conn
            .execute(
                "UPDATE outbox SET state = 'delivered', payload = NULL, partition_key = id,
                        receipt = ?2, delivered_at = ?3, lease_until = NULL,
                        last_error = NULL, last_error_kind = NULL
                 WHERE id = ?1 AND state IN ('in_flight', 'pending', 'dead')",
                params![id.to_string(), receipt, now_ms],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return self.exists_locked(&conn, id).map(|_| false);
        }
        tracing::info!(%id, "queue item delivered; payload erased");
        Ok(true)
    }

    /// Puts a leased row back for a later attempt.
    ///
    /// # Errors
    ///
    /// [`OutboxError::NotFound`], SQLite errors.
    pub fn retry_later(
        &self,
        id: Uuid,
        class: ErrorClass,
        error: &str,
        next_attempt_ms: i64,
    ) -> Result<()> {
        let conn = self.lock();
        let n = conn
            .execute(
                "UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = ?2,
                                   last_error = ?3, last_error_kind = ?4
                 WHERE id = ?1 AND state IN ('in_flight', 'pending')",
                params![
                    id.to_string(),
                    next_attempt_ms,
                    bounded(error),
                    class.as_str()
                ],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            self.exists_locked(&conn, id)?;
        }
        Ok(())
    }

    /// Gives up on a row: dead letter plus an operator alert, in one transaction.
    ///
    /// # Errors
    ///
    /// [`OutboxError::NotFound`], SQLite errors.
    pub fn dead(&self, id: Uuid, class: ErrorClass, reason: &str, now_ms: i64) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let n = tx
            .execute(
                "UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = ?2,
                                   last_error_kind = ?3
                 WHERE id = ?1 AND state IN ('in_flight', 'pending')",
                params![id.to_string(), bounded(reason), class.as_str()],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            drop(tx);
            return self.exists_locked(&conn, id).map(|_| ());
        }
        tx.execute(
            "INSERT INTO alerts (at, item_id, reason) VALUES (?1, ?2, ?3)",
            params![now_ms, id.to_string(), bounded(reason)],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        // The operator alert: an error-level event on its own target, which the kiosk's log
        // forwarding raises to the fleet dashboard. No personal data: id and reason only.
        tracing::error!(target: "kiosk_outbox::alert", %id, class = class.as_str(), reason,
            "submission dead-lettered: run `kioskctl queue dead`");
        Ok(())
    }

    /// Returns leased rows to `pending`: with `all`, every lease (at start-up, when this
    /// process holds the worker lock, no lease can belong to a live worker); otherwise only
    /// expired ones. Returns how many.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn recover_leases(&self, now_ms: i64, all: bool) -> Result<usize> {
        let conn = self.lock();
        conn.execute(
            "UPDATE outbox SET state = 'pending', lease_until = NULL,
                               next_attempt_at = min(next_attempt_at, ?1)
             WHERE state = 'in_flight' AND (?2 OR lease_until <= ?1)",
            params![now_ms, all],
        )
        .map_err(|e| self.err(e))
    }

    /// Dead-letters every undelivered row enqueued before `now_ms - max_age_ms`, with an
    /// alert each. Returns their ids.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn expire(&self, now_ms: i64, max_age_ms: i64) -> Result<Vec<Uuid>> {
        let ids: Vec<String> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare_cached("SELECT id FROM outbox WHERE state = 'pending' AND created_at < ?1")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([now_ms.saturating_sub(max_age_ms)], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Ok(id) = Uuid::parse_str(&id) else {
                continue;
            };
            self.dead(
                id,
                ErrorClass::Expired,
                "not delivered within the configured age bound",
                now_ms,
            )?;
            out.push(id);
        }
        Ok(out)
    }

    /// Repairs the times of undelivered rows after the wall clock jumped, so that no dossier
    /// is dead-lettered or parked because of a wrong clock (`now_ms` must already be believed:
    /// at or after the caller's build floor).
    ///
    /// - `created_at` before `floor_ms` (enqueued while the clock was before the build) or after
    ///   `now_ms` plus a day (enqueued while it was ahead) is set to `now_ms`: the row's age
    ///   restarts, so the age bound counts from the first believable time.
    /// - `next_attempt_at` more than `max_wait_ms` ahead (no backoff schedules that far: set
    ///   while the clock was ahead) becomes `now_ms`; so does a lease ending more than
    ///   `max_wait_ms` ahead.
    ///
    /// Returns the number of rows changed.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn rebase_clock(&self, now_ms: i64, floor_ms: i64, max_wait_ms: i64) -> Result<usize> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let horizon = now_ms.saturating_add(max_wait_ms);
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let mut n = tx
            .execute(
                "UPDATE outbox SET created_at = ?1
                 WHERE state IN ('pending', 'in_flight') AND (created_at < ?2 OR created_at > ?3)",
                params![now_ms, floor_ms, now_ms.saturating_add(DAY_MS)],
            )
            .map_err(|e| self.err(e))?;
        n += tx
            .execute(
                "UPDATE outbox SET next_attempt_at = ?1
                 WHERE state = 'pending' AND next_attempt_at > ?2",
                params![now_ms, horizon],
            )
            .map_err(|e| self.err(e))?;
        n += tx
            .execute(
                "UPDATE outbox SET lease_until = ?1
                 WHERE state = 'in_flight' AND lease_until > ?2",
                params![now_ms, horizon],
            )
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        if n > 0 {
            tracing::warn!(rows = n, "queue times repaired after a wall-clock jump");
        }
        Ok(n)
    }

    /// After the network returns: rows waiting only because the gateway was unreachable
    /// become due now.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn network_returned(&self, now_ms: i64) -> Result<usize> {
        let conn = self.lock();
        conn.execute(
            "UPDATE outbox SET next_attempt_at = ?1
             WHERE state = 'pending' AND next_attempt_at > ?1
               AND last_error_kind = 'unreachable'",
            [now_ms],
        )
        .map_err(|e| self.err(e))
    }

    /// When the worker next has something to do: the earliest next attempt of a claimable
    /// row (a partition's head) or the lease expiry of a leased one.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn next_due(&self) -> Result<Option<i64>> {
        let conn = self.lock();
        conn.query_row(
            "SELECT min(t) FROM (
                 SELECT min(next_attempt_at) AS t FROM outbox o
                 WHERE state = 'pending' AND payload IS NOT NULL
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox p
                       WHERE p.partition_key = o.partition_key AND p.seq < o.seq
                         AND p.state IN ('pending', 'in_flight'))
                 UNION ALL
                 SELECT min(lease_until) FROM outbox WHERE state = 'in_flight')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| self.err(e))
    }

    /// Counts per state.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn stats(&self) -> Result<Stats> {
        let conn = self.lock();
        let mut s = Stats::default();
        {
            let mut stmt = conn
                .prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
                .map_err(|e| self.err(e))?;
            for row in rows {
                let (state, n) = row.map_err(|e| self.err(e))?;
                match State::parse(&state) {
                    Some(State::Pending) => s.pending = n,
                    Some(State::InFlight) => s.in_flight = n,
                    Some(State::Delivered) => s.delivered = n,
                    Some(State::Dead) => s.dead = n,
                    None => {}
                }
            }
        }
        s.oldest_undelivered = conn
            .query_row(
                "SELECT min(created_at) FROM outbox WHERE state IN ('pending', 'in_flight')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        s.open_alerts = conn
            .query_row(
                "SELECT count(*) FROM alerts WHERE acknowledged = 0",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(s)
    }

    /// Rows in FIFO order, optionally of one state, at most `limit`: no personal fields.
    ///
    /// # Errors
    ///
    /// SQLite errors; [`OutboxError::Corrupt`] for an unreadable row.
    pub fn list(&self, state: Option<State>, limit: usize) -> Result<Vec<Summary>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, id, kind, state, attempts, created_at, next_attempt_at,
                        delivered_at, last_error_kind, last_error, payload IS NOT NULL,
                        payload_sha256
                 FROM outbox WHERE (?1 IS NULL OR state = ?1) ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![
                    state.map(State::as_str),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, u32>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, Option<String>>(9)?,
                        r.get::<_, bool>(10)?,
                        r.get::<_, Vec<u8>>(11)?,
                    ))
                },
            )
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, kind, st, attempts, created_at, next, delivered, lek, le, has, h) =
                row.map_err(|e| self.err(e))?;
            let (Ok(id), Some(kind), Some(state), Ok(payload_sha256)) = (
                Uuid::parse_str(&id),
                Kind::parse(&kind),
                State::parse(&st),
                <[u8; 32]>::try_from(h),
            ) else {
                return Err(OutboxError::Corrupt(seq));
            };
            out.push(Summary {
                seq,
                id,
                kind,
                state,
                attempts,
                created_at,
                next_attempt_at: next,
                delivered_at: delivered,
                last_error_kind: lek,
                last_error: le,
                has_payload: has,
                payload_sha256,
            });
        }
        Ok(out)
    }

    /// The state of one row.
    ///
    /// # Errors
    ///
    /// [`OutboxError::NotFound`], SQLite errors.
    pub fn state(&self, id: Uuid) -> Result<State> {
        let conn = self.lock();
        let s: Option<String> = conn
            .query_row(
                "SELECT state FROM outbox WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let s = s.ok_or(OutboxError::NotFound(id))?;
        State::parse(&s).ok_or(OutboxError::Corrupt(0))
    }

    /// The receipt the gateway returned, once delivered.
    ///
    /// # Errors
    ///
    /// [`OutboxError::NotFound`], SQLite errors.
    pub fn receipt(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        let conn = self.lock();
        conn.query_row(
            "SELECT receipt FROM outbox WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| self.err(e))?
        .ok_or(OutboxError::NotFound(id))
    }

    /// A technician's retry of a dead letter: back to pending, due now, attempts and age
    /// reset; its alerts are acknowledged. `false` if the row is not dead or its payload is
    /// gone.
    ///
    /// # Errors
    ///
    /// [`OutboxError::NotFound`], SQLite errors.
    pub fn retry_dead(&self, id: Uuid, now_ms: i64) -> Result<bool> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let n = tx
            .execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                                   created_at = ?2
                 WHERE id = ?1 AND state = 'dead' AND payload IS NOT NULL",
                params![id.to_string(), now_ms],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            drop(tx);
            return self.exists_locked(&conn, id).map(|_| false);
        }
        tx.execute(
            "UPDATE alerts SET acknowledged = 1 WHERE item_id = ?1",
            [id.to_string()],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        tracing::info!(%id, "dead letter retried by a technician");
        Ok(true)
    }

    /// Operator alerts, newest first, at most `limit`.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn alerts(&self, limit: usize) -> Result<Vec<Alert>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, at, item_id, reason, acknowledged FROM alerts
                 ORDER BY seq DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(Alert {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    item_id: r.get(2)?,
                    reason: r.get(3)?,
                    acknowledged: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Erases the payloads of dead letters older than `now_ms - retention_ms`: a dead letter
    /// keeps its payload for a technician's retry, but not for ever. Returns how many.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn purge_dead(&self, now_ms: i64, retention_ms: i64) -> Result<usize> {
        let conn = self.lock();
        let n = conn
            .execute(
                "UPDATE outbox SET payload = NULL, partition_key = id
                 WHERE state = 'dead' AND payload IS NOT NULL AND created_at < ?1",
                [now_ms.saturating_sub(retention_ms)],
            )
            .map_err(|e| self.err(e))?;
        if n > 0 {
            tracing::info!(count = n, "dead letters past retention: payloads erased");
        }
        Ok(n)
    }

    /// Deletes delivered rows delivered before `now_ms - retention_ms` (their receipt and
    /// payload hash have served: the citizen has their receipt, the gateway its dossier).
    /// Returns how many.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn prune_delivered(&self, now_ms: i64, retention_ms: i64) -> Result<usize> {
        let conn = self.lock();
        let n = conn
            .execute(
                "DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?1",
                [now_ms.saturating_sub(retention_ms)],
            )
            .map_err(|e| self.err(e))?;
        if n > 0 {
            tracing::info!(count = n, "delivered submissions past retention: deleted");
        }
        Ok(n)
    }

    /// The durability settings in force, read back from the connection (not from what
    /// [`Outbox::open`] meant to set), for tests and `kioskctl`.
    ///
    /// # Errors
    ///
    /// SQLite errors.
    pub fn durability(&self) -> Result<Durability> {
        let conn = self.lock();
        let text = |p: &str| conn.query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, String>(0));
        let int = |p: &str| conn.query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, i64>(0));
        let d = (|| {
            Ok::<_, rusqlite::Error>(Durability {
                journal_mode: text("journal_mode")?.to_ascii_lowercase(),
                synchronous: int("synchronous")?,
                secure_delete: int("secure_delete")?,
                max_page_count: int("max_page_count")?,
            })
        })();
        d.map_err(|e| self.err(e))
    }

    /// Runs a WAL checkpoint that truncates the log, so erased payloads leave the `-wal` file
    /// too (they are encrypted there, but minimisation says: gone).
    ///
    /// # Errors
    ///
    /// SQLite errors.
    /// Returns `false` if a reader holding an old snapshot kept it from completing.
    pub fn checkpoint(&self) -> Result<bool> {
        let conn = self.lock();
        // One row: (busy, log frames, frames checkpointed); busy is 1 if it could not finish.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0).map(|busy| busy == 0)
        })
        .map_err(|e| self.err(e))
    }

    fn exists_locked(&self, conn: &Connection, id: Uuid) -> Result<()> {
        let found: Option<i64> = conn
            .query_row(
                "SELECT seq FROM outbox WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        found.map(|_| ()).ok_or(OutboxError::NotFound(id))
    }
}

fn bounded(s: &str) -> &str {
    match s.char_indices().nth(MAX_ERROR_LEN) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
