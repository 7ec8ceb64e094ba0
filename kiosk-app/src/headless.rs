//! A Slint platform without a display: one software-rendered window whose clock is driven by
//! the caller. The headless tour (`kiosk --tour DIR`) and the start-up benchmark render through
//! it, so screenshots are deterministic: animations sit at exactly the time the tour chose.

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{PhysicalSize, PlatformError};

/// The platform handed to `slint::platform::set_platform`.
struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
    clock: Rc<Cell<Duration>>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        self.clock.get()
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
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        let clock = Rc::new(Cell::new(Duration::ZERO));
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            window: window.clone(),
            clock: clock.clone(),
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
