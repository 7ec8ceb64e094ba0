//! Where each accepted dossier stands, for `GET /v1/submissions/{MaHoSo}?code=` (the status
//! lookup of issue 14, journey 4).
//!
//! A dossier the gateway accepted is `received` until something records a later state with
//! [`set`] (today [`crate::Gateway::set_dossier_status`], for tests and the demo; the
//! forwarding to the agency's system will report its progress here). The table holds codes
//! and times only, no personal data.

use kiosk_wire::dto::DossierState;
use rusqlite::{params, Connection, OptionalExtension as _};

/// The table: one row per dossier whose state moved past `received`.
pub const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS dossier_status (
        dossier_code TEXT PRIMARY KEY,
        status       TEXT NOT NULL,
        updated_ms   INTEGER NOT NULL
    );
";

/// Creates the table if needed ([`crate::store::open`] calls it).
///
/// # Errors
///
/// SQLite's error.
pub fn migrate(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch(SCHEMA)
}

/// Records that the dossier `dossier_code` is now in `state`; `false` if this gateway never
/// accepted such a dossier (nothing is recorded).
///
/// # Errors
///
/// SQLite's error.
pub fn set(
    db: &Connection,
    dossier_code: &str,
    state: DossierState,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    let known = db
        .query_row(
            "SELECT 1 FROM submissions WHERE dossier_code = ?1",
            [dossier_code],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if known {
        db.execute(
            "INSERT INTO dossier_status (dossier_code, status, updated_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (dossier_code) DO UPDATE SET status = ?2, updated_ms = ?3",
            params![dossier_code, state.code(), now_ms],
        )?;
    }
    Ok(known)
}

/// The recorded state of an accepted dossier: `received` when nothing later was recorded.
///
/// # Errors
///
/// SQLite's error.
pub fn get(db: &Connection, dossier_code: &str) -> rusqlite::Result<DossierState> {
    let code = db
        .query_row(
            "SELECT status FROM dossier_status WHERE dossier_code = ?1",
            [dossier_code],
            |r| r.get::<_, String>(0),
        )
        .optional()?;
    Ok(code.map_or(DossierState::Received, |c| DossierState::from_code(&c)))
}
