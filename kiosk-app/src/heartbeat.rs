//! The kiosk's periodic heartbeat to the gateway (`POST /v1/heartbeat`, over the same mutual
//! TLS as submissions): versions, the configuration's hash, device health as the kiosk's own
//! idle probes last saw it (the same reports that take the kiosk out of service), the outbox's
//! depth and dead letters, the client certificate's days left, uptime. No personal data.
//!
//! Best effort: it runs on its own thread, never on the UI thread or a session's path; a dead
//! network costs one failed request per interval (bounded by the transport's timeout) and a
//! log line when the gateway stops or starts answering. Nothing is queued or retried: the next
//! beat says the same, fresher.
//!
//! [`compose`] is pure (facts in, the DTO out); [`HeartbeatThread`] is the I/O edge.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use kiosk_wire::codes;
use kiosk_wire::dto::{DeviceHealth as WireDevice, DeviceStatus, Heartbeat};

use crate::availability::{Availability, DeviceHealth, DeviceKind};

/// The devices' health as the shell last recorded it, shared with the heartbeat thread (the
/// shell writes on every change, the heartbeat reads a copy).
#[derive(Debug, Clone, Default)]
pub struct HealthBoard(Arc<Mutex<Availability>>);

impl HealthBoard {
    /// Records a worker's report (the shell calls this with every change it applies).
    pub fn report(&self, device: DeviceKind, health: DeviceHealth) {
        let _ = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .report(device, health);
    }

    /// A copy of the current health.
    #[must_use]
    pub fn snapshot(&self) -> Availability {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// What a heartbeat reports, gathered by the caller.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The kiosk software's version.
    pub app_version: String,
    /// The OS (see [`os_version`]).
    pub os_version: String,
    /// SHA-256 of the configuration text, hex.
    pub config_sha256: String,
    /// The devices' health.
    pub health: Availability,
    /// Outbox rows waiting or being sent; `None` if the outbox could not be read.
    pub queue_depth: Option<u64>,
    /// Outbox dead letters.
    pub dead_letters: Option<u64>,
    /// The client certificate's end of validity, Unix seconds (`None`: unreadable).
    pub cert_not_after: Option<i64>,
    /// Now, Unix seconds.
    pub now: i64,
    /// Now in Asia/Ho_Chi_Minh (the `sentAt` field).
    pub now_vietnam: time::PrimitiveDateTime,
    /// Since the kiosk started.
    pub uptime: Duration,
}

/// The heartbeat for `facts`: valid by construction (texts cut to the DTO's bounds).
#[must_use]
pub fn compose(facts: &Facts) -> Heartbeat {
    let count = |n: Option<u64>| u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX);
    Heartbeat {
        app_version: short(&facts.app_version, 64, "unknown"),
        os_version: short(&facts.os_version, 64, ""),
        queue_depth: count(facts.queue_depth),
        dead_letters: count(facts.dead_letters),
        devices: devices(&facts.health),
        sent_at: codes::format_portal_time(facts.now_vietnam),
        config_sha256: Some(facts.config_sha256.clone())
            .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))),
        cert_days_left: facts.cert_not_after.map(|t| days_left(t, facts.now)),
        uptime_secs: facts.uptime.as_secs(),
    }
}

/// Each device as the wire names it: ready is `ok`, a warning (paper near its end) `degraded`,
/// down `failed`; the reason code is the detail.
#[must_use]
pub fn devices(health: &Availability) -> Vec<WireDevice> {
    DeviceKind::ALL
        .into_iter()
        .map(|d| {
            let (status, detail) = match health.health(d) {
                DeviceHealth::Ready => (DeviceStatus::Ok, None),
                DeviceHealth::Warning(why) => (DeviceStatus::Degraded, Some(why.to_owned())),
                DeviceHealth::Down(why) => (DeviceStatus::Failed, Some(why.to_owned())),
            };
            WireDevice {
                device: d.name().to_owned(),
                status,
                detail,
            }
        })
        .collect()
}

/// Whole days from `now` to `not_after` (Unix seconds), rounded down (negative once expired),
/// within the DTO's bounds.
#[must_use]
pub fn days_left(not_after: i64, now: i64) -> i32 {
    let days = not_after.saturating_sub(now).div_euclid(86_400);
    let max = i64::from(Heartbeat::MAX_CERT_DAYS);
    i32::try_from(days.clamp(-max, max)).unwrap_or(0)
}

/// `text` without control characters, cut to `max` characters; `empty` if nothing is left.
fn short(text: &str, max: usize, empty: &str) -> String {
    let t: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
    let t = t.trim().to_owned();
    if t.is_empty() {
        empty.to_owned()
    } else {
        t
    }
}

/// The OS as `PRETTY_NAME` of `os_release` (the text of `/etc/os-release`) and the kernel
/// release, e.g. `Debian GNU/Linux 13 (trixie); Linux 6.12.9`.
#[must_use]
pub fn os_version(os_release: &str, kernel: &str) -> String {
    let pretty = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"'))
        .unwrap_or("");
    let kernel = kernel.trim();
    let text = match (pretty.is_empty(), kernel.is_empty()) {
        (false, false) => format!("{pretty}; Linux {kernel}"),
        (false, true) => pretty.to_owned(),
        (true, false) => format!("Linux {kernel}"),
        (true, true) => String::new(),
    };
    short(&text, 64, "")
}

/// Where a heartbeat goes: `POST /v1/heartbeat` with this JSON body; the HTTP status, or why
/// the gateway could not be reached.
pub trait Post: Send + Sync {
    /// Sends one heartbeat.
    ///
    /// # Errors
    ///
    /// The gateway could not be reached (message).
    fn post_heartbeat(&self, body: Vec<u8>) -> Result<u16, String>;
}

#[cfg(feature = "https")]
impl Post for kiosk_outbox::https::HttpsTransport {
    fn post_heartbeat(&self, body: Vec<u8>) -> Result<u16, String> {
        let headers = [("Content-Type", "application/json")];
        self.request_blocking("POST", "/v1/heartbeat", &headers, body)
            .map(|(status, _)| status)
            .map_err(|e| e.message)
    }
}

/// The heartbeat's thread: the first beat `first_after` the start, then one every `interval`.
/// Each beat runs under [`std::panic::catch_unwind`]: a panic is logged and the next beat
/// comes as usual. Stops when dropped (within 200 ms, or the request in flight's timeout).
#[derive(Debug)]
pub struct HeartbeatThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HeartbeatThread {
    /// Starts posting what `facts` gathers to `sink`.
    ///
    /// # Errors
    ///
    /// The thread cannot be spawned.
    pub fn start(
        sink: Arc<dyn Post>,
        mut facts: impl FnMut() -> Facts + Send + 'static,
        first_after: Duration,
        interval: Duration,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kiosk-heartbeat".to_owned())
            .spawn(move || {
                // Whether the last beat reached the gateway (log on changes only).
                let mut reached = true;
                let mut wait = first_after;
                loop {
                    if !sleep_unless_stopped(&s, wait) {
                        return;
                    }
                    wait = interval;
                    let beat = panic::catch_unwind(AssertUnwindSafe(|| {
                        let body = serde_json::to_vec(&compose(&facts())).unwrap_or_default();
                        sink.post_heartbeat(body)
                    }));
                    match beat {
                        Ok(Ok(204 | 200)) => {
                            if !reached {
                                tracing::info!("heartbeat: the gateway answers again");
                            }
                            reached = true;
                        }
                        Ok(Ok(status)) => {
                            tracing::warn!(status, "heartbeat refused by the gateway");
                            reached = false;
                        }
                        Ok(Err(e)) => {
                            if reached {
                                tracing::warn!(error = %e, "heartbeat: the gateway cannot be reached (the kiosk serves on; next try in one interval)");
                            }
                            reached = false;
                        }
                        Err(payload) => {
                            drop(payload);
                            tracing::error!(
                                worker = "heartbeat",
                                "worker recovered from a panic and keeps beating"
                            );
                        }
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

/// Sleeps `d` in short steps; `false` as soon as `stop` is set.
fn sleep_unless_stopped(stop: &AtomicBool, d: Duration) -> bool {
    let step = Duration::from_millis(200);
    let mut slept = Duration::ZERO;
    while slept < d {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let left = d.saturating_sub(slept).min(step);
        std::thread::sleep(left);
        slept += left;
    }
    !stop.load(Ordering::Relaxed)
}

impl Drop for HeartbeatThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            app_version: "0.1.0".into(),
            os_version: os_version(
                "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n",
                "6.12.9\n",
            ),
            config_sha256: "0f".repeat(32),
            health: Availability::new(),
            queue_depth: Some(3),
            dead_letters: Some(1),
            cert_not_after: Some(1_000 + 29 * 86_400 + 5),
            now: 1_000,
            now_vietnam: time::macros::datetime!(2026-01-05 09:30),
            uptime: Duration::from_secs(90),
        }
    }

    #[test]
    fn the_heartbeat_reports_what_the_kiosk_knows_and_validates() {
        let mut f = facts();
        f.health
            .report(DeviceKind::Printer, DeviceHealth::Warning("paper-near-end"));
        f.health
            .report(DeviceKind::Camera, DeviceHealth::Down("no-frames"));
        let h = compose(&f);
        assert_eq!(h.validate(), Ok(()));
        assert_eq!(h.os_version, "Debian GNU/Linux 13 (trixie); Linux 6.12.9");
        assert_eq!(
            (
                h.queue_depth,
                h.dead_letters,
                h.uptime_secs,
                h.cert_days_left
            ),
            (3, 1, 90, Some(29))
        );
        assert_eq!(h.sent_at, "20260105093000");
        assert_eq!(h.config_sha256.as_deref(), Some("0f".repeat(32).as_str()));
        let d: Vec<_> = h
            .devices
            .iter()
            .map(|d| (d.device.as_str(), d.status, d.detail.as_deref()))
            .collect();
        assert_eq!(
            d,
            [
                ("card-reader", DeviceStatus::Ok, None),
                ("camera", DeviceStatus::Failed, Some("no-frames")),
                ("printer", DeviceStatus::Degraded, Some("paper-near-end")),
            ]
        );
        assert!(h.has_failed_device());
    }

    #[test]
    fn odd_facts_still_make_a_valid_heartbeat() {
        let f = Facts {
            app_version: "\u{7}".into(),
            os_version: "x".repeat(200),
            config_sha256: "not a hash".into(),
            queue_depth: None,
            dead_letters: Some(u64::MAX),
            cert_not_after: Some(i64::MIN),
            ..facts()
        };
        let h = compose(&f);
        assert_eq!(h.validate(), Ok(()));
        assert_eq!(h.app_version, "unknown");
        assert_eq!(h.os_version.chars().count(), 64);
        assert_eq!(
            (
                h.queue_depth,
                h.dead_letters,
                h.config_sha256,
                h.cert_days_left
            ),
            (0, u32::MAX, None, Some(-Heartbeat::MAX_CERT_DAYS))
        );
        assert_eq!(os_version("", ""), "");
        assert_eq!(days_left(0, 1), -1, "expired a second ago: day -1");
        assert_eq!(days_left(86_399, 0), 0);
    }

    /// A sink that fails, panics, then records.
    struct Flaky {
        calls: Mutex<Vec<Heartbeat>>,
    }

    impl Post for Flaky {
        fn post_heartbeat(&self, body: Vec<u8>) -> Result<u16, String> {
            let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
            let n = calls.len();
            let beat: Heartbeat = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            calls.push(beat);
            drop(calls);
            match n {
                0 => Err("connection refused".into()),
                1 => panic!("a transport bug"),
                _ => Ok(204),
            }
        }
    }

    #[test]
    fn the_thread_beats_on_through_failures_and_panics_and_stops_when_dropped() {
        let sink = Arc::new(Flaky {
            calls: Mutex::new(Vec::new()),
        });
        let board = HealthBoard::default();
        board.report(DeviceKind::CardReader, DeviceHealth::Down("absent"));
        let b = board.clone();
        let t = HeartbeatThread::start(
            sink.clone(),
            move || Facts {
                health: b.snapshot(),
                ..facts()
            },
            Duration::ZERO,
            Duration::from_millis(10),
        )
        .expect("thread");
        let seen = || {
            sink.calls
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len()
        };
        while seen() < 4 {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(t);
        let after = seen();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(seen(), after, "no beat after the drop");
        let calls = sink.calls.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(calls[3].devices[0].status, DeviceStatus::Failed);
    }
}
