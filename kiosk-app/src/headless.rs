//! A Slint platform without a display: one software-rendered window.
//!
//! Two clocks: the headless tour (`kiosk --tour DIR`) drives a mock clock itself, so
//! screenshots are deterministic (animations sit at exactly the time the tour chose); the live
//! mode (`kiosk --headless`) runs a real event loop on the real clock, for soak and shutdown
//! tests and for a kiosk image booted before its screen is attached.

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{EventLoopProxy, Platform, WindowAdapter};
use slint::{EventLoopError, PhysicalSize, PlatformError};

type Job = Box<dyn FnOnce() + Send>;

/// The platform handed to `slint::platform::set_platform`.
struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
    clock: Rc<Cell<Duration>>,
    /// `Some(start)` in live mode: time is real.
    live_since: Option<Instant>,
    jobs: Mutex<Receiver<Job>>,
    proxy: Proxy,
}

#[derive(Clone)]
struct Proxy {
    jobs: Sender<Job>,
    quit: Arc<AtomicBool>,
}

impl EventLoopProxy for Proxy {
    fn quit_event_loop(&self) -> Result<(), EventLoopError> {
        self.quit.store(true, Ordering::SeqCst);
        // Wake the loop.
        let _ = self.jobs.send(Box::new(|| {}));
        Ok(())
    }

    fn invoke_from_event_loop(&self, event: Job) -> Result<(), EventLoopError> {
        self.jobs
            .send(event)
            .map_err(|_| EventLoopError::EventLoopTerminated)
    }
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        match self.live_since {
            Some(start) => start.elapsed(),
            None => self.clock.get(),
        }
    }

    fn new_event_loop_proxy(&self) -> Option<Box<dyn EventLoopProxy>> {
        Some(Box::new(self.proxy.clone()))
    }

    fn run_event_loop(&self) -> Result<(), PlatformError> {
        let jobs = self
            .jobs
            .lock()
            .map_err(|_| PlatformError::Other("job queue poisoned".into()))?;
        self.proxy.quit.store(false, Ordering::SeqCst);
        loop {
            slint::platform::update_timers_and_animations();
            // Nothing is drawn: a live headless kiosk has no screen. Drop redraw requests.
            self.window.draw_if_needed(|_| {});
            if self.proxy.quit.load(Ordering::SeqCst) {
                return Ok(());
            }
            let wait = slint::platform::duration_until_next_timer_update()
                .unwrap_or(Duration::from_millis(100))
                .min(Duration::from_millis(100));
            match jobs.recv_timeout(wait) {
                Ok(job) => job(),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    }
}

/// Handle on the installed headless platform: resize, advance time, take PNG screenshots.
pub struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    clock: Rc<Cell<Duration>>,
}

impl std::fmt::Debug for Headless {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Headless")
            .field("clock", &self.clock.get())
            .finish()
    }
}

impl Headless {
    /// Installs the headless platform for this thread. Must run before any window is created.
    ///
    /// # Errors
    /// Fails when another platform was already installed (Slint allows one per process).
    pub fn install(width: u32, height: u32) -> anyhow::Result<Self> {
        Self::install_with(width, height, None)
    }

    /// Installs the headless platform on the real clock, with an event loop that runs until
    /// `slint::quit_event_loop`.
    ///
    /// # Errors
    /// Fails when another platform was already installed.
    pub fn install_live(width: u32, height: u32) -> anyhow::Result<Self> {
        Self::install_with(width, height, Some(Instant::now()))
    }

    fn install_with(width: u32, height: u32, live_since: Option<Instant>) -> anyhow::Result<Self> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        let clock = Rc::new(Cell::new(Duration::ZERO));
        let (tx, rx) = mpsc::channel();
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            window: window.clone(),
            clock: clock.clone(),
            live_since,
            jobs: Mutex::new(rx),
            proxy: Proxy {
                jobs: tx,
                quit: Arc::new(AtomicBool::new(false)),
            },
        }))
        .map_err(|e| anyhow::anyhow!("cannot install the headless platform: {e}"))?;
        let h = Self { window, clock };
        h.resize(width, height);
        Ok(h)
    }

    /// Changes the window size (portrait 1080x1920, landscape 1920x1080, ...).
    pub fn resize(&self, width: u32, height: u32) {
        self.window.set_size(PhysicalSize::new(width, height));
    }

    /// The mock clock: milliseconds since the platform was installed.
    pub fn now(&self) -> Duration {
        self.clock.get()
    }

    /// Moves the clock forward and runs the timers and animations that became due.
    pub fn advance(&self, by: Duration) {
        // Step in 16 ms frames so that timers fire in order, as they would on a real display.
        let target = self.clock.get() + by;
        while self.clock.get() < target {
            let next = (self.clock.get() + Duration::from_millis(16)).min(target);
            self.clock.set(next);
            slint::platform::update_timers_and_animations();
        }
    }

    /// Renders the current frame and writes it as an RGBA PNG.
    ///
    /// # Errors
    /// Rendering or writing the file failed.
    pub fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        slint::platform::update_timers_and_animations();
        let buffer = self
            .window
            .window()
            .take_snapshot()
            .map_err(|e| anyhow::anyhow!("rendering failed: {e}"))?;
        write_png(path, buffer.width(), buffer.height(), buffer.as_bytes())
    }
}

/// Writes RGBA8 pixels as a PNG file.
///
/// # Errors
/// The file cannot be created or encoded.
pub fn write_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().context("png header")?;
    w.write_image_data(rgba).context("png data")?;
    w.finish().context("png finish")?;
    Ok(())
}
