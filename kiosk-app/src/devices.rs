//! Worker threads that turn hardware into session [`Event`]s.
//!
//! Device calls block (a card read takes a second or more on a real reader, a camera frame
//! arrives every 66 ms), so each device family has its own thread and talks to the shell only
//! through channels: commands in, [`DeviceEvent`]s out. The shell drains the events on its
//! UI-thread timer, so no device code ever runs on the UI thread and the session stays
//! single-threaded. Every worker stops at [`Devices::shutdown`] (or drop), finishing the call it
//! is in.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kiosk_hw::camera::{Frame, FrameSource};
use kiosk_hw::card::{CardPresence, CardReader};
use kiosk_hw::personal::Personal;
use kiosk_hw::printer::ReceiptPrinter;
use kiosk_hw::qr::QrScanner;

use crate::identity::{self, ChipKey, CscaTrust};
use crate::session::{Event, FaceOutcome, IdentifyFailure};

/// What the workers report to the shell.
#[derive(Debug)]
pub enum DeviceEvent {
    /// An input for the session.
    Session(Event),
    /// A camera frame for the face step's preview (never stored, dropped after display).
    FramePreview(Frame),
    /// Guidance for the citizen during face capture: a message key and progress 0..1.
    FaceGuidance {
        /// Fluent key, e.g. `face-look`.
        key: &'static str,
        /// 0..1.
        progress: f32,
    },
    /// A receipt was printed; the printer reported no error.
    Printed,
}

enum IdentifyCmd {
    Arm,
    Disarm,
    UseId(Personal<String>),
    ForgetId,
    Stop,
}

enum FaceCmd {
    Start(Option<Personal<Vec<u8>>>),
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
    /// Camera for the face step.
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
    /// Starts one worker per device family.
    ///
    /// # Errors
    /// The OS refused to start a thread.
    pub fn start(hw: Hardware) -> std::io::Result<Self> {
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
        threads.push(
            std::thread::Builder::new()
                .name("kiosk-identify".into())
                .spawn(move || identify_worker(card_reader, card_trust, qr, id_rx, tx))?,
        );
        let tx = ev_tx.clone();
        threads.push(
            std::thread::Builder::new()
                .name("kiosk-face".into())
                .spawn(move || face_worker(camera, verifier, face_rx, tx))?,
        );
        threads.push(
            std::thread::Builder::new()
                .name("kiosk-printer".into())
                .spawn(move || print_worker(printer, print_rx, ev_tx))?,
        );
        Ok(Self {
            events,
            identify,
            face,
            print,
            threads,
        })
    }

    /// Arms card and QR reading for the identify step.
    pub fn arm_identify(&self) {
        let _ = self.identify.send(IdentifyCmd::Arm);
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
    /// Starts the camera and the face verdict against `portrait` (the chip's DG2 image).
    pub fn start_face(&self, portrait: Option<Personal<Vec<u8>>>) {
        let _ = self.face.send(FaceCmd::Start(portrait));
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

/// The identify worker: card presence, the chip read once the session has handed over the ID
/// number, and the card's QR code, which supplies that number.
///
/// A card on the reader without an ID number is reported once ([`Event::CardInserted`]: the
/// session asks for the number) and read as soon as the number arrives, without lifting it.
/// A number the chip refuses is dropped; the next one reads the same card again.
fn identify_worker(
    mut reader: Box<dyn CardReader + Send>,
    trust: CscaTrust,
    mut qr: Box<dyn QrScanner + Send>,
    cmds: Receiver<IdentifyCmd>,
    tx: Sender<DeviceEvent>,
) {
    let send = |e: Event| tx.send(DeviceEvent::Session(e)).is_ok();
    let mut armed = false;
    // What the worker believes is on the reader, and whether that card was already read for
    // the current arming and key. A card pulled and put back between two polls looks
    // "present" both times, so reading is driven by `read_done`, not by the edge alone.
    let mut present = false;
    let mut read_done = false;
    // The card without a key was reported (the session asked for the number).
    let mut prompted = false;
    let mut reader_down_reported = false;
    let mut key: Option<ChipKey> = None;
    // The card QR scanned in this arming: its date of birth gives the BAC fallback.
    let mut scanned: Option<kiosk_qr::CccdQr> = None;
    let mut rng = rand::rng();
    loop {
        for cmd in cmds.try_iter() {
            match cmd {
                IdentifyCmd::Arm => {
                    armed = true;
                    read_done = false;
                    prompted = false;
                    reader_down_reported = false;
                    key = None;
                    scanned = None;
                }
                IdentifyCmd::Disarm => {
                    armed = false;
                    key = None;
                    scanned = None;
                }
                IdentifyCmd::UseId(id) => {
                    key = ChipKey::from_id(&id).map(|k| match &scanned {
                        Some(q) => k.with_qr(q),
                        None => k,
                    });
                    read_done = false;
                }
                IdentifyCmd::ForgetId => key = None,
                IdentifyCmd::Stop => return,
            }
        }
        match reader.wait_for_change(Duration::from_millis(100)) {
            Ok(CardPresence::Present { .. }) => {
                if !present {
                    tracing::debug!("card present");
                }
                present = true;
            }
            Ok(CardPresence::Absent) => {
                if present {
                    tracing::debug!("card removed");
                    if !send(Event::CardRemoved) {
                        return;
                    }
                }
                present = false;
                read_done = false;
                prompted = false;
            }
            Err(e) => {
                let failure = identity::card_failure(e.kind());
                if armed && !reader_down_reported && failure == IdentifyFailure::ReaderMissing {
                    tracing::warn!(error = %e, "card reader unavailable");
                    reader_down_reported = true;
                    if !send(Event::IdentityFailed(failure)) {
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        // The citizen may have put the card down before the screen asked: read whenever armed,
        // keyed, and this card has not been read yet.
        if armed && present && !read_done {
            match &key {
                None if !prompted => {
                    prompted = true;
                    if !send(Event::CardInserted) {
                        return;
                    }
                }
                None => {}
                Some(k) => {
                    if !send(Event::CardInserted) {
                        return;
                    }
                    let started = Instant::now();
                    let now = identity::pa_time(time::OffsetDateTime::now_utc());
                    let mut fill = |b: &mut [u8]| rand::RngCore::fill_bytes(&mut rng, b);
                    let r = identity::read_chip(reader.as_mut(), k, &trust, &now, &mut fill);
                    tracing::info!(
                        ms = started.elapsed().as_millis() as u64,
                        ok = r.is_ok(),
                        "chip read"
                    );
                    let ev = match r {
                        Ok(c) => {
                            read_done = true;
                            Event::IdentityRead(c)
                        }
                        Err(f) => {
                            match f {
                                // Gone mid-read: the next "present" is a fresh tap to read again.
                                IdentifyFailure::CardRemovedDuringRead => present = false,
                                // The number is wrong for this card: wait for another one.
                                IdentifyFailure::WrongIdNumber => {
                                    key = None;
                                    read_done = true;
                                }
                                // Do not hammer the same card; lifting it re-arms.
                                _ => read_done = true,
                            }
                            Event::IdentityFailed(f)
                        }
                    };
                    if !send(ev) {
                        return;
                    }
                }
            }
        }
        if armed {
            match qr.poll(Duration::ZERO) {
                Ok(Some(scan)) => {
                    let ev = match identity::card_qr_from_scan(scan.text.expose()) {
                        Ok(q) => {
                            let id = q.id_number().clone();
                            scanned = Some(q);
                            Event::IdNumberScanned(id)
                        }
                        Err(f) => Event::IdentityFailed(f),
                    };
                    if !send(ev) {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "QR scanner"),
            }
        }
    }
}

fn face_worker(
    mut camera: Box<dyn FrameSource + Send>,
    verifier: FaceVerifier,
    cmds: Receiver<FaceCmd>,
    tx: Sender<DeviceEvent>,
) {
    loop {
        // Idle: block until told to start.
        let portrait = match cmds.recv() {
            Ok(FaceCmd::Start(p)) => p,
            Ok(FaceCmd::Stop) => continue,
            Ok(FaceCmd::Quit) | Err(_) => return,
        };
        let flow = match &verifier {
            FaceVerifier::Simulated { capture, outcome } => {
                simulated_capture(camera.as_mut(), *capture, *outcome, &cmds, &tx)
            }
            FaceVerifier::Dlib(d) => dlib_capture(d, camera.as_mut(), portrait, &cmds, &tx),
        };
        match flow {
            Flow::Decided(outcome) => {
                if tx
                    .send(DeviceEvent::Session(Event::FaceResult(outcome)))
                    .is_err()
                {
                    return;
                }
            }
            Flow::Stopped => {}
            Flow::Quit => return,
        }
    }
}

/// How a capture ended.
enum Flow {
    Decided(FaceOutcome),
    Stopped,
    Quit,
}

/// Between frames: was the capture stopped?
fn face_interrupted(cmds: &Receiver<FaceCmd>) -> Option<Flow> {
    match cmds.try_recv() {
        Ok(FaceCmd::Stop) => Some(Flow::Stopped),
        Ok(FaceCmd::Quit) | Err(mpsc::TryRecvError::Disconnected) => Some(Flow::Quit),
        Ok(FaceCmd::Start(_)) | Err(mpsc::TryRecvError::Empty) => None,
    }
}

/// Sends a preview frame at most every 100 ms (about 10 a second are plenty for guidance and
/// cheap to draw). `false` when the shell is gone.
fn preview(tx: &Sender<DeviceEvent>, last: &mut Instant, frame: &Frame) -> bool {
    if last.elapsed() < Duration::from_millis(100) {
        return true;
    }
    *last = Instant::now();
    tx.send(DeviceEvent::FramePreview(frame.clone())).is_ok()
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
    loop {
        if let Some(f) = face_interrupted(cmds) {
            return f;
        }
        let elapsed = started.elapsed();
        if elapsed >= capture {
            return Flow::Decided(outcome);
        }
        match camera.next_frame(Duration::from_millis(200)) {
            Ok(frame) => {
                if !preview(tx, &mut last_preview, &frame) {
                    return Flow::Quit;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "camera");
                std::thread::sleep(Duration::from_millis(100));
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
    loop {
        if let Some(f) = face_interrupted(cmds) {
            return f;
        }
        let frame = match camera.next_frame(Duration::from_millis(200)) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "camera");
                std::thread::sleep(Duration::from_millis(100));
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
) {
    loop {
        match cmds.recv_timeout(Duration::from_secs(3600)) {
            Ok(PrintCmd::Print(job)) => {
                let r = printer.status().and_then(|s| {
                    if s.can_print() {
                        printer.print(&job)
                    } else {
                        Err(kiosk_hw::printer::PrinterError::new(
                            if s.cover_open {
                                kiosk_hw::printer::PrinterErrorKind::CoverOpen
                            } else if !s.online {
                                kiosk_hw::printer::PrinterErrorKind::Offline
                            } else {
                                kiosk_hw::printer::PrinterErrorKind::PaperOut
                            },
                            "printer not ready",
                        ))
                    }
                });
                let ev = match r {
                    Ok(()) => DeviceEvent::Printed,
                    Err(e) => {
                        tracing::warn!(error = %e, "receipt printer");
                        DeviceEvent::Session(Event::PrinterFailed)
                    }
                };
                if tx.send(ev).is_err() {
                    return;
                }
            }
            Ok(PrintCmd::Quit) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hw::sim::SimHardware;
    use kiosk_vcard::VirtualCccd;

    const ID: &str = "001090123456";

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
        let sim = SimHardware::demo_in(dir.path());
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
        d.arm_identify();
        // Tapped before the number is known: reported once (the session asks for it), not read.
        ctl.insert(card);
        assert_eq!(next_session_event(&d), Event::CardInserted);
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            d.drain().is_empty(),
            "no read and no second prompt without the number"
        );
        // The number arrives: the card that stayed on the reader is read.
        d.use_id_number(id(ID));
        assert_eq!(next_session_event(&d), Event::CardInserted);
        match next_session_event(&d) {
            Event::IdentityRead(c) => {
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
        d.arm_identify();
        d.use_id_number(id("001090123457"));
        ctl.insert(card);
        assert_eq!(next_session_event(&d), Event::CardInserted);
        assert_eq!(
            next_session_event(&d),
            Event::IdentityFailed(IdentifyFailure::WrongIdNumber)
        );
        std::thread::sleep(Duration::from_millis(300));
        assert!(d.drain().is_empty(), "the refused number is not retried");
        d.use_id_number(id(ID));
        assert_eq!(next_session_event(&d), Event::CardInserted);
        assert!(matches!(next_session_event(&d), Event::IdentityRead(_)));
    }

    #[test]
    fn a_chip_outside_the_trust_store_is_not_authentic() {
        let (card, _trust) = virtual_cccd();
        let (d, ctl, _qr, _dir) = devices();
        d.arm_identify();
        d.use_id_number(id(ID));
        ctl.insert(card);
        assert_eq!(next_session_event(&d), Event::CardInserted);
        assert_eq!(
            next_session_event(&d),
            Event::IdentityFailed(IdentifyFailure::NotAuthentic)
        );
    }

    #[test]
    fn disarming_drops_the_number() {
        let (card, trust) = virtual_cccd();
        let (d, ctl, _qr, _dir) = devices_trusting(trust);
        d.arm_identify();
        d.use_id_number(id(ID));
        d.disarm_identify();
        d.arm_identify();
        ctl.insert(card);
        assert_eq!(next_session_event(&d), Event::CardInserted);
        std::thread::sleep(Duration::from_millis(300));
        assert!(d.drain().is_empty(), "re-armed without a number: no read");
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
        d.arm_identify();
        d.use_id_number(id(ID));
        ctl.insert(card);
        assert_eq!(next_session_event(&d), Event::CardInserted);
        assert!(matches!(next_session_event(&d), Event::IdentityRead(_)));
        d.disarm_identify();
        // Lifted and put back faster than the worker polls (the same chip, powered up anew).
        let (again, _) = virtual_cccd();
        ctl.remove();
        ctl.insert(again);
        d.arm_identify();
        d.use_id_number(id(ID));
        loop {
            match next_session_event(&d) {
                // Another virtual chip is another test PKI: outside this trust store, but
                // read, which is what this test is about.
                Event::IdentityFailed(IdentifyFailure::NotAuthentic) => break,
                Event::IdentityRead(c) => {
                    assert_eq!(c.id_number().expose(), ID);
                    break;
                }
                Event::CardInserted | Event::CardRemoved | Event::IdentityFailed(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn the_cards_qr_gives_the_id_number_only() {
        let (d, _card, qr, _dir) = devices();
        d.arm_identify();
        qr.present(kiosk_hw::sim::DEMO_QR);
        match next_session_event(&d) {
            Event::IdNumberScanned(n) => assert_eq!(n.expose(), ID),
            other => panic!("unexpected {other:?}"),
        }
        qr.present("not a cccd");
        assert_eq!(
            next_session_event(&d),
            Event::IdentityFailed(IdentifyFailure::QrNotCard)
        );
        qr.present("001090123456||A|31021990|Nam|x|01012021");
        assert_eq!(
            next_session_event(&d),
            Event::IdentityFailed(IdentifyFailure::Unreadable)
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
        d.arm_identify();
        match next_session_event(&d) {
            Event::IdNumberScanned(n) => assert_eq!(n.expose(), ID),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn face_step_reports_the_verdict_and_stops() {
        let (d, _card, _qr, _dir) = devices();
        d.start_face(None);
        assert!(matches!(next_session_event(&d), Event::FaceResult(o) if o.matched && o.live));
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
        d.start_face(Some(portrait("obama.jpg")));
        let mut guided = false;
        let outcome = loop {
            match d.wait(Duration::from_secs(20)) {
                Some(DeviceEvent::FaceGuidance { key, .. }) => {
                    assert!(key.starts_with("face-"));
                    guided = true;
                }
                Some(DeviceEvent::Session(Event::FaceResult(o))) => break o,
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
        d.start_face(Some(portrait("obama.jpg")));
        match next_session_event(&d) {
            Event::FaceResult(o) => assert!(!o.matched && !o.live, "{o:?}"),
            other => panic!("unexpected {other:?}"),
        }
        d.start_face(None);
        match next_session_event(&d) {
            Event::FaceResult(o) => assert!(!o.matched && o.score == 0.0, "{o:?}"),
            other => panic!("unexpected {other:?}"),
        }
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
