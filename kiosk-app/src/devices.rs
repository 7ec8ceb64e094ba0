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
use kiosk_hw::printer::ReceiptPrinter;
use kiosk_hw::qr::QrScanner;

use crate::identity;
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
    Stop,
}

enum FaceCmd {
    Start,
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
            .field("face", &self.face)
            .finish_non_exhaustive()
    }
}

/// How the face step decides until the face pipeline lands (face issue).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaceVerifier {
    /// Demo only: shows the camera for `capture` and then reports the configured outcome.
    /// Configuration refuses it outside `demo = true`.
    Simulated {
        /// How long the capture runs before the verdict.
        capture: Duration,
        /// The verdict reported.
        outcome: FaceOutcome,
    },
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
                .spawn(move || identify_worker(card_reader, qr, id_rx, tx))?,
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
    /// Stops reading identities (card removal is still reported).
    pub fn disarm_identify(&self) {
        let _ = self.identify.send(IdentifyCmd::Disarm);
    }
    /// Starts the camera and the face verdict.
    pub fn start_face(&self) {
        let _ = self.face.send(FaceCmd::Start);
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

/// Two-digit current year, the pivot for MRZ birth years.
fn this_year_yy() -> u8 {
    let y = time::OffsetDateTime::now_utc().year();
    u8::try_from(y.rem_euclid(100)).unwrap_or(0)
}

fn identify_worker(
    mut reader: Box<dyn CardReader + Send>,
    mut qr: Box<dyn QrScanner + Send>,
    cmds: Receiver<IdentifyCmd>,
    tx: Sender<DeviceEvent>,
) {
    let send = |e: Event| tx.send(DeviceEvent::Session(e)).is_ok();
    let mut armed = false;
    // What the worker believes is on the reader, and whether that card was already read for
    // the current arming. A card pulled and put back between two polls looks "present" both
    // times, so reading is driven by `read_done`, not by the edge alone.
    let mut present = false;
    let mut read_done = false;
    let mut reader_down_reported = false;
    loop {
        for cmd in cmds.try_iter() {
            match cmd {
                IdentifyCmd::Arm => {
                    armed = true;
                    read_done = false;
                    reader_down_reported = false;
                }
                IdentifyCmd::Disarm => armed = false,
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
        // The citizen may have put the card down before the screen asked: read whenever armed
        // and this card has not been read yet.
        if armed && present && !read_done {
            if !send(Event::CardInserted) {
                return;
            }
            let started = Instant::now();
            let r = identity::read_chip(reader.as_mut(), this_year_yy());
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
                    if f == IdentifyFailure::CardRemovedDuringRead {
                        // Gone mid-read: the next "present" is a fresh tap to read again.
                        present = false;
                    } else {
                        // Unreadable: do not hammer the same card; lifting it re-arms.
                        read_done = true;
                    }
                    Event::IdentityFailed(f)
                }
            };
            if !send(ev) {
                return;
            }
        }
        if armed {
            match qr.poll(Duration::ZERO) {
                Ok(Some(scan)) => {
                    let ev = match identity::citizen_from_scan(scan.text.expose()) {
                        Ok(c) => Event::IdentityRead(c),
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
        match cmds.recv() {
            Ok(FaceCmd::Start) => {}
            Ok(FaceCmd::Stop) => continue,
            Ok(FaceCmd::Quit) | Err(_) => return,
        }
        let FaceVerifier::Simulated { capture, outcome } = verifier;
        let started = Instant::now();
        let mut last_preview = Instant::now() - Duration::from_secs(1);
        let result = loop {
            match cmds.try_recv() {
                Ok(FaceCmd::Stop) => break None,
                Ok(FaceCmd::Quit) | Err(mpsc::TryRecvError::Disconnected) => return,
                Ok(FaceCmd::Start) | Err(mpsc::TryRecvError::Empty) => {}
            }
            let elapsed = started.elapsed();
            if elapsed >= capture {
                break Some(outcome);
            }
            match camera.next_frame(Duration::from_millis(200)) {
                Ok(frame) => {
                    // About 10 previews a second are plenty for guidance and cheap to draw.
                    if last_preview.elapsed() >= Duration::from_millis(100) {
                        last_preview = Instant::now();
                        if tx.send(DeviceEvent::FramePreview(frame)).is_err() {
                            return;
                        }
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
                return;
            }
        };
        if let Some(outcome) = result {
            if tx
                .send(DeviceEvent::Session(Event::FaceResult(outcome)))
                .is_err()
            {
                return;
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

    fn devices() -> (
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
            qr: Box::new(sim.qr_scanner),
            camera: Box::new(kiosk_hw::camera::PatternSource::new(64, 48, 0).expect("pattern")),
            printer: Box::new(sim.printer),
            face: FaceVerifier::Simulated {
                capture: Duration::from_millis(50),
                outcome: FaceOutcome {
                    matched: true,
                    score: 0.3,
                    live: true,
                },
            },
        };
        (Devices::start(hw).expect("threads"), card, qr, dir)
    }

    fn next_session_event(d: &Devices) -> Event {
        loop {
            match d.wait(Duration::from_secs(5)) {
                Some(DeviceEvent::Session(e)) => return e,
                Some(_) => continue,
                None => panic!("no device event within 5 s"),
            }
        }
    }

    #[test]
    fn armed_reader_reads_the_card_and_reports_removal() {
        let (d, card, _qr, _dir) = devices();
        d.arm_identify();
        card.insert(Box::new(kiosk_hw::card::DemoCard::demo()));
        assert_eq!(next_session_event(&d), Event::CardInserted);
        match next_session_event(&d) {
            Event::IdentityRead(c) => assert_eq!(c.id_number().expose(), "001090123456"),
            other => panic!("unexpected {other:?}"),
        }
        card.remove();
        assert_eq!(next_session_event(&d), Event::CardRemoved);
    }

    #[test]
    fn unarmed_reader_ignores_cards_and_qr_but_reports_removal() {
        let (d, card, qr, _dir) = devices();
        card.insert(Box::new(kiosk_hw::card::DemoCard::demo()));
        qr.present(kiosk_hw::sim::DEMO_QR);
        std::thread::sleep(Duration::from_millis(300));
        card.remove();
        assert_eq!(next_session_event(&d), Event::CardRemoved);
    }

    #[test]
    fn a_card_swapped_between_polls_is_read_for_the_next_session() {
        let (d, card, _qr, _dir) = devices();
        d.arm_identify();
        card.insert(Box::new(kiosk_hw::card::DemoCard::demo()));
        assert_eq!(next_session_event(&d), Event::CardInserted);
        assert!(matches!(next_session_event(&d), Event::IdentityRead(_)));
        d.disarm_identify();
        // Lifted and put back faster than the worker polls.
        card.remove();
        card.insert(Box::new(kiosk_hw::card::DemoCard::demo()));
        d.arm_identify();
        loop {
            match next_session_event(&d) {
                Event::IdentityRead(c) => {
                    assert_eq!(c.id_number().expose(), "001090123456");
                    break;
                }
                Event::CardInserted | Event::CardRemoved | Event::IdentityFailed(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn qr_identity_when_armed() {
        let (d, _card, qr, _dir) = devices();
        d.arm_identify();
        qr.present(kiosk_hw::sim::DEMO_QR);
        match next_session_event(&d) {
            Event::IdentityRead(c) => assert_eq!(c.full_name().expose(), "Nguyễn Văn An"),
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
            qr: Box::new(kiosk_hw::qr::CameraQrScanner::new(camera)),
            camera: Box::new(kiosk_hw::camera::PatternSource::new(64, 48, 0).expect("pattern")),
            printer: Box::new(sim.printer),
            face: FaceVerifier::Simulated {
                capture: Duration::from_millis(50),
                outcome: FaceOutcome {
                    matched: true,
                    score: 0.3,
                    live: true,
                },
            },
        };
        let d = Devices::start(hw).expect("threads");
        d.arm_identify();
        match next_session_event(&d) {
            Event::IdentityRead(c) => {
                assert_eq!(c.id_number().expose(), "001090123456");
                assert_eq!(c.source(), crate::session::IdentitySource::Qr);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn face_step_reports_the_verdict_and_stops() {
        let (d, _card, _qr, _dir) = devices();
        d.start_face();
        assert!(matches!(next_session_event(&d), Event::FaceResult(o) if o.matched && o.live));
    }
}
