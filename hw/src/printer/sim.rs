//! [`SimPrinter`]: a receipt printer that writes its output to a folder.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::render::render;
use super::{
    PaperState, PrinterError, PrinterErrorKind, PrinterStatus, ReceiptPrinter, PAPER_WIDTH_80MM,
};
use crate::camera::encode_png;

#[derive(Debug)]
struct State {
    connected: bool,
    status: PrinterStatus,
    printed: Vec<PrintedJob>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Only plain field updates happen under this lock; recover from poisoning.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The files a [`SimPrinter`] wrote for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedJob {
    /// The raw job, `receipt-NNNN.bin`.
    pub bin: PathBuf,
    /// Its rendering, `receipt-NNNN.png`.
    pub png: PathBuf,
}

/// A simulated 80 mm (576-dot) receipt printer.
///
/// Each job is written to the output folder as `receipt-0001.bin` (the bytes as received) and
/// `receipt-0001.png` (its rendering by [`super::render::render`]); numbering continues after
/// the files already there. The folder is created on the first job. A job that does not render
/// is still saved as `.bin`, for debugging, and fails with [`PrinterErrorKind::InvalidJob`].
pub struct SimPrinter {
    dir: PathBuf,
    width: u32,
    shared: Arc<Shared>,
}

impl fmt::Debug for SimPrinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimPrinter")
            .field("dir", &self.dir)
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

impl SimPrinter {
    /// A connected, online printer with paper, writing to `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let status = PrinterStatus::READY;
        Self {
            dir: dir.into(),
            width: PAPER_WIDTH_80MM,
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    connected: true,
                    status,
                    printed: Vec::new(),
                }),
            }),
        }
    }

    /// A handle controlling this printer's faults from any thread.
    pub fn control(&self) -> SimPrinterControl {
        SimPrinterControl {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io_error(&self, what: String, e: std::io::Error) -> PrinterError {
        PrinterError::with_source(PrinterErrorKind::Io, what, e)
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), PrinterError> {
        std::fs::write(path, bytes)
            .map_err(|e| self.io_error(format!("writing {}", path.display()), e))
    }
}

impl ReceiptPrinter for SimPrinter {
    fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        let st = self.shared.lock();
        if !st.connected {
            return Err(PrinterError::new(
                PrinterErrorKind::NoDevice,
                "simulated printer unplugged",
            ));
        }
        Ok(st.status)
    }

    fn last_status(&self) -> Option<PrinterStatus> {
        Some(self.shared.lock().status)
    }

    fn print(&mut self, job: &[u8]) -> Result<(), PrinterError> {
        let status = self.status()?;
        if let Some(kind) = status.fault() {
            return Err(PrinterError::new(kind, status.advice()));
        }

        std::fs::create_dir_all(&self.dir)
            .map_err(|e| self.io_error(format!("creating {}", self.dir.display()), e))?;
        let n = next_number(&self.dir)
            .map_err(|e| self.io_error(format!("listing {}", self.dir.display()), e))?;
        let bin = self.dir.join(format!("receipt-{n:04}.bin"));
        let png = self.dir.join(format!("receipt-{n:04}.png"));
        self.write(&bin, job)?;

        let receipt = render(job, self.width).map_err(|e| {
            PrinterError::with_source(
                PrinterErrorKind::InvalidJob,
                format!("job saved as {} does not render", bin.display()),
                e,
            )
        })?;
        let encoded = receipt_png(&receipt)?;
        self.write(&png, &encoded)?;
        tracing::debug!(job = %bin.display(), bytes = job.len(), height = receipt.height, "simulated print");
        self.shared.lock().printed.push(PrintedJob { bin, png });
        Ok(())
    }
}

/// The next free receipt number in `dir`: one more than the highest `receipt-NNNN.bin`.
pub(crate) fn next_number(dir: &Path) -> std::io::Result<u32> {
    let mut max = 0;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let number = name
            .to_str()
            .and_then(|n| n.strip_prefix("receipt-"))
            .and_then(|n| n.strip_suffix(".bin"))
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(n) = number {
            max = max.max(n);
        }
    }
    Ok(max.saturating_add(1))
}

/// A rendered receipt as PNG bytes.
pub(crate) fn receipt_png(receipt: &super::render::Receipt) -> Result<Vec<u8>, PrinterError> {
    encode_png(
        receipt.width,
        receipt.height,
        png::ColorType::Grayscale,
        &receipt.pixels,
    )
    .map_err(|e| PrinterError::with_source(PrinterErrorKind::Io, "encoding the receipt PNG", e))
}

/// Remote control of a [`SimPrinter`]: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct SimPrinterControl {
    shared: Arc<Shared>,
}

impl SimPrinterControl {
    /// Sets the paper sensor state.
    pub fn set_paper(&self, paper: PaperState) {
        self.shared.lock().status.paper = paper;
    }

    /// Opens or closes the paper cover.
    pub fn set_cover_open(&self, open: bool) {
        self.shared.lock().status.cover_open = open;
    }

    /// Puts the printer online or offline.
    pub fn set_online(&self, online: bool) {
        self.shared.lock().status.online = online;
    }

    /// Connects or disconnects the printer ([`PrinterErrorKind::NoDevice`] while disconnected).
    pub fn set_connected(&self, connected: bool) {
        self.shared.lock().connected = connected;
    }

    /// The jobs printed successfully so far, oldest first.
    pub fn printed(&self) -> Vec<PrintedJob> {
        self.shared.lock().printed.clone()
    }
}
