//! [`ThreadedSource`]: a [`FrameSource`] over a blocking camera device, with a capture thread,
//! a drop-oldest frame queue and reopening after an unplug.
//!
//! The V4L2 driver (`camera::v4l2`, feature `v4l2`) is a [`CaptureDevice`] plugged in here;
//! keeping the thread, queue and recovery logic apart from nokhwa lets the default build test
//! them with a fake device.
//!
//! - The device is opened *on* the capture thread (nokhwa's camera handle is not `Send`) by an
//!   [`Opener`], which reports what the device agreed to deliver ([`Negotiated`]).
//! - Frames go into a queue of `queue_len` frames that drops the oldest when full, so a slow
//!   consumer (a QR decode, a face model) gets a fresh frame instead of building latency.
//! - When the device fails for good ([`CaptureError::Gone`]) the thread ends; the next
//!   [`FrameSource::next_frame`] reports the error once ([`CameraErrorKind::Unplugged`], which
//!   the UI can show), and later calls reopen the device, at most once per reopen interval,
//!   so the source recovers when the camera comes back without restarting the app.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{CameraError, CameraErrorKind, Frame, FrameSource, SourceInfo};

/// Least time between two attempts to reopen an unplugged camera, by default.
pub const REOPEN_INTERVAL: Duration = Duration::from_secs(1);
/// How long opening a device may take before it counts as failed.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What a device agreed to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Camera name as the driver reports it.
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Wire format, e.g. `MJPEG` or `YUYV`.
    pub format: String,
}

/// Why a capture failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    /// One bad frame (a corrupt MJPEG frame on a flaky cable): skip it and go on.
    Skip(String),
    /// The device stopped working (unplugged, I/O error): stop and report `kind`.
    Gone(CameraErrorKind, String),
}

/// An open camera, used only on the capture thread.
pub trait CaptureDevice {
    /// Blocks until the next frame.
    ///
    /// # Errors
    ///
    /// [`CaptureError`]: skip one frame, or the device is gone.
    fn capture(&mut self) -> Result<Frame, CaptureError>;
}

/// Opens the device (on the capture thread) and says what it agreed to deliver.
pub type Opener = Arc<
    dyn Fn() -> Result<(Box<dyn CaptureDevice>, Negotiated), CameraError> + Send + Sync + 'static,
>;

#[derive(Default)]
struct Queue {
    frames: VecDeque<Frame>,
    /// Set by the capture thread when it stops on an error.
    failed: Option<(CameraErrorKind, String)>,
    dropped: u64,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing under this lock panics half-way; recover from poisoning.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A [`FrameSource`] fed by a capture thread; see the module docs.
pub struct ThreadedSource {
    name: String,
    opener: Opener,
    queue_len: usize,
    reopen_interval: Duration,
    negotiated: Negotiated,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    last_reopen: Option<Instant>,
    seq: u64,
    dropped_before: u64,
}

impl std::fmt::Debug for ThreadedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedSource")
            .field("name", &self.name)
            .field("negotiated", &self.negotiated)
            .field("queue_len", &self.queue_len)
            .finish_non_exhaustive()
    }
}

impl ThreadedSource {
    /// Opens the device through `opener` and starts capturing; `name` is for logs and
    /// [`SourceInfo::name`], `queue_len` (at least 1) the frames kept for the consumer.
    ///
    /// # Errors
    ///
    /// The opener's error, or [`CameraErrorKind::Timeout`] when opening takes over 10 s.
    pub fn open(
        name: impl Into<String>,
        opener: Opener,
        queue_len: usize,
    ) -> Result<Self, CameraError> {
        let name = name.into();
        let (shared, thread, negotiated) = start(&name, &opener, queue_len.max(1))?;
        Ok(Self {
            name,
            opener,
            queue_len: queue_len.max(1),
            reopen_interval: REOPEN_INTERVAL,
            negotiated,
            shared,
            thread: Some(thread),
            last_reopen: None,
            seq: 0,
            dropped_before: 0,
        })
    }

    /// Changes the least time between reopen attempts (tests use a short one).
    #[must_use]
    pub fn with_reopen_interval(mut self, interval: Duration) -> Self {
        self.reopen_interval = interval;
        self
    }

    /// What the device agreed to deliver (updated after a reopen).
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// Frames dropped because the consumer was slower than the camera.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_before + self.shared.lock().dropped
    }

    fn stop_thread(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // A capture thread that panicked has nothing more to report.
            let _ = t.join();
        }
    }

    /// After a failure: opens the device again, at most once per reopen interval.
    fn try_reopen(&mut self) -> Result<(), CameraError> {
        if self
            .last_reopen
            .is_some_and(|t| t.elapsed() < self.reopen_interval)
        {
            return Err(CameraError::new(
                CameraErrorKind::Unplugged,
                format!("{} is gone; waiting to retry", self.name),
            ));
        }
        self.last_reopen = Some(Instant::now());
        self.stop_thread();
        let (shared, thread, negotiated) = start(&self.name, &self.opener, self.queue_len)
            .map_err(|e| {
                CameraError::with_source(
                    CameraErrorKind::Unplugged,
                    format!("{} did not come back yet", self.name),
                    e,
                )
            })?;
        tracing::info!(camera = %self.name, "camera reopened");
        self.dropped_before += self.shared.lock().dropped;
        self.shared = shared;
        self.thread = Some(thread);
        self.negotiated = negotiated;
        Ok(())
    }
}

impl Drop for ThreadedSource {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

impl FrameSource for ThreadedSource {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            name: format!("{} ({})", self.name, self.negotiated.name),
            width: self.negotiated.width,
            height: self.negotiated.height,
            fps: self.negotiated.fps,
        }
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        let running = self.thread.as_ref().is_some_and(|t| !t.is_finished());
        if !running && self.shared.lock().frames.is_empty() {
            let failed = self.shared.lock().failed.take();
            if let Some((kind, detail)) = failed {
                // Reported once; the calls after it try to reopen.
                return Err(CameraError::new(kind, detail));
            }
            self.try_reopen()?;
        }
        let deadline = Instant::now().checked_add(timeout);
        let mut q = self.shared.lock();
        loop {
            if let Some(mut f) = q.frames.pop_front() {
                f.seq = self.seq;
                self.seq += 1;
                return Ok(f);
            }
            if let Some((kind, detail)) = q.failed.take() {
                return Err(CameraError::new(kind, detail));
            }
            let remaining = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if remaining.is_zero() {
                return Err(CameraError::new(
                    CameraErrorKind::Timeout,
                    format!("no frame from {} within {timeout:?}", self.name),
                ));
            }
            q = self
                .shared
                .ready
                .wait_timeout(q, remaining)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

type Started = (Arc<Shared>, JoinHandle<()>, Negotiated);

/// Starts the capture thread and waits for it to report the negotiated format (or why not).
fn start(name: &str, opener: &Opener, queue_len: usize) -> Result<Started, CameraError> {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        ready: Condvar::new(),
        stop: AtomicBool::new(false),
    });
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let thread_shared = Arc::clone(&shared);
    let opener = Arc::clone(opener);
    let label = name.to_owned();
    let thread = std::thread::Builder::new()
        .name("camera-capture".into())
        .spawn(move || capture(&label, &opener, queue_len, &thread_shared, &tx))
        .map_err(|e| {
            CameraError::with_source(CameraErrorKind::Io, "spawning the capture thread", e)
        })?;
    match rx.recv_timeout(OPEN_TIMEOUT) {
        Ok(Ok(n)) => Ok((shared, thread, n)),
        Ok(Err(e)) => {
            // The thread ends right after reporting; nothing more to learn from it.
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            shared.stop.store(true, Ordering::Relaxed);
            Err(CameraError::new(
                CameraErrorKind::Timeout,
                format!("{name} did not start streaming within {OPEN_TIMEOUT:?}"),
            ))
        }
    }
}

/// The capture thread: opens the device, reports the format, then fills the queue until
/// stopped or the device is gone.
fn capture(
    name: &str,
    opener: &Opener,
    cap: usize,
    shared: &Shared,
    ready: &std::sync::mpsc::SyncSender<Result<Negotiated, CameraError>>,
) {
    let mut device = match opener() {
        Ok((device, negotiated)) => {
            tracing::info!(camera = %name, ?negotiated, "camera streaming");
            if ready.send(Ok(negotiated)).is_err() {
                return;
            }
            device
        }
        Err(e) => {
            // The receiver may have given up waiting; then nobody needs the error.
            let _ = ready.send(Err(e));
            return;
        }
    };
    while !shared.stop.load(Ordering::Relaxed) {
        match device.capture() {
            Ok(frame) => {
                let mut q = shared.lock();
                while q.frames.len() >= cap {
                    q.frames.pop_front();
                    q.dropped += 1;
                }
                q.frames.push_back(frame);
                drop(q);
                shared.ready.notify_all();
            }
            Err(CaptureError::Skip(why)) => {
                tracing::debug!(camera = %name, why, "frame skipped");
            }
            Err(CaptureError::Gone(kind, detail)) => {
                tracing::warn!(camera = %name, detail, "camera stopped");
                shared.lock().failed = Some((kind, format!("{name}: {detail}")));
                shared.ready.notify_all();
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::PixelFormat;
    use std::sync::atomic::AtomicU64;

    /// A fake camera: numbered 2x2 frames every `period`, gone when `plugged` is cleared.
    struct Fake {
        plugged: Arc<AtomicBool>,
        counter: Arc<AtomicU64>,
        period: Duration,
    }

    impl CaptureDevice for Fake {
        fn capture(&mut self) -> Result<Frame, CaptureError> {
            std::thread::sleep(self.period);
            if !self.plugged.load(Ordering::SeqCst) {
                return Err(CaptureError::Gone(
                    CameraErrorKind::Unplugged,
                    "unplugged".into(),
                ));
            }
            let n = self.counter.fetch_add(1, Ordering::SeqCst);
            if n % 5 == 4 {
                return Err(CaptureError::Skip("corrupt".into()));
            }
            Ok(Frame {
                width: 2,
                height: 2,
                format: PixelFormat::Luma8,
                data: vec![(n % 256) as u8; 4],
                seq: 0,
            })
        }
    }

    fn fake(period: Duration) -> (Opener, Arc<AtomicBool>, Arc<AtomicU64>) {
        let plugged = Arc::new(AtomicBool::new(true));
        let counter = Arc::new(AtomicU64::new(0));
        let (p, c) = (Arc::clone(&plugged), Arc::clone(&counter));
        let opener: Opener = Arc::new(move || {
            if !p.load(Ordering::SeqCst) {
                return Err(CameraError::new(
                    CameraErrorKind::NoDevice,
                    "no such device",
                ));
            }
            let negotiated = Negotiated {
                name: "fake".into(),
                width: 2,
                height: 2,
                fps: 100,
                format: "GREY".into(),
            };
            let device = Fake {
                plugged: Arc::clone(&p),
                counter: Arc::clone(&c),
                period,
            };
            Ok((Box::new(device) as Box<dyn CaptureDevice>, negotiated))
        });
        (opener, plugged, counter)
    }

    #[test]
    fn a_slow_consumer_gets_fresh_frames_and_the_old_ones_are_dropped() {
        let (opener, _plugged, counter) = fake(Duration::from_millis(2));
        let mut src = ThreadedSource::open("fake0", opener, 2).expect("opens");
        assert_eq!(src.info().width, 2);
        std::thread::sleep(Duration::from_millis(200));
        let f = src.next_frame(Duration::from_secs(1)).expect("frame");
        assert_eq!(f.seq, 0);
        assert!(src.dropped_frames() > 3, "dropped {}", src.dropped_frames());
        // The frame handed out is recent: at most the queue length behind the camera.
        let latest = counter.load(Ordering::SeqCst);
        assert!(
            latest - u64::from(f.data[0]) <= 8,
            "{latest} vs {}",
            f.data[0]
        );
    }

    #[test]
    fn unplug_is_reported_then_the_source_recovers() {
        let (opener, plugged, _) = fake(Duration::from_millis(1));
        let mut src = ThreadedSource::open("fake1", opener, 1)
            .expect("opens")
            .with_reopen_interval(Duration::from_millis(20));
        src.next_frame(Duration::from_secs(1)).expect("streaming");
        plugged.store(false, Ordering::SeqCst);
        let kinds: Vec<CameraErrorKind> = (0..20)
            .filter_map(|_| {
                src.next_frame(Duration::from_millis(50))
                    .err()
                    .map(|e| e.kind())
            })
            .collect();
        assert!(kinds.contains(&CameraErrorKind::Unplugged), "{kinds:?}");
        // Still unplugged: reopening fails, as Unplugged, without blocking.
        assert_eq!(
            src.next_frame(Duration::from_millis(10))
                .map_err(|e| e.kind())
                .err(),
            Some(CameraErrorKind::Unplugged)
        );
        plugged.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        let frame = loop {
            match src.next_frame(Duration::from_millis(50)) {
                Ok(f) => break f,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("did not recover: {e}"),
            }
        };
        assert_eq!(frame.width, 2);
    }

    #[test]
    fn a_device_that_does_not_open_is_an_error() {
        let (opener, plugged, _) = fake(Duration::from_millis(1));
        plugged.store(false, Ordering::SeqCst);
        let err = ThreadedSource::open("fake2", opener, 1).expect_err("unplugged");
        assert_eq!(err.kind(), CameraErrorKind::NoDevice);
    }
}
