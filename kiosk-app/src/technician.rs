//! Technician mode: the kiosk before it is provisioned.
//!
//! `kiosk --state-dir DIR` starts it when `DIR/enrolled` is missing (otherwise it runs the
//! kiosk from `DIR/kiosk.toml`). It needs only the display and the camera: no configuration,
//! no gateway, no mutual TLS (there is no certificate yet), no card reader, printer or queue.
//! The technician page shows `DIR/provision-status.json` (written by `kioskctl provision`,
//! [`crate::provision_status`]), re-read twice a second: each step, its result, the kiosk id
//! and site once known, and after a failure what to do next.
//!
//! "Scan enrolment QR" opens the camera (`--camera`, default `auto`) until an enrolment code
//! (`VNKIOSK1|E|...`) is seen, 60 s at most; other codes are refused on screen. The camera is
//! released first, then the code goes to `kioskctl provision --qr - --state-dir DIR --file
//! FILE` as a child process, the payload on its stdin (never in its arguments). A child, not
//! the library: `kiosk-provisioning` depends on this crate (the library cannot be linked
//! here), the enrolment and self-test block for seconds and open the devices themselves (the
//! camera among them), and the boot unit runs the very same program, so both paths write the
//! same status file under the same lock.
//!
//! When the `enrolled` marker appears (from this child or from the boot unit), the screen says
//! the kiosk starts and, 3 s later, [`run`] returns [`Ended::Provisioned`]: `main` replaces the
//! process with a fresh `kiosk` (same arguments), which finds the marker and shows the attract
//! screen.
//!
//! The screen's content is computed by the pure [`screen`] from the status and the local
//! state; the controller only does I/O.

use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_hw::qr::QrScanner as _;
use kiosk_hw::Personal;
use kiosk_ui::{AppWindow, Kiosk, TechStep, Technician, Tr};
use slint::{ComponentHandle as _, ModelRc, VecModel};

use crate::config::CameraSpec;
use crate::i18n::Catalog;
use crate::provision_status::{self as status, Outcome, Status, StepId, StepState};

/// How long one press of "Scan" keeps the camera open.
pub const SCAN_WINDOW: Duration = Duration::from_secs(60);
/// How long the "finished" screen stays before the kiosk starts.
pub const FINISHED_PAUSE: Duration = Duration::from_secs(3);

/// What technician mode needs.
#[derive(Debug, Clone)]
pub struct TechnicianSettings {
    /// The kiosk's state folder (`/var/lib/kiosk`).
    pub state_dir: PathBuf,
    /// provision.toml, for a QR provisioning (`/boot/efi/provision.toml`).
    pub provision_file: PathBuf,
    /// The `kioskctl` program.
    pub kioskctl: PathBuf,
    /// The camera that scans the enrolment QR code.
    pub camera: CameraSpec,
}

/// What the technician did here and what came of it (the status file says the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    /// Nothing asked here.
    Idle,
    /// The camera looks for an enrolment code.
    Scanning,
    /// The camera saw a code that is not an enrolment code (the key of the sentence).
    WrongCode,
    /// The camera is missing or failing.
    CameraDown,
    /// No enrolment code within [`SCAN_WINDOW`].
    ScanTimedOut,
    /// A provisioning run holds the lock: no scan while it runs.
    Busy,
    /// `kioskctl provision --qr` runs.
    Provisioning,
    /// It ended without changing the status file (another run held the lock, or it could not
    /// start): its last line of error output.
    RunFailed(String),
}

/// One step row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    /// 1..=6.
    pub number: u8,
    /// Its title in the screen's language.
    pub title: String,
    /// `pending`, `running`, `ok` or `failed`.
    pub state: &'static str,
    /// What happened.
    pub text: String,
    /// What to do next (failed only).
    pub next: String,
}

/// What the technician screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    /// The kiosk id, site and gateway, or that they are not known yet.
    pub kiosk_line: String,
    /// `waiting`, `running`, `failed` or `finished`.
    pub state: &'static str,
    /// One sentence on where provisioning stands.
    pub headline: String,
    /// The next step after a failure.
    pub next: String,
    /// All six steps.
    pub steps: Vec<StepView>,
    /// The scan's line.
    pub scan_line: String,
    /// Whether the camera is scanning.
    pub scanning: bool,
    /// Whether "Scan" can be pressed (not while a provisioning run is under way).
    pub can_scan: bool,
}

/// The screen for a status (`None`: no run yet; `Err`: the file cannot be read), whether the
/// `enrolled` marker exists, and the local state. Pure.
#[must_use]
pub fn screen(
    texts: &Catalog,
    lang: &str,
    status: Result<Option<&Status>, &str>,
    enrolled: bool,
    local: &Local,
) -> Screen {
    let st = status.ok().flatten();
    let kiosk_line = match st.and_then(|s| s.kiosk_id.as_deref()) {
        Some(id) => {
            let mut parts = vec![texts.ta(lang, "tech-kiosk", id)];
            parts.extend(st.and_then(|s| s.site.clone()));
            parts.extend(st.and_then(|s| s.gateway.clone()));
            parts.join(" · ")
        }
        None => texts.t(lang, "tech-kiosk-unknown"),
    };
    let steps = StepId::ALL
        .into_iter()
        .map(|id| {
            let title = texts.t(lang, &format!("tech-step-{}", id.as_str()));
            match st.and_then(|s| s.steps.iter().find(|x| x.id == id)) {
                Some(x) => StepView {
                    number: id.number(),
                    title,
                    state: match x.state {
                        StepState::Running => "running",
                        StepState::Ok => "ok",
                        StepState::Failed => "failed",
                    },
                    text: x.text.in_lang(lang).to_owned(),
                    next: x
                        .next
                        .as_ref()
                        .map(|n| n.in_lang(lang).to_owned())
                        .unwrap_or_default(),
                },
                None => StepView {
                    number: id.number(),
                    title,
                    state: "pending",
                    text: String::new(),
                    next: String::new(),
                },
            }
        })
        .collect();
    let failed = st.and_then(Status::failed_step);
    let (state, headline, next) = if enrolled {
        ("finished", texts.t(lang, "tech-finished"), String::new())
    } else if *local == Local::Provisioning || st.is_some_and(|s| s.outcome == Outcome::Running) {
        ("running", texts.t(lang, "tech-running"), String::new())
    } else if let Some(f) = failed {
        (
            "failed",
            texts.ta(lang, "tech-failed", &f.id.number().to_string()),
            f.next
                .as_ref()
                .map(|n| n.in_lang(lang).to_owned())
                .unwrap_or_default(),
        )
    } else {
        ("waiting", texts.t(lang, "tech-waiting"), String::new())
    };
    let scan_line = match (local, status) {
        (Local::Scanning, _) => texts.t(lang, "tech-scan-looking"),
        (Local::WrongCode, _) => texts.t(lang, "tech-scan-wrong"),
        (Local::CameraDown, _) => texts.t(lang, "tech-scan-camera"),
        (Local::ScanTimedOut, _) => texts.t(lang, "tech-scan-timeout"),
        (Local::Busy, _) => texts.t(lang, "tech-busy"),
        (Local::Provisioning, _) => texts.t(lang, "tech-scan-received"),
        (Local::RunFailed(why), _) => texts.ta(lang, "tech-run-failed", why),
        (Local::Idle, Err(e)) => texts.ta(lang, "tech-status-unreadable", e),
        (Local::Idle, Ok(_)) => String::new(),
    };
    Screen {
        kiosk_line,
        state,
        headline,
        next,
        steps,
        scan_line,
        scanning: *local == Local::Scanning,
        can_scan: !enrolled && state != "running",
    }
}

/// Reads the status file: `Ok(None)` when there is none yet.
///
/// # Errors
/// A sentence (English, for the technician) when it exists but cannot be read.
pub fn read_status(state_dir: &Path) -> Result<Option<Status>, String> {
    let path = state_dir.join(status::FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Status::from_json(&bytes)
            .map(Some)
            .map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

enum Msg {
    /// An enrolment code (its text, with the token).
    Code(Personal<String>),
    WrongCode,
    CameraDown,
    /// The scan ended without a code (time out or stopped).
    ScanEnded {
        timed_out: bool,
    },
    /// The child ended: exit code and its last line of error output.
    ChildEnded(Option<i32>, String),
}

/// The technician screen's controller: owns the scan thread and the provisioning child.
pub struct Controller {
    ui: slint::Weak<AppWindow>,
    texts: Rc<Catalog>,
    settings: TechnicianSettings,
    lang: String,
    local: Local,
    stop_scan: Option<Arc<AtomicBool>>,
    /// `provision.lock`, held while the camera scans.
    scan_lock: Option<std::fs::File>,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    started_child: Option<i64>,
    last: Option<Screen>,
    finished_at: Option<Instant>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("lang", &self.lang)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// Turns `ui` into the technician screen (in Vietnamese) and wires its buttons.
    pub fn attach(
        ui: &AppWindow,
        texts: Rc<Catalog>,
        settings: TechnicianSettings,
    ) -> Rc<RefCell<Self>> {
        crate::shell::wire_translations(ui, &texts);
        let (tx, rx) = mpsc::channel();
        let c = Rc::new(RefCell::new(Self {
            ui: ui.as_weak(),
            texts,
            settings,
            lang: "vi".to_owned(),
            local: Local::Idle,
            stop_scan: None,
            scan_lock: None,
            tx,
            rx,
            started_child: None,
            last: None,
            finished_at: None,
        }));
        let t = ui.global::<Technician>();
        let weak = Rc::downgrade(&c);
        t.on_scan(move || {
            if let Some(c) = weak.upgrade() {
                if let Ok(mut c) = c.try_borrow_mut() {
                    c.scan_pressed();
                }
            }
        });
        let weak = Rc::downgrade(&c);
        t.on_switch_language(move || {
            if let Some(c) = weak.upgrade() {
                if let Ok(mut c) = c.try_borrow_mut() {
                    let lang = if c.lang == "vi" { "en" } else { "vi" };
                    c.set_language(lang);
                }
            }
        });
        t.set_active(true);
        c.borrow_mut().set_language("vi");
        c
    }

    /// The screen's language (`vi` or `en`).
    pub fn set_language(&mut self, lang: &str) {
        self.lang = lang.to_owned();
        if let Some(ui) = self.ui.upgrade() {
            ui.global::<Kiosk>().set_language(lang.into());
            let tr = ui.global::<Tr>();
            tr.set_revision(tr.get_revision().wrapping_add(1));
        }
        self.last = None;
        self.pump();
    }

    /// What the screen shows now.
    #[must_use]
    pub fn local(&self) -> &Local {
        &self.local
    }

    fn scan_pressed(&mut self) {
        if let Some(stop) = self.stop_scan.take() {
            stop.store(true, Ordering::Relaxed);
            self.local = Local::Idle;
        } else if self.local != Local::Provisioning {
            self.start_scan();
        }
        self.pump();
    }

    fn start_scan(&mut self) {
        // While the camera scans, no provisioning run (the boot unit retries every 30 s) may
        // start and find the camera busy in its self-test: hold the runs' lock.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.settings.state_dir.join(status::LOCK));
        let locked = lock.map_err(std::fs::TryLockError::Error).and_then(|f| {
            f.try_lock()?;
            Ok(f)
        });
        match locked {
            Ok(f) => self.scan_lock = Some(f),
            Err(std::fs::TryLockError::WouldBlock) => {
                self.local = Local::Busy;
                return;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                // Scanning without the lock is still better than no scanning.
                tracing::warn!(error = %e, "technician: cannot lock provision.lock");
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        self.stop_scan = Some(stop.clone());
        self.local = Local::Scanning;
        let (tx, camera) = (self.tx.clone(), self.settings.camera.clone());
        let spawned = std::thread::Builder::new()
            .name("kiosk-tech-scan".into())
            .spawn(move || scan(&camera, &stop, &tx));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the QR scan");
            self.stop_scan = None;
            self.scan_lock = None;
            self.local = Local::CameraDown;
        }
    }

    fn start_provisioning(&mut self, code: &Personal<String>) {
        // The camera is closed: the child takes the lock for its run.
        self.scan_lock = None;
        self.local = Local::Provisioning;
        self.started_child = Some(time::OffsetDateTime::now_utc().unix_timestamp());
        let s = &self.settings;
        tracing::info!(kioskctl = %s.kioskctl.display(), "technician: provisioning from an enrolment QR code");
        let child = Command::new(&s.kioskctl)
            .arg("provision")
            .args(["--qr", "-"])
            .arg("--state-dir")
            .arg(&s.state_dir)
            .arg("--file")
            .arg(&s.provision_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                self.local = Local::RunFailed(format!("{}: {e}", s.kioskctl.display()));
                return;
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            // The token goes through the pipe only; a child that died early is seen below.
            let _ = stdin.write_all(format!("{}\n", code.expose()).as_bytes());
        }
        let tx = self.tx.clone();
        let spawned = std::thread::Builder::new()
            .name("kiosk-tech-provision".into())
            .spawn(move || {
                let (code, last) = match child.wait_with_output() {
                    Ok(o) => (
                        o.status.code(),
                        String::from_utf8_lossy(&o.stderr)
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    ),
                    Err(e) => (None, e.to_string()),
                };
                let _ = tx.send(Msg::ChildEnded(code, last));
            });
        if let Err(e) = spawned {
            self.local = Local::RunFailed(e.to_string());
        }
    }

    /// Takes the workers' news, re-reads the status file and updates the screen. Returns
    /// whether the kiosk is provisioned and the pause after saying so is over.
    pub fn pump(&mut self) -> bool {
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Msg::Code(code) => {
                    if let Some(stop) = self.stop_scan.take() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    self.start_provisioning(&code);
                }
                Msg::WrongCode if self.stop_scan.is_some() => self.local = Local::WrongCode,
                Msg::CameraDown if self.stop_scan.is_some() => self.local = Local::CameraDown,
                Msg::ScanEnded { timed_out } => {
                    if self.local != Local::Provisioning {
                        self.stop_scan = None;
                        self.scan_lock = None;
                        if timed_out {
                            self.local = Local::ScanTimedOut;
                        } else if self.local == Local::Scanning {
                            self.local = Local::Idle;
                        }
                    }
                }
                Msg::ChildEnded(code, last) => {
                    tracing::info!(?code, "technician: kioskctl provision ended");
                    let wrote = read_status(&self.settings.state_dir)
                        .ok()
                        .flatten()
                        .zip(self.started_child)
                        .is_some_and(|(s, t)| s.started_at >= t);
                    self.local = if code == Some(0) || wrote {
                        Local::Idle
                    } else {
                        Local::RunFailed(last)
                    };
                }
                Msg::WrongCode | Msg::CameraDown => {}
            }
        }
        let status = read_status(&self.settings.state_dir);
        let enrolled = self.settings.state_dir.join("enrolled").is_file();
        let view = screen(
            &self.texts,
            &self.lang,
            status.as_ref().map(Option::as_ref).map_err(String::as_str),
            enrolled,
            &self.local,
        );
        if self.last.as_ref() != Some(&view) {
            self.show(&view);
            self.last = Some(view);
        }
        if enrolled {
            if let Some(stop) = self.stop_scan.take() {
                stop.store(true, Ordering::Relaxed);
            }
            let at = *self.finished_at.get_or_insert_with(Instant::now);
            return at.elapsed() >= FINISHED_PAUSE;
        }
        false
    }

    fn show(&self, v: &Screen) {
        let Some(ui) = self.ui.upgrade() else {
            return;
        };
        let t = ui.global::<Technician>();
        t.set_kiosk_line(v.kiosk_line.as_str().into());
        t.set_state(v.state.into());
        t.set_headline(v.headline.as_str().into());
        t.set_next(v.next.as_str().into());
        let rows: Vec<TechStep> = v
            .steps
            .iter()
            .map(|s| TechStep {
                number: i32::from(s.number),
                title: s.title.as_str().into(),
                state: s.state.into(),
                text: s.text.as_str().into(),
                next: s.next.as_str().into(),
            })
            .collect();
        let (first, then) = rows.split_at(rows.len().min(3));
        t.set_steps_first(ModelRc::new(VecModel::from(first.to_vec())));
        t.set_steps_then(ModelRc::new(VecModel::from(then.to_vec())));
        t.set_scan_line(v.scan_line.as_str().into());
        t.set_scanning(v.scanning);
        t.set_can_scan(v.can_scan);
    }

    /// Stops the scan (the camera is released when its thread sees it).
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop_scan.take() {
            stop.store(true, Ordering::Relaxed);
        }
        self.scan_lock = None;
    }
}

/// The scan thread: the camera's frames through the QR decoder until an enrolment code, the
/// stop flag or [`SCAN_WINDOW`]. The camera hub is dropped (the device closed) before the
/// code is sent on, so that the self-test of provisioning can open it.
fn scan(camera: &CameraSpec, stop: &AtomicBool, tx: &Sender<Msg>) {
    let started = Instant::now();
    let hub = match crate::app::camera_hub(camera) {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "technician: no camera");
            let _ = tx.send(Msg::CameraDown);
            let _ = tx.send(Msg::ScanEnded { timed_out: false });
            return;
        }
    };
    let mut scanner = kiosk_hw::qr::CameraQrScanner::new(hub.feed());
    let mut found = None;
    let mut timed_out = false;
    while !stop.load(Ordering::Relaxed) {
        if started.elapsed() >= SCAN_WINDOW {
            timed_out = true;
            break;
        }
        match scanner.poll(Duration::from_millis(300)) {
            Ok(Some(scan)) => match kiosk_qr::classify(scan.text.expose()) {
                Ok(kiosk_qr::Payload::Enrolment(_)) => {
                    found = Some(scan.text);
                    break;
                }
                _ => {
                    let _ = tx.send(Msg::WrongCode);
                }
            },
            Ok(None) => {}
            Err(e) if e.kind() == kiosk_hw::qr::QrErrorKind::Decode => {}
            Err(_) => {
                let _ = tx.send(Msg::CameraDown);
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
    drop(scanner);
    drop(hub);
    let _ = tx.send(match found {
        Some(code) => Msg::Code(code),
        None => Msg::ScanEnded { timed_out },
    });
}

/// How technician mode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// SIGTERM or SIGINT.
    Stopped,
    /// The kiosk is provisioned: start it.
    Provisioned,
}

/// Runs technician mode in a window until the kiosk is provisioned or a signal arrives.
///
/// # Errors
/// The window cannot be created or the language packs not loaded.
pub fn run(settings: TechnicianSettings, headless: bool) -> anyhow::Result<Ended> {
    use anyhow::Context as _;
    let _headless = if headless {
        Some(crate::headless::Headless::install_live(1080, 1920)?)
    } else {
        None
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("cannot install signal handler")?;
    }
    let texts = Rc::new(Catalog::embedded().context("language packs")?);
    let ui = AppWindow::new().context("cannot create the window")?;
    let controller = Controller::attach(&ui, texts, settings);
    let ended = Rc::new(std::cell::Cell::new(Ended::Stopped));
    let timer = slint::Timer::default();
    {
        let (controller, ended) = (controller.clone(), ended.clone());
        let mut watchdog = crate::service_manager::Watchdog::from_env();
        let origin = Instant::now();
        let mut last_pump = Instant::now();
        timer.start(
            slint::TimerMode::Repeated,
            Duration::from_millis(100),
            move || {
                if stop.load(Ordering::Relaxed) {
                    let _ = slint::quit_event_loop();
                    return;
                }
                if last_pump.elapsed() >= Duration::from_millis(500) {
                    last_pump = Instant::now();
                    let done = controller.try_borrow_mut().is_ok_and(|mut c| c.pump());
                    if done {
                        ended.set(Ended::Provisioned);
                        let _ = slint::quit_event_loop();
                    }
                }
                let ms = u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX);
                watchdog.tick(ms);
            },
        );
    }
    ui.window()
        .set_size(slint::LogicalSize::new(1080.0, 1920.0));
    ui.show().context("cannot show the window")?;
    tracing::info!("technician mode: the kiosk is not provisioned yet");
    slint::Timer::single_shot(Duration::ZERO, crate::service_manager::ready);
    slint::run_event_loop_until_quit().context("event loop")?;
    crate::service_manager::stopping();
    drop(timer);
    controller.borrow_mut().shutdown();
    Ok(ended.get())
}

/// The tour's technician screens, in `dir/<orientation>/<lang>/` for vi and en: nothing yet,
/// a step under way, a failed step with its next step, finished. Returns the files written.
///
/// # Errors
/// A status file or PNG could not be written.
pub(crate) fn tour(
    ui: &AppWindow,
    headless: &crate::headless::Headless,
    dir: &Path,
    orientations: &[(&str, u32, u32)],
) -> anyhow::Result<Vec<PathBuf>> {
    use crate::provision_status::{Source, Text};
    let state = TourDir::new()?;
    let texts = Rc::new(Catalog::embedded()?);
    let controller = Controller::attach(
        ui,
        texts,
        TechnicianSettings {
            state_dir: state.path().to_owned(),
            provision_file: PathBuf::from("/boot/efi/provision.toml"),
            kioskctl: PathBuf::from("kioskctl"),
            camera: CameraSpec::Sim,
        },
    );
    let mut st = Status::new(Source::File, Some(30), 1_767_225_600);
    st.identify(
        "HN-PB-001",
        "UBND phường Ba Đình",
        "https://gateway.hanoi.example.vn",
    );
    st.ok(
        StepId::File,
        Text::new(
            "provision.toml hợp lệ (kiosk HN-PB-001, cổng https://gateway.hanoi.example.vn)",
            "provision.toml ok (kiosk HN-PB-001, gateway https://gateway.hanoi.example.vn)",
        ),
        1_767_225_601,
    );
    let mut failed = st.clone();
    failed.fail(
        StepId::Enrol,
        Text::new(
            "Không kết nối được máy chủ cổng https://gateway.hanoi.example.vn.",
            "Cannot reach the gateway https://gateway.hanoi.example.vn.",
        ),
        Text::new(
            "Kiểm tra cáp mạng và địa chỉ cổng (`gateway.url`). Kiosk sẽ thử lại sau 30 giây.",
            "Check the network cable and the gateway's address (`gateway.url`). The kiosk tries \
             again in 30 seconds.",
        ),
        1_767_225_621,
    );
    let mut running = st.clone();
    for (id, vi, en) in [
        (StepId::Enrol, "đăng ký thành công", "enrolment ok"),
        (StepId::QueueKey, "đã tạo khóa hàng đợi", "queue key made"),
        (StepId::Config, "đã ghi cấu hình", "configuration written"),
    ] {
        running.ok(id, Text::new(vi, en), 1_767_225_630);
    }
    let mut finished = running.clone();
    running.begin(
        StepId::Selftest,
        Text::new(
            "Đang tự kiểm tra (mạng, đầu đọc thẻ, camera, máy in)",
            "Self-test under way (network, card reader, camera, printer)",
        ),
        1_767_225_631,
    );
    finished.ok(
        StepId::Selftest,
        Text::new("tự kiểm tra đạt", "self-test passed"),
        1_767_225_640,
    );
    finished.ok(
        StepId::Enrolled,
        Text::new("đã đăng ký", "enrolled"),
        1_767_225_641,
    );
    let scenes: [(&str, Option<&Status>); 4] = [
        ("waiting", None),
        ("running", Some(&running)),
        ("failed", Some(&failed)),
        ("finished", Some(&finished)),
    ];
    let mut written = Vec::new();
    for (orientation, w, h) in orientations {
        headless.resize(*w, *h);
        for lang in ["vi", "en"] {
            controller.borrow_mut().set_language(lang);
            let out = dir.join(orientation).join(lang);
            std::fs::create_dir_all(&out)?;
            for (n, (name, status)) in scenes.iter().enumerate() {
                let file = state.path().join(status::FILE);
                let marker = state.path().join("enrolled");
                match status {
                    Some(s) => std::fs::write(&file, s.to_json())?,
                    None => {
                        let _ = std::fs::remove_file(&file);
                    }
                }
                if *name == "finished" {
                    std::fs::write(&marker, "kiosk_id = \"HN-PB-001\"\n")?;
                } else {
                    let _ = std::fs::remove_file(&marker);
                }
                controller.borrow_mut().pump();
                headless.advance(Duration::from_millis(400));
                let path = out.join(format!("tech-{:02}-{name}.png", n + 1));
                headless.screenshot(&path)?;
                written.push(path);
            }
        }
    }
    ui.global::<Technician>().set_active(false);
    controller.borrow_mut().shutdown();
    Ok(written)
}

/// The tour's throw-away state folder, removed when dropped.
struct TourDir(PathBuf);

impl TourDir {
    fn new() -> std::io::Result<Self> {
        let p = std::env::temp_dir().join(format!("kiosk-tour-technician-{}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TourDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision_status::{Source, Text};

    fn texts() -> Catalog {
        Catalog::embedded().expect("catalogue")
    }

    #[test]
    fn nothing_yet_is_waiting_with_every_step_pending() {
        let s = screen(&texts(), "vi", Ok(None), false, &Local::Idle);
        assert_eq!(s.state, "waiting");
        assert_eq!(s.steps.len(), 6);
        assert!(s
            .steps
            .iter()
            .all(|x| x.state == "pending" && x.text.is_empty()));
        assert!(s.can_scan && !s.scanning);
        assert!(!s.headline.is_empty() && !s.headline.starts_with("tech-"));
    }

    #[test]
    fn a_failed_step_shows_why_and_what_next_in_the_language() {
        let mut st = Status::new(Source::File, Some(30), 0);
        st.identify("HN-PB-001", "Bộ phận Một cửa", "https://gw.example.vn");
        st.ok(StepId::File, Text::new("tệp hợp lệ", "file ok"), 1);
        st.fail(
            StepId::Enrol,
            Text::new(
                "Không kết nối được máy chủ cổng",
                "Cannot reach the gateway",
            ),
            Text::new("Kiểm tra cáp mạng", "Check the cable"),
            2,
        );
        let t = texts();
        let vi = screen(&t, "vi", Ok(Some(&st)), false, &Local::Idle);
        assert_eq!(vi.state, "failed");
        assert_eq!(vi.next, "Kiểm tra cáp mạng");
        assert!(vi.kiosk_line.contains("HN-PB-001") && vi.kiosk_line.contains("Bộ phận Một cửa"));
        assert_eq!(vi.steps[0].state, "ok");
        assert_eq!(vi.steps[1].state, "failed");
        assert_eq!(vi.steps[1].next, "Kiểm tra cáp mạng");
        assert_eq!(vi.steps[2].state, "pending");
        assert!(vi.headline.contains('2'), "{}", vi.headline);
        let en = screen(&t, "en", Ok(Some(&st)), false, &Local::Idle);
        assert_eq!(en.steps[1].text, "Cannot reach the gateway");
        assert_ne!(en.steps[1].title, vi.steps[1].title);
    }

    #[test]
    fn running_blocks_scanning_and_the_marker_finishes() {
        let mut st = Status::new(Source::Qr, None, 0);
        st.begin(StepId::File, Text::new("a", "a"), 0);
        let t = texts();
        let s = screen(&t, "vi", Ok(Some(&st)), false, &Local::Idle);
        assert_eq!(s.state, "running");
        assert!(!s.can_scan);
        let s = screen(&t, "vi", Ok(Some(&st)), true, &Local::Idle);
        assert_eq!(s.state, "finished");
        assert!(!s.can_scan);
        let s = screen(&t, "en", Err("bad json"), false, &Local::Idle);
        assert!(s.scan_line.contains("bad json"), "{}", s.scan_line);
        let s = screen(&t, "en", Ok(None), false, &Local::RunFailed("busy".into()));
        assert!(s.scan_line.contains("busy"), "{}", s.scan_line);
    }
}
