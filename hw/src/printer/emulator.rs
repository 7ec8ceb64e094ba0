//! [`VirtualPrinter`]: an ESC/POS network printer in a thread, for tests, the demo and a
//! technician without hardware.
//!
//! It listens on TCP (127.0.0.1:9100 by default; port 0 picks a free port, read it back with
//! [`VirtualPrinter::addr`]), serves one connection at a time like a real network printer,
//! answers `DLE EOT 1..4` from its status, and interprets everything else with
//! [`super::render`]: each cut ends a receipt, written to its folder as `receipt-NNNN.bin`
//! (the bytes) and `receipt-NNNN.png` (the rendering, QR codes drawn as real modules).
//!
//! Fault switches ([`VirtualPrinterControl`]) change the status it reports (paper out, cover
//! open, offline, cutter error...), make the paper run out after a number of bytes of the next
//! job, or stop it answering status requests. While it has a fault it prints nothing: the
//! receipt being received when a fault appears is lost, as on paper.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::render::{next_command, render, Command, RenderError};
use super::sim::{next_number, receipt_png};
use super::status::encode;
use super::{PaperState, PrinterDevice, PrinterStatus};

/// The address a virtual printer listens on unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9100";

/// How often the server thread looks at its stop flag while idle.
const TICK: Duration = Duration::from_millis(20);
/// A connection silent this long is closed, so a client that hangs cannot block the printer.
const IDLE: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct State {
    status: PrinterStatus,
    paper_out_after: Option<usize>,
    silent: bool,
    printed: Vec<PathBuf>,
    errors: Vec<String>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    dir: PathBuf,
    width: u32,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Only plain field updates happen under this lock; recover from poisoning.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A virtual ESC/POS printer listening on TCP; stops when dropped.
#[derive(Debug)]
pub struct VirtualPrinter {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VirtualPrinter {
    /// Starts a ready printer with paper `width_dots` wide (576 for 80 mm), listening on
    /// `listen` and writing receipts to `dir` (created if needed).
    ///
    /// # Errors
    ///
    /// The folder cannot be created, or the address cannot be bound (already in use).
    pub fn start(listen: SocketAddr, dir: impl Into<PathBuf>, width_dots: u32) -> io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                status: PrinterStatus::READY,
                paper_out_after: None,
                silent: false,
                printed: Vec::new(),
                errors: Vec::new(),
            }),
            dir,
            width: width_dots,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("virtual-printer".into())
            .spawn({
                let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
                move || serve(&listener, &shared, &stop)
            })?;
        tracing::info!(%addr, dir = %shared.dir.display(), width_dots, "virtual ESC/POS printer listening");
        Ok(Self {
            addr,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The device string that reaches this printer: `tcp:127.0.0.1:PORT`.
    pub fn device(&self) -> PrinterDevice {
        PrinterDevice::Tcp {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
        }
    }

    /// The receipts folder.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// A handle switching faults from any thread.
    pub fn control(&self) -> VirtualPrinterControl {
        VirtualPrinterControl {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Blocks until the server thread ends (for a foreground process; it ends only on a panic).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for VirtualPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Remote control of a [`VirtualPrinter`]: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct VirtualPrinterControl {
    shared: Arc<Shared>,
}

impl VirtualPrinterControl {
    /// The status the printer reports now.
    pub fn status(&self) -> PrinterStatus {
        self.shared.lock().status
    }

    /// Replaces the whole status (every sensor and error flag).
    pub fn set_status(&self, status: PrinterStatus) {
        self.shared.lock().status = status;
    }

    /// Sets the paper sensors.
    pub fn set_paper(&self, paper: PaperState) {
        self.shared.lock().status.paper = paper;
    }

    /// Opens or closes the cover.
    pub fn set_cover_open(&self, open: bool) {
        self.shared.lock().status.cover_open = open;
    }

    /// Puts the printer online or offline.
    pub fn set_online(&self, online: bool) {
        self.shared.lock().status.online = online;
    }

    /// After `bytes` more bytes of print data, the paper runs out (the receipt being printed
    /// is lost); `None` cancels.
    pub fn paper_out_after(&self, bytes: Option<usize>) {
        self.shared.lock().paper_out_after = bytes;
    }

    /// Stops (or resumes) answering `DLE EOT` requests, like a printer that hangs.
    pub fn set_silent(&self, silent: bool) {
        self.shared.lock().silent = silent;
    }

    /// The PNG files of the receipts printed so far, oldest first.
    pub fn printed(&self) -> Vec<PathBuf> {
        self.shared.lock().printed.clone()
    }

    /// Data the printer could not interpret, one message per connection it dropped.
    pub fn errors(&self) -> Vec<String> {
        self.shared.lock().errors.clone()
    }
}

fn serve(listener: &TcpListener, shared: &Shared, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, peer)) => {
                tracing::debug!(%peer, "virtual printer: connection");
                if let Err(e) = Connection::new(shared).run(stream, stop) {
                    tracing::warn!(error = %e, "virtual printer: connection ended with an error");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(TICK),
            Err(e) => {
                tracing::warn!(error = %e, "virtual printer: accept failed");
                std::thread::sleep(TICK);
            }
        }
    }
}

/// One client connection: bytes waiting to form a command, and the receipt being received.
struct Connection<'a> {
    shared: &'a Shared,
    pending: Vec<u8>,
    receipt: Vec<u8>,
    /// A fault stopped the printer during this receipt: the rest of it is not printed.
    lost: bool,
}

impl<'a> Connection<'a> {
    fn new(shared: &'a Shared) -> Self {
        Self {
            shared,
            pending: Vec::new(),
            receipt: Vec::new(),
            lost: false,
        }
    }

    fn run(mut self, mut stream: TcpStream, stop: &AtomicBool) -> io::Result<()> {
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(TICK))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut idle = Duration::ZERO;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    idle = Duration::ZERO;
                    self.pending
                        .extend_from_slice(buf.get(..n).unwrap_or_default());
                    if let Err(e) = self.process(&mut stream) {
                        let msg = format!("dropped the connection: {e}");
                        self.shared.lock().errors.push(msg);
                        return Ok(());
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    idle += TICK;
                    if stop.load(Ordering::Relaxed) || idle >= IDLE {
                        break;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if !self.receipt.is_empty() {
            tracing::debug!(
                bytes = self.receipt.len(),
                "virtual printer: data without a cut discarded"
            );
        }
        Ok(())
    }

    /// Handles every complete command in `pending`.
    fn process(&mut self, stream: &mut TcpStream) -> Result<(), RenderError> {
        let mut offset = 0;
        let result = loop {
            let (command, len) = match next_command(&self.pending, offset) {
                Ok(c) => c,
                Err(RenderError::Truncated { .. }) => break Ok(()),
                Err(e) => break Err(e),
            };
            let bytes = self.pending.get(offset..offset + len).unwrap_or_default();
            offset += len;
            if let Command::Status(n) = command {
                let reply = {
                    let st = self.shared.lock();
                    let mut status = st.status;
                    // A printer that cannot print says it is offline too.
                    status.online &= status.fault().is_none();
                    (!st.silent).then(|| encode(&status)[usize::from(n - 1)])
                };
                if let Some(byte) = reply {
                    // A client that went away is noticed on the next read.
                    let _ = stream.write_all(&[byte]);
                }
                continue;
            }
            {
                let mut st = self.shared.lock();
                if st.status.fault().is_some() {
                    self.lost = true;
                }
                if let Some(left) = st.paper_out_after {
                    if len >= left {
                        st.status.paper = PaperState::Out;
                        st.paper_out_after = None;
                        self.lost = true;
                        tracing::info!("virtual printer: paper ran out mid-job");
                    } else {
                        st.paper_out_after = Some(left - len);
                    }
                }
            }
            if !self.lost {
                self.receipt.extend_from_slice(bytes);
            }
            if command == Command::Cut {
                if self.lost {
                    tracing::info!("virtual printer: receipt lost to a fault");
                } else {
                    self.finish_receipt();
                }
                self.receipt.clear();
                self.lost = false;
            }
        };
        self.pending.drain(..offset);
        result
    }

    /// Writes the receipt received so far (ending with its cut) as `.bin` and `.png`.
    fn finish_receipt(&mut self) {
        let dir = &self.shared.dir;
        let written = (|| -> Result<PathBuf, String> {
            let n = next_number(dir).map_err(|e| format!("listing {}: {e}", dir.display()))?;
            let bin = dir.join(format!("receipt-{n:04}.bin"));
            let png = dir.join(format!("receipt-{n:04}.png"));
            std::fs::write(&bin, &self.receipt)
                .map_err(|e| format!("writing {}: {e}", bin.display()))?;
            let rendered = render(&self.receipt, self.shared.width)
                .map_err(|e| format!("{} does not render: {e}", bin.display()))?;
            let bytes = receipt_png(&rendered).map_err(|e| e.to_string())?;
            std::fs::write(&png, bytes).map_err(|e| format!("writing {}: {e}", png.display()))?;
            Ok(png)
        })();
        let mut st = self.shared.lock();
        match written {
            Ok(png) => {
                tracing::debug!(png = %png.display(), "virtual printer: receipt printed");
                st.printed.push(png);
            }
            Err(e) => {
                tracing::warn!(error = %e, "virtual printer");
                st.errors.push(e);
            }
        }
    }
}
