//! QR scanning: the [`QrScanner`] trait and the simulated [`SimQrScanner`].
//!
//! The kiosk reads the QR code printed on the CCCD to learn the ID number (and from it the PACE
//! CAN). A scanner delivers decoded text; parsing the CCCD QR layout is domain code elsewhere.
//! The text is personal data and is only ever carried as [`Personal<String>`].
//!
//! # Implementations
//!
//! - [`SimQrScanner`] (here): scans queued from a [`SimQrControl`], for tests and the demo mode.
//! - [`CameraQrScanner`] (in [`rxing`]): any [`crate::camera::FrameSource`] plus
//!   `rxing` decoding on luma frames, reporting the text and the code's corners. A serial/HID
//!   hand-held scanner could follow as another implementation.
//!
//! [`scene`] renders synthetic camera frames of a QR code on a card (blur, perspective, noise,
//! glare) for tests, benchmarks and demos.

pub mod rxing;
pub mod scene;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub use self::rxing::{CameraQrScanner, FrameDecode, QrDecodeOptions, QrDecoder};
use crate::error::hw_error;
use crate::Personal;

/// One decoded QR code.
#[derive(Debug, Clone, PartialEq)]
pub struct QrScan {
    /// The decoded text (personal data).
    pub text: Personal<String>,
    /// Corners of the code in the frame (pixels, clockwise from top-left), when known.
    pub bounds: Option<[(f32, f32); 4]>,
}

/// What went wrong with a QR scanner, at the granularity the UI reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QrErrorKind {
    /// No scanner or camera available.
    NoDevice,
    /// The scanner or camera disappeared.
    Unplugged,
    /// The underlying device did not deliver within the timeout.
    Timeout,
    /// A code was seen but could not be decoded (ask the citizen to hold the card still).
    Decode,
}

impl fmt::Display for QrErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoDevice => "no QR scanner found",
            Self::Unplugged => "QR scanner unplugged",
            Self::Timeout => "QR scanner timed out",
            Self::Decode => "QR code seen but not decodable",
        })
    }
}

hw_error!(
    /// A QR scanner error: match on [`QrError::kind`].
    QrError,
    QrErrorKind
);

/// A source of decoded QR codes.
pub trait QrScanner {
    /// Waits up to `timeout` for a code. `Ok(None)` means no code was seen in that time, which
    /// is the normal idle case and not an error.
    ///
    /// # Errors
    ///
    /// [`QrErrorKind::Decode`] for a code that was seen but not decoded; device errors
    /// ([`QrErrorKind::NoDevice`], [`QrErrorKind::Unplugged`], [`QrErrorKind::Timeout`] when the
    /// device itself stopped answering).
    fn poll(&mut self, timeout: Duration) -> Result<Option<QrScan>, QrError>;
}

impl<S: QrScanner + ?Sized> QrScanner for Box<S> {
    fn poll(&mut self, timeout: Duration) -> Result<Option<QrScan>, QrError> {
        (**self).poll(timeout)
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<QrScan>,
    unplugged: bool,
    fail_next: Option<QrErrorKind>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code runs under this lock that can panic half-way; recover from poisoning.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn change(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("SimQrState")
            .field("queued", &st.queue.len())
            .field("unplugged", &st.unplugged)
            .finish_non_exhaustive()
    }
}

/// A simulated QR scanner delivering the scans queued through its [`SimQrControl`].
#[derive(Debug, Default)]
pub struct SimQrScanner {
    shared: Arc<Shared>,
}

impl SimQrScanner {
    /// A scanner with nothing queued.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle controlling this scanner from any thread.
    pub fn control(&self) -> SimQrControl {
        SimQrControl {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl QrScanner for SimQrScanner {
    fn poll(&mut self, timeout: Duration) -> Result<Option<QrScan>, QrError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut st = self.shared.lock();
        loop {
            if let Some(kind) = st.fail_next.take() {
                return Err(QrError::new(kind, "injected fault"));
            }
            if st.unplugged {
                return Err(QrError::new(
                    QrErrorKind::Unplugged,
                    "simulated scanner unplugged",
                ));
            }
            if let Some(scan) = st.queue.pop_front() {
                return Ok(Some(scan));
            }
            let remaining = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if remaining.is_zero() {
                return Ok(None);
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, remaining)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Remote control of a [`SimQrScanner`]: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct SimQrControl {
    shared: Arc<Shared>,
}

impl SimQrControl {
    /// Queues a scan of `text` (without bounds), as if a card were held in front of the camera.
    pub fn present(&self, text: impl Into<String>) {
        let scan = QrScan {
            text: Personal::new(text.into()),
            bounds: None,
        };
        self.present_scan(scan);
    }

    /// Queues a complete scan, with bounds.
    pub fn present_scan(&self, scan: QrScan) {
        self.shared.change(|st| st.queue.push_back(scan));
    }

    /// Makes the next `poll` fail with `kind` (e.g. [`QrErrorKind::Decode`]).
    pub fn fail_next(&self, kind: QrErrorKind) {
        self.shared.change(|st| st.fail_next = Some(kind));
    }

    /// Simulates unplugging (`true`) or plugging back (`false`) the scanner.
    pub fn set_unplugged(&self, unplugged: bool) {
        self.shared.change(|st| st.unplugged = unplugged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_scans_come_out_in_order_then_none() {
        let mut scanner = SimQrScanner::new();
        let control = scanner.control();
        control.present("001090123456||NGUYEN VAN AN|01011990|Nam|HA NOI|01012021");
        control.present("second");
        let first = scanner.poll(Duration::ZERO).expect("ok").expect("a scan");
        assert!(first.text.expose().starts_with("001090123456|"));
        assert!(!format!("{first:?}").contains("001090123456"));
        let second = scanner.poll(Duration::ZERO).expect("ok").expect("a scan");
        assert_eq!(second.text.expose(), "second");
        assert_eq!(scanner.poll(Duration::from_millis(10)).expect("ok"), None);
    }

    #[test]
    fn poll_wakes_when_another_thread_presents() {
        let mut scanner = SimQrScanner::new();
        let control = scanner.control();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            control.present("late");
        });
        let started = Instant::now();
        let scan = scanner
            .poll(Duration::from_secs(10))
            .expect("ok")
            .expect("a scan");
        assert_eq!(scan.text.expose(), "late");
        assert!(started.elapsed() < Duration::from_secs(5));
        t.join().expect("presenter thread");
    }

    #[test]
    fn faults() {
        let mut scanner = SimQrScanner::new();
        let control = scanner.control();
        control.fail_next(QrErrorKind::Decode);
        let err = scanner.poll(Duration::ZERO).expect_err("injected");
        assert_eq!(err.kind(), QrErrorKind::Decode);
        control.set_unplugged(true);
        assert_eq!(
            scanner.poll(Duration::ZERO).map_err(|e| e.kind()),
            Err(QrErrorKind::Unplugged)
        );
        control.set_unplugged(false);
        assert_eq!(scanner.poll(Duration::ZERO).map_err(|e| e.kind()), Ok(None));
    }
}
