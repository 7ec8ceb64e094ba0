//! The versioned schema: `PRAGMA user_version` is the number of migrations applied.
//!
//! A migration is appended, never edited: a kiosk in the field may be at any earlier version
//! and must upgrade in place without losing a queued submission. The tests build a database at
//! every earlier version, put a row in it, and upgrade it.

use rusqlite::Connection;

/// Migration `i` takes the database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // v1: the outbox table. `seq` (the rowid) gives the FIFO order; `id` is the UUIDv7 sent as
    // `Idempotency-Key`. Times are Unix milliseconds (UTC). `payload` becomes NULL once
    // delivered (the hash and the receipt stay).
    "CREATE TABLE outbox (
        seq             INTEGER PRIMARY KEY,
        id              TEXT    NOT NULL UNIQUE,
        kind            TEXT    NOT NULL CHECK (kind IN ('tthc', 'clinic')),
        partition_key   TEXT    NOT NULL,
        payload         BLOB,
        payload_sha256  BLOB    NOT NULL,
        state           TEXT    NOT NULL
                        CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_at      INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        lease_until     INTEGER,
        last_error      TEXT,
        receipt         BLOB,
        delivered_at    INTEGER
    );
    CREATE INDEX outbox_partition ON outbox (partition_key, state, seq);",
    // v2: operator alerts (dead letters, age bound) and the kind of the last error, so that a
    // returning network retries at once what failed only because it was unreachable.
    "CREATE TABLE alerts (
        seq          INTEGER PRIMARY KEY,
        at           INTEGER NOT NULL,
        item_id      TEXT    NOT NULL,
        reason       TEXT    NOT NULL,
        acknowledged INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE outbox ADD COLUMN last_error_kind TEXT;
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at);",
];

/// The version this build writes.
pub const CURRENT: u32 = MIGRATIONS.len() as u32;

/// The schema version of an open database.
///
/// # Errors
///
/// SQLite errors (a wrong key shows here first: "file is not a database").
pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies the missing migrations, each in its own transaction with the version bump, so a
/// crash mid-upgrade leaves the database at a consistent earlier version.
///
/// # Errors
///
/// SQLite errors; [`MigrateError::Newer`] when the database was written by a newer build.
pub fn migrate(conn: &mut Connection) -> Result<u32, MigrateError> {
    let from = version(conn)?;
    if from > CURRENT {
        return Err(MigrateError::Newer {
            found: from,
            known: CURRENT,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(from)
}

/// Applies only the first `to` migrations: builds databases at old versions for the tests.
///
/// # Errors
///
/// SQLite errors.
#[doc(hidden)]
pub fn migrate_to(conn: &mut Connection, to: u32) -> rusqlite::Result<()> {
    for (i, sql) in MIGRATIONS.iter().enumerate().take(to as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Why [`migrate`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// SQLite failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer kiosk (a downgrade): refuse rather than guess.
    #[error(
        "the queue database is at schema version {found}, this build knows up to {known}: \
         it was written by a newer kiosk; install that version again (never delete the queue)"
    )]
    Newer {
        /// Version in the file.
        found: u32,
        /// Highest version this build knows.
        known: u32,
    },
}
