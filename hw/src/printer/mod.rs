//! Receipt printing: the [`ReceiptPrinter`] trait, the ESC/POS encoder and a simulated printer.
//!
//! A receipt is composed as one complete ESC/POS byte stream with the pure [`escpos::EscPos`]
//! builder and handed to [`ReceiptPrinter::print`] in one call, so a driver can check the
//! printer's status, send the job and confirm it as one transaction.
//!
//! Vietnamese text cannot go through printer code pages (they print tone marks apart), so
//! receipts rasterise their text into 1-bit images (sent with `GS v 0`); only ASCII text and the
//! QR code are sent natively.
//!
//! # Implementations
//!
//! - [`SimPrinter`] (here): writes each job and a PNG rendering of it to a folder, with status
//!   faults injected through [`SimPrinterControl`]. The rendering is done by
//!   [`render::render`], an interpreter of exactly the commands [`escpos::EscPos`] emits.
//! - [`EscPosPrinter`]: the real driver over raw TCP (port 9100), a USB printer-class device
//!   (`/dev/usb/lp0`) or a serial port, checking the status with `DLE EOT 1..4`
//!   ([`status`]) before and after every job, with timeouts on every read and write.
//! - [`VirtualPrinter`]: not a driver but a printer: a TCP 9100 listener interpreting what the
//!   driver sends, with fault switches, writing one PNG per receipt. Tests and the demo print
//!   to it through [`EscPosPrinter`].

mod driver;
pub mod emulator;
pub mod escpos;
mod font;
pub mod render;
mod sim;
pub mod status;

use std::fmt;

pub use driver::{
    DeviceParseError, EscPosPrinter, PaperWidth, PrinterDevice, PrinterOptions,
    PAPER_WIDTH_80MM_SAFE,
};
pub use emulator::{VirtualPrinter, VirtualPrinterControl};
pub use sim::{PrintedJob, SimPrinter, SimPrinterControl};

use crate::error::hw_error;

/// Paper width of an 80 mm printer, in dots (203 dpi).
pub const PAPER_WIDTH_80MM: u32 = 576;
/// Paper width of a 58 mm printer, in dots (203 dpi).
pub const PAPER_WIDTH_58MM: u32 = 384;

/// Paper supply as the printer's sensors report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaperState {
    /// Enough paper.
    Ok,
    /// The roll is nearly used up: still printing, call a technician soon.
    NearEnd,
    /// No paper: printing is impossible.
    Out,
}

/// The printer's state, as read before and after a job (decoded from `DLE EOT 1..4` by
/// [`status::decode`]). [`PrinterStatus::fault`] says whether, and why not, it can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrinterStatus {
    /// The printer accepts data.
    pub online: bool,
    /// Paper supply.
    pub paper: PaperState,
    /// The paper cover is open.
    pub cover_open: bool,
    /// The autocutter failed (usually a paper jam); clears when the jam is removed.
    pub cutter_error: bool,
    /// A hardware fault the printer cannot recover from (needs service).
    pub unrecoverable_error: bool,
    /// An error that clears by itself, such as an overheated print head.
    pub auto_recoverable_error: bool,
}

impl PrinterStatus {
    /// Whether a job can be printed now.
    pub fn can_print(&self) -> bool {
        self.fault().is_none()
    }
}

/// What went wrong with a printer, at the granularity the UI reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrinterErrorKind {
    /// No printer connected.
    NoDevice,
    /// The printer is connected but not accepting data.
    Offline,
    /// The printer is out of paper.
    PaperOut,
    /// The paper cover is open.
    CoverOpen,
    /// Communication failed.
    Io,
    /// The job itself is malformed (a bug in the code that built it, not a printer fault).
    InvalidJob,
    /// The autocutter failed, usually a paper jam: a technician clears it.
    CutterError,
    /// The printer reports a hardware fault it cannot recover from.
    HardwareError,
    /// The printer stopped for an error that clears by itself (an overheated head): retry later.
    Recovering,
    /// The printer did not accept data or answer within the configured time.
    Timeout,
}

impl fmt::Display for PrinterErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoDevice => "no receipt printer found",
            Self::Offline => "receipt printer offline",
            Self::PaperOut => "receipt printer out of paper",
            Self::CoverOpen => "receipt printer cover open",
            Self::Io => "receipt printer I/O error",
            Self::InvalidJob => "malformed print job",
            Self::CutterError => "receipt printer cutter error",
            Self::HardwareError => "receipt printer hardware error",
            Self::Recovering => "receipt printer recovering from an error",
            Self::Timeout => "receipt printer did not answer in time",
        })
    }
}

hw_error!(
    /// A printer error: match on [`PrinterError::kind`].
    PrinterError,
    PrinterErrorKind
);

/// A receipt printer.
pub trait ReceiptPrinter {
    /// Queries the printer's current state.
    ///
    /// # Errors
    ///
    /// [`PrinterErrorKind::NoDevice`] or [`PrinterErrorKind::Io`] when the printer cannot be
    /// asked; a reachable printer reports faults in the returned status instead.
    fn status(&mut self) -> Result<PrinterStatus, PrinterError>;

    /// Prints one complete job: an ESC/POS byte stream, usually from [`escpos::EscPos`].
    ///
    /// # Errors
    ///
    /// The kind of [`PrinterStatus::fault`] (paper out, cover open, cutter, hardware,
    /// recovering, offline) when the printer cannot print: before the job nothing is sent; a
    /// fault reported after it means the receipt is incomplete, and the job is not printed.
    /// [`PrinterErrorKind::NoDevice`] / [`PrinterErrorKind::Io`] /
    /// [`PrinterErrorKind::Timeout`] for connection failures,
    /// [`PrinterErrorKind::InvalidJob`] when a driver can tell the job is malformed (or wider
    /// than the paper).
    fn print(&mut self, job: &[u8]) -> Result<(), PrinterError>;

    /// The status read by the last [`Self::status`] or [`Self::print`] call, if any: after a
    /// successful job it tells whether the paper is nearly used up. Drivers that cannot tell
    /// return `None`.
    fn last_status(&self) -> Option<PrinterStatus> {
        None
    }
}

impl<P: ReceiptPrinter + ?Sized> ReceiptPrinter for Box<P> {
    fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        (**self).status()
    }

    fn print(&mut self, job: &[u8]) -> Result<(), PrinterError> {
        (**self).print(job)
    }

    fn last_status(&self) -> Option<PrinterStatus> {
        (**self).last_status()
    }
}
