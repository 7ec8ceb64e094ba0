//! Hardware abstraction layer of the kiosk.
//!
//! Everything the kiosk touches outside its own process lives behind a small trait here: the
//! contactless card reader ([`card::CardReader`]), the camera ([`camera::FrameSource`]), the QR
//! scanner ([`qr::QrScanner`]) and the receipt printer ([`printer::ReceiptPrinter`]). The rest of
//! the kiosk (protocol code, the UI) depends on these traits only; `kiosk-app` decides which
//! implementation to plug in.
//!
//! # Layout
//!
//! - [`personal`]: [`Personal<T>`], the wrapper for personal data that never prints its value.
//! - [`card`]: the card reader trait, the simulated reader and the demo eMRTD card.
//! - [`camera`]: frames, the frame source trait, replay (PNG folder) and test-pattern sources;
//!   [`camera::capture::CameraHub`], one camera stream fanned out to several consumers with
//!   latest-frame semantics and recovery after an unplug or a stall; [`camera::wire`], the pure
//!   format choice and MJPEG/YUYV decoding; `camera::v4l2` (feature `v4l2`), the V4L2 driver.
//! - [`qr`]: the QR scanner trait and a simulated scanner.
//! - [`printer`]: the receipt printer trait, the pure ESC/POS encoder ([`printer::escpos`]), the
//!   ESC/POS-to-image interpreter ([`printer::render`]), the `DLE EOT` status decoding
//!   ([`printer::status`]), the ESC/POS driver over TCP, USB and serial
//!   ([`printer::EscPosPrinter`]), the virtual network printer ([`printer::VirtualPrinter`])
//!   and the simulated printer.
//! - [`audio`]: spoken prompts and chimes ([`audio::Speaker`]): the espeak-ng driver
//!   ([`audio::EspeakSpeaker`]), the silent simulator ([`audio::SimSpeaker`]) and
//!   [`audio::AudioWorker`], the thread a speaker runs on.
//! - [`sim`]: [`sim::SimHardware`], every simulator wired together for the kiosk's demo mode.
//!
//! # Conventions (after embedded-hal)
//!
//! - One trait per capability, every method fallible.
//! - Operations are transaction-shaped: one call is a whole APDU exchange or a whole print job,
//!   so a driver can lock, retry or time out around a complete unit of work.
//! - Each module has one error type carrying a rich, technician-facing message and a
//!   `kind()`: a small `#[non_exhaustive]` enum that generic code (the UI) matches on to pick
//!   the translated message for the citizen. Error messages never contain personal data.
//! - Every trait has a simulator. Real drivers (PC/SC, V4L2, ESC/POS over TCP/USB/serial) live
//!   next to the simulators, in the modules named in each module's docs.

pub mod audio;
pub mod camera;
pub mod card;
mod error;
/// [`Personal<T>`], from its own crate (shared with the wire format).
pub use kiosk_personal as personal;
pub mod printer;
pub mod qr;
pub mod sim;

pub use camera::{CameraError, CameraErrorKind, Frame, FrameSource, PixelFormat, SourceInfo};
pub use card::{CardError, CardErrorKind, CardPresence, CardReader};
pub use personal::Personal;
pub use printer::{PaperState, PrinterError, PrinterErrorKind, PrinterStatus, ReceiptPrinter};
pub use qr::{QrError, QrErrorKind, QrScan, QrScanner};
pub use sim::SimHardware;
