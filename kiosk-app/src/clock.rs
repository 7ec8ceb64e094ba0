//! Whether the kiosk's wall clock can be believed.
//!
//! Passive authentication checks certificate validity against the wall clock, and the outbox
//! ages submissions by it. A kiosk that boots without a battery-backed clock or network time can
//! believe it is 1970 (or any date before it was built): every card would then be "not yet
//! valid" and every queued submission decades old. The floor is the time of the source the
//! kiosk was built from (`KIOSK_BUILD_EPOCH`, set by `build.rs`) less a day: a clock before it
//! is certainly wrong. Below the floor the kiosk stops checking cards with a technician message
//! and the outbox pauses its age bound (`kiosk_outbox::WorkerConfig::clock_floor_ms`); it never
//! rejects a citizen's card or dead-letters a dossier because of the clock.

use time::OffsetDateTime;

/// The Unix time of the kiosk's source (commit time or `SOURCE_DATE_EPOCH`).
pub const BUILD_EPOCH: i64 = parse_epoch(env!("KIOSK_BUILD_EPOCH"));

/// Slack below [`BUILD_EPOCH`] (time zones, a commit made just before a clock was set).
const SLACK_SECS: i64 = 24 * 3600;

const fn parse_epoch(s: &str) -> i64 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v: i64 = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "KIOSK_BUILD_EPOCH is not a number");
        v = v * 10 + (b[i] - b'0') as i64;
        i += 1;
    }
    v
}

/// The earliest Unix time (seconds) the wall clock may show.
#[must_use]
pub const fn floor_secs() -> i64 {
    BUILD_EPOCH - SLACK_SECS
}

/// The wall clock is before the kiosk's build: it cannot be right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the system clock says {now} (Unix time), before this kiosk software was built ({floor}): \
     set the time (timedatectl set-ntp true, or timedatectl set-time) and check the clock \
     battery; cards cannot be checked until then"
)]
pub struct ClockWrong {
    /// The wall clock, Unix seconds.
    pub now: i64,
    /// The floor, Unix seconds.
    pub floor: i64,
}

/// Checks `now` against `floor` (Unix seconds). Pure, for tests.
///
/// # Errors
/// [`ClockWrong`] when `now` is before `floor`.
pub fn check_at(now: i64, floor: i64) -> Result<(), ClockWrong> {
    if now < floor {
        Err(ClockWrong { now, floor })
    } else {
        Ok(())
    }
}

/// Checks the wall clock against the build floor.
///
/// # Errors
/// [`ClockWrong`] when the clock is before the build.
pub fn check(now: OffsetDateTime) -> Result<(), ClockWrong> {
    check_at(now.unix_timestamp(), floor_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_the_build_less_a_day_and_not_before_the_fallback() {
        assert_eq!(floor_secs(), BUILD_EPOCH - 86_400);
        let fallback = 1_796_083_200;
        assert!(BUILD_EPOCH >= fallback, "{BUILD_EPOCH}");
    }

    #[test]
    fn a_clock_before_the_build_is_wrong_and_says_how_to_fix_it() {
        let e = check_at(0, floor_secs()).expect_err("1970 is wrong");
        assert!(e.to_string().contains("timedatectl"), "{e}");
        assert!(check_at(floor_secs() - 1, floor_secs()).is_err());
        assert!(check_at(floor_secs(), floor_secs()).is_ok());
        assert!(
            check(OffsetDateTime::now_utc()).is_ok(),
            "this machine's clock is sane"
        );
    }
}
