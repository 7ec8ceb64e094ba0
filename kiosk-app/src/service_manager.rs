//! Telling systemd how the kiosk is doing: `READY=1` once the window is on screen, then a
//! `WATCHDOG=1` ping from the UI thread's timer (kiosk.service: `Type=notify`,
//! `WatchdogSec=`). The ping comes from the thread that draws, so a hung UI stops the pings and
//! systemd restarts the kiosk; a busy worker thread does not.
//!
//! Outside systemd (`NOTIFY_SOCKET` unset: a desktop, the tests) every call does nothing.
//! The protocol itself is the `sd-notify` crate's.

use std::time::Duration;

use sd_notify::NotifyState;

/// Says the kiosk is serving (`READY=1`) with a status line systemd shows in `systemctl status`.
pub fn ready() {
    if let Err(e) = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status("serving")]) {
        tracing::warn!(error = %e, "could not tell systemd the kiosk is ready");
    }
}

/// Says the kiosk is stopping (`STOPPING=1`).
pub fn stopping() {
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
}

/// Paces the watchdog pings: at half the interval systemd gave (`WATCHDOG_USEC`), so one late
/// timer tick never trips it. Time is passed in (milliseconds since start) to keep it testable.
#[derive(Debug, Clone)]
pub struct Watchdog {
    every_ms: Option<u64>,
    last_ms: Option<u64>,
}

impl Watchdog {
    /// From the interval systemd set for this process, if any.
    #[must_use]
    pub fn from_env() -> Self {
        Self::with_interval(sd_notify::watchdog_enabled())
    }

    /// With a given watchdog interval (`None`: no watchdog, never pings).
    #[must_use]
    pub fn with_interval(interval: Option<Duration>) -> Self {
        let every_ms = interval
            .map(|d| u64::try_from(d.as_millis() / 2).unwrap_or(u64::MAX))
            .filter(|ms| *ms > 0);
        Self {
            every_ms,
            last_ms: None,
        }
    }

    /// Whether a ping is due at `now_ms` (the first one is due at once: start-up before the
    /// event loop already used part of the interval); if so, records it as sent.
    pub fn due(&mut self, now_ms: u64) -> bool {
        let Some(every) = self.every_ms else {
            return false;
        };
        if self
            .last_ms
            .is_some_and(|last| now_ms.saturating_sub(last) < every)
        {
            return false;
        }
        self.last_ms = Some(now_ms);
        true
    }

    /// Pings systemd if a ping is due at `now_ms`.
    pub fn tick(&mut self, now_ms: u64) {
        if self.due(now_ms) {
            if let Err(e) = sd_notify::notify(&[NotifyState::Watchdog]) {
                tracing::warn!(error = %e, "watchdog ping failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_at_half_the_interval() {
        let mut w = Watchdog::with_interval(Some(Duration::from_secs(10)));
        assert!(w.due(300), "the first tick pings");
        assert!(!w.due(5_299));
        assert!(w.due(5_300));
        assert!(!w.due(10_299), "not again before another half interval");
        assert!(w.due(10_300));
        // A stalled timer pings once when it resumes, not once per missed period.
        assert!(w.due(60_000));
        assert!(!w.due(60_001));
    }

    #[test]
    fn no_watchdog_never_pings() {
        let mut w = Watchdog::with_interval(None);
        assert!(!w.due(0) && !w.due(u64::MAX));
        let mut tiny = Watchdog::with_interval(Some(Duration::from_micros(1)));
        assert!(
            !tiny.due(u64::MAX),
            "an interval under 2 ms is treated as none"
        );
    }
}
