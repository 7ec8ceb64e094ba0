//! [`SqliteStore`]: the records in SQLite, for the demo on a laptop and the fast tests (no
//! PostgreSQL needed). One process only: the forwarding leases are honoured, but SQLite's
//! single writer is no place for several replicas (use [`super::PgStore`]).
//!
//! Durability: WAL with `synchronous = FULL`, so every accepted submission is on disk before
//! its 201 leaves.

use rusqlite::{params, Connection, ErrorCode, OptionalExtension as _};

use super::{
    sha256_hex, Accepted, Catalog, CertRecord, DeadLetter, ForwardJob, Gauges, NewSubmission,
    PollJob, ReceiptRow, Result, StatusRow, StatusUpdate, Store, StoreError, TokenCheck, TokenRow,
    DEAD_LETTER_RETENTION_MS,
};

/// The versioned migrations; `PRAGMA user_version` is the last one applied. Append, never
/// edit: a database at version N gets N+1.. at the next start.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE submissions (
        id             INTEGER PRIMARY KEY,
        kiosk          TEXT NOT NULL,
        reference_uid  TEXT NOT NULL UNIQUE,
        dossier_code   TEXT NOT NULL UNIQUE,
        lookup_code    TEXT NOT NULL UNIQUE,
        kind           TEXT NOT NULL,
        procedure_code TEXT NOT NULL,
        procedure_name TEXT NOT NULL,
        body           BLOB,
        body_hash      TEXT NOT NULL,
        receipt        BLOB NOT NULL,
        status         TEXT NOT NULL DEFAULT 'received',
        received_ms    INTEGER NOT NULL,
        forwarded_ms   INTEGER,
        erase_after_ms INTEGER
    );
    CREATE TABLE idempotency_keys (
        kiosk      TEXT NOT NULL,
        key        TEXT NOT NULL,
        submission INTEGER NOT NULL REFERENCES submissions(id),
        PRIMARY KEY (kiosk, key)
    );
    CREATE TABLE day_sequence (day TEXT PRIMARY KEY, last INTEGER NOT NULL);
    CREATE TABLE queue_numbers (
        day TEXT NOT NULL, department TEXT NOT NULL, last INTEGER NOT NULL,
        PRIMARY KEY (day, department)
    );
    CREATE TABLE forward_queue (
        submission     INTEGER PRIMARY KEY REFERENCES submissions(id),
        state          TEXT NOT NULL DEFAULT 'pending',
        attempts       INTEGER NOT NULL DEFAULT 0,
        due_ms         INTEGER NOT NULL,
        lease_until_ms INTEGER NOT NULL DEFAULT 0,
        last_error     TEXT
    );
    CREATE INDEX forward_queue_due ON forward_queue (state, due_ms);
    CREATE TABLE enrolment_tokens (
        hash TEXT PRIMARY KEY, kiosk TEXT NOT NULL, site TEXT NOT NULL,
        created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
        used_ms INTEGER, revoked_ms INTEGER
    );
    CREATE TABLE certificates (
        serial TEXT PRIMARY KEY, kiosk TEXT NOT NULL, site TEXT NOT NULL,
        issued_ms INTEGER NOT NULL, not_after_ms INTEGER NOT NULL, revoked_ms INTEGER
    );
    CREATE INDEX certificates_kiosk ON certificates (kiosk);
    CREATE TABLE catalogs (mode TEXT PRIMARY KEY, version TEXT NOT NULL, json BLOB NOT NULL);
    CREATE TABLE kiosks (
        kiosk TEXT PRIMARY KEY, last_seen_ms INTEGER NOT NULL, heartbeat BLOB
    );
",
    "
    ALTER TABLE submissions ADD COLUMN poll_due_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE submissions ADD COLUMN poll_attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE submissions ADD COLUMN collect_place TEXT;
    ALTER TABLE submissions ADD COLUMN collect_at TEXT;
    CREATE INDEX submissions_poll ON submissions (status, poll_due_ms);
",
    "
    CREATE INDEX submissions_received ON submissions (received_ms);
    CREATE INDEX idempotency_keys_submission ON idempotency_keys (submission);
",
];

/// The records in one SQLite file or in memory.
pub struct SqliteStore {
    db: Connection,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`, or one in memory.
    ///
    /// # Errors
    ///
    /// SQLite's error (a folder that does not exist, a file that is not SQLite), or a
    /// database from a newer gateway.
    pub fn open(path: Option<&std::path::Path>) -> Result<Self> {
        let mut db = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        // `journal_mode` answers a row, hence `query_row`.
        db.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        db.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )?;
        let tx = db.transaction()?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let applied = usize::try_from(version).unwrap_or(usize::MAX);
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Schema(format!(
                "schema version {version} is newer than this gateway's {}",
                MIGRATIONS.len()
            )));
        }
        for m in MIGRATIONS.iter().skip(applied) {
            tx.execute_batch(m)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len()))?;
        tx.commit()?;
        Ok(Self { db })
    }
}

fn conflict(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl Store for SqliteStore {
    fn ping(&mut self) -> Result<()> {
        self.db.query_row("SELECT 1", [], |_| Ok(()))?;
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
        self.db.execute(
            "INSERT INTO enrolment_tokens (hash, kiosk, site, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![hash, kiosk, site, now_ms, expires_ms],
        )?;
        Ok(())
    }

    fn list_tokens(&mut self, now_ms: i64) -> Result<Vec<TokenRow>> {
        let mut st = self.db.prepare(
            "SELECT hash, kiosk, site, expires_ms, used_ms IS NOT NULL, revoked_ms IS NOT NULL
             FROM enrolment_tokens ORDER BY created_ms DESC",
        )?;
        let rows = st.query_map([], |r| {
            let hash: String = r.get(0)?;
            let expires_ms: i64 = r.get(3)?;
            Ok(TokenRow {
                id: hash.get(..12).unwrap_or(&hash).to_owned(),
                kiosk: r.get(1)?,
                site: r.get(2)?,
                expires_ms,
                state: TokenRow::state_of(expires_ms, r.get(4)?, r.get(5)?, now_ms),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn revoke_tokens(&mut self, kiosk: &str, now_ms: i64) -> Result<u64> {
        Ok(count(self.db.execute(
            "UPDATE enrolment_tokens SET revoked_ms = ?2
             WHERE kiosk = ?1 AND used_ms IS NULL AND revoked_ms IS NULL",
            params![kiosk, now_ms],
        )?))
    }

    fn find_token(&mut self, hash: &str) -> Result<Option<TokenCheck>> {
        Ok(self
            .db
            .query_row(
                "SELECT kiosk, site, expires_ms, used_ms IS NOT NULL, revoked_ms IS NOT NULL
                 FROM enrolment_tokens WHERE hash = ?1",
                [hash],
                |r| {
                    Ok(TokenCheck {
                        kiosk: r.get(0)?,
                        site: r.get(1)?,
                        expires_ms: r.get(2)?,
                        used: r.get(3)?,
                        revoked: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    fn spend_token(&mut self, hash: &str, cert: &CertRecord, now_ms: i64) -> Result<bool> {
        let tx = self.db.transaction()?;
        let spent = tx.execute(
            "UPDATE enrolment_tokens SET used_ms = ?2 WHERE hash = ?1 AND used_ms IS NULL",
            params![hash, now_ms],
        )?;
        if spent != 1 {
            return Ok(false);
        }
        insert_cert(&tx, cert)?;
        tx.commit()?;
        Ok(true)
    }

    fn record_certificate(&mut self, cert: &CertRecord) -> Result<()> {
        insert_cert(&self.db, cert)
    }

    fn latest_site(&mut self, kiosk: &str) -> Result<Option<String>> {
        Ok(self
            .db
            .query_row(
                "SELECT site FROM certificates WHERE kiosk = ?1 ORDER BY issued_ms DESC LIMIT 1",
                [kiosk],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn revoke_kiosk(&mut self, kiosk: &str, now_ms: i64) -> Result<u64> {
        let tx = self.db.transaction()?;
        let n = tx.execute(
            "UPDATE certificates SET revoked_ms = ?2 WHERE kiosk = ?1 AND revoked_ms IS NULL",
            params![kiosk, now_ms],
        )?;
        tx.execute(
            "UPDATE enrolment_tokens SET revoked_ms = ?2
             WHERE kiosk = ?1 AND used_ms IS NULL AND revoked_ms IS NULL",
            params![kiosk, now_ms],
        )?;
        tx.commit()?;
        Ok(count(n))
    }

    fn is_revoked(&mut self, serial: &str) -> Result<bool> {
        Ok(self
            .db
            .query_row(
                "SELECT revoked_ms IS NOT NULL FROM certificates WHERE serial = ?1",
                [serial],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    fn by_key(&mut self, kiosk: &str, key: &str) -> Result<Option<Stored>> {
        Ok(self
            .db
            .query_row(
                "SELECT s.id, s.body_hash, s.receipt FROM idempotency_keys k
                 JOIN submissions s ON s.id = k.submission WHERE k.kiosk = ?1 AND k.key = ?2",
                [kiosk, key],
                stored,
            )
            .optional()?)
    }

    fn by_uid(&mut self, reference_uid: &str) -> Result<Option<Stored>> {
        Ok(self
            .db
            .query_row(
                "SELECT id, body_hash, receipt FROM submissions WHERE reference_uid = ?1",
                [reference_uid],
                stored,
            )
            .optional()?)
    }

    fn add_key(&mut self, kiosk: &str, key: &str, id: i64) -> Result<()> {
        self.db.execute(
            "INSERT INTO idempotency_keys (kiosk, key, submission) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![kiosk, key, id],
        )?;
        Ok(())
    }

    fn accept(
        &mut self,
        new: &NewSubmission<'_>,
        receipt: &mut dyn FnMut(u32, Option<u32>) -> ReceiptRow,
    ) -> Result<Accepted> {
        let tx = self.db.transaction()?;
        let seq: u32 = tx.query_row(
            "INSERT INTO day_sequence (day, last) VALUES (?1, 1)
             ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
            [new.day],
            |r| r.get(0),
        )?;
        let queue = match new.queue_department {
            Some(dep) => Some(tx.query_row(
                "INSERT INTO queue_numbers (day, department, last) VALUES (?1, ?2, 1)
                 ON CONFLICT (day, department) DO UPDATE SET last = last + 1 RETURNING last",
                [new.day, dep],
                |r| r.get::<_, u32>(0),
            )?),
            None => None,
        };
        let row = receipt(seq, queue);
        let inserted = tx.execute(
            "INSERT INTO submissions (kiosk, reference_uid, dossier_code, lookup_code, kind,
                 procedure_code, procedure_name, body, body_hash, receipt, received_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                new.kiosk,
                new.reference_uid,
                row.dossier_code,
                row.lookup_code,
                new.kind,
                new.procedure_code,
                new.procedure_name,
                new.forward.then_some(new.body),
                sha256_hex(new.body),
                row.json,
                new.now_ms
            ],
        );
        match inserted {
            Ok(_) => {}
            // Dropping `tx` rolls the counters back.
            Err(e) if conflict(&e) => return Ok(Accepted::Conflict),
            Err(e) => return Err(e.into()),
        }
        let id = tx.last_insert_rowid();
        match tx.execute(
            "INSERT INTO idempotency_keys (kiosk, key, submission) VALUES (?1, ?2, ?3)",
            params![new.kiosk, new.key, id],
        ) {
            Ok(_) => {}
            Err(e) if conflict(&e) => return Ok(Accepted::Conflict),
            Err(e) => return Err(e.into()),
        }
        if new.forward {
            tx.execute(
                "INSERT INTO forward_queue (submission, due_ms) VALUES (?1, ?2)",
                params![id, new.now_ms],
            )?;
        }
        tx.execute(
            "INSERT INTO kiosks (kiosk, last_seen_ms) VALUES (?1, ?2)
             ON CONFLICT (kiosk) DO UPDATE SET last_seen_ms = MAX(last_seen_ms, ?2)",
            params![new.kiosk, new.now_ms],
        )?;
        tx.commit()?;
        Ok(Accepted::New(row.json))
    }

    fn status(&mut self, dossier_code: &str, lookup_code: &str) -> Result<Option<StatusRow>> {
        Ok(self
            .db
            .query_row(
                "SELECT procedure_name, status, receipt, collect_place, collect_at FROM submissions
                 WHERE dossier_code = ?1 AND lookup_code = ?2",
                [dossier_code, lookup_code],
                |r| {
                    Ok(StatusRow {
                        procedure_name: r.get(0)?,
                        status: r.get(1)?,
                        receipt: r.get(2)?,
                        collect_place: r.get(3)?,
                        collect_at: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    fn set_catalog(&mut self, mode: &str, catalog: &Catalog) -> Result<()> {
        self.db.execute(
            "INSERT INTO catalogs (mode, version, json) VALUES (?1, ?2, ?3)
             ON CONFLICT (mode) DO UPDATE SET version = ?2, json = ?3",
            params![mode, catalog.version, catalog.json],
        )?;
        Ok(())
    }

    fn catalog(&mut self, mode: &str) -> Result<Option<Catalog>> {
        Ok(self
            .db
            .query_row(
                "SELECT json, version FROM catalogs WHERE mode = ?1",
                [mode],
                |r| {
                    Ok(Catalog {
                        json: r.get(0)?,
                        version: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn heartbeat(&mut self, kiosk: &str, json: &[u8], now_ms: i64) -> Result<()> {
        self.db.execute(
            "INSERT INTO kiosks (kiosk, last_seen_ms, heartbeat) VALUES (?1, ?2, ?3)
             ON CONFLICT (kiosk) DO UPDATE SET last_seen_ms = MAX(last_seen_ms, ?2), heartbeat = ?3",
            params![kiosk, now_ms, json],
        )?;
        Ok(())
    }

    fn lease_status_polls(
        &mut self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<PollJob>> {
        let tx = self.db.transaction()?;
        let jobs = {
            let mut st = tx.prepare(
                "SELECT id, reference_uid, dossier_code, status, poll_attempts FROM submissions
                 WHERE status IN ('forwarded', 'processing', 'ready', 'returned')
                   AND poll_due_ms <= ?1
                 ORDER BY poll_due_ms, id LIMIT ?2",
            )?;
            let rows = st
                .query_map(params![now_ms, limit], |r| {
                    Ok(PollJob {
                        id: r.get(0)?,
                        reference_uid: r.get(1)?,
                        dossier_code: r.get(2)?,
                        status: r.get(3)?,
                        attempts: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        for j in &jobs {
            tx.execute(
                "UPDATE submissions SET poll_due_ms = ?2 WHERE id = ?1",
                params![j.id, now_ms.saturating_add(lease_ms)],
            )?;
        }
        tx.commit()?;
        Ok(jobs)
    }

    fn status_polled(
        &mut self,
        id: i64,
        update: Option<&StatusUpdate>,
        next_due_ms: i64,
        quiet: bool,
    ) -> Result<()> {
        self.db.execute(
            "UPDATE submissions SET
                 status = COALESCE(?2, status),
                 collect_place = COALESCE(?3, collect_place),
                 collect_at = COALESCE(?4, collect_at),
                 poll_due_ms = ?5,
                 poll_attempts = CASE WHEN ?6 THEN poll_attempts + 1 ELSE 0 END
             WHERE id = ?1 AND status IN ('forwarded', 'processing', 'ready', 'returned')",
            params![
                id,
                update.map(|u| u.status.as_str()),
                update.and_then(|u| u.collect_place.as_deref()),
                update.and_then(|u| u.collect_at.as_deref()),
                next_due_ms,
                quiet
            ],
        )?;
        Ok(())
    }

    fn heartbeats(&mut self, seen_since_ms: i64) -> Result<Vec<(String, Vec<u8>)>> {
        let mut st = self.db.prepare(
            "SELECT kiosk, heartbeat FROM kiosks
             WHERE heartbeat IS NOT NULL AND last_seen_ms >= ?1 ORDER BY kiosk",
        )?;
        let rows = st
            .query_map([seen_since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn lease_forward(&mut self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<ForwardJob>> {
        let tx = self.db.transaction()?;
        let jobs = {
            let mut st = tx.prepare(
                "UPDATE forward_queue SET lease_until_ms = ?2
                 WHERE submission IN (
                     SELECT submission FROM forward_queue
                     WHERE state = 'pending' AND due_ms <= ?1 AND lease_until_ms <= ?1
                     ORDER BY due_ms, submission LIMIT ?3)
                 RETURNING submission, attempts",
            )?;
            let leased = st
                .query_map(
                    params![now_ms, now_ms.saturating_add(lease_ms), limit],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u32>(1)?)),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut jobs = Vec::with_capacity(leased.len());
            for (id, attempts) in leased {
                let (reference_uid, dossier_code, body) = tx.query_row(
                    "SELECT reference_uid, dossier_code, body FROM submissions WHERE id = ?1",
                    [id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<Vec<u8>>>(2)?,
                        ))
                    },
                )?;
                jobs.push(ForwardJob {
                    id,
                    reference_uid,
                    dossier_code,
                    body: body.unwrap_or_default(),
                    attempts,
                });
            }
            jobs.sort_by_key(|j| j.id);
            jobs
        };
        tx.commit()?;
        Ok(jobs)
    }

    fn forward_done(&mut self, id: i64, now_ms: i64, retention_ms: i64) -> Result<()> {
        let tx = self.db.transaction()?;
        tx.execute(
            "UPDATE forward_queue SET state = 'done', lease_until_ms = 0 WHERE submission = ?1",
            [id],
        )?;
        tx.execute(
            "UPDATE submissions SET status = 'forwarded', forwarded_ms = ?2, erase_after_ms = ?3
             WHERE id = ?1",
            params![id, now_ms, now_ms.saturating_add(retention_ms)],
        )?;
        if retention_ms <= 0 {
            tx.execute("UPDATE submissions SET body = NULL WHERE id = ?1", [id])?;
        }
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
        let tx = self.db.transaction()?;
        match retry_at_ms {
            Some(at) => tx.execute(
                "UPDATE forward_queue SET attempts = attempts + 1, due_ms = ?2,
                     lease_until_ms = 0, last_error = ?3 WHERE submission = ?1",
                params![id, at, error],
            )?,
            None => {
                tx.execute(
                    "UPDATE submissions SET status = 'forward_failed', erase_after_ms = ?2
                     WHERE id = ?1",
                    params![id, now_ms.saturating_add(DEAD_LETTER_RETENTION_MS)],
                )?;
                tx.execute(
                    "UPDATE forward_queue SET state = 'dead', attempts = attempts + 1,
                         lease_until_ms = 0, last_error = ?2 WHERE submission = ?1",
                    params![id, error],
                )?
            }
        };
        tx.commit()?;
        Ok(())
    }

    fn erase_due(&mut self, now_ms: i64) -> Result<u64> {
        Ok(count(self.db.execute(
            "UPDATE submissions SET body = NULL
             WHERE body IS NOT NULL AND erase_after_ms IS NOT NULL AND erase_after_ms <= ?1",
            [now_ms],
        )?))
    }

    fn gauges(&mut self, seen_since_ms: i64) -> Result<Gauges> {
        let (pending, dead): (i64, i64) = self.db.query_row(
            "SELECT COALESCE(SUM(state = 'pending'), 0), COALESCE(SUM(state = 'dead'), 0)
             FROM forward_queue",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let seen: i64 = self.db.query_row(
            "SELECT COUNT(*) FROM kiosks WHERE last_seen_ms >= ?1",
            [seen_since_ms],
            |r| r.get(0),
        )?;
        let mut st = self.db.prepare(
            "SELECT kiosk, MAX(not_after_ms) FROM certificates WHERE revoked_ms IS NULL
             GROUP BY kiosk ORDER BY kiosk",
        )?;
        let certs = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Gauges {
            forward_pending: u64::try_from(pending).unwrap_or(0),
            forward_dead: u64::try_from(dead).unwrap_or(0),
            kiosks_seen: u64::try_from(seen).unwrap_or(0),
            cert_not_after: certs,
        })
    }

    fn count_submissions(&mut self) -> Result<u64> {
        let n: i64 = self
            .db
            .query_row("SELECT COUNT(*) FROM submissions", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn submissions(&mut self) -> Result<Vec<(String, String, String)>> {
        let mut st = self.db.prepare(
            "SELECT reference_uid, dossier_code, procedure_code FROM submissions ORDER BY id",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn prune_keys(&mut self, before_ms: i64, limit: u32) -> Result<u64> {
        Ok(count(self.db.execute(
            "DELETE FROM idempotency_keys WHERE rowid IN (
                 SELECT k.rowid FROM idempotency_keys k JOIN submissions s ON s.id = k.submission
                 WHERE s.received_ms < ?1 LIMIT ?2)",
            params![before_ms, limit],
        )?))
    }

    fn prune_receipts(&mut self, before_ms: i64, limit: u32) -> Result<u64> {
        let tx = self.db.transaction()?;
        let ids = {
            let mut st = tx.prepare(&format!(
                "SELECT s.id {PRUNABLE_RECEIPTS} ORDER BY s.id LIMIT ?2"
            ))?;
            let ids = st
                .query_map(params![before_ms, limit], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            ids
        };
        for id in &ids {
            tx.execute("DELETE FROM idempotency_keys WHERE submission = ?1", [id])?;
            tx.execute("DELETE FROM forward_queue WHERE submission = ?1", [id])?;
            tx.execute("DELETE FROM submissions WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(count(ids.len()))
    }

    fn count_prunable(
        &mut self,
        keys_before_ms: i64,
        receipts_before_ms: i64,
    ) -> Result<(u64, u64)> {
        let keys: i64 = self.db.query_row(
            "SELECT COUNT(*) FROM idempotency_keys k JOIN submissions s ON s.id = k.submission
             WHERE s.received_ms < ?1",
            [keys_before_ms],
            |r| r.get(0),
        )?;
        let receipts: i64 = self.db.query_row(
            &format!("SELECT COUNT(*) {PRUNABLE_RECEIPTS}"),
            [receipts_before_ms],
            |r| r.get(0),
        )?;
        Ok((
            u64::try_from(keys).unwrap_or(0),
            u64::try_from(receipts).unwrap_or(0),
        ))
    }

    fn dead_letters(&mut self) -> Result<Vec<DeadLetter>> {
        let mut st = self.db.prepare(
            "SELECT s.id, s.kiosk, s.procedure_code, q.attempts, COALESCE(q.last_error, ''),
                    s.received_ms, s.body IS NOT NULL
             FROM forward_queue q JOIN submissions s ON s.id = q.submission
             WHERE q.state = 'dead' ORDER BY s.id",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok(DeadLetter {
                    id: r.get(0)?,
                    kiosk: r.get(1)?,
                    procedure_code: r.get(2)?,
                    attempts: r.get(3)?,
                    last_error: r.get(4)?,
                    received_ms: r.get(5)?,
                    has_body: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn retry_dead(&mut self, id: Option<i64>, now_ms: i64) -> Result<u64> {
        let tx = self.db.transaction()?;
        tx.execute(
            "UPDATE submissions SET status = 'received', erase_after_ms = NULL
             WHERE body IS NOT NULL AND id IN (
                 SELECT submission FROM forward_queue
                 WHERE state = 'dead' AND (?1 IS NULL OR submission = ?1))",
            params![id],
        )?;
        let n = tx.execute(
            "UPDATE forward_queue SET state = 'pending', attempts = 0, due_ms = ?2,
                 lease_until_ms = 0
             WHERE state = 'dead' AND (?1 IS NULL OR submission = ?1)
               AND submission IN (SELECT id FROM submissions WHERE body IS NOT NULL)",
            params![id, now_ms],
        )?;
        tx.commit()?;
        Ok(count(n))
    }

    fn drop_dead(&mut self, id: i64) -> Result<bool> {
        let tx = self.db.transaction()?;
        let n = tx.execute(
            "UPDATE forward_queue SET state = 'dropped', lease_until_ms = 0
             WHERE submission = ?1 AND state = 'dead'",
            [id],
        )?;
        if n == 1 {
            tx.execute(
                "UPDATE submissions SET body = NULL, erase_after_ms = NULL WHERE id = ?1",
                [id],
            )?;
        }
        tx.commit()?;
        Ok(n == 1)
    }
}

/// The submissions a receipt pruning may delete (`?1`: received before): forwarding not
/// pending (done, dead, dropped, or never queued).
const PRUNABLE_RECEIPTS: &str = "FROM submissions s LEFT JOIN forward_queue q
     ON q.submission = s.id
     WHERE s.received_ms < ?1 AND (q.state IS NULL OR q.state <> 'pending')";

use super::Stored;

fn stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        id: r.get(0)?,
        body_hash: r.get(1)?,
        receipt: r.get(2)?,
    })
}

fn insert_cert(db: &Connection, cert: &CertRecord) -> Result<()> {
    db.execute(
        "INSERT INTO certificates (serial, kiosk, site, issued_ms, not_after_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            cert.serial,
            cert.kiosk,
            cert.site,
            cert.issued_ms,
            cert.not_after_ms
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_contract_holds_in_sqlite() {
        let mut s = SqliteStore::open(None).expect("db");
        super::super::contract::check(&mut s);
        let mut s = SqliteStore::open(None).expect("db");
        super::super::contract::check_dead_letter(&mut s);
        let mut s = SqliteStore::open(None).expect("db");
        super::super::contract::check_retention(&mut s);
        let mut s = SqliteStore::open(None).expect("db");
        super::super::contract::check_dead_letter_ops(&mut s);
    }

    #[test]
    fn tokens_are_kept_hashed_and_a_file_reopens_at_the_same_version() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("gw.db");
        {
            let mut s = SqliteStore::open(Some(&path)).expect("db");
            s.insert_token(&super::super::token_hash("secret-a"), "k", "s", 0, 1)
                .expect("token");
        }
        let mut s = SqliteStore::open(Some(&path)).expect("reopen");
        let raw: Vec<String> =
            s.db.prepare("SELECT hash FROM enrolment_tokens")
                .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
                .expect("hashes");
        assert!(raw.iter().all(|h| h.len() == 64 && !h.contains("secret")));
        assert_eq!(s.list_tokens(0).expect("list").len(), 1);
    }
}
