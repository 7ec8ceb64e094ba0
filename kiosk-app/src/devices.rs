//! Worker threads that turn hardware into session [`Event`]s.
//!
//! Device calls block (a card read takes a second or more on a real reader, a camera frame
//! arrives every 66 ms), so each device family has its own thread and talks to the shell only
//! through channels: commands in, [`DeviceEvent`]s out. The shell drains the events on its
//! UI-thread timer, so no device code ever runs on the UI thread and the session stays
//! single-threaded. Every worker stops at [`Devices::shutdown`] (or drop), finishing the call it
//! is in.
//!
//! # Safety of results and supervision
//!
//! - Every arming carries the session's [`Generation`] and every result goes back with it, so
//!   the session can drop a result of an earlier arming. The identify worker also checks, when a
//!   read finishes, whether it was disarmed or re-armed meanwhile, and then drops the result
//!   itself: another citizen's identity does not even cross the channel.
//! - One chip read has an overall deadline ([`DeviceSettings::read_deadline`]).
//! - No input can stop a worker: each unit of work (one pass of the identify loop, which holds
//!   the chip read and passive authentication; one face capture; one print job) runs under
//!   [`std::panic::catch_unwind`]. A panic is logged with the worker's name and the code
//!   location only (a parser's panic message could quote card data, so the panic hook withholds
//!   it), the citizen is told to try again ([`IdentifyFailure::Internal`],
//!   [`Event::FaceFailed`], [`Event::PrinterFailed`]), and the worker goes on with the same
//!   hardware.
//!
//! # Device health
//!
//! A device may be missing when the kiosk starts or disappear later (unplugged, powered off,
//! out of paper). No worker gives up on its device: the identify worker keeps polling the card
//! reader (a [`LazyCardReader`] opens it once pcscd and the reader are there), the face worker
//! probes the camera for a frame while idle, and the printer worker asks the printer's status
//! while idle. Each reports [`DeviceEvent::Health`] when its device's health changes; the shell
//! feeds them to [`crate::availability::Availability`], which decides whether the kiosk serves.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kiosk_hw::camera::{CameraError, CameraErrorKind, Frame, FrameSource};
use kiosk_hw::card::{CardPresence, CardReader};
use kiosk_hw::personal::Personal;
use kiosk_hw::printer::ReceiptPrinter;
use kiosk_hw::qr::QrScanner;

use crate::availability::{DeviceHealth, DeviceKind};
use crate::identity::{self, ChipKey, CscaTrust};
use crate::session::lookup::LookupEvent;
use crate::session::{
    CameraProblem, Event, FaceOutcome, Generation, IdentifyFailure, PrinterFault,
};

/// What the workers report to the shell.
#[derive(Debug)]
pub enum DeviceEvent {
    /// An input for the session.
    Session(Event),
    /// A camera frame for the face step's preview (never stored, dropped after display). Shared
    /// with the face worker's own use of it, not copied.
    FramePreview(Arc<Frame>),
    /// Guidance for the citizen during face capture: a message key and progress 0..1.
    FaceGuidance {
        /// Fluent key, e.g. `face-look`.
        key: &'static str,
        /// 0..1.
        progress: f32,
    },
    /// A receipt was printed; the printer reported no error.
    Printed,
    /// A device's health changed (reported on changes only; a reason code, never personal).
    Health(DeviceKind, DeviceHealth),
}

enum IdentifyCmd {
    Arm(Generation),
    ArmLookup(Generation),
    Disarm,
    UseId(Personal<String>),
    ForgetId,
    Stop,
}

enum FaceCmd {
    Start(Generation, Option<Personal<Vec<u8>>>),
    Stop,
    Quit,
}

enum PrintCmd {
    Print(Vec<u8>),
    Quit,
}

/// The hardware the shell drives, each behind its trait.
pub struct Hardware {
    /// Contactless reader.
    pub card_reader: Box<dyn CardReader + Send>,
    /// The CSCA certificates chips are verified against (passive authentication).
    pub card_trust: CscaTrust,
    /// QR scanner (the card's QR).
    pub qr: Box<dyn QrScanner + Send>,
    /// Camera for the face step: in the kiosk, a feed of the same camera hub as the QR
    /// scanner's (`kiosk_hw::camera::capture::CameraHub`).
    pub camera: Box<dyn FrameSource + Send>,
    /// Receipt printer.
    pub printer: Box<dyn ReceiptPrinter + Send>,
    /// How the face step decides; see [`FaceVerifier`].
    pub face: FaceVerifier,
}

impl std::fmt::Debug for Hardware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hardware")
            .field("card_reader", &self.card_reader.name())
            .field("card_trust", &self.card_trust)
            .field("face", &self.face)
            .finish_non_exhaustive()
    }
}

/// How the face step decides.
pub enum FaceVerifier {
    /// Demo only: shows the camera for `capture` and then reports the configured outcome.
    /// Configuration refuses it outside `demo = true`.
    Simulated {
        /// How long the capture runs before the verdict.
        capture: Duration,
        /// The verdict reported.
        outcome: FaceOutcome,
    },
    /// The real check (kiosk-face): dlib models loaded once at start-up, quality gates, best
    /// shots, the random head-turn challenge with nose parallax, the decision.
    Dlib(Box<DlibVerifier>),
}

impl std::fmt::Debug for FaceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Simulated { capture, outcome } => f
                .debug_struct("Simulated")
                .field("capture", capture)
                .field("outcome", outcome)
                .finish(),
            Self::Dlib(d) => f.debug_tuple("Dlib").field(&d.config).finish(),
        }
    }
}

/// The loaded face models and the check's settings.
#[derive(Debug)]
pub struct DlibVerifier {
    /// Models (dlib objects are `Send`, not `Sync`: they live on the face worker's thread).
    pub models: kiosk_face::FaceModels,
    /// Thresholds, timing and the number of turns.
    pub config: kiosk_face::VerifyConfig,
}

/// Settings of the workers; [`Default`] is what the kiosk runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettings {
    /// Overall deadline of one chip read ([`identity::READ_DEADLINE`]); the reader's per-APDU
    /// timeout bounds one exchange only.
    pub read_deadline: Duration,
    /// How often the idle printer worker asks the printer's status (so a printer that is
    /// fixed, or one that fails while nobody prints, is noticed).
    pub printer_poll: Duration,
    /// How often the idle face worker checks that the camera delivers a frame.
    pub camera_probe: Duration,
    /// The earliest believable wall clock, Unix seconds ([`crate::clock::floor_secs`]): below
    /// it no card is judged ([`IdentifyFailure::ClockWrong`]).
    pub clock_floor_secs: i64,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            read_deadline: identity::READ_DEADLINE,
            printer_poll: Duration::from_secs(5),
            camera_probe: Duration::from_secs(10),
            clock_floor_secs: crate::clock::floor_secs(),
        }
    }
}

/// Opens a card reader (pcscd's, in the kiosk).
pub type ReaderOpener =
    Box<dyn FnMut() -> Result<Box<dyn CardReader + Send>, kiosk_hw::CardError> + Send>;

/// A card reader that may not be there yet: pcscd not started, the reader unplugged when the
/// kiosk starts. Until its opener succeeds every call fails with the opener's error (no reader,
/// or pcscd unavailable), so the identify worker reports the reader down and keeps polling;
/// the opener is tried again at most every [`LazyCardReader::RETRY`]. Once open, the real
/// reader handles unplugs itself (the PC/SC driver finds its reader again when it returns).
pub struct LazyCardReader {
    open: ReaderOpener,
    inner: Option<Box<dyn CardReader + Send>>,
    last_try: Option<Instant>,
    last_error: Option<(kiosk_hw::CardErrorKind, String)>,
    name: String,
}

impl std::fmt::Debug for LazyCardReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyCardReader")
            .field("open", &self.inner.is_some())
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl LazyCardReader {
    /// How long to wait between two attempts to open the reader.
    pub const RETRY: Duration = Duration::from_secs(2);

    /// A reader opened by `open`, tried at the first call. `name` stands for it until then.
    pub fn new(name: impl Into<String>, open: ReaderOpener) -> Self {
        Self {
            open,
            inner: None,
            last_try: None,
            last_error: None,
            name: name.into(),
        }
    }

    fn reader(
        &mut self,
        wait: Duration,
    ) -> Result<&mut Box<dyn CardReader + Send>, kiosk_hw::CardError> {
        if self.inner.is_none() {
            let due = self.last_try.is_none_or(|t| t.elapsed() >= Self::RETRY);
            if due {
                self.last_try = Some(Instant::now());
                match (self.open)() {
                    Ok(r) => {
                        self.name = r.name().to_owned();
                        self.inner = Some(r);
                        self.last_error = None;
                    }
                    Err(e) => self.last_error = Some((e.kind(), e.to_string())),
                }
            } else {
                // Not yet time to try again: wait as a poll would, so the caller does not spin.
                std::thread::sleep(wait.min(Self::RETRY));
            }
        }
        match &mut self.inner {
            Some(r) => Ok(r),
            None => Err(match &self.last_error {
                Some((kind, detail)) => kiosk_hw::CardError::new(*kind, detail.clone()),
                None => kiosk_hw::CardError::new(
                    kiosk_hw::CardErrorKind::NoReader,
                    "card reader not open",
                ),
            }),
        }
    }
}

impl CardReader for LazyCardReader {
    fn name(&self) -> &str {
        &self.name
    }

    fn wait_for_change(&mut self, timeout: Duration) -> Result<CardPresence, kiosk_hw::CardError> {
        self.reader(timeout)?.wait_for_change(timeout)
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, kiosk_hw::CardError> {
        self.reader(Duration::ZERO)?.transmit(apdu)
    }
}

/// The worker threads' names; the panic hook recognises them.
const IDENTIFY_THREAD: &str = "kiosk-identify";
const FACE_THREAD: &str = "kiosk-face";
const PRINTER_THREAD: &str = "kiosk-printer";

/// Handles on the running workers.
pub struct Devices {
    events: Receiver<DeviceEvent>,
    identify: Sender<IdentifyCmd>,
    face: Sender<FaceCmd>,
    print: Sender<PrintCmd>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devices")
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl Devices {
    /// Starts one worker per device family, with the default [`DeviceSettings`].
    ///
    /// # Errors
    /// The OS refused to start a thread.
    pub fn start(hw: Hardware) -> std::io::Result<Self> {
        Self::start_with(hw, DeviceSettings::default())
    }

    /// Starts one worker per device family.
    ///
    /// # Errors
    /// The OS refused to start a thread.
    pub fn start_with(hw: Hardware, settings: DeviceSettings) -> std::io::Result<Self> {
        withhold_worker_panic_messages();
        let (ev_tx, events) = mpsc::channel();
        let (identify, id_rx) = mpsc::channel();
        let (face, face_rx) = mpsc::channel();
        let (print, print_rx) = mpsc::channel();
        let Hardware {
            card_reader,
            card_trust,
            qr,
            camera,
            printer,
            face: verifier,
        } = hw;
        let mut threads = Vec::new();
        let tx = ev_tx.clone();
        let (probe, poll) = (settings.camera_probe, settings.printer_poll);
        threads.push(
            std::thread::Builder::new()
                .name(IDENTIFY_THREAD.into())
                .spawn(move || {
                    let w = IdentifyWorker::new(card_reader, card_trust, qr, tx, &settings);
                    w.run(&id_rx);
                })?,
        );
        let tx = ev_tx.clone();
        threads.push(
            std::thread::Builder::new()
                .name(FACE_THREAD.into())
                .spawn(move || face_worker(camera, verifier, face_rx, tx, probe))?,
        );
        threads.push(
            std::thread::Builder::new()
                .name(PRINTER_THREAD.into())
                .spawn(move || print_worker(printer, print_rx, ev_tx, poll))?,
        );
        Ok(Self {
            events,
            identify,
            face,
            print,
            threads,
        })
    }

    /// Arms card and QR reading for the identify step; every result carries `generation`.
    pub fn arm_identify(&self, generation: Generation) {
        let _ = self.identify.send(IdentifyCmd::Arm(generation));
    }
    /// Arms the QR scanner alone for the status lookup (no card reading); every code scanned
    /// becomes [`LookupEvent::Scanned`] with `generation`. [`Devices::disarm_identify`] stops it.
    pub fn arm_lookup(&self, generation: Generation) {
        let _ = self.identify.send(IdentifyCmd::ArmLookup(generation));
    }
    /// Stops reading identities (card removal is still reported) and drops the ID number.
    pub fn disarm_identify(&self) {
        let _ = self.identify.send(IdentifyCmd::Disarm);
    }
    /// Opens the chip with this ID number (PACE-CAN) as soon as a card is on the reader; a
    /// card already there is read at once.
    pub fn use_id_number(&self, id: Personal<String>) {
        let _ = self.identify.send(IdentifyCmd::UseId(id));
    }
    /// Drops the ID number given with [`Devices::use_id_number`].
    pub fn forget_id_number(&self) {
        let _ = self.identify.send(IdentifyCmd::ForgetId);
    }
    /// Starts the camera and the face verdict against `portrait` (the chip's DG2 image); the
    /// verdict carries `generation`.
    pub fn start_face(&self, generation: Generation, portrait: Option<Personal<Vec<u8>>>) {
        let _ = self.face.send(FaceCmd::Start(generation, portrait));
    }
    /// Stops the camera; frames in flight are dropped.
    pub fn stop_face(&self) {
        let _ = self.face.send(FaceCmd::Stop);
    }
    /// Sends a complete ESC/POS job to the printer worker.
    pub fn print(&self, job: Vec<u8>) {
        let _ = self.print.send(PrintCmd::Print(job));
    }

    /// Takes every event reported since the last call, without blocking.
    pub fn drain(&self) -> Vec<DeviceEvent> {
        self.events.try_iter().collect()
    }

    /// Waits up to `timeout` for one event (tests and the headless tour).
    pub fn wait(&self, timeout: Duration) -> Option<DeviceEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Stops every worker and waits for it.
    pub fn shutdown(&mut self) {
        let _ = self.identify.send(IdentifyCmd::Stop);
        let _ = self.face.send(FaceCmd::Quit);
        let _ = self.print.send(PrintCmd::Quit);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Devices {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Installs (once per process) a panic hook that, on the worker threads, logs the worker and
/// the code location but never the panic message: a parser fed by a chip could put card data
/// into it. Panics on other threads go to the hook that was there before.
fn withhold_worker_panic_messages() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            match thread.name() {
                Some(name @ (IDENTIFY_THREAD | FACE_THREAD | PRINTER_THREAD)) => {
                    let location = info
                        .location()
                        .map(|l| format!("{}:{}", l.file(), l.line()))
                        .unwrap_or_default();
                    tracing::error!(
                        worker = name,
                        location = %location,
                        "worker panicked (message withheld: it may quote card data)"
                    );
                }
                _ => previous(info),
            }
        }));
    });
}

/// Runs one unit of a worker's work; `None` when it panicked (the hook logged where). The
/// panic payload is dropped unread: it may quote card data.
fn supervised<T>(worker: &'static str, unit: impl FnOnce() -> T) -> Option<T> {
    match panic::catch_unwind(AssertUnwindSafe(unit)) {
        Ok(v) => Some(v),
        Err(payload) => {
            drop(payload);
            tracing::error!(worker, "worker recovered from a panic and keeps serving");
            None
        }
    }
}

/// Whether a worker goes on.
enum Go {
    On,
    Stop,
}

/// The reason code of a card reader error that means "no reader" (`None`: the reader is there,
/// the card or the exchange failed).
fn reader_down(kind: kiosk_hw::card::CardErrorKind) -> Option<&'static str> {
    use kiosk_hw::card::CardErrorKind as K;
    match kind {
        K::NoReader => Some("absent"),
        K::ServiceUnavailable => Some("pcscd-unavailable"),
        K::ReaderBusy => Some("busy"),
        _ => None,
    }
}

/// The identify worker: card presence, the chip read once the session has handed over the ID
/// number, and the card's QR code, which supplies that number.
///
/// A card on the reader without an ID number is reported once ([`Event::CardInserted`]: the
/// session asks for the number) and read as soon as the number arrives, without lifting it.
/// A number the chip refuses is dropped; the next one reads the same card again.
struct IdentifyWorker {
    reader: Box<dyn CardReader + Send>,
    trust: CscaTrust,
    qr: Box<dyn QrScanner + Send>,
    tx: Sender<DeviceEvent>,
    read_deadline: Duration,
    clock_floor_secs: i64,
    armed: bool,
    /// The arming's generation, carried by every result.
    generation: Generation,
    /// What the worker believes is on the reader, and whether that card was already read for
    /// the current arming and key. A card pulled and put back between two polls looks
    /// "present" both times, so reading is driven by `read_done`, not by the edge alone.
    present: bool,
    /// The answer to reset of the card on the reader (its card capabilities tell whether
    /// extended-length reads are allowed).
    atr: Option<Vec<u8>>,
    read_done: bool,
    /// The card without a key was reported (the session asked for the number).
    prompted: bool,
    reader_down_reported: bool,
    /// The card reader's health as last reported to the shell (`None`: not yet).
    reader_health: Option<DeviceHealth>,
    key: Option<ChipKey>,
    /// The card QR scanned in this arming: its date of birth gives the BAC fallback.
    scanned: Option<kiosk_qr::CccdQr>,
    /// A chip read is under way (so a panic is reported to the citizen as a failed read).
    reading: bool,
    /// Armed for the status lookup: the QR scanner alone, codes passed on as scanned.
    lookup: bool,
}

impl IdentifyWorker {
    fn new(
        reader: Box<dyn CardReader + Send>,
        trust: CscaTrust,
        qr: Box<dyn QrScanner + Send>,
        tx: Sender<DeviceEvent>,
        settings: &DeviceSettings,
    ) -> Self {
        Self {
            reader,
            trust,
            qr,
            tx,
            read_deadline: settings.read_deadline,
            clock_floor_secs: settings.clock_floor_secs,
            armed: false,
            lookup: false,
            generation: Generation(0),
            present: false,
            atr: None,
            read_done: false,
            prompted: false,
            reader_down_reported: false,
            reader_health: None,
            key: None,
            scanned: None,
            reading: false,
        }
    }

    /// The supervisor: one pass of the loop at a time, each under `catch_unwind`, with the same
    /// hardware and state after a panic.
    fn run(mut self, cmds: &Receiver<IdentifyCmd>) {
        loop {
            match supervised("identify", || self.pass(cmds)) {
                Some(Go::On) => {}
                Some(Go::Stop) => return,
                None => {
                    if !self.recover() {
                        return;
                    }
                }
            }
        }
    }

    /// After a panic: a read that was under way is reported as failed (the card must be lifted
    /// and placed again); a panic elsewhere (a driver) is not the citizen's, and a short pause
    /// keeps a repeating one from spinning. `false` when the shell is gone.
    fn recover(&mut self) -> bool {
        if std::mem::take(&mut self.reading) {
            self.read_done = true;
            if self.armed {
                return self.send(Event::IdentityFailed(
                    self.generation,
                    IdentifyFailure::Internal,
                ));
            }
        } else {
            std::thread::sleep(Duration::from_millis(200));
        }
        true
    }

    fn send(&self, e: Event) -> bool {
        self.tx.send(DeviceEvent::Session(e)).is_ok()
    }

    /// Reports the reader's health when it changed; `false` when the shell is gone.
    fn health(&mut self, h: DeviceHealth) -> bool {
        if self.reader_health == Some(h) {
            return true;
        }
        match h {
            DeviceHealth::Down(why) => {
                tracing::warn!(
                    device = "card-reader",
                    reason = why,
                    "card reader unavailable"
                );
            }
            _ => tracing::info!(
                device = "card-reader",
                reader = self.reader.name(),
                "card reader ready"
            ),
        }
        self.reader_health = Some(h);
        self.tx
            .send(DeviceEvent::Health(DeviceKind::CardReader, h))
            .is_ok()
    }

    /// Applies the commands waiting; [`Go::Stop`] on `Stop` or when the shell is gone.
    fn apply_commands(&mut self, cmds: &Receiver<IdentifyCmd>) -> Go {
        loop {
            let cmd = match cmds.try_recv() {
                Ok(c) => c,
                Err(mpsc::TryRecvError::Empty) => return Go::On,
                Err(mpsc::TryRecvError::Disconnected) => return Go::Stop,
            };
            match cmd {
                IdentifyCmd::ArmLookup(generation) => {
                    self.armed = false;
                    self.lookup = true;
                    self.generation = generation;
                    self.key = None;
                    self.scanned = None;
                }
                IdentifyCmd::Arm(generation) => {
                    self.armed = true;
                    self.lookup = false;
                    self.generation = generation;
                    self.read_done = false;
                    self.prompted = false;
                    self.reader_down_reported = false;
                    self.key = None;
                    self.scanned = None;
                }
                IdentifyCmd::Disarm => {
                    self.armed = false;
                    self.lookup = false;
                    self.key = None;
                    self.scanned = None;
                }
                IdentifyCmd::UseId(id) => {
                    self.key = ChipKey::from_id(&id).map(|k| match &self.scanned {
                        Some(q) => k.with_qr(q),
                        None => k,
                    });
                    self.read_done = false;
                }
                IdentifyCmd::ForgetId => self.key = None,
                IdentifyCmd::Stop => return Go::Stop,
            }
        }
    }

    /// One pass: commands, card presence, a chip read when due, one QR poll.
    fn pass(&mut self, cmds: &Receiver<IdentifyCmd>) -> Go {
        let stop_unless = |ok: bool| if ok { Go::On } else { Go::Stop };
        if let Go::Stop = self.apply_commands(cmds) {
            return Go::Stop;
        }
        let polled = self.reader.wait_for_change(Duration::from_millis(100));
        let health = match &polled {
            Ok(_) => Some(DeviceHealth::Ready),
            Err(e) => reader_down(e.kind()).map(DeviceHealth::Down),
        };
        if let Some(h) = health {
            if !self.health(h) {
                return Go::Stop;
            }
        }
        match polled {
            Ok(CardPresence::Present { atr }) => {
                if !self.present {
                    tracing::debug!("card present");
                }
                self.present = true;
                self.atr = Some(atr);
            }
            Ok(CardPresence::Absent) => {
                if self.present {
                    tracing::debug!("card removed");
                    if !self.send(Event::CardRemoved) {
                        return Go::Stop;
                    }
                }
                self.present = false;
                self.atr = None;
                self.read_done = false;
                self.prompted = false;
            }
            Err(e) => {
                let failure = identity::card_failure(e.kind());
                if self.armed
                    && !self.reader_down_reported
                    && failure == IdentifyFailure::ReaderMissing
                {
                    tracing::warn!(error = %e, "card reader unavailable");
                    self.reader_down_reported = true;
                    if !self.send(Event::IdentityFailed(self.generation, failure)) {
                        return Go::Stop;
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        // The citizen may have put the card down before the screen asked: read whenever armed,
        // keyed, and this card has not been read yet.
        if self.armed && self.present && !self.read_done {
            if self.key.is_some() {
                if let Go::Stop = self.read(cmds) {
                    return Go::Stop;
                }
            } else if !self.prompted {
                self.prompted = true;
                if !self.send(Event::CardInserted(self.generation)) {
                    return Go::Stop;
                }
            }
        }
        // Commands again just before the QR poll: a re-arming that arrived during this pass
        // (up to the card poll's 100 ms) must decide how a code scanned now is read, or a
        // receipt shown right after "Check a dossier" would be taken for the identify step.
        if let Go::Stop = self.apply_commands(cmds) {
            return Go::Stop;
        }
        if self.lookup {
            match self.qr.poll(Duration::ZERO) {
                Ok(Some(scan)) => {
                    let ev = LookupEvent::Scanned(self.generation, scan.text);
                    return stop_unless(self.send(Event::Lookup(ev)));
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "QR scanner"),
            }
        }
        if self.armed {
            match self.qr.poll(Duration::ZERO) {
                Ok(Some(scan)) => {
                    let ev = match identity::card_qr_from_scan(scan.text.expose()) {
                        Ok(q) => {
                            let id = q.id_number().clone();
                            self.scanned = Some(q);
                            Event::IdNumberScanned(self.generation, id)
                        }
                        Err(f) => Event::IdentityFailed(self.generation, f),
                    };
                    return stop_unless(self.send(ev));
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "QR scanner"),
            }
        }
        Go::On
    }

    /// Reads the chip on the reader with the key given, within the read deadline, and reports
    /// the result unless the arming changed meanwhile.
    fn read(&mut self, cmds: &Receiver<IdentifyCmd>) -> Go {
        let Some(key) = self.key.clone() else {
            return Go::On;
        };
        let generation = self.generation;
        if !self.send(Event::CardInserted(generation)) {
            return Go::Stop;
        }
        let started = Instant::now();
        let deadline = started + self.read_deadline;
        let wall = time::OffsetDateTime::now_utc();
        if let Err(e) = crate::clock::check_at(wall.unix_timestamp(), self.clock_floor_secs) {
            // Every certificate would look "not yet valid": refuse to judge any card rather
            // than call a genuine one forged, and tell the technician what to fix.
            tracing::error!(error = %e, "cards cannot be checked: the clock is wrong");
            self.read_done = true;
            return if self.send(Event::IdentityFailed(
                generation,
                IdentifyFailure::ClockWrong,
            )) {
                Go::On
            } else {
                Go::Stop
            };
        }
        let now = identity::pa_time(wall);
        let mut rng = rand::rng();
        let mut fill = |b: &mut [u8]| rand::Rng::fill_bytes(&mut rng, b);
        self.reading = true;
        let r = identity::read_chip(
            self.reader.as_mut(),
            &key,
            &self.trust,
            &now,
            &mut fill,
            self.atr.as_deref(),
            deadline,
        );
        self.reading = false;
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            ok = r.is_ok(),
            "chip read"
        );
        let ev = match r {
            Ok(c) => {
                self.read_done = true;
                Event::IdentityRead(generation, c)
            }
            Err(f) => {
                match f {
                    // Gone mid-read: the next "present" is a fresh tap to read again.
                    IdentifyFailure::CardRemovedDuringRead => self.present = false,
                    // The number is wrong for this card: wait for another one.
                    IdentifyFailure::WrongIdNumber => {
                        self.key = None;
                        self.read_done = true;
                    }
                    // Do not hammer the same card; lifting it re-arms.
                    _ => self.read_done = true,
                }
                Event::IdentityFailed(generation, f)
            }
        };
        // A read takes seconds: the session may have ended (disarm) or moved on to another
        // citizen (a new arming) meanwhile. Their identity must not reach the next session.
        if let Go::Stop = self.apply_commands(cmds) {
            return Go::Stop;
        }
        if !self.armed || self.generation != generation {
            tracing::info!("chip read finished after its arming ended: result dropped");
            // Dropping the event zeroizes the citizen's fields.
            drop(ev);
            return Go::On;
        }
        if self.send(ev) {
            Go::On
        } else {
            Go::Stop
        }
    }
}

fn face_worker(
    mut camera: Box<dyn FrameSource + Send>,
    verifier: FaceVerifier,
    cmds: Receiver<FaceCmd>,
    tx: Sender<DeviceEvent>,
    probe: Duration,
) {
    let mut health = None;
    let mut probe_camera = |camera: &mut (dyn FrameSource + Send)| {
        // Supervised like a capture: a driver that panics is a camera that is down.
        let h = supervised("face", || {
            match camera.next_shared(Duration::from_secs(1)) {
                Ok(_) => DeviceHealth::Ready,
                Err(e) => DeviceHealth::Down(camera_down(e.kind())),
            }
        })
        .unwrap_or(DeviceHealth::Down("internal"));
        if health == Some(h) {
            return true;
        }
        match h {
            DeviceHealth::Down(why) => {
                tracing::warn!(device = "camera", reason = why, "camera unavailable");
            }
            _ => tracing::info!(device = "camera", "camera ready"),
        }
        health = Some(h);
        tx.send(DeviceEvent::Health(DeviceKind::Camera, h)).is_ok()
    };
    if !probe_camera(camera.as_mut()) {
        return;
    }
    loop {
        // Idle: wait until told to start, checking the camera now and then.
        let (generation, portrait) = match cmds.recv_timeout(probe) {
            Ok(FaceCmd::Start(g, p)) => (g, p),
            Ok(FaceCmd::Stop) => continue,
            Err(RecvTimeoutError::Timeout) => {
                if !probe_camera(camera.as_mut()) {
                    return;
                }
                continue;
            }
            Ok(FaceCmd::Quit) | Err(RecvTimeoutError::Disconnected) => return,
        };
        // One capture is the unit of work: a panic in it (the portrait decoder, the face
        // pipeline) ends that capture only; the camera and models stay.
        let flow = supervised("face", || match &verifier {
            FaceVerifier::Simulated { capture, outcome } => {
                simulated_capture(camera.as_mut(), *capture, *outcome, &cmds, &tx)
            }
            FaceVerifier::Dlib(d) => dlib_capture(d, camera.as_mut(), portrait, &cmds, &tx),
        });
        let ev = match flow {
            Some(Flow::Decided(outcome)) => Event::FaceResult(generation, outcome),
            Some(Flow::CameraDown(problem)) => Event::CameraUnavailable(generation, problem),
            None => Event::FaceFailed(generation),
            Some(Flow::Stopped) => continue,
            Some(Flow::Quit) => return,
        };
        if tx.send(DeviceEvent::Session(ev)).is_err() {
            return;
        }
    }
}

/// The reason code of a camera error.
fn camera_down(kind: kiosk_hw::CameraErrorKind) -> &'static str {
    use kiosk_hw::CameraErrorKind as K;
    match kind {
        K::NoDevice | K::Unplugged => "absent",
        K::DeviceBusy => "busy",
        K::Timeout | K::Stalled => "no-frames",
        K::BadFormat => "bad-format",
        _ => "io",
    }
}

/// How a capture ended.
enum Flow {
    Decided(FaceOutcome),
    /// The camera is unplugged, stalled or unusable: the citizen is told, no attempt counted.
    CameraDown(CameraProblem),
    Stopped,
    Quit,
}

/// Between frames: was the capture stopped?
fn face_interrupted(cmds: &Receiver<FaceCmd>) -> Option<Flow> {
    match cmds.try_recv() {
        Ok(FaceCmd::Stop) => Some(Flow::Stopped),
        Ok(FaceCmd::Quit) | Err(mpsc::TryRecvError::Disconnected) => Some(Flow::Quit),
        Ok(FaceCmd::Start(..)) | Err(mpsc::TryRecvError::Empty) => None,
    }
}

/// Sends a preview frame at most every 100 ms (about 10 a second are plenty for guidance and
/// cheap to draw). `false` when the shell is gone.
fn preview(tx: &Sender<DeviceEvent>, last: &mut Instant, frame: &Arc<Frame>) -> bool {
    if last.elapsed() < Duration::from_millis(100) {
        return true;
    }
    *last = Instant::now();
    tx.send(DeviceEvent::FramePreview(Arc::clone(frame)))
        .is_ok()
}

/// How long the face step waits without a frame (while the camera says nothing worse than
/// "not yet") before telling the citizen the camera is unavailable.
pub const CAMERA_PATIENCE: Duration = Duration::from_secs(3);

/// What a camera error means for the face step: `Some` ends the capture with a notice.
/// `last_frame` is when the capture last got a frame (or started).
fn camera_trouble(e: &CameraError, last_frame: Instant) -> Option<CameraProblem> {
    let problem = match e.kind() {
        CameraErrorKind::Timeout if last_frame.elapsed() < CAMERA_PATIENCE => return None,
        CameraErrorKind::BadFormat => CameraProblem::WrongFormat,
        _ => CameraProblem::Unavailable,
    };
    // The camera's error names the device and the fix; it never holds personal data.
    tracing::warn!(error = %e, ?problem, "camera unavailable for the face check");
    Some(problem)
}

fn simulated_capture(
    camera: &mut (dyn FrameSource + Send),
    capture: Duration,
    outcome: FaceOutcome,
    cmds: &Receiver<FaceCmd>,
    tx: &Sender<DeviceEvent>,
) -> Flow {
    let started = Instant::now();
    let mut last_preview = Instant::now() - Duration::from_secs(1);
    let mut last_frame = Instant::now();
    loop {
        if let Some(f) = face_interrupted(cmds) {
            return f;
        }
        let elapsed = started.elapsed();
        if elapsed >= capture {
            return Flow::Decided(outcome);
        }
        match camera.next_shared(Duration::from_millis(200)) {
            Ok(frame) => {
                last_frame = Instant::now();
                if !preview(tx, &mut last_preview, &frame) {
                    return Flow::Quit;
                }
            }
            Err(e) => {
                if let Some(problem) = camera_trouble(&e, last_frame) {
                    return Flow::CameraDown(problem);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let progress = (elapsed.as_secs_f32() / capture.as_secs_f32()).min(1.0);
        let key = if progress < 0.5 {
            "face-look"
        } else {
            "face-hold-still"
        };
        if tx
            .send(DeviceEvent::FaceGuidance { key, progress })
            .is_err()
        {
            return Flow::Quit;
        }
    }
}

/// The outcome the session records: matched, live, and a similarity score in 0..1 (1 minus
/// the dlib distance). No image or template leaves the face worker.
fn face_outcome(o: &kiosk_face::Outcome) -> FaceOutcome {
    FaceOutcome {
        matched: o.matched,
        score: if o.distance.is_finite() {
            (1.0 - o.distance).clamp(0.0, 1.0)
        } else {
            0.0
        },
        live: o.live,
    }
}

fn dlib_capture(
    d: &DlibVerifier,
    camera: &mut (dyn FrameSource + Send),
    portrait: Option<Personal<Vec<u8>>>,
    cmds: &Receiver<FaceCmd>,
    tx: &Sender<DeviceEvent>,
) -> Flow {
    use kiosk_face::liveness::Challenge;
    use kiosk_face::pipeline::{frame_to_rgb, FaceSession};
    let failed = FaceOutcome {
        matched: false,
        score: 0.0,
        live: false,
    };
    // The reference: the chip portrait, decoded and embedded once per session.
    let reference = match portrait
        .as_ref()
        .map(|p| kiosk_face::portrait::decode(p.expose()).and_then(|img| d.models.reference(&img)))
    {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "chip portrait unusable for the face check");
            return Flow::Decided(failed);
        }
        None => {
            tracing::warn!("no chip portrait: the face cannot be checked");
            return Flow::Decided(failed);
        }
    };
    drop(portrait);
    let challenge = Challenge::random(&mut rand::rng(), d.config.turns);
    let mut session = FaceSession::new(reference, kiosk_face::FaceCheck::new(d.config, challenge));
    let started = Instant::now();
    let mut last_preview = Instant::now() - Duration::from_secs(1);
    let mut last_frame = Instant::now();
    loop {
        if let Some(f) = face_interrupted(cmds) {
            return f;
        }
        // Shared with the QR scanner's feed: this worker copies only its RGB working image.
        let frame = match camera.next_shared(Duration::from_millis(200)) {
            Ok(f) => {
                last_frame = Instant::now();
                f
            }
            Err(e) => {
                if let Some(problem) = camera_trouble(&e, last_frame) {
                    return Flow::CameraDown(problem);
                }
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        if !preview(tx, &mut last_preview, &frame) {
            return Flow::Quit;
        }
        let Some(rgb) = frame_to_rgb(&frame) else {
            continue;
        };
        let t_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (status, _, timings) = session.frame(&d.models, &rgb, t_ms);
        tracing::trace!(
            analyse_ms = timings.analyse_ms,
            embed_ms = timings.embed_ms,
            "face frame"
        );
        match status {
            kiosk_face::Status::Working { guidance, progress } => {
                let ev = DeviceEvent::FaceGuidance {
                    key: guidance.key(),
                    progress,
                };
                if tx.send(ev).is_err() {
                    return Flow::Quit;
                }
            }
            kiosk_face::Status::Done(o) => {
                tracing::info!(
                    matched = o.matched,
                    live = o.live,
                    failure = ?o.failure,
                    ms = t_ms,
                    "face check decided"
                );
                return Flow::Decided(face_outcome(&o));
            }
        }
    }
}

fn print_worker(
    mut printer: Box<dyn ReceiptPrinter + Send>,
    cmds: Receiver<PrintCmd>,
    tx: Sender<DeviceEvent>,
    poll: Duration,
) {
    let mut health = None;
    let mut report = |h: DeviceHealth| {
        if health == Some(h) {
            return true;
        }
        match h {
            DeviceHealth::Down(why) => {
                tracing::warn!(
                    device = "printer",
                    reason = why,
                    "receipt printer unavailable"
                );
            }
            DeviceHealth::Warning(why) => tracing::warn!(
                device = "printer",
                reason = why,
                "receipt printer: paper nearly used up, replace the roll soon"
            ),
            DeviceHealth::Ready => tracing::info!(device = "printer", "receipt printer ready"),
        }
        health = Some(h);
        tx.send(DeviceEvent::Health(DeviceKind::Printer, h)).is_ok()
    };
    // The first check at once: a kiosk that starts without its printer says so.
    let first = supervised("printer", || printer_health(printer.as_mut()));
    if !report(first.unwrap_or(DeviceHealth::Down(PrinterFault::Internal.code()))) {
        return;
    }
    loop {
        match cmds.recv_timeout(poll) {
            Ok(PrintCmd::Print(job)) => {
                // One job is the unit of work: a panic in the driver fails this receipt (the
                // citizen is told to note the code and ask staff), not the printer worker.
                let result = supervised("printer", || print_job(printer.as_mut(), &job))
                    .unwrap_or(Err(PrinterFault::Internal));
                let (ev, h) = match result {
                    Ok(h) => (DeviceEvent::Printed, Some(h)),
                    Err(fault) => {
                        tracing::warn!(fault = fault.code(), "receipt not printed");
                        let h = (fault != PrinterFault::Internal)
                            .then_some(DeviceHealth::Down(fault.code()));
                        (DeviceEvent::Session(Event::PrinterFailed(fault)), h)
                    }
                };
                if tx.send(ev).is_err() {
                    return;
                }
                if let Some(h) = h {
                    if !report(h) {
                        return;
                    }
                }
            }
            Ok(PrintCmd::Quit) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                let h = supervised("printer", || printer_health(printer.as_mut()));
                if !report(h.unwrap_or(DeviceHealth::Down(PrinterFault::Internal.code()))) {
                    return;
                }
            }
        }
    }
}

/// The fault a printer error means for the receipt. `started`: the printer was ready when the
/// job began, so paper out now means the paper ran out during the receipt.
#[must_use]
pub fn printer_fault(kind: kiosk_hw::printer::PrinterErrorKind, started: bool) -> PrinterFault {
    use kiosk_hw::printer::PrinterErrorKind as K;
    match kind {
        K::NoDevice | K::Io => PrinterFault::Unplugged,
        K::Offline => PrinterFault::Offline,
        K::PaperOut if started => PrinterFault::PaperOutMidJob,
        K::PaperOut => PrinterFault::PaperOut,
        K::CoverOpen => PrinterFault::CoverOpen,
        K::CutterError => PrinterFault::CutterError,
        K::Timeout => PrinterFault::Timeout,
        K::HardwareError | K::Recovering => PrinterFault::Hardware,
        // A malformed job is the kiosk's bug, not the printer's.
        _ => PrinterFault::Internal,
    }
}

/// The printer's health from its status (asked now).
fn printer_health(printer: &mut (dyn ReceiptPrinter + Send)) -> DeviceHealth {
    match printer.status() {
        Ok(s) => status_health(&s),
        Err(e) => DeviceHealth::Down(printer_fault(e.kind(), false).code()),
    }
}

fn status_health(s: &kiosk_hw::printer::PrinterStatus) -> DeviceHealth {
    match s.fault() {
        Some(kind) => DeviceHealth::Down(printer_fault(kind, false).code()),
        None if s.paper == kiosk_hw::printer::PaperState::NearEnd => {
            DeviceHealth::Warning("paper-near-end")
        }
        None => DeviceHealth::Ready,
    }
}

/// Prints one whole ESC/POS job through the driver's [`ReceiptPrinter::print`] (which checks
/// the status before and after the job) and returns the printer's health afterwards.
///
/// The status is asked once more before the job so that a paper-out the driver reports can be
/// told apart: out before the job (nothing printed) or during it (a partial receipt). A roll
/// that runs out in the few milliseconds between the two checks is reported as "during".
fn print_job(
    printer: &mut (dyn ReceiptPrinter + Send),
    job: &[u8],
) -> Result<DeviceHealth, PrinterFault> {
    let before = printer
        .status()
        .map_err(|e| printer_fault(e.kind(), false))?;
    if let Some(kind) = before.fault() {
        return Err(printer_fault(kind, false));
    }
    printer
        .print(job)
        .map_err(|e| printer_fault(e.kind(), true))?;
    Ok(printer
        .last_status()
        .map_or(DeviceHealth::Ready, |s| status_health(&s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hw::sim::SimHardware;
    use kiosk_vcard::VirtualCccd;

    const ID: &str = "001090123456";
    /// The generation the tests arm with.
    const G: Generation = Generation(7);

    fn simulated_face() -> FaceVerifier {
        FaceVerifier::Simulated {
            capture: Duration::from_millis(50),
            outcome: FaceOutcome {
                matched: true,
                score: 0.3,
                live: true,
            },
        }
    }

    /// The demo profile's virtual CCCD, and a trust store with its generated CSCA.
    fn virtual_cccd() -> (Box<VirtualCccd>, CscaTrust) {
        let (card, trust) = VirtualCccd::demo().expect("demo card");
        (Box::new(card), CscaTrust::new(vec![trust.csca_der], false))
    }

    /// The simulators (receipts into `dir`, a test-pattern camera, the simulated face check),
    /// the card reader trusting `trust`, and the controls of the card and QR simulators.
    fn sim_hardware(
        dir: &std::path::Path,
        trust: CscaTrust,
    ) -> (
        Hardware,
        kiosk_hw::card::SimCardControl,
        kiosk_hw::qr::SimQrControl,
    ) {
        let sim = SimHardware::demo_in(dir);
        let card = sim.card.clone();
        let qr = sim.qr.clone();
        let hw = Hardware {
            card_reader: Box::new(sim.card_reader),
            card_trust: trust,
            qr: Box::new(sim.qr_scanner),
            camera: Box::new(kiosk_hw::camera::PatternSource::new(64, 48, 0).expect("pattern")),
            printer: Box::new(sim.printer),
            face: simulated_face(),
        };
        (hw, card, qr)
    }

    /// Devices over the simulators; the card reader trusts `trust`.
    fn devices_trusting(
        trust: CscaTrust,
    ) -> (
        Devices,
        kiosk_hw::card::SimCardControl,
        kiosk_hw::qr::SimQrControl,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (hw, card, qr) = sim_hardware(dir.path(), trust);
        (Devices::start(hw).expect("threads"), card, qr, dir)
    }

    fn devices() -> (
        Devices,
        kiosk_hw::card::SimCardControl,
        kiosk_hw::qr::SimQrControl,
        tempfile::TempDir,
    ) {
        devices_trusting(CscaTrust::default())
    }

    fn id(s: &str) -> Personal<String> {
        Personal::new(s.to_owned())
    }

    /// Arms with [`G`], gives `number`, puts `card` on the reader and returns what the read
    /// gave. The card may be reported twice (once if the worker saw it before the number,
    /// once as it reads): every report must carry `G`.
    fn tap(
        d: &Devices,
        ctl: &kiosk_hw::card::SimCardControl,
        card: Box<VirtualCccd>,
        number: &str,
    ) -> Event {
        d.arm_identify(G);
        d.use_id_number(id(number));
        ctl.insert(card);
        let mut reported = false;
        loop {
            match next_session_event(d) {
                Event::CardInserted(g) => {
                    assert_eq!(g, G);
                    reported = true;
                }
                e => {
                    assert!(reported, "the card is reported before its read: {e:?}");
                    return e;
                }
            }
        }
    }

    /// The session events reported since the last call (health reports left out).
    fn session_events(d: &Devices) -> Vec<Event> {
        d.drain()
            .into_iter()
            .filter_map(|e| match e {
                DeviceEvent::Session(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    fn next_session_event(d: &Devices) -> Event {
        loop {
            match d.wait(Duration::from_secs(10)) {
                Some(DeviceEvent::Session(e)) => return e,
                Some(_) => continue,
                None => panic!("no device event within 10 s"),
            }
        }
    }

    #[test]
    fn the_virtual_cccd_is_read_once_the_id_is_given_and_verified_with_its_portrait() {
        let (card, trust) = virtual_cccd();
        let (d, ctl, _qr, _dir) = devices_trusting(trust);
        d.arm_identify(G);
        // Tapped before the number is known: reported once (the session asks for it), not read.
        ctl.insert(card);
        assert_eq!(next_session_event(&d), Event::CardInserted(G));
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            session_events(&d).is_empty(),
            "no read and no second prompt without the number"
        );
        // The number arrives: the card that stayed on the reader is read.
        d.use_id_number(id(ID));
        assert_eq!(next_session_event(&d), Event::CardInserted(G));
        match next_session_event(&d) {
            Event::IdentityRead(_, c) => {
                assert_eq!(c.id_number().expose(), ID);
                assert_eq!(c.full_name().expose(), "Nguyễn Văn An");
                assert_eq!(c.source(), crate::session::IdentitySource::Chip);
                let portrait = c.portrait().expect("DG2 portrait");
                assert!(portrait.expose().starts_with(&[0xFF, 0xD8, 0xFF]), "JPEG");
                assert_eq!(portrait.expose().as_slice(), kiosk_vcard::DEMO_PORTRAIT);
            }
            other => panic!("unexpected {other:?}"),
        }
        ctl.remove();
        assert_eq!(next_session_event(&d), Event::CardRemoved);
    }

    #[test]
    fn a_wrong_id_number_asks_for_it_again_and_the_next_reads_the_same_card() {
        let (card, trust) = virtual_cccd();
        let (d, ctl, _qr, _dir) = devices_trusting(trust);
        assert_eq!(
            tap(&d, &ctl, card, "001090123457"),
            Event::IdentityFailed(G, IdentifyFailure::WrongIdNumber)
        );
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            session_events(&d).is_empty(),
            "the refused number is not retried"
        );
        d.use_id_number(id(ID));
        assert_eq!(next_session_event(&d), Event::CardInserted(G));
        assert!(matches!(next_session_event(&d), Event::IdentityRead(..)));
    }

    #[test]
    fn a_chip_outside_the_trust_store_is_not_authentic() {
        let (card, _trust) = virtual_cccd();
        let (d, ctl, _qr, _dir) = devices();
        assert_eq!(
            tap(&d, &ctl, card, ID),
            Event::IdentityFailed(G, IdentifyFailure::NotAuthentic)
        );
    }

    #[test]
    fn disarming_drops_the_number() {
        let (card, trust) = virtual_cccd();
        let (d, ctl, _qr, _dir) = devices_trusting(trust);
        d.arm_identify(G);
        d.use_id_number(id(ID));
        d.disarm_identify();
        d.arm_identify(G);
        ctl.insert(card);
        assert_eq!(next_session_event(&d), Event::CardInserted(G));
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            session_events(&d).is_empty(),
            "re-armed without a number: no read"
        );
    }

    #[test]
    fn unarmed_reader_ignores_cards_and_qr_but_reports_removal() {
        let (d, card, qr, _dir) = devices();
        card.insert(virtual_cccd().0);
        qr.present(kiosk_hw::sim::DEMO_QR);
        std::thread::sleep(Duration::from_millis(300));
        card.remove();
        assert_eq!(next_session_event(&d), Event::CardRemoved);
    }

    #[test]
    fn a_card_swapped_between_polls_is_read_for_the_next_session() {
        let (card, trust) = virtual_cccd();
        let (d, ctl, _qr, _dir) = devices_trusting(trust.clone());
        assert!(matches!(tap(&d, &ctl, card, ID), Event::IdentityRead(..)));
        d.disarm_identify();
        // Lifted and put back faster than the worker polls (the same chip, powered up anew).
        let (again, _) = virtual_cccd();
        ctl.remove();
        ctl.insert(again);
        d.arm_identify(G);
        d.use_id_number(id(ID));
        loop {
            match next_session_event(&d) {
                // Another virtual chip is another test PKI: outside this trust store, but
                // read, which is what this test is about.
                Event::IdentityFailed(G, IdentifyFailure::NotAuthentic) => break,
                Event::IdentityRead(_, c) => {
                    assert_eq!(c.id_number().expose(), ID);
                    break;
                }
                Event::CardInserted(_) | Event::CardRemoved | Event::IdentityFailed(..) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn the_cards_qr_gives_the_id_number_only() {
        let (d, _card, qr, _dir) = devices();
        d.arm_identify(G);
        qr.present(kiosk_hw::sim::DEMO_QR);
        match next_session_event(&d) {
            Event::IdNumberScanned(_, n) => assert_eq!(n.expose(), ID),
            other => panic!("unexpected {other:?}"),
        }
        qr.present("not a cccd");
        assert_eq!(
            next_session_event(&d),
            Event::IdentityFailed(G, IdentifyFailure::QrNotCard)
        );
        qr.present("001090123456||A|31021990|Nam|x|01012021");
        assert_eq!(
            next_session_event(&d),
            Event::IdentityFailed(G, IdentifyFailure::Unreadable)
        );
    }

    #[test]
    fn qr_identity_from_replayed_camera_frames() {
        use kiosk_hw::qr::scene::{render_qr, Scene};
        let frames = tempfile::tempdir().expect("tempdir");
        let frame = render_qr(kiosk_hw::sim::DEMO_QR, &Scene::noisy(1280, 720, 11)).expect("scene");
        std::fs::write(frames.path().join("card.png"), frame.to_png().expect("png"))
            .expect("write");
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = SimHardware::demo_in(dir.path());
        let camera = kiosk_hw::camera::ReplaySource::open(frames.path(), 0).expect("replay");
        let hw = Hardware {
            card_reader: Box::new(sim.card_reader),
            card_trust: CscaTrust::default(),
            qr: Box::new(kiosk_hw::qr::CameraQrScanner::new(camera)),
            camera: Box::new(kiosk_hw::camera::PatternSource::new(64, 48, 0).expect("pattern")),
            printer: Box::new(sim.printer),
            face: simulated_face(),
        };
        let d = Devices::start(hw).expect("threads");
        d.arm_identify(G);
        match next_session_event(&d) {
            Event::IdNumberScanned(_, n) => assert_eq!(n.expose(), ID),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn face_step_reports_the_verdict_and_stops() {
        let (d, _card, _qr, _dir) = devices();
        d.start_face(G, None);
        assert!(matches!(next_session_event(&d), Event::FaceResult(_, o) if o.matched && o.live));
    }

    /// A replay camera showing `photo` (from the packaged face images) framed as a citizen at
    /// arm's length, and the devices with the dlib verifier (matching only).
    fn dlib_devices(photo: &str) -> (Devices, tempfile::TempDir) {
        let models = kiosk_face::FaceModels::load(&kiosk_face::default_models_dir())
            .unwrap_or_else(|e| panic!("{e} (run `cargo xtask setup`)"));
        let bytes = std::fs::read(
            kiosk_face::default_models_dir()
                .join("../face-images")
                .join(photo),
        )
        .expect("face images (run `cargo xtask setup`)");
        let img = kiosk_face::portrait::decode(&bytes).expect("decodes");
        let framed = kiosk_face::pipeline::framed_person(&models, &img, 640, 480).expect("a face");
        let frames = tempfile::tempdir().expect("tmp");
        let frame = Frame {
            width: 640,
            height: 480,
            format: kiosk_hw::PixelFormat::Rgb8,
            data: framed.data.clone(),
            seq: 0,
        };
        std::fs::write(frames.path().join("0.png"), frame.to_png().expect("png")).expect("write");
        let sim = SimHardware::demo_in(frames.path());
        let config = kiosk_face::VerifyConfig {
            turns: 0,
            ..kiosk_face::VerifyConfig::default()
        };
        let hw = Hardware {
            card_reader: Box::new(sim.card_reader),
            card_trust: CscaTrust::default(),
            qr: Box::new(sim.qr_scanner),
            camera: Box::new(
                kiosk_hw::camera::ReplaySource::open(frames.path(), 15).expect("replay"),
            ),
            printer: Box::new(sim.printer),
            face: FaceVerifier::Dlib(Box::new(DlibVerifier { models, config })),
        };
        (Devices::start(hw).expect("threads"), frames)
    }

    fn portrait(name: &str) -> Personal<Vec<u8>> {
        Personal::new(
            std::fs::read(
                kiosk_face::default_models_dir()
                    .join("../face-images")
                    .join(name),
            )
            .expect("face images (run `cargo xtask setup`)"),
        )
    }

    #[test]
    fn dlib_face_step_matches_the_citizen_and_guides_meanwhile() {
        let (d, _frames) = dlib_devices("obama2.jpg");
        d.start_face(G, Some(portrait("obama.jpg")));
        let mut guided = false;
        let outcome = loop {
            match d.wait(Duration::from_secs(20)) {
                Some(DeviceEvent::FaceGuidance { key, .. }) => {
                    assert!(key.starts_with("face-"));
                    guided = true;
                }
                Some(DeviceEvent::Session(Event::FaceResult(_, o))) => break o,
                Some(_) => {}
                None => panic!("no face result within 20 s"),
            }
        };
        assert!(guided);
        assert!(outcome.matched, "{outcome:?}");
        assert!(outcome.score > 0.5, "{outcome:?}");
    }

    #[test]
    fn dlib_face_step_rejects_another_person_and_a_missing_portrait() {
        let (d, _frames) = dlib_devices("biden.jpg");
        d.start_face(G, Some(portrait("obama.jpg")));
        match next_session_event(&d) {
            Event::FaceResult(_, o) => assert!(!o.matched && !o.live, "{o:?}"),
            other => panic!("unexpected {other:?}"),
        }
        d.start_face(G, None);
        match next_session_event(&d) {
            Event::FaceResult(_, o) => assert!(!o.matched && o.score == 0.0, "{o:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A simulated reader that runs `first` before its first APDU: waiting at a gate (a chip
    /// read as slow as the test wants, without timing) or panicking (as a careless parser
    /// might). Later APDUs go through.
    struct BeforeFirstApdu {
        inner: kiosk_hw::card::SimCardReader,
        first: Option<Box<dyn FnOnce() + Send>>,
    }

    impl CardReader for BeforeFirstApdu {
        fn name(&self) -> &str {
            "before-first-apdu"
        }
        fn wait_for_change(
            &mut self,
            timeout: Duration,
        ) -> Result<CardPresence, kiosk_hw::card::CardError> {
            self.inner.wait_for_change(timeout)
        }
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, kiosk_hw::card::CardError> {
            if let Some(first) = self.first.take() {
                first();
            }
            self.inner.transmit(apdu)
        }
    }

    /// Devices over the simulators with `reader` wrapped around a simulated card reader (whose
    /// control is returned) and `trust`.
    fn devices_with_reader(
        reader: impl FnOnce(kiosk_hw::card::SimCardReader) -> Box<dyn CardReader + Send>,
        trust: CscaTrust,
    ) -> (Devices, kiosk_hw::card::SimCardControl, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut hw, _, _) = sim_hardware(dir.path(), trust);
        let inner = kiosk_hw::card::SimCardReader::new("sim");
        let card = inner.control();
        hw.card_reader = reader(inner);
        (Devices::start(hw).expect("threads"), card, dir)
    }

    /// The shell's part for these tests: a session, and its device commands carried out.
    struct MiniShell {
        s: crate::session::Session,
        t: u64,
    }

    impl MiniShell {
        fn new() -> Self {
            Self {
                s: crate::session::Session::new(crate::session::SessionConfig::default(), 11),
                t: 0,
            }
        }

        fn feed(&mut self, d: &Devices, e: Event) {
            use crate::session::Command as C;
            self.t += 500;
            for c in self.s.handle(e, crate::session::Millis(self.t)) {
                match c {
                    C::StartIdentify(g) => d.arm_identify(g),
                    C::StopIdentify => d.disarm_identify(),
                    C::UseIdNumber(id) => d.use_id_number(id),
                    C::ForgetIdNumber => d.forget_id_number(),
                    C::StartFaceCapture(g, p) => d.start_face(g, p),
                    C::StopFaceCapture => d.stop_face(),
                    _ => {}
                }
            }
        }

        /// Attract to "place your card" with the demo number, as citizen A does.
        fn walk_to_place_card(&mut self, d: &Devices) {
            self.feed(d, Event::Start);
            self.feed(d, Event::LanguageChosen("vi".into()));
            let g = self.s.generation();
            self.feed(d, Event::IdNumberScanned(g, id(ID)));
        }
    }

    /// Citizen A's read is slow; A cancels while it runs and citizen B starts. Whatever the
    /// worker sends from then on, B's session never holds A's identity.
    #[test]
    fn a_cancelled_slow_read_never_reaches_the_next_citizen() {
        let (card, trust) = virtual_cccd();
        let (open, gate) = mpsc::channel();
        let (d, ctl, _dir) = devices_with_reader(
            |inner| {
                Box::new(BeforeFirstApdu {
                    inner,
                    first: Some(Box::new(move || {
                        let _ = gate.recv();
                    })),
                })
            },
            trust,
        );
        let mut sh = MiniShell::new();
        sh.walk_to_place_card(&d);
        let a = sh.s.generation();
        ctl.insert(card);
        let e = next_session_event(&d);
        assert_eq!(e, Event::CardInserted(a));
        sh.feed(&d, e);
        assert_eq!(
            sh.s.view().identify,
            Some(crate::session::IdentifyPhase::Reading)
        );
        // A gives up mid-read; B walks up and reaches the identify step.
        sh.feed(&d, Event::Cancel);
        sh.feed(&d, Event::Start);
        sh.feed(&d, Event::LanguageChosen("en".into()));
        let b = sh.s.generation();
        assert_ne!(a, b);
        // A's chip finally answers.
        open.send(()).expect("gate");
        // The worker re-arms for B and prompts for B's number (A's card still lies there).
        loop {
            let e = next_session_event(&d);
            assert!(
                !matches!(e, Event::IdentityRead(..)),
                "A's identity crossed to the shell: {e:?}"
            );
            let prompt = e == Event::CardInserted(b);
            sh.feed(&d, e);
            assert!(sh.s.view().citizen.is_none());
            if prompt {
                break;
            }
        }
        assert_eq!(sh.s.step(), crate::session::Step::Identify);
        assert_eq!(
            sh.s.view().identify,
            Some(crate::session::IdentifyPhase::AwaitingId)
        );
        assert!(!sh.s.holds_personal_data());
    }

    /// The same, when A's result is already on its way to the shell as A cancels: the session
    /// drops it by its generation.
    #[test]
    fn a_result_in_flight_from_the_previous_session_is_dropped_by_the_session() {
        let (card, trust) = virtual_cccd();
        let (d, ctl, _dir) = devices_with_reader(|r| Box::new(r), trust);
        let mut sh = MiniShell::new();
        sh.walk_to_place_card(&d);
        ctl.insert(card);
        // A's identity arrives, but the shell has not drained it yet when A cancels. (The
        // card may be reported twice: once before the worker took the number, once as it reads.)
        let in_flight = loop {
            match next_session_event(&d) {
                e @ Event::CardInserted(_) => sh.feed(&d, e),
                e => break e,
            }
        };
        assert!(
            matches!(in_flight, Event::IdentityRead(..)),
            "{in_flight:?}"
        );
        sh.feed(&d, Event::Cancel);
        sh.feed(&d, Event::Start);
        sh.feed(&d, Event::LanguageChosen("vi".into()));
        sh.feed(&d, in_flight);
        assert_eq!(sh.s.step(), crate::session::Step::Identify);
        assert!(sh.s.view().citizen.is_none());
        assert!(!sh.s.holds_personal_data());
    }

    #[test]
    fn a_panicking_read_asks_to_try_again_and_the_next_card_is_read() {
        // Lenient trust: each fresh virtual card has its own test CSCA.
        let lenient = CscaTrust::new(Vec::new(), true);
        let (d, ctl, _dir) = devices_with_reader(
            |inner| {
                Box::new(BeforeFirstApdu {
                    inner,
                    // The message quotes the ID number: it must not reach the log.
                    first: Some(Box::new(|| panic!("bad tag in DG13 of {ID}"))),
                })
            },
            lenient,
        );
        assert_eq!(
            tap(&d, &ctl, virtual_cccd().0, ID),
            Event::IdentityFailed(G, IdentifyFailure::Internal)
        );
        // Lifted and placed again: the worker, still alive, reads it normally.
        ctl.remove();
        assert_eq!(next_session_event(&d), Event::CardRemoved);
        ctl.insert(virtual_cccd().0);
        assert_eq!(next_session_event(&d), Event::CardInserted(G));
        match next_session_event(&d) {
            Event::IdentityRead(g, c) => {
                assert_eq!(g, G);
                assert_eq!(c.id_number().expose(), ID);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_slow_chip_is_stopped_by_the_read_deadline() {
        let (card, trust) = virtual_cccd();
        let dir = tempfile::tempdir().expect("tempdir");
        let (hw, ctl, _) = sim_hardware(dir.path(), trust);
        // 30 ms per APDU: a whole read (about 85) cannot fit in 200 ms.
        ctl.set_apdu_delay(Duration::from_millis(30));
        let settings = DeviceSettings {
            read_deadline: Duration::from_millis(200),
            ..DeviceSettings::default()
        };
        let d = Devices::start_with(hw, settings).expect("threads");
        assert_eq!(
            tap(&d, &ctl, card, ID),
            Event::IdentityFailed(G, IdentifyFailure::ReadTimedOut)
        );
    }

    /// A kiosk whose clock is before its build judges no card (every certificate would look
    /// "not yet valid"): the session is told the clock is wrong, the card is not blamed, and
    /// the chip is not even read.
    #[test]
    fn a_clock_before_the_build_date_judges_no_card() {
        let (card, trust) = virtual_cccd();
        let dir = tempfile::tempdir().expect("tempdir");
        let (hw, ctl, _) = sim_hardware(dir.path(), trust);
        let settings = DeviceSettings {
            // The wall clock is a year before this floor.
            clock_floor_secs: time::OffsetDateTime::now_utc().unix_timestamp() + 365 * 86_400,
            ..DeviceSettings::default()
        };
        let d = Devices::start_with(hw, settings).expect("threads");
        assert_eq!(
            tap(&d, &ctl, card, ID),
            Event::IdentityFailed(G, IdentifyFailure::ClockWrong)
        );
    }

    /// A face pipeline that panics once: the capture fails with "try again", the next one
    /// decides normally.
    #[test]
    fn a_panicking_face_capture_asks_to_try_again_and_the_worker_goes_on() {
        /// Panics at its second frame: the first is the worker's start-up probe.
        struct PanicsOnceCamera {
            inner: kiosk_hw::camera::PatternSource,
            calls: u32,
        }
        impl FrameSource for PanicsOnceCamera {
            fn info(&self) -> kiosk_hw::SourceInfo {
                self.inner.info()
            }
            fn next_frame(&mut self, timeout: Duration) -> Result<Frame, kiosk_hw::CameraError> {
                self.calls = self.calls.saturating_add(1);
                if self.calls == 2 {
                    panic!("frame decoder");
                }
                self.inner.next_frame(timeout)
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut hw, _, _) = sim_hardware(dir.path(), CscaTrust::default());
        hw.camera = Box::new(PanicsOnceCamera {
            inner: kiosk_hw::camera::PatternSource::new(64, 48, 0).expect("pattern"),
            calls: 0,
        });
        let d = Devices::start(hw).expect("threads");
        assert_eq!(next_health(&d, DeviceKind::Camera), DeviceHealth::Ready);
        d.start_face(G, None);
        assert_eq!(next_session_event(&d), Event::FaceFailed(G));
        let again = Generation(8);
        d.start_face(again, None);
        assert!(matches!(
            next_session_event(&d),
            Event::FaceResult(g, o) if g == again && o.matched
        ));
    }

    /// The kiosk's camera wiring: one hub, a feed for the QR scanner and one for the face
    /// worker. Unplugged, the face step says so (no verdict, no attempt counted by the
    /// session); replugged, the hub has reopened by itself and the next capture decides. A
    /// camera in a format the kiosk cannot use is the other notice.
    #[test]
    fn an_unplugged_camera_is_announced_and_the_next_capture_works_once_it_is_back() {
        use kiosk_hw::camera::capture::{
            CameraHub, CaptureDevice, CaptureError, HubSettings, HubState, Negotiated, Opener,
        };
        use kiosk_hw::camera::PixelFormat;
        use std::sync::atomic::{AtomicBool, Ordering};
        struct Fake(Arc<AtomicBool>);
        impl CaptureDevice for Fake {
            fn capture(&mut self, _decode: bool) -> Result<Frame, CaptureError> {
                std::thread::sleep(Duration::from_millis(5));
                if self.0.load(Ordering::SeqCst) {
                    return Err(CaptureError::Gone(
                        CameraErrorKind::Unplugged,
                        "ENODEV".into(),
                    ));
                }
                Ok(Frame {
                    width: 4,
                    height: 2,
                    format: PixelFormat::Rgb8,
                    data: vec![9; 24],
                    seq: 0,
                })
            }
        }
        let negotiated = Negotiated {
            name: "fake".into(),
            width: 4,
            height: 2,
            fps: 200,
            format: "MJPG".into(),
        };
        let settings = HubSettings {
            reopen_interval: Duration::from_millis(20),
            stall_after: Duration::from_secs(2),
            ..HubSettings::default()
        };
        let unplugged = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&unplugged);
        let opener: Opener = Arc::new(move || {
            if flag.load(Ordering::SeqCst) {
                return Err(kiosk_hw::CameraError::new(
                    CameraErrorKind::NoDevice,
                    "gone",
                ));
            }
            Ok((
                Box::new(Fake(Arc::clone(&flag))) as Box<dyn CaptureDevice>,
                negotiated.clone(),
            ))
        });
        let hub = CameraHub::start("fake", opener, settings).expect("hub");
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut hw, _, _) = sim_hardware(dir.path(), CscaTrust::default());
        hw.camera = Box::new(hub.feed());
        hw.qr = Box::new(kiosk_hw::qr::CameraQrScanner::new(hub.feed()));
        let d = Devices::start(hw).expect("threads");
        d.arm_identify(G);
        d.start_face(G, None);
        assert!(matches!(next_session_event(&d), Event::FaceResult(g, o) if g == G && o.matched));
        unplugged.store(true, Ordering::SeqCst);
        let g2 = Generation(8);
        d.start_face(g2, None);
        assert_eq!(
            next_session_event(&d),
            Event::CameraUnavailable(g2, CameraProblem::Unavailable)
        );
        unplugged.store(false, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !matches!(hub.state(), HubState::Streaming(_)) {
            assert!(
                Instant::now() < deadline,
                "the hub did not reopen by itself"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let g3 = Generation(9);
        d.start_face(g3, None);
        assert!(matches!(next_session_event(&d), Event::FaceResult(g, o) if g == g3 && o.matched));

        let wrong: Opener = Arc::new(|| {
            Err(kiosk_hw::CameraError::new(
                CameraErrorKind::BadFormat,
                "offers only H264",
            ))
        });
        let hub = CameraHub::start("h264", wrong, settings).expect("hub");
        let (mut hw, _, _) = sim_hardware(dir.path(), CscaTrust::default());
        hw.camera = Box::new(hub.feed());
        let d = Devices::start(hw).expect("threads");
        d.start_face(G, None);
        assert_eq!(
            next_session_event(&d),
            Event::CameraUnavailable(G, CameraProblem::WrongFormat)
        );
    }

    #[test]
    fn a_panicking_printer_fails_the_receipt_and_the_next_job_prints() {
        struct PanicsOncePrinter {
            inner: Box<dyn ReceiptPrinter + Send>,
            panicked: bool,
        }
        impl ReceiptPrinter for PanicsOncePrinter {
            fn status(
                &mut self,
            ) -> Result<kiosk_hw::printer::PrinterStatus, kiosk_hw::printer::PrinterError>
            {
                self.inner.status()
            }
            fn print(&mut self, job: &[u8]) -> Result<(), kiosk_hw::printer::PrinterError> {
                if !std::mem::replace(&mut self.panicked, true) {
                    panic!("driver bug");
                }
                self.inner.print(job)
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut hw, _, _) = sim_hardware(dir.path(), CscaTrust::default());
        hw.printer = Box::new(PanicsOncePrinter {
            inner: Box::new(SimHardware::demo_in(dir.path()).printer),
            panicked: false,
        });
        let d = Devices::start(hw).expect("threads");
        let mut job = kiosk_hw::printer::escpos::EscPos::new();
        job.init().feed(1).cut();
        let job = job.into_bytes();
        d.print(job.clone());
        assert_eq!(
            next_print_event(&d),
            Some(Event::PrinterFailed(PrinterFault::Internal))
        );
        d.print(job);
        assert_eq!(next_print_event(&d), None, "printed");
    }

    /// Waits for the outcome of one print job: `None` printed, else the session event.
    fn next_print_event(d: &Devices) -> Option<Event> {
        loop {
            match d.wait(Duration::from_secs(10)) {
                Some(DeviceEvent::Printed) => return None,
                Some(DeviceEvent::Session(e @ Event::PrinterFailed(_))) => return Some(e),
                Some(_) => {}
                None => panic!("no print outcome within 10 s"),
            }
        }
    }

    /// Waits for the next health report of `kind`.
    fn next_health(d: &Devices, kind: DeviceKind) -> DeviceHealth {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(DeviceEvent::Health(k, h)) = d.wait(Duration::from_millis(100)) {
                if k == kind {
                    return h;
                }
            }
        }
        panic!("no {kind} health report within 10 s")
    }

    /// A receipt-like job: a raster band (rasterised text), a QR code, a cut; about 3 KB.
    fn receipt_job() -> Vec<u8> {
        let bits: Vec<u8> = (0..32)
            .flat_map(|y| vec![if y % 8 < 4 { 0xF0 } else { 0x0F }; 72])
            .collect();
        let mut job = kiosk_hw::printer::escpos::EscPos::new();
        job.init();
        job.raster(576, 32, &bits).expect("raster");
        job.qr(b"https://dichvucong.example.gov.vn/tra-cuu?maHoSo=X")
            .expect("qr");
        job.feed(3).cut();
        job.into_bytes()
    }

    /// The TCP driver as the kiosk configures it, with short timeouts for the tests.
    fn tcp_driver(device: kiosk_hw::printer::PrinterDevice) -> Box<dyn ReceiptPrinter + Send> {
        Box::new(kiosk_hw::printer::EscPosPrinter::new(
            device,
            kiosk_hw::printer::PrinterOptions {
                connect_timeout: Duration::from_millis(500),
                status_timeout: Duration::from_millis(300),
                write_timeout: Duration::from_secs(2),
                ..kiosk_hw::printer::PrinterOptions::default()
            },
        ))
    }

    fn printer_devices(
        printer: Box<dyn ReceiptPrinter + Send>,
        poll: Duration,
    ) -> (Devices, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut hw, _, _) = sim_hardware(dir.path(), CscaTrust::default());
        hw.printer = printer;
        let settings = DeviceSettings {
            printer_poll: poll,
            ..DeviceSettings::default()
        };
        (Devices::start_with(hw, settings).expect("threads"), dir)
    }

    /// Every fault switch of the virtual printer, through the real TCP driver and the printer
    /// worker, becomes its session event (the citizen is sent to staff) and the printer's
    /// health; a good print with the paper nearly out is a warning for staff only.
    #[test]
    fn every_printer_fault_reaches_the_session_through_the_tcp_driver() {
        use kiosk_hw::printer::{PrinterStatus, VirtualPrinter};
        let out = tempfile::tempdir().expect("tempdir");
        let vp = VirtualPrinter::start(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            out.path(),
            576,
        )
        .expect("virtual printer");
        let ctl = vp.control();
        let (d, _dir) = printer_devices(tcp_driver(vp.device()), Duration::from_secs(3600));
        assert_eq!(next_health(&d, DeviceKind::Printer), DeviceHealth::Ready);
        let job = receipt_job();
        let ok = ctl.status();
        let set = |f: &dyn Fn(&mut PrinterStatus)| {
            let mut s = ok;
            f(&mut s);
            ctl.set_status(s);
        };
        type Switch<'a> = &'a dyn Fn(&mut PrinterStatus);
        let cases: [(&str, Switch, PrinterFault); 5] = [
            ("offline", &|s| s.online = false, PrinterFault::Offline),
            (
                "cover open",
                &|s| s.cover_open = true,
                PrinterFault::CoverOpen,
            ),
            (
                "paper out",
                &|s| s.paper = kiosk_hw::PaperState::Out,
                PrinterFault::PaperOut,
            ),
            (
                "cutter",
                &|s| s.cutter_error = true,
                PrinterFault::CutterError,
            ),
            (
                "hardware",
                &|s| s.unrecoverable_error = true,
                PrinterFault::Hardware,
            ),
        ];
        for (what, fault, want) in cases {
            set(fault);
            d.print(job.clone());
            assert_eq!(
                next_print_event(&d),
                Some(Event::PrinterFailed(want)),
                "{what}"
            );
            assert_eq!(
                next_health(&d, DeviceKind::Printer),
                DeviceHealth::Down(want.code()),
                "{what}"
            );
            ctl.set_status(ok);
        }
        let printed_before = ctl.printed().len();
        // Paper runs out half way through the receipt.
        ctl.paper_out_after(Some(job.len() / 2));
        d.print(job.clone());
        assert_eq!(
            next_print_event(&d),
            Some(Event::PrinterFailed(PrinterFault::PaperOutMidJob))
        );
        assert_eq!(ctl.printed().len(), printed_before, "no receipt came out");
        ctl.paper_out_after(None);
        ctl.set_status(ok);
        // A printer that stops answering status requests: a timeout, never a hang.
        ctl.set_silent(true);
        d.print(job.clone());
        assert_eq!(
            next_print_event(&d),
            Some(Event::PrinterFailed(PrinterFault::Timeout))
        );
        ctl.set_silent(false);
        // A good print with the roll nearly used up: printed, and a warning for staff.
        set(&|s| s.paper = kiosk_hw::PaperState::NearEnd);
        d.print(job.clone());
        assert_eq!(next_print_event(&d), None, "printed");
        assert_eq!(
            next_health(&d, DeviceKind::Printer),
            DeviceHealth::Warning("paper-near-end")
        );
        assert_eq!(ctl.printed().len(), printed_before + 1);
        // Unplugged: nobody listens on its port any more.
        drop(vp);
        d.print(job);
        assert_eq!(
            next_print_event(&d),
            Some(Event::PrinterFailed(PrinterFault::Unplugged))
        );
        assert_eq!(
            next_health(&d, DeviceKind::Printer),
            DeviceHealth::Down("unplugged")
        );
    }

    /// A printer missing when the kiosk starts is reported down at once and ready as soon as
    /// it answers, by the idle worker's status polls.
    #[test]
    fn a_printer_missing_at_start_is_noticed_when_it_returns() {
        use kiosk_hw::printer::VirtualPrinter;
        // A free port on the loopback interface, closed again: the printer is "unplugged".
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let device = kiosk_hw::printer::PrinterDevice::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        let (d, _dir) = printer_devices(tcp_driver(device), Duration::from_millis(100));
        assert_eq!(
            next_health(&d, DeviceKind::Printer),
            DeviceHealth::Down("unplugged")
        );
        let out = tempfile::tempdir().expect("tempdir");
        let _vp = VirtualPrinter::start(
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            out.path(),
            576,
        )
        .expect("virtual printer on the same port");
        assert_eq!(next_health(&d, DeviceKind::Printer), DeviceHealth::Ready);
    }

    /// A panic on a worker thread is logged with the worker and location, never its message.
    #[test]
    fn a_worker_panic_is_logged_without_its_message() {
        use crate::config::{LogFormat, LogLevel, LoggingSettings};
        withhold_worker_panic_messages();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.log");
        let cfg = LoggingSettings {
            level: LogLevel::Info,
            format: LogFormat::Text,
            file: Some(path.clone()),
        };
        let survived = std::thread::Builder::new()
            .name(IDENTIFY_THREAD.into())
            .spawn(move || {
                let _log = crate::logging::init_scoped(&cfg).expect("logging starts");
                let r: Option<()> = supervised("identify", || panic!("bad DG13 of {ID}"));
                r.is_none()
            })
            .expect("thread")
            .join()
            .expect("the thread itself did not die");
        assert!(survived);
        let text = std::fs::read_to_string(&path).expect("log written");
        assert!(text.contains("worker panicked"), "{text}");
        assert!(text.contains("kiosk-identify"), "{text}");
        assert!(text.contains("devices.rs"), "the location: {text}");
        assert!(text.contains("keeps serving"), "{text}");
        assert!(!text.contains(ID) && !text.contains("bad DG13"), "{text}");
    }

    #[test]
    fn every_face_guidance_has_a_message_in_every_language() {
        let cat = crate::i18n::Catalog::embedded().expect("locales");
        use kiosk_face::Guidance as G;
        for g in [
            G::NoFace,
            G::OneFaceOnly,
            G::MoveCloser,
            G::MoveBack,
            G::FaceCamera,
            G::HoldStill,
            G::MoreLight,
            G::TooBright,
            G::Good,
            G::TurnLeft,
            G::TurnRight,
            G::LookStraight,
        ] {
            for lang in ["vi", "en"] {
                assert!(cat.has(lang, g.key()), "{lang}: {}", g.key());
            }
        }
    }
}
