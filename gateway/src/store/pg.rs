//! [`PgStore`]: the production records in PostgreSQL, shared by every replica and the admin
//! CLI.
//!
//! The synchronous `postgres` client (tokio-postgres underneath, with its own small runtime):
//! [`crate::State`] runs on tokio's blocking pool, where blocking calls belong. Connections come
//! from the process's pool ([`super::pool`]): concurrent requests use different connections;
//! one that broke (PostgreSQL restarted) makes the call in flight fail (the kiosk retries with
//! the same idempotency key) and is replaced by a new one; no free connection within the
//! acquire timeout is [`StoreError::Unavailable`] (a 503 with `Retry-After`).
//!
//! Schema: [`MIGRATIONS`], applied in order at connect under a transaction-scoped advisory
//! lock, so replicas starting together migrate once. Multi-replica safety rests on the
//! database: unique keys on `referenceUid`, dossier and lookup codes and (kiosk, key); the
//! day counters are row-locked upserts; forwarding leases use
//! `SELECT ... FOR UPDATE SKIP LOCKED` plus a lease time, so a replica that dies mid-forward
//! releases its items when the lease runs out.

use postgres::error::SqlState;
use postgres::{Client, GenericClient, Row};

use super::pg_tls::RustlsMake;
use super::pool::{open, PgPool, Pooled};
use super::{
    sha256_hex, Accepted, Catalog, CertRecord, DeadLetter, ForwardJob, Gauges, NewSubmission,
    PollJob, PoolSettings, ReceiptRow, Result, StatusRow, StatusUpdate, Store, StoreError, Stored,
    TokenCheck, TokenRow, DEAD_LETTER_RETENTION_MS,
};

/// Key of the advisory lock held while migrating ("KIOSKGW1").
const MIGRATION_LOCK: i64 = 0x4b49_4f53_4b47_5731;

/// The versioned migrations, applied in order; `schema_migrations` lists those applied.
/// Append, never edit.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "
    CREATE TABLE submissions (
        id             BIGSERIAL PRIMARY KEY,
        kiosk          TEXT NOT NULL,
        reference_uid  TEXT NOT NULL UNIQUE,
        dossier_code   TEXT NOT NULL UNIQUE,
        lookup_code    TEXT NOT NULL UNIQUE,
        kind           TEXT NOT NULL,
        procedure_code TEXT NOT NULL,
        procedure_name TEXT NOT NULL,
        body           BYTEA,
        body_hash      TEXT NOT NULL,
        receipt        BYTEA NOT NULL,
        status         TEXT NOT NULL DEFAULT 'received',
        received_ms    BIGINT NOT NULL,
        forwarded_ms   BIGINT,
        erase_after_ms BIGINT
    );
    CREATE INDEX submissions_erase ON submissions (erase_after_ms) WHERE body IS NOT NULL;
    CREATE TABLE idempotency_keys (
        kiosk      TEXT NOT NULL,
        key        TEXT NOT NULL,
        submission BIGINT NOT NULL REFERENCES submissions(id),
        PRIMARY KEY (kiosk, key)
    );
    CREATE TABLE day_sequence (day TEXT PRIMARY KEY, last INTEGER NOT NULL);
    CREATE TABLE queue_numbers (
        day TEXT NOT NULL, department TEXT NOT NULL, last INTEGER NOT NULL,
        PRIMARY KEY (day, department)
    );
    CREATE TABLE forward_queue (
        submission     BIGINT PRIMARY KEY REFERENCES submissions(id),
        state          TEXT NOT NULL DEFAULT 'pending',
        attempts       INTEGER NOT NULL DEFAULT 0,
        due_ms         BIGINT NOT NULL,
        lease_until_ms BIGINT NOT NULL DEFAULT 0,
        last_error     TEXT
    );
    CREATE INDEX forward_queue_due ON forward_queue (due_ms) WHERE state = 'pending';
    CREATE TABLE enrolment_tokens (
        hash TEXT PRIMARY KEY, kiosk TEXT NOT NULL, site TEXT NOT NULL,
        created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL,
        used_ms BIGINT, revoked_ms BIGINT
    );
    CREATE TABLE certificates (
        serial TEXT PRIMARY KEY, kiosk TEXT NOT NULL, site TEXT NOT NULL,
        issued_ms BIGINT NOT NULL, not_after_ms BIGINT NOT NULL, revoked_ms BIGINT
    );
    CREATE INDEX certificates_kiosk ON certificates (kiosk);
    CREATE TABLE catalogs (mode TEXT PRIMARY KEY, version TEXT NOT NULL, json BYTEA NOT NULL);
    CREATE TABLE kiosks (
        kiosk TEXT PRIMARY KEY, last_seen_ms BIGINT NOT NULL, heartbeat BYTEA
    );
    ",
    ),
    (
        // The report back from the one-stop system: when to ask next, asks without news in a row, and
        // where and from when the result can be collected.
        2,
        "
    ALTER TABLE submissions ADD COLUMN poll_due_ms BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE submissions ADD COLUMN poll_attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE submissions ADD COLUMN collect_place TEXT;
    ALTER TABLE submissions ADD COLUMN collect_at TEXT;
    CREATE INDEX submissions_poll ON submissions (status, poll_due_ms);
    ",
    ),
    (
        3,
        "
    -- Retention pruning: old submissions by arrival, their keys by submission.
    CREATE INDEX submissions_received ON submissions (received_ms);
    CREATE INDEX idempotency_keys_submission ON idempotency_keys (submission);
    ",
    ),
];

/// The records in PostgreSQL: a handle on the process's connection pool ([`PgPool`]);
/// each call takes a connection for its transaction and gives it back. Clones share the pool,
/// so requests served at the same time use different connections.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool).finish()
    }
}

impl PgStore {
    /// Connects with a libpq-style connection string (e.g. `host=127.0.0.1 port=5432
    /// user=kiosk_gateway dbname=kiosk_gateway`) and applies the missing migrations; the
    /// default [`PoolSettings`].
    ///
    /// # Errors
    ///
    /// The server is unreachable or refuses, or the schema is newer than this gateway's.
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_pooled(url, None, PoolSettings::default())
    }

    /// As [`PgStore::connect`], over TLS when `tls` is given (then add `sslmode=require` to
    /// the connection string so a server without TLS is refused).
    ///
    /// # Errors
    ///
    /// As [`PgStore::connect`], and a refused TLS handshake.
    pub fn connect_with(url: &str, tls: Option<RustlsMake>) -> Result<Self> {
        Self::connect_pooled(url, tls, PoolSettings::default())
    }

    /// As [`PgStore::connect_with`], with these pool settings. The migrations run on a
    /// connection of their own first, so an unreachable server or a refused login is an
    /// error here, not at the first request.
    ///
    /// # Errors
    ///
    /// As [`PgStore::connect_with`], and a pool size of 0.
    pub fn connect_pooled(
        url: &str,
        tls: Option<RustlsMake>,
        settings: PoolSettings,
    ) -> Result<Self> {
        let mut client = open(url, tls.as_ref())?;
        migrate(&mut client)?;
        drop(client);
        Ok(Self {
            pool: PgPool::new(url, tls, settings)?,
        })
    }

    /// The pool (its size, for tests and metrics).
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A connection from the pool (a broken one is replaced).
    fn db(&self) -> Result<Pooled> {
        self.pool.get()
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    let newest: Option<i32> = tx
        .query_one("SELECT MAX(version) FROM schema_migrations", &[])?
        .get(0);
    let newest = newest.unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if newest > known {
        return Err(StoreError::Schema(format!(
            "schema version {newest} is newer than this gateway's {known}: upgrade the gateway"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > newest) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )?;
        tracing::info!(version, "gateway schema migrated");
    }
    tx.commit()?;
    Ok(())
}

fn is_conflict(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn to_u32(v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Schema(format!("negative counter {v}")))
}

fn stored(r: &Row) -> Stored {
    Stored {
        id: r.get(0),
        body_hash: r.get(1),
        receipt: r.get(2),
    }
}

fn insert_cert(db: &mut impl GenericClient, cert: &CertRecord) -> Result<()> {
    db.execute(
        "INSERT INTO certificates (serial, kiosk, site, issued_ms, not_after_ms)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &cert.serial,
            &cert.kiosk,
            &cert.site,
            &cert.issued_ms,
            &cert.not_after_ms,
        ],
    )?;
    Ok(())
}

impl Store for PgStore {
    fn try_clone(&self) -> Option<Box<dyn Store>> {
        Some(Box::new(self.clone()))
    }

    fn ping(&mut self) -> Result<()> {
        self.db()?.simple_query("SELECT 1")?;
        Ok(())
    }

    fn insert_token(
        &mut self,
        hash: &str,
        kiosk: &str,
        site: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()> {
        self.db()?.execute(
            "INSERT INTO enrolment_tokens (hash, kiosk, site, created_ms, expires_ms)
             VALUES ($1, $2, $3, $4, $5)",
            &[&hash, &kiosk, &site, &now_ms, &expires_ms],
        )?;
        Ok(())
    }

    fn list_tokens(&mut self, now_ms: i64) -> Result<Vec<TokenRow>> {
        let rows = self.db()?.query(
            "SELECT hash, kiosk, site, expires_ms, used_ms IS NOT NULL, revoked_ms IS NOT NULL
             FROM enrolment_tokens ORDER BY created_ms DESC",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                let hash: String = r.get(0);
                let expires_ms: i64 = r.get(3);
                TokenRow {
                    id: hash.get(..12).unwrap_or(&hash).to_owned(),
                    kiosk: r.get(1),
                    site: r.get(2),
                    expires_ms,
                    state: TokenRow::state_of(expires_ms, r.get(4), r.get(5), now_ms),
                }
            })
            .collect())
    }

    fn revoke_tokens(&mut self, kiosk: &str, now_ms: i64) -> Result<u64> {
        Ok(self.db()?.execute(
            "UPDATE enrolment_tokens SET revoked_ms = $2
             WHERE kiosk = $1 AND used_ms IS NULL AND revoked_ms IS NULL",
            &[&kiosk, &now_ms],
        )?)
    }

    fn find_token(&mut self, hash: &str) -> Result<Option<TokenCheck>> {
        let row = self.db()?.query_opt(
            "SELECT kiosk, site, expires_ms, used_ms IS NOT NULL, revoked_ms IS NOT NULL
             FROM enrolment_tokens WHERE hash = $1",
            &[&hash],
        )?;
        Ok(row.map(|r| TokenCheck {
            kiosk: r.get(0),
            site: r.get(1),
            expires_ms: r.get(2),
            used: r.get(3),
            revoked: r.get(4),
        }))
    }

    fn spend_token(&mut self, hash: &str, cert: &CertRecord, now_ms: i64) -> Result<bool> {
        let mut db = self.db()?;
        let mut tx = db.transaction()?;
        let spent = tx.execute(
            "UPDATE enrolment_tokens SET used_ms = $2 WHERE hash = $1 AND used_ms IS NULL",
            &[&hash, &now_ms],
        )?;
        if spent != 1 {
            return Ok(false);
        }
        insert_cert(&mut tx, cert)?;
        tx.commit()?;
        Ok(true)
    }

    fn record_certificate(&mut self, cert: &CertRecord) -> Result<()> {
        insert_cert(&mut **self.db()?, cert)
    }

    fn latest_site(&mut self, kiosk: &str) -> Result<Option<String>> {
        Ok(self
            .db()?
            .query_opt(
                "SELECT site FROM certificates WHERE kiosk = $1 ORDER BY issued_ms DESC LIMIT 1",
                &[&kiosk],
            )?
            .map(|r| r.get(0)))
    }

    fn revoke_kiosk(&mut self, kiosk: &str, now_ms: i64) -> Result<u64> {
        let mut db = self.db()?;
        let mut tx = db.transaction()?;
        let n = tx.execute(
            "UPDATE certificates SET revoked_ms = $2 WHERE kiosk = $1 AND revoked_ms IS NULL",
            &[&kiosk, &now_ms],
        )?;
        tx.execute(
            "UPDATE enrolment_tokens SET revoked_ms = $2
             WHERE kiosk = $1 AND used_ms IS NULL AND revoked_ms IS NULL",
            &[&kiosk, &now_ms],
        )?;
        tx.commit()?;
        Ok(n)
    }

    fn is_revoked(&mut self, serial: &str) -> Result<bool> {
        Ok(self
            .db()?
            .query_opt(
                "SELECT revoked_ms IS NOT NULL FROM certificates WHERE serial = $1",
                &[&serial],
            )?
            .is_some_and(|r| r.get::<_, bool>(0)))
    }

    fn by_key(&mut self, kiosk: &str, key: &str) -> Result<Option<Stored>> {
        Ok(self
            .db()?
            .query_opt(
                "SELECT s.id, s.body_hash, s.receipt FROM idempotency_keys k
                 JOIN submissions s ON s.id = k.submission WHERE k.kiosk = $1 AND k.key = $2",
                &[&kiosk, &key],
            )?
            .as_ref()
            .map(stored))
    }

    fn by_uid(&mut self, reference_uid: &str) -> Result<Option<Stored>> {
        Ok(self
            .db()?
            .query_opt(
                "SELECT id, body_hash, receipt FROM submissions WHERE reference_uid = $1",
                &[&reference_uid],
            )?
            .as_ref()
            .map(stored))
    }

    fn add_key(&mut self, kiosk: &str, key: &str, id: i64) -> Result<()> {
        self.db()?.execute(
            "INSERT INTO idempotency_keys (kiosk, key, submission) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&kiosk, &key, &id],
        )?;
        Ok(())
    }

    fn accept(
        &mut self,
        new: &NewSubmission<'_>,
        receipt: &mut dyn FnMut(u32, Option<u32>) -> ReceiptRow,
    ) -> Result<Accepted> {
        let mut db = self.db()?;
        let mut tx = db.transaction()?;
        // A conflict is likeliest on the business key (another replica took the same
        // submission): check first, so the day's counter row is not locked for nothing.
        let taken = tx.query_opt(
            "SELECT 1 FROM submissions WHERE reference_uid = $1",
            &[&new.reference_uid],
        )?;
        if taken.is_some() {
            return Ok(Accepted::Conflict);
        }
        let seq: i32 = tx
            .query_one(
                "INSERT INTO day_sequence (day, last) VALUES ($1, 1)
                 ON CONFLICT (day) DO UPDATE SET last = day_sequence.last + 1 RETURNING last",
                &[&new.day],
            )?
            .get(0);
        let queue = match new.queue_department {
            Some(dep) => {
                let q: i32 = tx
                    .query_one(
                        "INSERT INTO queue_numbers (day, department, last) VALUES ($1, $2, 1)
                         ON CONFLICT (day, department)
                         DO UPDATE SET last = queue_numbers.last + 1 RETURNING last",
                        &[&new.day, &dep],
                    )?
                    .get(0);
                Some(to_u32(q)?)
            }
            None => None,
        };
        let row = receipt(to_u32(seq)?, queue);
        // Dropping `tx` on any error rolls the counters back.
        let inserted = tx.query_one(
            "INSERT INTO submissions (kiosk, reference_uid, dossier_code, lookup_code, kind,
                 procedure_code, procedure_name, body, body_hash, receipt, received_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &new.kiosk,
                &new.reference_uid,
                &row.dossier_code,
                &row.lookup_code,
                &new.kind,
                &new.procedure_code,
                &new.procedure_name,
                &new.forward.then_some(new.body),
                &sha256_hex(new.body),
                &row.json,
                &new.now_ms,
            ],
        );
        let id: i64 = match inserted {
            Ok(r) => r.get(0),
            Err(e) if is_conflict(&e) => return Ok(Accepted::Conflict),
            Err(e) => return Err(e.into()),
        };
        match tx.execute(
            "INSERT INTO idempotency_keys (kiosk, key, submission) VALUES ($1, $2, $3)",
            &[&new.kiosk, &new.key, &id],
        ) {
            Ok(_) => {}
            Err(e) if is_conflict(&e) => return Ok(Accepted::Conflict),
            Err(e) => return Err(e.into()),
        }
        if new.forward {
            tx.execute(
                "INSERT INTO forward_queue (submission, due_ms) VALUES ($1, $2)",
                &[&id, &new.now_ms],
            )?;
        }
        tx.execute(
            "INSERT INTO kiosks (kiosk, last_seen_ms) VALUES ($1, $2)
             ON CONFLICT (kiosk) DO UPDATE
             SET last_seen_ms = GREATEST(kiosks.last_seen_ms, EXCLUDED.last_seen_ms)",
            &[&new.kiosk, &new.now_ms],
        )?;
        match tx.commit() {
            Ok(()) => Ok(Accepted::New(row.json)),
            Err(e) if is_conflict(&e) => Ok(Accepted::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    fn status(&mut self, dossier_code: &str, lookup_code: &str) -> Result<Option<StatusRow>> {
        Ok(self
            .db()?
            .query_opt(
                "SELECT procedure_name, status, receipt, collect_place, collect_at FROM submissions
                 WHERE dossier_code = $1 AND lookup_code = $2",
                &[&dossier_code, &lookup_code],
            )?
            .map(|r| StatusRow {
                procedure_name: r.get(0),
                status: r.get(1),
                receipt: r.get(2),
                collect_place: r.get(3),
                collect_at: r.get(4),
            }))
    }

    fn set_catalog(&mut self, mode: &str, catalog: &Catalog) -> Result<()> {
        self.db()?.execute(
            "INSERT INTO catalogs (mode, version, json) VALUES ($1, $2, $3)
             ON CONFLICT (mode) DO UPDATE SET version = EXCLUDED.version, json = EXCLUDED.json",
            &[&mode, &catalog.version, &catalog.json],
        )?;
        Ok(())
    }

    fn catalog(&mut self, mode: &str) -> Result<Option<Catalog>> {
        Ok(self
            .db()?
            .query_opt(
                "SELECT json, version FROM catalogs WHERE mode = $1",
                &[&mode],
            )?
            .map(|r| Catalog {
                json: r.get(0),
                version: r.get(1),
            }))
    }

    fn heartbeat(&mut self, kiosk: &str, json: &[u8], now_ms: i64) -> Result<()> {
        self.db()?.execute(
            "INSERT INTO kiosks (kiosk, last_seen_ms, heartbeat) VALUES ($1, $2, $3)
             ON CONFLICT (kiosk) DO UPDATE
             SET last_seen_ms = GREATEST(kiosks.last_seen_ms, EXCLUDED.last_seen_ms),
                 heartbeat = EXCLUDED.heartbeat",
            &[&kiosk, &now_ms, &json],
        )?;
        Ok(())
    }

    fn lease_status_polls(
        &mut self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<PollJob>> {
        let rows = self.db()?.query(
            "WITH due AS (
                 SELECT id FROM submissions
                 WHERE status IN ('forwarded', 'processing', 'ready', 'returned')
                   AND poll_due_ms <= $1
                 ORDER BY poll_due_ms, id LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             UPDATE submissions s SET poll_due_ms = $2 FROM due WHERE s.id = due.id
             RETURNING s.id, s.reference_uid, s.dossier_code, s.status, s.poll_attempts",
            &[&now_ms, &now_ms.saturating_add(lease_ms), &i64::from(limit)],
        )?;
        let mut jobs = rows
            .iter()
            .map(|r| {
                Ok(PollJob {
                    id: r.get(0),
                    reference_uid: r.get(1),
                    dossier_code: r.get(2),
                    status: r.get(3),
                    attempts: to_u32(r.get(4))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    fn status_polled(
        &mut self,
        id: i64,
        update: Option<&StatusUpdate>,
        next_due_ms: i64,
        quiet: bool,
    ) -> Result<()> {
        self.db()?.execute(
            "UPDATE submissions SET
                 status = COALESCE($2, status),
                 collect_place = COALESCE($3, collect_place),
                 collect_at = COALESCE($4, collect_at),
                 poll_due_ms = $5,
                 poll_attempts = CASE WHEN $6 THEN poll_attempts + 1 ELSE 0 END
             WHERE id = $1 AND status IN ('forwarded', 'processing', 'ready', 'returned')",
            &[
                &id,
                &update.map(|u| u.status.as_str()),
                &update.and_then(|u| u.collect_place.as_deref()),
                &update.and_then(|u| u.collect_at.as_deref()),
                &next_due_ms,
                &quiet,
            ],
        )?;
        Ok(())
    }

    fn heartbeats(&mut self, seen_since_ms: i64) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self
            .db()?
            .query(
                "SELECT kiosk, heartbeat FROM kiosks
                 WHERE heartbeat IS NOT NULL AND last_seen_ms >= $1 ORDER BY kiosk",
                &[&seen_since_ms],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn lease_forward(&mut self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<ForwardJob>> {
        let rows = self.db()?.query(
            "WITH due AS (
                 SELECT submission FROM forward_queue
                 WHERE state = 'pending' AND due_ms <= $1 AND lease_until_ms <= $1
                 ORDER BY due_ms, submission LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             UPDATE forward_queue q SET lease_until_ms = $2
             FROM due, submissions s
             WHERE q.submission = due.submission AND s.id = q.submission
             RETURNING q.submission, q.attempts, s.reference_uid, s.dossier_code, s.body",
            &[&now_ms, &now_ms.saturating_add(lease_ms), &i64::from(limit)],
        )?;
        let mut jobs = rows
            .iter()
            .map(|r| {
                Ok(ForwardJob {
                    id: r.get(0),
                    attempts: to_u32(r.get(1))?,
                    reference_uid: r.get(2),
                    dossier_code: r.get(3),
                    body: r.get::<_, Option<Vec<u8>>>(4).unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    fn forward_done(&mut self, id: i64, now_ms: i64, retention_ms: i64) -> Result<()> {
        let mut db = self.db()?;
        let mut tx = db.transaction()?;
        tx.execute(
            "UPDATE forward_queue SET state = 'done', lease_until_ms = 0 WHERE submission = $1",
            &[&id],
        )?;
        let erase_after = now_ms.saturating_add(retention_ms);
        tx.execute(
            "UPDATE submissions SET status = 'forwarded', forwarded_ms = $2::BIGINT,
                 erase_after_ms = $3::BIGINT,
                 body = CASE WHEN $3::BIGINT <= $2::BIGINT THEN NULL ELSE body END
             WHERE id = $1",
            &[&id, &now_ms, &erase_after],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn forward_failed(
        &mut self,
        id: i64,
        retry_at_ms: Option<i64>,
        error: &str,
        now_ms: i64,
    ) -> Result<()> {
        let mut db = self.db()?;
        let mut tx = db.transaction()?;
        match retry_at_ms {
            Some(at) => {
                tx.execute(
                    "UPDATE forward_queue SET attempts = attempts + 1, due_ms = $2,
                         lease_until_ms = 0, last_error = $3 WHERE submission = $1",
                    &[&id, &at, &error],
                )?;
            }
            None => {
                tx.execute(
                    "UPDATE submissions SET status = 'forward_failed', erase_after_ms = $2
                     WHERE id = $1",
                    &[&id, &now_ms.saturating_add(DEAD_LETTER_RETENTION_MS)],
                )?;
                tx.execute(
                    "UPDATE forward_queue SET state = 'dead', attempts = attempts + 1,
                         lease_until_ms = 0, last_error = $2 WHERE submission = $1",
                    &[&id, &error],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn erase_due(&mut self, now_ms: i64) -> Result<u64> {
        Ok(self.db()?.execute(
            "UPDATE submissions SET body = NULL
             WHERE body IS NOT NULL AND erase_after_ms IS NOT NULL AND erase_after_ms <= $1",
            &[&now_ms],
        )?)
    }

    fn gauges(&mut self, seen_since_ms: i64) -> Result<Gauges> {
        let mut db = self.db()?;
        let r = db.query_one(
            "SELECT COUNT(*) FILTER (WHERE state = 'pending'),
                    COUNT(*) FILTER (WHERE state = 'dead') FROM forward_queue",
            &[],
        )?;
        let (pending, dead): (i64, i64) = (r.get(0), r.get(1));
        let seen: i64 = db
            .query_one(
                "SELECT COUNT(*) FROM kiosks WHERE last_seen_ms >= $1",
                &[&seen_since_ms],
            )?
            .get(0);
        let certs = db
            .query(
                "SELECT kiosk, MAX(not_after_ms) FROM certificates WHERE revoked_ms IS NULL
                 GROUP BY kiosk ORDER BY kiosk",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(Gauges {
            forward_pending: u64::try_from(pending).unwrap_or(0),
            forward_dead: u64::try_from(dead).unwrap_or(0),
            kiosks_seen: u64::try_from(seen).unwrap_or(0),
            cert_not_after: certs,
        })
    }

    fn count_submissions(&mut self) -> Result<u64> {
        let n: i64 = self
            .db()?
            .query_one("SELECT COUNT(*) FROM submissions", &[])?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn submissions(&mut self) -> Result<Vec<(String, String, String)>> {
        Ok(self
            .db()?
            .query(
                "SELECT reference_uid, dossier_code, procedure_code FROM submissions ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    fn prune_keys(&mut self, before_ms: i64, limit: u32) -> Result<u64> {
        // SKIP LOCKED: replicas pruning at the same time take different rows.
        Ok(self.db()?.execute(
            "DELETE FROM idempotency_keys WHERE (kiosk, key) IN (
                 SELECT k.kiosk, k.key FROM idempotency_keys k
                 JOIN submissions s ON s.id = k.submission
                 WHERE s.received_ms < $1 LIMIT $2
                 FOR UPDATE OF k SKIP LOCKED)",
            &[&before_ms, &i64::from(limit)],
        )?)
    }

    fn prune_receipts(&mut self, before_ms: i64, limit: u32) -> Result<u64> {
        let mut db = self.db()?;
        let mut tx = db.transaction()?;
        let ids: Vec<i64> = tx
            .query(
                &format!(
                    "SELECT s.id {PRUNABLE_RECEIPTS} ORDER BY s.id LIMIT $2
                     FOR UPDATE OF s SKIP LOCKED"
                ),
                &[&before_ms, &i64::from(limit)],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.execute(
            "DELETE FROM idempotency_keys WHERE submission = ANY($1)",
            &[&ids],
        )?;
        tx.execute(
            "DELETE FROM forward_queue WHERE submission = ANY($1)",
            &[&ids],
        )?;
        let n = tx.execute("DELETE FROM submissions WHERE id = ANY($1)", &[&ids])?;
        tx.commit()?;
        Ok(n)
    }

    fn count_prunable(
        &mut self,
        keys_before_ms: i64,
        receipts_before_ms: i64,
    ) -> Result<(u64, u64)> {
        let mut db = self.db()?;
        let keys: i64 = db
            .query_one(
                "SELECT COUNT(*) FROM idempotency_keys k JOIN submissions s
                 ON s.id = k.submission WHERE s.received_ms < $1",
                &[&keys_before_ms],
            )?
            .get(0);
        let receipts: i64 = db
            .query_one(
                &format!("SELECT COUNT(*) {PRUNABLE_RECEIPTS}"),
                &[&receipts_before_ms],
            )?
            .get(0);
        Ok((
            u64::try_from(keys).unwrap_or(0),
            u64::try_from(receipts).unwrap_or(0),
        ))
    }

    fn dead_letters(&mut self) -> Result<Vec<DeadLetter>> {
        self.db()?
            .query(
                "SELECT s.id, s.kiosk, s.procedure_code, q.attempts, COALESCE(q.last_error, ''),
                        s.received_ms, s.body IS NOT NULL
                 FROM forward_queue q JOIN submissions s ON s.id = q.submission
                 WHERE q.state = 'dead' ORDER BY s.id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(DeadLetter {
                    id: r.get(0),
                    kiosk: r.get(1),
                    procedure_code: r.get(2),
                    attempts: to_u32(r.get(3))?,
                    last_error: r.get(4),
                    received_ms: r.get(5),
                    has_body: r.get(6),
                })
            })
            .collect()
    }

    fn retry_dead(&mut self, id: Option<i64>, now_ms: i64) -> Result<u64> {
        let mut db = self.db()?;
        let mut tx = db.transaction()?;
        tx.execute(
            "UPDATE submissions SET status = 'received', erase_after_ms = NULL
             WHERE body IS NOT NULL AND id IN (
                 SELECT submission FROM forward_queue
                 WHERE state = 'dead' AND ($1::BIGINT IS NULL OR submission = $1))",
            &[&id],
        )?;
        let n = tx.execute(
            "UPDATE forward_queue SET state = 'pending', attempts = 0, due_ms = $2,
                 lease_until_ms = 0
             WHERE state = 'dead' AND ($1::BIGINT IS NULL OR submission = $1)
               AND submission IN (SELECT id FROM submissions WHERE body IS NOT NULL)",
            &[&id, &now_ms],
        )?;
        tx.commit()?;
        Ok(n)
    }

    fn drop_dead(&mut self, id: i64) -> Result<bool> {
        let mut db = self.db()?;
        let mut tx = db.transaction()?;
        let n = tx.execute(
            "UPDATE forward_queue SET state = 'dropped', lease_until_ms = 0
             WHERE submission = $1 AND state = 'dead'",
            &[&id],
        )?;
        if n == 1 {
            tx.execute(
                "UPDATE submissions SET body = NULL, erase_after_ms = NULL WHERE id = $1",
                &[&id],
            )?;
        }
        tx.commit()?;
        Ok(n == 1)
    }
}

/// The submissions a receipt pruning may delete (`$1`: received before): forwarding not
/// pending (done, dead, dropped, or never queued).
const PRUNABLE_RECEIPTS: &str = "FROM submissions s LEFT JOIN forward_queue q
     ON q.submission = s.id
     WHERE s.received_ms < $1 AND (q.state IS NULL OR q.state <> 'pending')";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::PgCluster;

    #[test]
    fn the_store_contract_holds_in_postgres_across_connections_and_a_restart() {
        let Some(mut pg) = PgCluster::for_test() else {
            return;
        };
        let url = pg.database("contract").expect("database");
        let mut s = PgStore::connect(&url).expect("connect");
        super::super::contract::check(&mut s);
        // Migrating again (a second replica starting) changes nothing.
        let mut other = PgStore::connect(&url).expect("second replica");
        assert_eq!(other.count_submissions().expect("count"), 2);
        let dead = pg.database("dead").expect("database");
        super::super::contract::check_dead_letter(&mut PgStore::connect(&dead).expect("c"));
        let pruning = pg.database("retention").expect("database");
        super::super::contract::check_retention(&mut PgStore::connect(&pruning).expect("c"));
        let ops = pg.database("deadops").expect("database");
        super::super::contract::check_dead_letter_ops(&mut PgStore::connect(&ops).expect("c"));

        // Two replicas racing on one referenceUid: one dossier, the other sees a conflict.
        let race = pg.database("race").expect("database");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let outcomes: Vec<Accepted> = (0..4)
            .map(|i| {
                let (race, barrier) = (race.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut s = PgStore::connect(&race).expect("connect");
                    let key = format!("key-{i}");
                    let new = NewSubmission {
                        kiosk: "kiosk-01",
                        key: &key,
                        reference_uid: "uid-race",
                        kind: "tthc",
                        procedure_code: "1.004194",
                        procedure_name: "x",
                        body: b"b",
                        day: "2026-01-05",
                        queue_department: None,
                        forward: true,
                        now_ms: 1,
                    };
                    barrier.wait();
                    s.accept(&new, &mut |seq, _| ReceiptRow {
                        dossier_code: format!("D-{seq}"),
                        lookup_code: format!("L-{i}"),
                        json: b"{}".to_vec(),
                    })
                    .expect("accept")
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        let new = outcomes
            .iter()
            .filter(|o| matches!(o, Accepted::New(_)))
            .count();
        assert_eq!(new, 1, "{outcomes:?}");
        // SKIP LOCKED and the lease: a second replica does not get the leased item.
        let mut a = PgStore::connect(&race).expect("a");
        let mut b = PgStore::connect(&race).expect("b");
        assert_eq!(a.lease_forward(10, 60_000, 5).expect("a").len(), 1);
        assert!(b.lease_forward(11, 60_000, 5).expect("b").is_empty());
        // ...until the lease runs out (its replica died).
        assert_eq!(b.lease_forward(70_000, 60_000, 5).expect("b").len(), 1);

        // PostgreSQL restarted: the call in flight may fail, the next one reconnects.
        pg.restart().expect("restart");
        let first = a.ping();
        let second = a.ping();
        assert!(second.is_ok(), "after {first:?}: {second:?}");
        assert_eq!(a.count_submissions().expect("count"), 1);
    }

    #[test]
    fn requests_share_the_pool_and_one_without_a_connection_in_time_gets_a_503() {
        let Some(pg) = PgCluster::for_test() else {
            return;
        };
        let url = pg.database("pool").expect("database");
        let settings = PoolSettings {
            max_size: 2,
            acquire_timeout: std::time::Duration::from_secs(2),
        };
        let store = PgStore::connect_pooled(&url, None, settings).expect("connect");
        // Two clones (two requests) hold both connections at once.
        let (a, b) = (store.clone(), store.clone());
        let held = (a.db().expect("first"), b.db().expect("second"));
        assert_eq!(store.pool().connections(), 2);
        let mut third = store.clone();
        let e = third.ping().expect_err("no connection free");
        assert!(e.is_unavailable(), "{e}");
        // Through the protocol: 503 with Retry-After, not 500 and not a hang.
        let ca = crate::ca::Authority::ephemeral("Test CA").expect("ca");
        let mut state =
            crate::State::new(crate::GatewayConfig::default(), Box::new(store.clone()), ca);
        let mut forked = state.fork().expect("a pooled store forks");
        let lookup = crate::Request {
            method: "GET".to_owned(),
            target: "/v1/submissions/D-1?code=AAAAAAAA".to_owned(),
            headers: Vec::new(),
        };
        let r = forked.handle(&lookup, &crate::Peer::default(), b"", 0);
        assert_eq!(r.status, 503);
        assert_eq!(
            r.headers
                .iter()
                .find(|(n, _)| *n == "Retry-After")
                .map(|(_, v)| v.as_str()),
            Some("2")
        );
        // A connection back: served again, without opening a third.
        drop(held);
        let r = forked.handle(&lookup, &crate::Peer::default(), b"", 0);
        assert_eq!(r.status, 404, "an unknown dossier");
        assert!(store.pool().connections() <= 2);
        assert!(PgStore::connect_pooled(
            &url,
            None,
            PoolSettings {
                max_size: 0,
                ..settings
            }
        )
        .is_err());
    }

    #[test]
    fn tls_to_postgres_trusts_only_the_given_ca() {
        let Some(mut pg) = PgCluster::for_test() else {
            return;
        };
        let ca = crate::ca::Authority::ephemeral("Database CA").expect("ca");
        let (cert, key) = ca
            .server_certificate(&["127.0.0.1".to_owned()])
            .expect("server certificate");
        pg.enable_tls(&cert, &key).expect("ssl on");
        let url = format!("{} sslmode=require", pg.url());
        let tls = RustlsMake::new(ca.ca_pem()).expect("roots");
        let mut s = PgStore::connect_with(&url, Some(tls.clone())).expect("over TLS");
        s.ping().expect("ping");
        let mut raw = Client::connect(&url, tls).expect("raw");
        let ssl: bool = raw
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .expect("pg_stat_ssl")
            .get(0);
        assert!(ssl, "the session is encrypted");
        // A server certificate from a CA we were not given: refused.
        let other = crate::ca::Authority::ephemeral("Other CA").expect("ca");
        let wrong = RustlsMake::new(other.ca_pem()).expect("roots");
        assert!(PgStore::connect_with(&url, Some(wrong)).is_err());
    }
}
