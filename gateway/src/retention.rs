//! How long the gateway keeps idempotency keys and receipts, and the pruning that enforces it
//! (the `serve` task every [`Retention::every`], and `kiosk-gateway prune [--dry-run]`).
//!
//! Personal fields are not this module's: they are erased once forwarded (`--retention-secs`,
//! [`crate::store::DEAD_LETTER_RETENTION_MS`] for dead letters). What is pruned here carries no
//! personal data, but it must not grow for ever:
//!
//! - **Idempotency keys** (default [`DEFAULT_IDEMPOTENCY_DAYS`] = 30 days after the
//!   submission arrived): a kiosk replays an outbox entry only while the entry lives in its
//!   outbox, and the kiosk's outbox gives an undelivered entry up after at most 720 hours
//!   (`queue.max_age_hours`, 1..=720, default 168). 30 days covers the longest outbox a kiosk
//!   may be configured with; a replay after that is still recognised by its `referenceUid`
//!   while the submission itself is kept.
//! - **Submissions with their receipts and status** (default [`DEFAULT_RECEIPTS_DAYS`] =
//!   365 days after arrival): the status lookup from the printed receipt must answer at
//!   least until the appointment (a few working days) and the citizen's follow-up; a year
//!   covers that with room, and the one-stop system keeps the dossier itself. A submission
//!   still waiting to be forwarded is never pruned. After pruning, the lookup answers
//!   404 `not_found`, as for any unknown code.
//!
//! Safe with N replicas: each batch is one bounded `DELETE` (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL), deleting again what another replica deleted is a no-op, and a run stops after
//! [`MAX_BATCHES`] batches (the next run goes on).

use std::time::Duration;

use crate::store::{Result, Store};

/// Idempotency keys kept, days after their submission arrived (see the module docs).
pub const DEFAULT_IDEMPOTENCY_DAYS: u32 = 30;
/// Submissions, receipts and status kept, days after arrival (see the module docs).
pub const DEFAULT_RECEIPTS_DAYS: u32 = 365;
/// Most batches in one pruning run.
pub const MAX_BATCHES: u32 = 100;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The retention settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Days idempotency keys are kept after their submission arrived; 0: for ever.
    pub idempotency_days: u32,
    /// Days submissions (receipt, status) are kept after arrival; 0: for ever.
    pub receipts_days: u32,
    /// How often `serve` prunes (zero: never; `prune` by hand or cron).
    pub every: Duration,
    /// Rows deleted per batch (one transaction each).
    pub batch: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            idempotency_days: DEFAULT_IDEMPOTENCY_DAYS,
            receipts_days: DEFAULT_RECEIPTS_DAYS,
            every: Duration::from_secs(3600),
            batch: 500,
        }
    }
}

/// What a pruning deleted (or, dry, would delete).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Idempotency keys.
    pub keys: u64,
    /// Submissions with their receipts (and their remaining keys).
    pub receipts: u64,
}

impl Retention {
    /// The cutoffs at `now_ms`, Unix ms: keys and submissions received before them go;
    /// `None` where the setting keeps them for ever.
    #[must_use]
    pub fn cutoffs(&self, now_ms: i64) -> (Option<i64>, Option<i64>) {
        let before = |days: u32| {
            (days > 0).then(|| now_ms.saturating_sub(i64::from(days).saturating_mul(DAY_MS)))
        };
        (before(self.idempotency_days), before(self.receipts_days))
    }

    /// Deletes what is past its retention at `now_ms`, in batches of [`Retention::batch`],
    /// at most [`MAX_BATCHES`] of each kind.
    ///
    /// # Errors
    ///
    /// The database (what earlier batches deleted stays deleted).
    pub fn prune(&self, store: &mut dyn Store, now_ms: i64) -> Result<Pruned> {
        let (keys_before, receipts_before) = self.cutoffs(now_ms);
        let batch = self.batch.max(1);
        let mut pruned = Pruned::default();
        // Receipts first: their keys go with them, so the keys pass has less to do.
        if let Some(before) = receipts_before {
            pruned.receipts = batches(batch, |limit| store.prune_receipts(before, limit))?;
        }
        if let Some(before) = keys_before {
            pruned.keys = batches(batch, |limit| store.prune_keys(before, limit))?;
        }
        Ok(pruned)
    }

    /// What [`Retention::prune`] would delete at `now_ms` (without its batch bound).
    ///
    /// # Errors
    ///
    /// The database.
    pub fn count(&self, store: &mut dyn Store, now_ms: i64) -> Result<Pruned> {
        let (keys_before, receipts_before) = self.cutoffs(now_ms);
        let (keys, receipts) = store.count_prunable(
            keys_before.unwrap_or(i64::MIN),
            receipts_before.unwrap_or(i64::MIN),
        )?;
        Ok(Pruned { keys, receipts })
    }
}

/// Runs `step` with `limit` until it deletes fewer than `limit` rows or [`MAX_BATCHES`] ran;
/// the total.
fn batches(limit: u32, mut step: impl FnMut(u32) -> Result<u64>) -> Result<u64> {
    let mut total = 0u64;
    for _ in 0..MAX_BATCHES {
        let n = step(limit)?;
        total = total.saturating_add(n);
        if n < u64::from(limit) {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_count_whole_days_back_and_zero_keeps_for_ever() {
        let r = Retention {
            idempotency_days: 30,
            receipts_days: 0,
            ..Retention::default()
        };
        let now = 100 * DAY_MS;
        assert_eq!(r.cutoffs(now), (Some(70 * DAY_MS), None));
        assert_eq!(
            Retention::default().cutoffs(0),
            (Some(-30 * DAY_MS), Some(-365 * DAY_MS))
        );
    }

    #[test]
    fn batches_stop_at_a_short_batch_or_the_bound() {
        let mut left = 1234u64;
        let total = batches(500, |l| {
            let n = left.min(u64::from(l));
            left -= n;
            Ok(n)
        })
        .expect("ok");
        assert_eq!((total, left), (1234, 0));
        let mut calls = 0;
        let total = batches(1, |_| {
            calls += 1;
            Ok(1)
        })
        .expect("ok");
        assert_eq!((total, calls), (u64::from(MAX_BATCHES), MAX_BATCHES));
    }
}
