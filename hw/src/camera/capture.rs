//! [`CameraHub`]: one camera stream fanned out to several consumers.
//!
//! The kiosk films two things with one camera: the QR code on the citizen's card (the identify
//! worker) and the citizen's face (the face worker). A V4L2 device streams to one reader at a
//! time, so the hub is that reader and every worker takes a [`CameraFeed`] from it.
//!
//! - **One reader thread** opens the device (by an [`Opener`], on that thread: a driver's
//!   handle need not be `Send`), captures, and publishes each frame as an `Arc<Frame>` into a
//!   one-frame slot. Consumers never block it: publishing replaces the slot under a short lock.
//! - **Latest-frame semantics**: a feed hands out the newest frame it has not seen yet, never a
//!   queue of old ones. A slow consumer (a face model at 150 ms a frame) skips frames; a fast
//!   one (QR at 2 ms) sees them all. Neither slows the reader or the other consumer.
//! - **No copy per consumer**: every feed gets the same allocation
//!   ([`FrameSource::next_shared`]); a worker copies only what it keeps (its luma or RGB
//!   working copy).
//! - **Recovery is the hub's**: when the device fails ([`CaptureError::Gone`], an unplug), stops
//!   delivering frames for [`HubSettings::stall_after`], or the capture code panics, the hub
//!   records the problem ([`HubState::Down`]), drops the device and reopens it every
//!   [`HubSettings::reopen_interval`] until it streams again; no consumer has to ask. While it
//!   is down every feed answers at once with the problem's [`CameraErrorKind`]
//!   (`Unplugged`, `Stalled`, `BadFormat`, `NoDevice`, ...), so the UI can tell the citizen.
//!
//! - **Decoding on demand**: a feed that asks for frames marks demand for
//!   [`HubSettings::idle_after`]; without demand the reader still dequeues every frame (so a
//!   stall is still noticed) but tells the device not to decode it. An idle kiosk at the
//!   attract screen does not spend a tenth of a core decoding 1280x720 MJPEG nobody looks at.
//!
//! The V4L2 driver (`camera::v4l2`, feature `v4l2`) is a [`CaptureDevice`] plugged in here;
//! [`CameraHub::from_source`] puts any [`FrameSource`] (the replay and pattern simulators)
//! behind the same fan-out, so the demo and the tests run the kiosk's real wiring.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{CameraError, CameraErrorKind, Frame, FrameSource, SourceInfo};

/// Least time between two attempts to reopen a camera that is down, by default.
pub const REOPEN_INTERVAL: Duration = Duration::from_secs(1);
/// A streaming camera that delivers no frame for this long counts as stalled, by default.
pub const STALL_AFTER: Duration = Duration::from_secs(3);
/// Frames are decoded for this long after a feed last asked for one, by default.
/// The workers ask every 100-200 ms while they use the camera, and the face worker's health
/// probe (one frame every 10 s while idle) costs one 0.5 s burst of decoding.
pub const IDLE_AFTER: Duration = Duration::from_millis(500);

/// What a device agreed to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Camera name as the driver reports it.
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second (0 when unknown or unpaced).
    pub fps: u32,
    /// Wire format, e.g. `MJPG` or `YUYV`.
    pub format: String,
}

impl std::fmt::Display for Negotiated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}x{} @ {} fps ({})",
            self.format, self.width, self.height, self.fps, self.name
        )
    }
}

/// Why one capture call returned no frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    /// No frame within the device's poll interval. Not an error by itself: the reader checks
    /// for a stall and for shutdown, then asks again.
    NoFrame,
    /// A frame arrived and was dropped undecoded, as asked (nobody wants frames now). Counts
    /// as a sign of life for stall detection.
    Discarded,
    /// One bad frame (a corrupt MJPEG frame on a flaky cable): skip it and go on.
    Skip(String),
    /// The device stopped working (unplugged, I/O error): drop it and report `kind`.
    Gone(CameraErrorKind, String),
}

/// An open camera, used only on the hub's reader thread.
pub trait CaptureDevice {
    /// Waits for the next frame, returning within about a poll interval (a few hundred ms at
    /// most) so that the reader notices a stall or a shutdown. With `decode` false no feed
    /// wants frames: a device may drop the frame undecoded ([`CaptureError::Discarded`]).
    ///
    /// # Errors
    ///
    /// [`CaptureError`]: no frame yet, a frame discarded, skip one frame, or the device is
    /// gone.
    fn capture(&mut self, decode: bool) -> Result<Frame, CaptureError>;
}

/// Opens the device (on the reader thread) and says what it agreed to deliver; called again
/// for every reopen.
pub type Opener = Arc<
    dyn Fn() -> Result<(Box<dyn CaptureDevice>, Negotiated), CameraError> + Send + Sync + 'static,
>;

/// Timing of the hub's recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubSettings {
    /// Least time between two attempts to (re)open the device.
    pub reopen_interval: Duration,
    /// No frame for this long while streaming: the camera has stalled and is reopened.
    pub stall_after: Duration,
    /// Frames are decoded for this long after a feed last asked for one.
    pub idle_after: Duration,
}

impl Default for HubSettings {
    fn default() -> Self {
        Self {
            reopen_interval: REOPEN_INTERVAL,
            stall_after: STALL_AFTER,
            idle_after: IDLE_AFTER,
        }
    }
}

/// What the hub's reader is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubState {
    /// Opening the device for the first time.
    Opening,
    /// Frames are flowing in this format.
    Streaming(Negotiated),
    /// The camera is not usable; the reader retries every reopen interval.
    Down {
        /// Why, as the UI reacts to it.
        kind: CameraErrorKind,
        /// For the technician's log (never personal data: frames are not described).
        detail: String,
    },
    /// The hub was shut down.
    Closed,
}

/// Counters of a hub, for logs, `kioskctl` and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubStats {
    /// Frames published to the feeds.
    pub published: u64,
    /// Frames the device delivered broken ([`CaptureError::Skip`]).
    pub skipped: u64,
    /// Frames dropped undecoded because no feed wanted them.
    pub discarded: u64,
    /// Times the camera went down (unplug, stall, failed open, panic).
    pub outages: u64,
    /// Successful opens (the first one and every reopen).
    pub opens: u64,
}

struct Slot {
    /// The newest frame; `None` before the first one and while the camera is down.
    latest: Option<Arc<Frame>>,
    state: HubState,
    /// The last known format, kept while down so [`FrameSource::info`] stays meaningful.
    last_format: Option<Negotiated>,
    /// When a feed last asked for a frame.
    last_demand: Option<Instant>,
    stats: HubStats,
}

struct Shared {
    slot: Mutex<Slot>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // Nothing under this lock panics half-way; recover from poisoning.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Sleeps up to `d`, waking early on shutdown.
    fn pause(&self, d: Duration) {
        let deadline = Instant::now().checked_add(d);
        let mut slot = self.lock();
        while !self.stopped() {
            let left = deadline.map_or(Duration::MAX, |t| {
                t.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                break;
            }
            slot = self
                .changed
                .wait_timeout(slot, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn publish(&self, mut frame: Frame) {
        let mut slot = self.lock();
        // Sequence numbers run over the hub's life, across reopens; 0 means "none yet" to a
        // feed, so the first frame is 1.
        slot.stats.published = slot.stats.published.saturating_add(1);
        frame.seq = slot.stats.published;
        slot.latest = Some(Arc::new(frame));
        drop(slot);
        self.changed.notify_all();
    }

    fn set_state(&self, state: HubState) {
        let mut slot = self.lock();
        match &state {
            HubState::Streaming(n) => {
                slot.stats.opens = slot.stats.opens.saturating_add(1);
                slot.last_format = Some(n.clone());
            }
            HubState::Down { .. } => {
                // Frames from before the outage are stale: nobody gets them afterwards.
                slot.latest = None;
                if !matches!(slot.state, HubState::Down { .. }) {
                    slot.stats.outages = slot.stats.outages.saturating_add(1);
                }
            }
            HubState::Opening | HubState::Closed => {}
        }
        slot.state = state;
        drop(slot);
        self.changed.notify_all();
    }
}

/// Owns the reader thread; the last handle (hub or feed) to go stops and joins it.
struct Inner {
    name: String,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.changed.notify_all();
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = handle {
            // The reader returns within a capture poll; a panic there was already reported.
            let _ = t.join();
        }
    }
}

/// One camera stream shared by several consumers; see the module docs.
#[derive(Clone)]
pub struct CameraHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CameraHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraHub")
            .field("name", &self.inner.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl CameraHub {
    /// Starts the reader thread, which opens the device through `opener` and keeps it open.
    /// Returns at once: a camera that is missing at start-up is a [`HubState::Down`] that
    /// recovers when it is plugged in, not an error here.
    ///
    /// # Errors
    ///
    /// The OS refused to start a thread.
    pub fn start(
        name: impl Into<String>,
        opener: Opener,
        settings: HubSettings,
    ) -> std::io::Result<Self> {
        let name = name.into();
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot {
                latest: None,
                state: HubState::Opening,
                last_format: None,
                last_demand: None,
                stats: HubStats::default(),
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            let name = name.clone();
            std::thread::Builder::new()
                .name("kiosk-camera".into())
                .spawn(move || reader(&name, &opener, settings, &shared))?
        };
        Ok(Self {
            inner: Arc::new(Inner {
                name,
                shared,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// The fan-out over any [`FrameSource`] (the replay and pattern simulators): the reader
    /// pulls from it as it would from a camera.
    ///
    /// # Errors
    ///
    /// The OS refused to start a thread.
    pub fn from_source<S: FrameSource + Send + 'static>(
        source: S,
        settings: HubSettings,
    ) -> std::io::Result<Self> {
        let info = source.info();
        let negotiated = Negotiated {
            name: info.name.clone(),
            width: info.width,
            height: info.height,
            fps: info.fps,
            format: "simulated".into(),
        };
        // A simulator is opened once; a "reopen" hands the same source out again.
        let source = Arc::new(Mutex::new(source));
        let opener: Opener = Arc::new(move || {
            let device = SourceDevice(Arc::clone(&source));
            Ok((
                Box::new(device) as Box<dyn CaptureDevice>,
                negotiated.clone(),
            ))
        });
        Self::start(info.name, opener, settings)
    }

    /// A new consumer of the stream. It sees frames published from now on.
    pub fn feed(&self) -> CameraFeed {
        let last_seen = self.inner.shared.lock().stats.published;
        CameraFeed {
            inner: Arc::clone(&self.inner),
            last_seen,
            missed: 0,
        }
    }

    /// What the reader is doing now.
    pub fn state(&self) -> HubState {
        self.inner.shared.lock().state.clone()
    }

    /// Counters since start.
    pub fn stats(&self) -> HubStats {
        self.inner.shared.lock().stats
    }

    /// Waits until the camera streams (or fails its first open), at most `timeout`.
    ///
    /// # Errors
    ///
    /// The camera's problem when it is down, [`CameraErrorKind::Timeout`] when it is still
    /// opening after `timeout`.
    pub fn wait_streaming(&self, timeout: Duration) -> Result<Negotiated, CameraError> {
        let shared = &self.inner.shared;
        let deadline = Instant::now().checked_add(timeout);
        let mut slot = shared.lock();
        loop {
            match &slot.state {
                HubState::Streaming(n) => return Ok(n.clone()),
                HubState::Down { kind, detail } => {
                    return Err(CameraError::new(
                        *kind,
                        format!("{}: {detail}", self.inner.name),
                    ))
                }
                HubState::Closed => return Err(closed(&self.inner.name)),
                HubState::Opening => {}
            }
            let left = deadline.map_or(Duration::MAX, |t| {
                t.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return Err(CameraError::new(
                    CameraErrorKind::Timeout,
                    format!(
                        "{} did not start streaming within {timeout:?}",
                        self.inner.name
                    ),
                ));
            }
            slot = shared
                .changed
                .wait_timeout(slot, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

fn closed(name: &str) -> CameraError {
    CameraError::new(CameraErrorKind::NoDevice, format!("{name}: camera closed"))
}

/// One consumer's view of a [`CameraHub`]: a [`FrameSource`] of the newest frames.
pub struct CameraFeed {
    inner: Arc<Inner>,
    /// Sequence number of the last frame handed out (0: none).
    last_seen: u64,
    missed: u64,
}

impl std::fmt::Debug for CameraFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraFeed")
            .field("camera", &self.inner.name)
            .field("last_seen", &self.last_seen)
            .field("missed", &self.missed)
            .finish()
    }
}

impl CameraFeed {
    /// Frames this consumer skipped because newer ones came before it asked again.
    pub fn missed_frames(&self) -> u64 {
        self.missed
    }

    /// The hub this feed reads from.
    pub fn hub(&self) -> CameraHub {
        CameraHub {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl FrameSource for CameraFeed {
    fn info(&self) -> SourceInfo {
        let slot = self.inner.shared.lock();
        let n = slot.last_format.as_ref();
        SourceInfo {
            name: match n {
                Some(n) if n.name != self.inner.name => format!("{} ({})", self.inner.name, n.name),
                _ => self.inner.name.clone(),
            },
            width: n.map_or(0, |n| n.width),
            height: n.map_or(0, |n| n.height),
            fps: n.map_or(0, |n| n.fps),
        }
    }

    /// A copy of the newest frame (a real copy only while another consumer holds it too):
    /// prefer [`FrameSource::next_shared`].
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        self.next_shared(timeout).map(Arc::unwrap_or_clone)
    }

    /// The newest frame this feed has not handed out yet, waiting up to `timeout` for one.
    /// While the camera is down it answers at once with the problem.
    fn next_shared(&mut self, timeout: Duration) -> Result<Arc<Frame>, CameraError> {
        let shared = &self.inner.shared;
        let deadline = Instant::now().checked_add(timeout);
        let mut slot = shared.lock();
        slot.last_demand = Some(Instant::now());
        loop {
            match &slot.state {
                HubState::Down { kind, detail } => {
                    return Err(CameraError::new(
                        *kind,
                        format!("{}: {detail}", self.inner.name),
                    ))
                }
                HubState::Closed => return Err(closed(&self.inner.name)),
                HubState::Opening | HubState::Streaming(_) => {}
            }
            if let Some(frame) = slot.latest.as_ref().filter(|f| f.seq > self.last_seen) {
                if self.last_seen > 0 {
                    // seq > last_seen, so this cannot underflow.
                    self.missed = self.missed.saturating_add(frame.seq - self.last_seen - 1);
                }
                self.last_seen = frame.seq;
                return Ok(Arc::clone(frame));
            }
            let left = deadline.map_or(Duration::MAX, |t| {
                t.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return Err(CameraError::new(
                    CameraErrorKind::Timeout,
                    format!("no frame from {} within {timeout:?}", self.inner.name),
                ));
            }
            slot = shared
                .changed
                .wait_timeout(slot, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// The reader thread: open, stream until the device fails, stalls or panics, record why,
/// wait, open again; until shutdown.
fn reader(name: &str, opener: &Opener, settings: HubSettings, shared: &Shared) {
    let mut last_problem: Option<(CameraErrorKind, String)> = None;
    while !shared.stopped() {
        // One open-and-stream is the unit of work: a panic in the driver or a decoder ends it
        // like an unplug would, and the reader opens the device again.
        let ended = panic::catch_unwind(AssertUnwindSafe(|| stream_once(opener, settings, shared)))
            .unwrap_or_else(|_| {
                Some((
                    CameraErrorKind::Io,
                    "the capture code panicked (a driver answer it does not handle, e.g. the \
                     v4l crate's unwraps on colorspace or name fields); reopening"
                        .to_owned(),
                ))
            });
        let Some((kind, detail)) = ended else {
            break;
        };
        // Log transitions, not every failed reopen of an unplugged camera.
        if last_problem.as_ref().map(|(k, _)| *k) != Some(kind) {
            tracing::warn!(camera = %name, %kind, detail, "camera down; reopening by itself");
        } else {
            tracing::debug!(camera = %name, %kind, detail, "camera still down");
        }
        last_problem = Some((kind, detail.clone()));
        shared.set_state(HubState::Down { kind, detail });
        shared.pause(settings.reopen_interval);
    }
    shared.set_state(HubState::Closed);
}

/// Opens the device and publishes its frames. `None` on shutdown, else why it ended.
fn stream_once(
    opener: &Opener,
    settings: HubSettings,
    shared: &Shared,
) -> Option<(CameraErrorKind, String)> {
    let (mut device, negotiated) = match opener() {
        Ok(d) => d,
        Err(e) => return Some((e.kind(), e.to_string())),
    };
    tracing::info!(?negotiated, "camera streaming");
    shared.set_state(HubState::Streaming(negotiated));
    let mut last_frame = Instant::now();
    while !shared.stopped() {
        let decode = shared
            .lock()
            .last_demand
            .is_some_and(|t| t.elapsed() < settings.idle_after);
        match device.capture(decode) {
            Ok(frame) => {
                last_frame = Instant::now();
                shared.publish(frame);
            }
            Err(CaptureError::NoFrame) => {}
            Err(CaptureError::Discarded) => {
                last_frame = Instant::now();
                let mut slot = shared.lock();
                slot.stats.discarded = slot.stats.discarded.saturating_add(1);
            }
            Err(CaptureError::Skip(why)) => {
                let mut slot = shared.lock();
                slot.stats.skipped = slot.stats.skipped.saturating_add(1);
                drop(slot);
                tracing::debug!(why, "camera frame skipped");
            }
            Err(CaptureError::Gone(kind, detail)) => return Some((kind, detail)),
        }
        if last_frame.elapsed() >= settings.stall_after {
            return Some((
                CameraErrorKind::Stalled,
                format!(
                    "no usable frame for {:?} (check the cable and the camera's format)",
                    settings.stall_after
                ),
            ));
        }
    }
    None
}

/// A [`FrameSource`] as a capture device (the simulators behind the fan-out).
struct SourceDevice<S>(Arc<Mutex<S>>);

/// How long the reader waits on a simulated source per call (to notice a shutdown).
const SOURCE_POLL: Duration = Duration::from_millis(100);

impl<S: FrameSource> CaptureDevice for SourceDevice<S> {
    /// A simulator makes its frames when asked, so it is asked even without demand (its frames
    /// are cheap); `decode` is ignored.
    fn capture(&mut self, _decode: bool) -> Result<Frame, CaptureError> {
        let mut source = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match source.next_frame(SOURCE_POLL) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == CameraErrorKind::Timeout => Err(CaptureError::NoFrame),
            Err(e) => Err(CaptureError::Gone(e.kind(), e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
