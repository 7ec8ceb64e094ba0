//! [`EscPosPrinter`]: the real ESC/POS driver over raw TCP, a USB printer-class device or a
//! serial port.
//!
//! Each call opens the connection, does its work and closes it: a network printer serves one
//! connection at a time, and a USB or serial device that was unplugged and plugged back in is
//! simply opened again. A job is one transaction:
//!
//! 1. the job is checked locally (every command known, every image within the printable
//!    width), so a malformed job never reaches the paper;
//! 2. `DLE EOT 1..4`: a printer that cannot print gets nothing, and the error names the cause;
//! 3. the job is sent;
//! 4. `DLE EOT 1..4` again: a fault that appeared while the job was sent (paper out half way)
//!    fails the job, which is then not reported as printed. The printer answers real-time
//!    requests as they arrive, so this catches faults up to the point its buffer had reached;
//!    a fault in the last buffered lines can still go unseen.
//!
//! Every connect, read and write has a timeout ([`PrinterOptions`]); a printer that does not
//! answer in time gives [`PrinterErrorKind::Timeout`].

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use super::render::{next_command, Command};
use super::status::{self, STATUS_REQUESTS};
use super::{PrinterError, PrinterErrorKind, PrinterStatus, ReceiptPrinter};

/// Where a printer is attached, as written in the configuration and on `kioskctl`'s command
/// line: `tcp:HOST:PORT`, `usb:/dev/usb/lp0`, `serial:/dev/ttyUSB0:BAUD`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrinterDevice {
    /// A network printer's raw port (usually 9100).
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A USB printer-class character device (`/dev/usb/lpN`, kernel module `usblp`).
    Usb(PathBuf),
    /// A serial port, 8 data bits, no parity, one stop bit, no flow control.
    Serial {
        /// The device, such as `/dev/ttyUSB0`.
        path: PathBuf,
        /// Baud rate, such as 9600, 19200 or 115200.
        baud: u32,
    },
}

/// Why a printer device string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("printer device {0:?} is not valid; use \"tcp:HOST:9100\", \"usb:/dev/usb/lp0\" or \"serial:/dev/ttyUSB0:19200\"")]
pub struct DeviceParseError(pub String);

impl FromStr for PrinterDevice {
    type Err = DeviceParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DeviceParseError(s.to_owned());
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "usb" if rest.starts_with("/dev/") => Ok(Self::Usb(PathBuf::from(rest))),
            "tcp" => {
                let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
                // A bracketed IPv6 literal, "[::1]", is written without its brackets here.
                let host = host.trim_start_matches('[').trim_end_matches(']');
                match port.parse::<u16>() {
                    Ok(port) if port != 0 && !host.is_empty() => Ok(Self::Tcp {
                        host: host.to_owned(),
                        port,
                    }),
                    _ => Err(bad()),
                }
            }
            "serial" => {
                let (path, baud) = rest.rsplit_once(':').ok_or_else(bad)?;
                match baud.parse::<u32>() {
                    Ok(baud @ 1200..=921_600) if path.starts_with("/dev/") => Ok(Self::Serial {
                        path: PathBuf::from(path),
                        baud,
                    }),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for PrinterDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp { host, port } if host.contains(':') => write!(f, "tcp:[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            Self::Usb(path) => write!(f, "usb:{}", path.display()),
            Self::Serial { path, baud } => write!(f, "serial:{}:{baud}", path.display()),
        }
    }
}

/// Paper roll width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PaperWidth {
    /// 80 mm paper: 576 dots at 203 dpi (512 with the safe area).
    #[default]
    Mm80,
    /// 58 mm paper: 384 dots at 203 dpi.
    Mm58,
}

/// Printable width of 80 mm printers that print less than 576 dots (many print 512).
pub const PAPER_WIDTH_80MM_SAFE: u32 = 512;

impl PaperWidth {
    /// Printable width in dots; `safe_area` narrows 80 mm paper to
    /// [`PAPER_WIDTH_80MM_SAFE`] (58 mm printers print their full 384 dots).
    pub fn dots(self, safe_area: bool) -> u32 {
        match (self, safe_area) {
            (Self::Mm80, false) => super::PAPER_WIDTH_80MM,
            (Self::Mm80, true) => PAPER_WIDTH_80MM_SAFE,
            (Self::Mm58, _) => super::PAPER_WIDTH_58MM,
        }
    }
}

/// Driver settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrinterOptions {
    /// Printable width in dots ([`PaperWidth::dots`]): jobs with wider images are refused.
    pub width_dots: u32,
    /// Time to open a TCP connection.
    pub connect_timeout: Duration,
    /// Time a write may make no progress (the printer's buffer is full and it does not drain).
    pub write_timeout: Duration,
    /// Time to wait for each status byte.
    pub status_timeout: Duration,
}

impl Default for PrinterOptions {
    fn default() -> Self {
        Self {
            width_dots: super::PAPER_WIDTH_80MM,
            connect_timeout: Duration::from_secs(3),
            write_timeout: Duration::from_secs(10),
            status_timeout: Duration::from_secs(2),
        }
    }
}

/// An ESC/POS receipt printer on TCP, USB or a serial port.
#[derive(Debug, Clone)]
pub struct EscPosPrinter {
    device: PrinterDevice,
    options: PrinterOptions,
    last_status: Option<PrinterStatus>,
}

impl EscPosPrinter {
    /// A driver for `device`; nothing is opened until the first call.
    pub fn new(device: PrinterDevice, options: PrinterOptions) -> Self {
        Self {
            device,
            options,
            last_status: None,
        }
    }

    /// The device this driver talks to.
    pub fn device(&self) -> &PrinterDevice {
        &self.device
    }

    fn connect(&self) -> Result<Box<dyn Link>, PrinterError> {
        let o = &self.options;
        match &self.device {
            PrinterDevice::Tcp { host, port } => {
                let tcp = TcpLink::connect(host, *port, o)?;
                Ok(Box::new(tcp))
            }
            PrinterDevice::Usb(path) => Ok(Box::new(FileLink::open(path, o)?)),
            PrinterDevice::Serial { path, baud } => {
                let port = serialport::new(path.to_string_lossy(), *baud)
                    .timeout(o.status_timeout)
                    .open()
                    .map_err(|e| {
                        let kind = match e.kind() {
                            serialport::ErrorKind::NoDevice => PrinterErrorKind::NoDevice,
                            serialport::ErrorKind::Io(io::ErrorKind::NotFound) => {
                                PrinterErrorKind::NoDevice
                            }
                            _ => PrinterErrorKind::Io,
                        };
                        PrinterError::with_source(
                            kind,
                            format!("opening {}", self.device),
                            e.description,
                        )
                    })?;
                Ok(Box::new(SerialLink {
                    port,
                    write_timeout: o.write_timeout,
                    read_timeout: o.status_timeout,
                }))
            }
        }
    }

    /// Asks `DLE EOT 1..4` on an open link.
    fn query(&self, link: &mut dyn Link) -> Result<PrinterStatus, PrinterError> {
        link.drain();
        let mut answers = [0u8; 4];
        for (answer, request) in answers.iter_mut().zip(STATUS_REQUESTS) {
            link.write_all(&request)
                .map_err(|e| io_error(e, &self.device, "sending DLE EOT"))?;
            *answer = link
                .read_byte()
                .map_err(|e| io_error(e, &self.device, "reading the status"))?;
        }
        status::decode(answers).map_err(|e| {
            PrinterError::with_source(PrinterErrorKind::Io, format!("{}", self.device), e)
        })
    }
}

/// Maps an I/O error to a printer error of the right kind.
fn io_error(e: io::Error, device: &PrinterDevice, what: &str) -> PrinterError {
    let kind = match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => PrinterErrorKind::Timeout,
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => PrinterErrorKind::NoDevice,
        _ => PrinterErrorKind::Io,
    };
    PrinterError::with_source(kind, format!("{what} ({device})"), e)
}

/// Checks that `job` holds only commands the kiosk emits and no image wider than `width`.
fn check_job(job: &[u8], width: u32) -> Result<(), PrinterError> {
    let mut i = 0;
    while i < job.len() {
        let (command, len) = next_command(job, i).map_err(|e| {
            PrinterError::with_source(PrinterErrorKind::InvalidJob, "job not sent", e)
        })?;
        if let Command::Raster { row_bytes, .. } = command {
            if row_bytes.saturating_mul(8) > width as usize {
                return Err(PrinterError::new(
                    PrinterErrorKind::InvalidJob,
                    format!(
                        "image of {} dots at offset {i} is wider than the printable {width} dots",
                        row_bytes.saturating_mul(8)
                    ),
                ));
            }
        }
        i += len;
    }
    Ok(())
}

impl ReceiptPrinter for EscPosPrinter {
    fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        let mut link = self.connect()?;
        let status = self.query(link.as_mut())?;
        self.last_status = Some(status);
        Ok(status)
    }

    fn print(&mut self, job: &[u8]) -> Result<(), PrinterError> {
        check_job(job, self.options.width_dots)?;
        let mut link = self.connect()?;
        let before = self.query(link.as_mut())?;
        self.last_status = Some(before);
        if let Some(kind) = before.fault() {
            return Err(PrinterError::new(
                kind,
                format!("{before}: {}; nothing was sent", before.advice()),
            ));
        }
        link.write_all(job)
            .map_err(|e| io_error(e, &self.device, "sending the job"))?;
        let after = self.query(link.as_mut())?;
        self.last_status = Some(after);
        if let Some(kind) = after.fault() {
            return Err(PrinterError::new(
                kind,
                format!(
                    "{after} after the job was sent: the receipt is incomplete; {}",
                    after.advice()
                ),
            ));
        }
        Ok(())
    }

    fn last_status(&self) -> Option<PrinterStatus> {
        self.last_status
    }
}

/// A byte pipe to a printer with timeouts.
trait Link {
    /// Writes all of `bytes`, failing with `TimedOut` when the printer stops accepting data.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Reads one byte, failing with `TimedOut` when none comes.
    fn read_byte(&mut self) -> io::Result<u8>;
    /// Discards bytes already waiting (stale answers) before a status request.
    fn drain(&mut self) {}
}

struct TcpLink(TcpStream);

impl TcpLink {
    fn connect(host: &str, port: u16, o: &PrinterOptions) -> Result<Self, PrinterError> {
        let device = PrinterDevice::Tcp {
            host: host.to_owned(),
            port,
        };
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|e| io_error(e, &device, "resolving the printer's address"))?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, o.connect_timeout) {
                Ok(stream) => {
                    let setup = stream
                        .set_read_timeout(Some(o.status_timeout))
                        .and_then(|()| stream.set_write_timeout(Some(o.write_timeout)))
                        .and_then(|()| stream.set_nodelay(true));
                    setup.map_err(|e| io_error(e, &device, "configuring the connection"))?;
                    return Ok(Self(stream));
                }
                Err(e) => last = e,
            }
        }
        Err(io_error(last, &device, "connecting"))
    }
}

impl Link for TcpLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        // The socket's write timeout bounds each write call, i.e. a stall, not the whole job.
        self.0.write_all(bytes)
    }

    fn read_byte(&mut self) -> io::Result<u8> {
        read_one(&mut self.0)
    }
}

/// Reads one byte from a reader with its own timeout; end of stream is an error.
fn read_one(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    loop {
        match r.read(&mut b) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the printer closed the connection",
                ))
            }
            Ok(_) => return Ok(b[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A character device opened non-blocking (the USB printer class, `usblp`): std's `File` has
/// no timeouts, so reads and writes are retried on `WouldBlock` until a deadline.
struct FileLink {
    file: std::fs::File,
    write_timeout: Duration,
    read_timeout: Duration,
}

/// How long to sleep between attempts on a non-blocking device.
const POLL: Duration = Duration::from_millis(5);

impl FileLink {
    fn open(path: &std::path::Path, o: &PrinterOptions) -> Result<Self, PrinterError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| {
                let hint = if e.kind() == io::ErrorKind::PermissionDenied {
                    "; the kiosk user needs the group of the device (lp)"
                } else {
                    ""
                };
                let kind = match e.kind() {
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => {
                        PrinterErrorKind::NoDevice
                    }
                    _ => PrinterErrorKind::Io,
                };
                PrinterError::with_source(kind, format!("opening {}{hint}", path.display()), e)
            })?;
        Ok(Self {
            file,
            write_timeout: o.write_timeout,
            read_timeout: o.status_timeout,
        })
    }
}

impl Link for FileLink {
    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        let mut deadline = Instant::now() + self.write_timeout;
        while !bytes.is_empty() {
            match self.file.write(bytes) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "device full")),
                Ok(n) => {
                    bytes = bytes.get(n..).unwrap_or_default();
                    // Progress: the timeout bounds a stall, not the whole job.
                    deadline = Instant::now() + self.write_timeout;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "write stalled"));
                    }
                    std::thread::sleep(POLL);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read_byte(&mut self) -> io::Result<u8> {
        let deadline = Instant::now() + self.read_timeout;
        let mut b = [0u8; 1];
        loop {
            match self.file.read(&mut b) {
                Ok(1) => return Ok(b[0]),
                // usblp returns 0 bytes while the printer has nothing to say.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no status answer"));
            }
            std::thread::sleep(POLL);
        }
    }

    fn drain(&mut self) {
        let mut buf = [0u8; 64];
        while matches!(self.file.read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// A serial port: one timeout for reads and writes, so it is set before each.
struct SerialLink {
    port: Box<dyn serialport::SerialPort>,
    write_timeout: Duration,
    read_timeout: Duration,
}

impl Link for SerialLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        // The port's timeout bounds each write call, i.e. a stall.
        self.port.set_timeout(self.write_timeout)?;
        self.port.write_all(bytes)?;
        self.port.flush()
    }

    fn read_byte(&mut self) -> io::Result<u8> {
        self.port.set_timeout(self.read_timeout)?;
        read_one(&mut self.port)
    }

    fn drain(&mut self) {
        // Stale input only; a failure shows up on the next read.
        let _ = self.port.clear(serialport::ClearBuffer::Input);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_strings() {
        let ok = [
            (
                "tcp:10.0.0.5:9100",
                PrinterDevice::Tcp {
                    host: "10.0.0.5".into(),
                    port: 9100,
                },
            ),
            (
                "tcp:[::1]:9100",
                PrinterDevice::Tcp {
                    host: "::1".into(),
                    port: 9100,
                },
            ),
            (
                "usb:/dev/usb/lp0",
                PrinterDevice::Usb("/dev/usb/lp0".into()),
            ),
            (
                "serial:/dev/ttyUSB0:19200",
                PrinterDevice::Serial {
                    path: "/dev/ttyUSB0".into(),
                    baud: 19200,
                },
            ),
        ];
        for (text, device) in ok {
            assert_eq!(text.parse::<PrinterDevice>(), Ok(device.clone()), "{text}");
            assert_eq!(device.to_string(), text);
        }
        for bad in [
            "tcp:host",
            "tcp::9100",
            "tcp:host:0",
            "usb:lp0",
            "serial:/dev/ttyUSB0",
            "serial:/dev/ttyUSB0:12",
            "serial:ttyUSB0:9600",
            "lp0",
            "sim:/tmp",
        ] {
            assert!(bad.parse::<PrinterDevice>().is_err(), "{bad}");
        }
    }

    #[test]
    fn widths() {
        assert_eq!(PaperWidth::Mm80.dots(false), 576);
        assert_eq!(PaperWidth::Mm80.dots(true), 512);
        assert_eq!(PaperWidth::Mm58.dots(false), 384);
        assert_eq!(PaperWidth::Mm58.dots(true), 384);
    }

    #[test]
    fn jobs_are_checked_before_sending() {
        let mut job = super::super::escpos::EscPos::new();
        job.init().raster(576, 1, &[0; 72]).expect("raster").cut();
        assert!(check_job(job.as_bytes(), 576).is_ok());
        let err = check_job(job.as_bytes(), 512).expect_err("too wide");
        assert_eq!(err.kind(), PrinterErrorKind::InvalidJob);
        assert!(err.to_string().contains("576 dots"), "{err}");
        let err = check_job(b"\x1b@\x1dv0\x00", 576).expect_err("truncated");
        assert_eq!(err.kind(), PrinterErrorKind::InvalidJob);
    }

    #[test]
    fn a_usb_device_that_never_answers_times_out() {
        // A regular file stands in for a printer-class device without a back channel: writes
        // land in it, reads find nothing.
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let options = PrinterOptions {
            status_timeout: Duration::from_millis(30),
            ..PrinterOptions::default()
        };
        let mut p = EscPosPrinter::new(PrinterDevice::Usb(file.path().into()), options);
        let err = p.status().expect_err("no answer");
        assert_eq!(err.kind(), PrinterErrorKind::Timeout, "{err}");
        assert_eq!(std::fs::read(file.path()).expect("read"), [0x10, 0x04, 1]);
    }

    #[test]
    fn a_missing_usb_device_is_no_device() {
        let mut p = EscPosPrinter::new(
            PrinterDevice::Usb("/dev/usb/lp-kiosk-test-absent".into()),
            PrinterOptions::default(),
        );
        let err = p.status().expect_err("absent");
        assert_eq!(err.kind(), PrinterErrorKind::NoDevice);
        let err = p.print(b"\x1b@").expect_err("absent");
        assert_eq!(err.kind(), PrinterErrorKind::NoDevice);
    }
}
