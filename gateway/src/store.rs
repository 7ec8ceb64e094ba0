//! The gateway's records in SQLite (through the rusqlite build the kiosk's outbox uses).
//!
//! One file, shared by the running service and the admin CLI (`kiosk-gateway token ...`,
//! `kiosk-gateway kiosk revoke`): submissions with their per-kiosk idempotency keys and
//! receipts, the day's dossier sequence and clinic queue counters, enrolment tokens (only
//! their SHA-256), the client certificates issued and the revoked ones. In memory when no
//! file is given (the demo).
//!
//! The submissions table keeps each body as received until the forwarding step exists
//! (issue 15): point a gateway only at synthetic citizens until then.

use rusqlite::{params, Connection, OptionalExtension as _};
use sha2::{Digest as _, Sha256};

/// The schema. `body` is the exact body first received, to tell a replay from a reused key;
/// `receipt` is the receipt's JSON as first sent, so a replay gets the same bytes. Several
/// idempotency keys may name one submission (the business-key dedup); keys are scoped per
/// kiosk (`kiosk` is the verified kiosk id, `-` on the demo's plain-HTTP loopback).
pub const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS submissions (
        id            INTEGER PRIMARY KEY,
        kiosk         TEXT NOT NULL,
        reference_uid TEXT NOT NULL UNIQUE,
        dossier_code  TEXT NOT NULL UNIQUE,
        lookup_code   TEXT NOT NULL UNIQUE,
        body          BLOB NOT NULL,
        receipt       BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        kiosk      TEXT NOT NULL,
        key        TEXT NOT NULL,
        submission INTEGER NOT NULL REFERENCES submissions(id),
        PRIMARY KEY (kiosk, key)
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
    CREATE TABLE IF NOT EXISTS enrolment_tokens (
        hash       TEXT PRIMARY KEY,
        kiosk      TEXT NOT NULL,
        site       TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        used_ms    INTEGER,
        revoked_ms INTEGER
    );
    CREATE TABLE IF NOT EXISTS certificates (
        serial      TEXT PRIMARY KEY,
        kiosk       TEXT NOT NULL,
        site        TEXT NOT NULL,
        issued_ms   INTEGER NOT NULL,
        not_after_ms INTEGER NOT NULL,
        revoked_ms  INTEGER
    );
    CREATE INDEX IF NOT EXISTS certificates_kiosk ON certificates (kiosk);
";

/// Opens (creating if needed) the database at `path`, or one in memory for `None`, with the
/// schema and the durability settings: every accepted submission is on disk before its 201
/// leaves.
///
/// # Errors
///
/// SQLite's error (a folder that does not exist, a file that is not SQLite).
pub fn open(path: Option<&std::path::Path>) -> rusqlite::Result<Connection> {
    let db = match path {
        Some(p) => Connection::open(p)?,
        None => Connection::open_in_memory()?,
    };
    // `journal_mode` answers a row, hence `query_row`.
    db.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    db.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    )?;
    db.execute_batch(SCHEMA)?;
    crate::status::migrate(&db)?;
    Ok(db)
}

/// The SHA-256 of a token, hex: what the database keeps instead of the token.
#[must_use]
pub fn token_hash(token: &str) -> String {
    crate::ca::hex(&Sha256::digest(token.as_bytes()))
}

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

/// Records a new token (its hash) bound to `kiosk` and `site`, valid until `expires_ms`.
///
/// # Errors
///
/// SQLite's error.
pub fn insert_token(
    db: &Connection,
    token: &str,
    kiosk: &str,
    site: &str,
    now_ms: i64,
    expires_ms: i64,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO enrolment_tokens (hash, kiosk, site, created_ms, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash(token), kiosk, site, now_ms, expires_ms],
    )
    .map(|_| ())
}

/// Every token, newest first.
///
/// # Errors
///
/// SQLite's error.
pub fn list_tokens(db: &Connection, now_ms: i64) -> rusqlite::Result<Vec<TokenRow>> {
    let mut st = db.prepare(
        "SELECT hash, kiosk, site, expires_ms, used_ms, revoked_ms FROM enrolment_tokens
         ORDER BY created_ms DESC",
    )?;
    let rows = st.query_map([], |r| {
        let hash: String = r.get(0)?;
        let expires_ms: i64 = r.get(3)?;
        let used: Option<i64> = r.get(4)?;
        let revoked: Option<i64> = r.get(5)?;
        let state = match (used, revoked) {
            (Some(_), _) => "used",
            (None, Some(_)) => "revoked",
            (None, None) if expires_ms < now_ms => "expired",
            (None, None) => "outstanding",
        };
        Ok(TokenRow {
            id: hash.get(..12).unwrap_or(&hash).to_owned(),
            kiosk: r.get(1)?,
            site: r.get(2)?,
            expires_ms,
            state,
        })
    })?;
    rows.collect()
}

/// Revokes the unused tokens of `kiosk`; how many.
///
/// # Errors
///
/// SQLite's error.
pub fn revoke_tokens(db: &Connection, kiosk: &str, now_ms: i64) -> rusqlite::Result<usize> {
    db.execute(
        "UPDATE enrolment_tokens SET revoked_ms = ?2
         WHERE kiosk = ?1 AND used_ms IS NULL AND revoked_ms IS NULL",
        params![kiosk, now_ms],
    )
}

/// Revokes every certificate issued to `kiosk` and its unused tokens (a kiosk retired or
/// stolen): its next handshake is refused. Returns how many certificates.
///
/// # Errors
///
/// SQLite's error.
pub fn revoke_kiosk(db: &mut Connection, kiosk: &str, now_ms: i64) -> rusqlite::Result<usize> {
    let tx = db.transaction()?;
    let n = tx.execute(
        "UPDATE certificates SET revoked_ms = ?2 WHERE kiosk = ?1 AND revoked_ms IS NULL",
        params![kiosk, now_ms],
    )?;
    revoke_tokens(&tx, kiosk, now_ms)?;
    tx.commit()?;
    Ok(n)
}

/// Whether the certificate with this serial (lower-case hex) was revoked.
///
/// # Errors
///
/// SQLite's error.
pub fn is_revoked(db: &Connection, serial: &str) -> rusqlite::Result<bool> {
    db.query_row(
        "SELECT revoked_ms IS NOT NULL FROM certificates WHERE serial = ?1",
        [serial],
        |r| r.get::<_, bool>(0),
    )
    .optional()
    .map(|r| r.unwrap_or(false))
}

/// The token row for an enrolment: (kiosk, site, expires_ms, used, revoked).
pub(crate) type TokenCheck = (String, String, i64, bool, bool);

/// Looks a presented token up by its hash.
pub(crate) fn find_token(db: &Connection, token: &str) -> rusqlite::Result<Option<TokenCheck>> {
    db.query_row(
        "SELECT kiosk, site, expires_ms, used_ms IS NOT NULL, revoked_ms IS NOT NULL
         FROM enrolment_tokens WHERE hash = ?1",
        [token_hash(token)],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_hashed_and_listed_by_state() {
        let mut db = open(None).expect("db");
        insert_token(&db, "secret-a", "kiosk-01", "HN-01", 0, 1000).expect("a");
        insert_token(&db, "secret-b", "kiosk-02", "HN-01", 1, 10).expect("b");
        let raw: Vec<String> = db
            .prepare("SELECT hash FROM enrolment_tokens")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("hashes");
        assert!(raw.iter().all(|h| h.len() == 64 && !h.contains("secret")));
        let states: Vec<_> = list_tokens(&db, 100)
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
        assert_eq!(revoke_kiosk(&mut db, "kiosk-01", 200).expect("revoke"), 0);
        assert_eq!(
            find_token(&db, "secret-a").expect("find").map(|t| t.4),
            Some(true)
        );
        assert_eq!(find_token(&db, "nope").expect("find"), None);
    }
}
