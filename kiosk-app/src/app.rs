//! The `kiosk` binary's body: arguments, configuration, logging, hardware selection, the
//! window or the headless tour, and orderly shutdown on SIGTERM.

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use kiosk_hw::card::{SimCardControl, VirtualCard};
use kiosk_hw::printer::{EscPosPrinter, PrinterOptions, ReceiptPrinter, VirtualPrinter};
use kiosk_hw::sim::SimHardware;
use kiosk_ui::{AppWindow, Kiosk};
use kiosk_vcard::VirtualCccd;
use slint::ComponentHandle as _;

use crate::catalog::{Catalog, EntryKind};
use crate::config::{self, CameraSpec, CardReaderSpec, KioskConfig, Mode, PrinterSpec, QrSpec};
use crate::devices::{Devices, FaceVerifier, Hardware};
use crate::gateway::{GatewayClient, SubmissionKind, SubmissionRequest};
use crate::identity::CscaTrust;
use crate::session::{Dossier, FaceOutcome, Millis, ReceiptInfo, SubmitFailure};
use crate::shell::{Parts, Shell, Submitter};
use crate::submit::{QueuedSubmitter, Submitted};
use crate::{i18n, logging, receipt};
use kiosk_outbox::{KeyFile, KeySource as _, LinkWatcher, Outbox};

/// Command line of `kiosk`.
#[derive(Debug, Parser)]
#[command(name = "kiosk", version, about = "CCCD self-service kiosk (Đề án 06)")]
pub struct Args {
    /// The kiosk's configuration file (TOML).
    #[arg(long, default_value = "/etc/kiosk/kiosk.toml")]
    pub config: PathBuf,
    /// Walk the whole citizen flow without a display and write a PNG of every screen into DIR.
    #[arg(long, value_name = "DIR")]
    pub tour: Option<PathBuf>,
    /// Run without a screen: the real kiosk (timers, devices, gateway) with nothing drawn.
    /// For soak and shutdown tests, and a kiosk booted before its screen is attached.
    #[arg(long, conflicts_with = "tour")]
    pub headless: bool,
    /// Also write the log to this file (overrides `logging.file`).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// The kiosk's state folder (`/var/lib/kiosk` on the image), instead of --config: with
    /// its `enrolled` marker the kiosk runs from DIR/kiosk.toml; without it, technician mode
    /// (the provisioning screen, camera and display only; see `technician`).
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub state_dir: Option<PathBuf>,
    /// Technician mode: provision.toml, for a provisioning from an enrolment QR code.
    #[arg(long, value_name = "FILE", default_value = "/boot/efi/provision.toml")]
    pub provision_file: PathBuf,
    /// Technician mode: the `kioskctl` program (default: the one next to `kiosk`).
    #[arg(long, value_name = "PATH")]
    pub kioskctl: Option<PathBuf>,
    /// Technician mode: the camera that scans the enrolment QR code (`auto`, `/dev/videoN`,
    /// `replay:DIR`, as `devices.camera`).
    #[arg(long, value_name = "CAMERA", default_value = "auto")]
    pub camera: String,
}

/// Exit codes, documented for the systemd unit and the tests.
pub mod exit {
    /// Clean shutdown (including SIGTERM).
    pub const OK: u8 = 0;
    /// Something failed at run time.
    pub const FAILURE: u8 = 1;
    /// The configuration is invalid: fix the file and start again.
    pub const BAD_CONFIG: u8 = 2;
    /// No display to draw on.
    pub const NO_DISPLAY: u8 = 3;
}

/// Technician mode: `kiosk --state-dir DIR` on a kiosk without `DIR/enrolled`. When it ends
/// because provisioning finished, the process becomes a fresh `kiosk` with the same
/// arguments, which finds the marker and serves.
fn technician_mode(args: &Args, state_dir: &std::path::Path) -> u8 {
    let camera = match config::parse_camera(&args.camera) {
        Ok(c) => c,
        Err((problem, fix)) => {
            eprintln!("kiosk: --camera: {problem}; {fix}");
            return exit::BAD_CONFIG;
        }
    };
    let kioskctl = args.kioskctl.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("kioskctl")))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("kioskctl"))
    });
    let logging = config::LoggingSettings {
        file: args.log_file.clone(),
        ..config::LoggingSettings::default()
    };
    let _log = match logging::init(&logging) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("kiosk: cannot start logging: {e}");
            return exit::BAD_CONFIG;
        }
    };
    if !args.headless && !display_available() {
        eprintln!("kiosk: no display found for the technician screen");
        return exit::NO_DISPLAY;
    }
    let settings = crate::technician::TechnicianSettings {
        state_dir: state_dir.to_owned(),
        provision_file: args.provision_file.clone(),
        kioskctl,
        camera,
    };
    match crate::technician::run(settings, args.headless) {
        Ok(crate::technician::Ended::Stopped) => exit::OK,
        Ok(crate::technician::Ended::Provisioned) => {
            tracing::info!("provisioned: starting the kiosk");
            restart_self()
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "technician mode stopped");
            eprintln!("kiosk: {e:#}");
            exit::FAILURE
        }
    }
}

/// Replaces this process with a fresh `kiosk` (same program, same arguments); the PID stays,
/// so systemd keeps watching it. If that fails, exit 0: the unit's `Restart=always` starts it.
fn restart_self() -> u8 {
    use std::os::unix::process::CommandExt as _;
    let Ok(program) = std::env::current_exe() else {
        return exit::OK;
    };
    let err = std::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .exec();
    tracing::warn!(error = %err, "cannot restart in place; exiting for the service manager");
    exit::OK
}

/// Runs the kiosk; returns the process exit code.
pub fn main_with(args: Args) -> u8 {
    // Before anything personal or secret is in memory.
    if let Err(e) = crate::hardening::forbid_core_dumps() {
        eprintln!("kiosk: cannot disable core dumps: {e}");
        return exit::FAILURE;
    }
    let config_path = match &args.state_dir {
        Some(dir) if args.tour.is_none() && !dir.join("enrolled").is_file() => {
            return technician_mode(&args, dir);
        }
        Some(dir) => dir.join("kiosk.toml"),
        None => args.config.clone(),
    };
    let mut cfg = match config::load(&config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kiosk: configuration error: {e}");
            return exit::BAD_CONFIG;
        }
    };
    if let Some(f) = args.log_file.clone() {
        cfg.logging.file = Some(f);
    }
    let _log = match logging::init(&cfg.logging) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("kiosk: cannot start logging: {e}");
            return exit::BAD_CONFIG;
        }
    };
    let result = match &args.tour {
        Some(dir) => crate::tour::run(cfg, dir),
        None => run_window(cfg, args.headless),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "kiosk stopped");
            eprintln!("kiosk: {e:#}");
            exit::FAILURE
        }
    }
}

/// Whether a window can be opened: a desktop session, or a backend that draws to the screen
/// directly (linuxkms on the kiosk, chosen with `SLINT_BACKEND`).
fn display_available() -> bool {
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    set("DISPLAY") || set("WAYLAND_DISPLAY") || on_linuxkms()
}

fn run_window(cfg: KioskConfig, headless: bool) -> anyhow::Result<u8> {
    let _headless = if headless {
        Some(crate::headless::Headless::install_live(1080, 1920)?)
    } else {
        None
    };
    if !headless && !display_available() {
        eprintln!(
            "kiosk: no display found (DISPLAY, WAYLAND_DISPLAY unset and SLINT_BACKEND is not \
             linuxkms); for a headless tour that writes a PNG of every screen run: \
             cargo xtask demo --tour out/tour   (or: kiosk --config FILE --tour DIR; \
             kiosk --headless runs it without drawing)"
        );
        return Ok(exit::NO_DISPLAY);
    }
    let started = Instant::now();
    // A 1080x1920 kiosk screen does not fit a laptop: in demo mode on a desktop, draw at half
    // scale unless the developer chose a scale.
    if cfg.demo && !headless && std::env::var_os("SLINT_SCALE_FACTOR").is_none() && !on_linuxkms() {
        std::env::set_var("SLINT_SCALE_FACTOR", "0.5");
    }
    let (w, h) = match cfg.ui.orientation {
        config::Orientation::Portrait => (1080.0, 1920.0),
        config::Orientation::Landscape => (1920.0, 1080.0),
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("cannot install signal handler")?;
    }
    let ui = AppWindow::new().context("cannot create the window")?;
    let kiosk = Assembled::build(cfg, &ui, real_clock())?;
    let shell = kiosk.shell.clone();
    let timer = slint::Timer::default();
    {
        let shell = shell.clone();
        let stop = stop.clone();
        // The watchdog ping rides on the UI thread's own timer: a hung UI stops it.
        let mut watchdog = crate::service_manager::Watchdog::from_env();
        let clock = real_clock();
        timer.start(
            slint::TimerMode::Repeated,
            Duration::from_millis(100),
            move || {
                if stop.load(Ordering::Relaxed) {
                    tracing::info!("termination signal: shutting down");
                    let _ = slint::quit_event_loop();
                    return;
                }
                if let Ok(mut s) = shell.try_borrow_mut() {
                    s.pump();
                }
                watchdog.tick(clock().0);
            },
        );
    }
    ui.window().set_size(slint::LogicalSize::new(w, h));
    ui.show().context("cannot show the window")?;
    tracing::info!(ms = started.elapsed().as_millis() as u64, "kiosk ready");
    // READY=1 from inside the event loop, so systemd hears it once the loop is drawing.
    slint::Timer::single_shot(Duration::ZERO, crate::service_manager::ready);
    slint::run_event_loop_until_quit().context("event loop")?;
    crate::service_manager::stopping();
    drop(timer);
    shell.borrow_mut().shutdown();
    tracing::info!("shutdown complete; no session data kept");
    Ok(exit::OK)
}

fn on_linuxkms() -> bool {
    std::env::var("SLINT_BACKEND").is_ok_and(|b| b.starts_with("linuxkms"))
}

fn real_clock() -> crate::shell::Clock {
    let origin = Instant::now();
    Rc::new(move || Millis(u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)))
}

/// A kiosk assembled from its configuration: the shell plus the simulator controls the demo
/// buttons use.
pub(crate) struct Assembled {
    pub shell: Rc<std::cell::RefCell<Shell>>,
    pub sim: Option<SimControls>,
    /// What the silent speaker was asked to say (`audio.output = "sim"`, demos and the tour).
    pub speech: Option<kiosk_hw::audio::SimSpeakerLog>,
    /// Wakes the submission queue when a network link comes up; stops when dropped (first,
    /// before the demo gateway and queue folder go).
    _link: Option<LinkWatcher>,
    /// The client certificate's renewal check (https gateways); stops when dropped.
    _renewal: Option<Box<dyn std::any::Any>>,
    /// The heartbeat to the gateway (https gateways, `gateway.heartbeat_interval_s`); stops
    /// when dropped.
    _heartbeat: Option<crate::heartbeat::HeartbeatThread>,
    /// Kept alive for as long as the kiosk runs (the demo's local gateway).
    _gateway: Option<DemoGateway>,
    /// The demo's throw-away queue folder, removed when the kiosk stops.
    _queue_dir: Option<DemoQueueDir>,
}

/// Handles on the simulated devices (demo only).
#[derive(Clone)]
pub(crate) struct SimControls {
    pub card: kiosk_hw::card::SimCardControl,
    pub qr: kiosk_hw::qr::SimQrControl,
    /// The demo's virtual CCCD (the synthetic citizen of `kiosk_hw::sim::DEMO_QR`).
    pub chip: DemoChip,
    /// The demo's virtual ESC/POS printer (`printer = "virtual:DIR"`), listening for as long
    /// as the kiosk runs.
    pub _printer: Option<Arc<VirtualPrinter>>,
}

/// A configured printer driver (`None`: the simulators' own) and the virtual printer it talks
/// to, if the kiosk started one.
type PrinterParts = (
    Option<Box<dyn ReceiptPrinter + Send>>,
    Option<VirtualPrinter>,
);

/// The receipt printer the configuration names: the ESC/POS driver for a real printer, or for
/// `virtual:DIR` the virtual printer started here on 127.0.0.1 (a free port) with the same TCP
/// driver pointed at it. `None` for `sim:DIR` (the simulators' printer).
fn receipt_printer(d: &config::Devices) -> anyhow::Result<PrinterParts> {
    let options = PrinterOptions {
        width_dots: d.printer_dots(),
        ..PrinterOptions::default()
    };
    if let Some(device) = d.printer.device() {
        tracing::info!(%device, width_dots = options.width_dots, "receipt printer");
        return Ok((Some(Box::new(EscPosPrinter::new(device, options))), None));
    }
    let out = match &d.printer {
        PrinterSpec::Virtual(dir) => dir,
        _ => return Ok((None, None)),
    };
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let printer = VirtualPrinter::start(listen, out, options.width_dots).with_context(|| {
        format!(
            "devices.printer: cannot start the virtual printer in {}",
            out.display()
        )
    })?;
    let driver = EscPosPrinter::new(printer.device(), options);
    Ok((Some(Box::new(driver)), Some(printer)))
}

/// The demo's one virtual CCCD chip (kiosk-vcard, the demo profile): every tap puts the same
/// chip, signed by the same generated test PKI that the demo trusts, on the simulated reader,
/// powered up afresh (no secure messaging left from the previous tap).
#[derive(Clone)]
pub(crate) struct DemoChip(Arc<std::sync::Mutex<VirtualCccd>>);

impl DemoChip {
    /// The chip and the CSCA certificate (DER) that verifies it.
    fn new() -> anyhow::Result<(Self, Vec<u8>)> {
        let (chip, trust) =
            VirtualCccd::demo().map_err(|e| anyhow::anyhow!("the demo card: {e}"))?;
        Ok((Self(Arc::new(std::sync::Mutex::new(chip))), trust.csca_der))
    }

    /// Puts the card on the reader.
    pub(crate) fn tap(&self, reader: &SimCardControl) {
        if let Ok(mut chip) = self.0.lock() {
            chip.reset();
        }
        reader.insert(Box::new(self.clone()));
    }
}

impl VirtualCard for DemoChip {
    fn atr(&self) -> Vec<u8> {
        kiosk_vcard::chip::ATR.to_vec()
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        match self.0.lock() {
            Ok(mut chip) => chip.process(apdu),
            // A poisoned lock (a panic mid-APDU) reads as a broken transport.
            Err(_) => Vec::new(),
        }
    }
}

impl Assembled {
    /// Picks the hardware, starts the workers and the demo gateway, wires the shell.
    pub(crate) fn build(
        cfg: KioskConfig,
        ui: &AppWindow,
        clock: crate::shell::Clock,
    ) -> anyhow::Result<Self> {
        let cfg = Rc::new(cfg);
        let texts = Rc::new(
            i18n::Catalog::new(cfg.ui.locales_dir.as_deref())
                .context("cannot load the translations")?,
        );
        let (gateway, base_url) = gateway(&cfg)?;
        let catalog = match &cfg.catalog_file {
            Some(p) => Catalog::load(p, cfg.mode).map_err(|e| anyhow::anyhow!("{e}"))?,
            None if cfg.gateway.catalog_download => downloaded_catalog(&cfg, &base_url),
            None => Catalog::builtin(cfg.mode),
        };
        let units = Arc::new(admin_units(&cfg)?);
        let (hardware, sim) = hardware(&cfg)?;
        let devices = Devices::start(hardware).context("cannot start device threads")?;
        let (outbox, queue_dir) = open_outbox(&cfg)?;
        let outbox_stats = Arc::clone(&outbox);
        let started = Instant::now();
        let wait = Duration::from_secs(cfg.gateway.timeout_secs);
        let mut renewal = None;
        let mut heartbeat_sink = None;
        let queued = if base_url.starts_with("https://") {
            let (queued, r, sink) = start_https(&cfg, &base_url, outbox, wait)?;
            renewal = r;
            heartbeat_sink = Some(sink);
            queued
        } else {
            let client = GatewayClient::new(&base_url, wait)
                .map_err(|e| anyhow::anyhow!("gateway.url: {e}"))?;
            match &cfg.gateway.fhir_url {
                // A hospital's FHIR server on the loopback interface (demo: e.g. sekmet-fhir).
                Some(f) => {
                    let fhir = GatewayClient::new(f.as_str(), wait)
                        .map_err(|e| anyhow::anyhow!("gateway.fhir_url: {e}"))?;
                    tracing::info!(url = f.as_str(), "clinic registrations go to a FHIR server");
                    QueuedSubmitter::start_loopback_fhir(
                        outbox,
                        client,
                        fhir,
                        cfg.queue.worker_config(wait),
                        wait,
                    )
                }
                None => QueuedSubmitter::start_loopback(
                    outbox,
                    client,
                    cfg.queue.worker_config(wait),
                    wait,
                ),
            }
            .context("cannot start the submission queue")?
        };
        let submitter = Arc::new(GatewaySubmitter {
            queued,
            units: units.clone(),
            catalog: catalog.clone(),
            kind: match cfg.mode {
                Mode::OneStopShop => SubmissionKind::Tthc,
                Mode::Hospital => SubmissionKind::Clinic,
            },
        });
        let link = watch_links(Arc::clone(&submitter));
        let compose = receipt_composer(&cfg, texts.clone(), catalog.clone());
        let mut seed = [0u8; 16];
        rand::fill(&mut seed);
        let shell = Shell::install(
            ui,
            Parts {
                config: cfg.clone(),
                texts,
                catalog,
                devices,
                submitter,
                compose_receipt: compose,
                units,
                clock,
                id_seed: u128::from_le_bytes(seed),
            },
        );
        shell.borrow_mut().set_lookup_endpoint(
            crate::gateway::lookup::LookupEndpoint::from_config(&cfg.gateway, &base_url),
        );
        if let Some(sim) = &sim {
            wire_demo_buttons(ui, sim);
        }
        let speech = start_audio(&cfg, &shell);
        let health = shell.borrow().health_board();
        let heartbeat = heartbeat_sink
            .and_then(|sink| start_heartbeat(&cfg, sink, outbox_stats, health, started));
        Ok(Self {
            shell,
            sim,
            speech,
            _link: link,
            _renewal: renewal,
            _heartbeat: heartbeat,
            _gateway: gateway,
            _queue_dir: queue_dir,
        })
    }
}

/// The heartbeat thread (`gateway.heartbeat_interval_s`, `None` when 0): the first beat a few
/// seconds after start (the device workers have reported by then), then one per interval.
/// A kiosk that cannot start the thread still serves, with a warning.
fn start_heartbeat(
    cfg: &KioskConfig,
    sink: Arc<dyn crate::heartbeat::Post>,
    outbox: Arc<Outbox>,
    health: crate::heartbeat::HealthBoard,
    started: Instant,
) -> Option<crate::heartbeat::HeartbeatThread> {
    use crate::heartbeat::{os_version, Facts, HeartbeatThread};
    let interval = cfg.gateway.heartbeat_interval?;
    let os = os_version(
        &std::fs::read_to_string("/etc/os-release").unwrap_or_default(),
        &std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default(),
    );
    let config_sha256 = cfg.source_sha256.clone();
    let cert = cfg.gateway.client_identity.as_ref().map(|(c, _)| c.clone());
    let facts = move || {
        let stats = outbox.stats().ok();
        let now = time::OffsetDateTime::now_utc();
        Facts {
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            os_version: os.clone(),
            config_sha256: config_sha256.clone(),
            health: health.snapshot(),
            queue_depth: stats
                .as_ref()
                .map(|s| s.pending.saturating_add(s.in_flight)),
            dead_letters: stats.as_ref().map(|s| s.dead),
            // Read at every beat: a renewal replaces the file.
            cert_not_after: cert.as_ref().and_then(|p| {
                let pem = std::fs::read_to_string(p).ok()?;
                crate::gateway::enrol::CertificateInfo::from_pem(&pem)
                    .ok()
                    .map(|i| i.not_after)
            }),
            now: now.unix_timestamp(),
            now_vietnam: crate::gateway::codes::now_vietnam(),
            uptime: started.elapsed(),
        }
    };
    let first = Duration::from_secs(5).min(interval);
    match HeartbeatThread::start(sink, facts, first, interval) {
        Ok(t) => {
            tracing::info!(
                interval_s = interval.as_secs(),
                "heartbeat to the gateway on"
            );
            Some(t)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the heartbeat thread: the gateway will not hear from this kiosk between submissions");
            None
        }
    }
}

/// The speaker of `[audio]` on its worker thread, handed to the shell. A kiosk whose speech
/// engine is missing still serves (on screen only), with a warning naming the fix.
fn start_audio(
    cfg: &KioskConfig,
    shell: &Rc<std::cell::RefCell<Shell>>,
) -> Option<kiosk_hw::audio::SimSpeakerLog> {
    use crate::config::AudioOutput;
    use kiosk_hw::audio::{AudioWorker, EspeakSettings, EspeakSpeaker, SimSpeaker, Speaker};
    let a = &cfg.audio;
    let (speaker, log): (Box<dyn Speaker>, _) = match a.output {
        AudioOutput::Off => return None,
        AudioOutput::Sim => {
            let s = SimSpeaker::new();
            let log = s.log();
            (Box::new(s), Some(log))
        }
        AudioOutput::Espeak => match EspeakSpeaker::new(EspeakSettings {
            player: a.player.clone(),
            words_per_minute: a.words_per_minute,
            volume: a.volume,
            ..EspeakSettings::default()
        }) {
            Ok(s) => {
                for lang in &cfg.ui.languages {
                    if !s.has_voice(lang) {
                        tracing::warn!(lang, "espeak-ng has no voice for this language: its prompts are shown, not spoken");
                    }
                }
                (Box::new(s), None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "spoken prompts off: install espeak-ng (Debian package espeak-ng)");
                return None;
            }
        },
    };
    match AudioWorker::spawn(speaker, a.muted) {
        Ok(w) => {
            w.set_volume(a.volume);
            shell.borrow_mut().set_audio(w);
            log
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the audio thread: spoken prompts off");
            None
        }
    }
}

/// The OS link-up hook: a network interface coming up makes the queue retry at once rather
/// than at its next probe. Without it (no sysfs, no thread) the kiosk still works: the worker
/// probes an unreachable gateway on its own.
fn watch_links(submitter: Arc<GatewaySubmitter>) -> Option<LinkWatcher> {
    match LinkWatcher::start("/sys", kiosk_outbox::link::POLL_INTERVAL, move || {
        submitter.queued.network_returned()
    }) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "cannot watch the network links: queued submissions are retried on probes only"
            );
            None
        }
    }
}

fn wire_demo_buttons(ui: &AppWindow, sim: &SimControls) {
    let k = ui.global::<Kiosk>();
    let (card, chip) = (sim.card.clone(), sim.chip.clone());
    k.on_demo_tap_card(move || chip.tap(&card));
    let card = sim.card.clone();
    k.on_demo_remove_card(move || card.remove());
    let qr = sim.qr.clone();
    k.on_demo_show_qr(move || qr.present(kiosk_hw::sim::DEMO_QR));
}

/// Builds the devices the configuration names. The receipt printer may be real (ESC/POS over
/// USB, TCP or serial), the card reader pcscd's. A device that is missing does not fail this:
/// the printer driver opens per job, the PC/SC reader is opened when it appears
/// ([`crate::devices::LazyCardReader`]), the camera is one stream (a
/// `kiosk_hw::camera::capture::CameraHub`: V4L2, or a simulator in a demo; one feed for the QR
/// scanner, one for the face worker) that opens the device when it appears; the workers report
/// them down and the kiosk starts out of service.
fn hardware(cfg: &KioskConfig) -> anyhow::Result<(Hardware, Option<SimControls>)> {
    let d = &cfg.devices;
    // Chips are verified against `card.trust_dir`; the demo card's generated test CSCA is
    // added in demo mode (configuration requires the folder otherwise).
    let mut trust = CscaTrust::new(Vec::new(), cfg.card.allow_unknown_csca);
    if let Some(dir) = &cfg.card.trust_dir {
        let certs = CscaTrust::load_dir(dir).map_err(|e| {
            anyhow::anyhow!("card.trust_dir: {e} (check it with `kioskctl config check`)")
        })?;
        for c in certs {
            trust.add(c);
        }
    }
    let (chip, demo_csca) = DemoChip::new()?;
    if cfg.demo {
        trust.add(demo_csca);
    }
    tracing::info!(certificates = trust.len(), "CSCA trust store loaded");
    let hub = camera_hub(&d.camera)?;
    let camera: Box<dyn kiosk_hw::camera::FrameSource + Send> = Box::new(hub.feed());
    let (printer, virtual_printer) = receipt_printer(d)?;
    // The simulators' own printer writes next to the receipts it would print (unused when a
    // real or virtual printer is configured).
    let out = match &d.printer {
        PrinterSpec::Sim(dir) => dir.clone(),
        _ => std::env::temp_dir().join("kiosk-sim-printer"),
    };
    let sim = SimHardware::demo_in(&out);
    let controls = SimControls {
        card: sim.card.clone(),
        qr: sim.qr.clone(),
        chip,
        _printer: virtual_printer.map(Arc::new),
    };
    let printer = printer.unwrap_or_else(|| Box::new(sim.printer));
    let card_reader: Box<dyn kiosk_hw::card::CardReader + Send> = match &d.card_reader {
        CardReaderSpec::Sim => Box::new(sim.card_reader),
        CardReaderSpec::Auto => pcsc_reader(None)?,
        CardReaderSpec::Named(name) => pcsc_reader(Some(name))?,
    };
    let qr: Box<dyn kiosk_hw::qr::QrScanner + Send> = match &d.qr {
        QrSpec::Sim => Box::new(sim.qr_scanner),
        // The same stream as the face worker's: one reader, a feed each.
        QrSpec::Camera => Box::new(kiosk_hw::qr::CameraQrScanner::new(hub.feed())),
    };
    let hw = Hardware {
        card_reader,
        card_trust: trust,
        qr,
        camera,
        printer,
        face: face_verifier(&cfg.face)?,
    };
    Ok((hw, Some(controls)))
}

/// The one camera stream of the kiosk. It starts even when the camera is missing or
/// unusable: the hub reports that to the workers (the citizen is told at the face step) and
/// opens the camera when it appears.
pub(crate) fn camera_hub(
    spec: &CameraSpec,
) -> anyhow::Result<kiosk_hw::camera::capture::CameraHub> {
    use kiosk_hw::camera::capture::{CameraHub, HubSettings};
    let settings = HubSettings::default();
    let hub = match spec {
        CameraSpec::Sim => CameraHub::from_source(
            kiosk_hw::camera::PatternSource::new(640, 480, 15)?,
            settings,
        )?,
        CameraSpec::Replay(dir) => {
            CameraHub::from_source(kiosk_hw::camera::ReplaySource::open(dir, 15)?, settings)?
        }
        CameraSpec::Device(path) => v4l2_hub(Some(path), settings)?,
        CameraSpec::Auto => v4l2_hub(None, settings)?,
    };
    // Say at start-up what the camera does, without holding the start-up up for long.
    match hub.wait_streaming(Duration::from_secs(2)) {
        Ok(n) => tracing::info!(camera = %n, "camera ready"),
        Err(e) => tracing::warn!(error = %e, "camera not ready yet; the kiosk retries by itself"),
    }
    Ok(hub)
}

/// A V4L2 camera hub (`path` `None`: `auto`), 1280x720 at 30 fps wanted.
#[cfg(feature = "v4l2")]
fn v4l2_hub(
    path: Option<&std::path::Path>,
    settings: kiosk_hw::camera::capture::HubSettings,
) -> anyhow::Result<kiosk_hw::camera::capture::CameraHub> {
    use kiosk_hw::camera::v4l2::{self, V4l2Config, V4l2Device};
    let device = path.map_or(V4l2Device::Auto, |p| V4l2Device::Path(p.to_owned()));
    Ok(v4l2::hub(V4l2Config::new(device), settings)?)
}

/// Without the `v4l2` feature (on by default) the camera stays missing: the kiosk starts out
/// of service and says why in the log.
#[cfg(not(feature = "v4l2"))]
fn v4l2_hub(
    path: Option<&std::path::Path>,
    settings: kiosk_hw::camera::capture::HubSettings,
) -> anyhow::Result<kiosk_hw::camera::capture::CameraHub> {
    let path = path.unwrap_or(std::path::Path::new("auto"));
    Ok(kiosk_hw::camera::capture::CameraHub::from_source(
        MissingCamera::new(path),
        settings,
    )?)
}

/// A camera device the kiosk cannot open (no V4L2 driver in this build): every frame request
/// fails with "no device", so the face worker reports the camera down, the kiosk shows the
/// out-of-service screen and says why in the log, and nothing aborts.
#[cfg(not(feature = "v4l2"))]
struct MissingCamera {
    name: String,
}

#[cfg(not(feature = "v4l2"))]
impl MissingCamera {
    fn new(path: &std::path::Path) -> Self {
        tracing::error!(
            device = "camera",
            path = %path.display(),
            "devices.camera: this kiosk has no V4L2 driver built in; the camera stays unavailable"
        );
        Self {
            name: path.display().to_string(),
        }
    }
}

#[cfg(not(feature = "v4l2"))]
impl kiosk_hw::camera::FrameSource for MissingCamera {
    fn info(&self) -> kiosk_hw::SourceInfo {
        kiosk_hw::SourceInfo {
            name: self.name.clone(),
            width: 0,
            height: 0,
            fps: 0,
        }
    }

    fn next_frame(
        &mut self,
        timeout: Duration,
    ) -> Result<kiosk_hw::camera::Frame, kiosk_hw::CameraError> {
        // Waits as a silent camera would, so no caller spins on it.
        std::thread::sleep(timeout.min(Duration::from_millis(100)));
        Err(kiosk_hw::CameraError::new(
            kiosk_hw::CameraErrorKind::NoDevice,
            format!("{}: no V4L2 driver in this build", self.name),
        ))
    }
}

/// The face verifier the configuration names. The dlib models are loaded (and their SHA-256
/// checked) here, once, at start-up: a missing or altered model file is a start-up error.
fn face_verifier(f: &crate::config::FaceSettings) -> anyhow::Result<FaceVerifier> {
    use crate::config::FaceVerifierKind;
    Ok(match f.verifier {
        // The demo shows the camera for two seconds and accepts.
        FaceVerifierKind::Simulated => FaceVerifier::Simulated {
            capture: Duration::from_secs(2),
            outcome: FaceOutcome {
                matched: true,
                score: 0.92,
                live: true,
            },
        },
        FaceVerifierKind::Dlib => {
            let t = std::time::Instant::now();
            let models = kiosk_face::FaceModels::load(&f.models_dir)
                .map_err(|e| anyhow::anyhow!("face.models_dir: {e}"))?;
            tracing::info!(ms = t.elapsed().as_millis() as u64, "face models loaded");
            let mut config = kiosk_face::VerifyConfig {
                threshold: f.threshold,
                turns: f.liveness_turns,
                ..kiosk_face::VerifyConfig::default()
            };
            config.challenge.mirrored = f.mirrored;
            FaceVerifier::Dlib(Box::new(crate::devices::DlibVerifier { models, config }))
        }
    })
}

/// The demo's gateway: with `url = "http://127.0.0.1:0"` the kiosk starts its own on a free
/// loopback port.
/// A PC/SC reader (`devices.card_reader = "auto"` or a name), opened when pcscd and the reader
/// are there: a kiosk that starts before them (or without its reader) starts anyway, out of
/// service, and the identify worker keeps trying ([`crate::devices::LazyCardReader`]).
#[cfg(feature = "pcsc")]
fn pcsc_reader(name: Option<&str>) -> anyhow::Result<Box<dyn kiosk_hw::card::CardReader + Send>> {
    use kiosk_hw::card::CardReader as _;
    let wanted = name.map(str::to_owned);
    let label = format!("pcsc:{}", name.unwrap_or("auto"));
    // Each kind of failure is logged once (with what pcscd said: reader names, never card
    // data), not every retry.
    let mut last_kind = None;
    let open: crate::devices::ReaderOpener =
        Box::new(
            move || match kiosk_hw::card::pcsc::PcscCardReader::open(wanted.as_deref()) {
                Ok(r) => {
                    tracing::info!(reader = r.name(), "PC/SC card reader");
                    last_kind = None;
                    Ok(Box::new(r) as Box<dyn kiosk_hw::card::CardReader + Send>)
                }
                Err(e) => {
                    if last_kind != Some(e.kind()) {
                        last_kind = Some(e.kind());
                        tracing::warn!(
                            device = "card-reader",
                            error = %e,
                            "devices.card_reader: cannot open the reader yet, retrying \
                             (`kioskctl card readers` lists the readers pcscd sees)"
                        );
                    }
                    Err(e)
                }
            },
        );
    Ok(Box::new(crate::devices::LazyCardReader::new(label, open)))
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_reader(_name: Option<&str>) -> anyhow::Result<Box<dyn kiosk_hw::card::CardReader + Send>> {
    bail!(
        "devices.card_reader: this kiosk was built without PC/SC support (cargo feature `pcsc`); \
         use \"sim\" with demo = true"
    )
}

/// What [`start_https`] starts: the submission queue, the certificate renewal check (kept
/// alive), and the transport the heartbeat posts through.
type HttpsParts = (
    QueuedSubmitter,
    Option<Box<dyn std::any::Any>>,
    Arc<dyn crate::heartbeat::Post>,
);

/// The production submission path: the outbox worker sends over HTTPS with mutual TLS, trusting
/// only `gateway.ca_file` (and the optional `gateway.spki_sha256` pin).
#[cfg(feature = "https")]
fn start_https(
    cfg: &KioskConfig,
    base_url: &str,
    outbox: Arc<Outbox>,
    wait: Duration,
) -> anyhow::Result<HttpsParts> {
    let g = &cfg.gateway;
    let (Some(ca), Some((cert, key))) = (&g.ca_file, &g.client_identity) else {
        bail!(
            "gateway: an https gateway needs ca_file, client_cert and client_key (mutual TLS; \
             `kioskctl config check` names what is missing)"
        );
    };
    let fhir = g.fhir_url.as_ref().map(|u| u.as_str().to_owned());
    let transport = kiosk_outbox::https::HttpsTransport::new(&kiosk_outbox::https::HttpsConfig {
        base_url: base_url.to_owned(),
        fhir_base_url: fhir.clone(),
        ca_pem: ca.clone(),
        client_cert_pem: cert.clone(),
        client_key_pem: key.clone(),
        spki_sha256: g.spki_sha256,
        timeout: wait,
    })
    .map_err(|e| anyhow::anyhow!("gateway: {e}"))?;
    tracing::info!(
        url = base_url,
        fhir = fhir.as_deref().unwrap_or("-"),
        pinned = g.spki_sha256.is_some(),
        "HTTPS gateway transport"
    );
    // Answers are checked and reduced to the kiosk's receipt before the outbox keeps anything
    // (GatewayReceipts; clinic rows sent to a FHIR base come back as transaction-responses).
    let config = cfg.queue.worker_config(wait);
    let transport = Arc::new(transport);
    // Renewal two thirds into the certificate's life, checked now and every 6 hours.
    let renewal =
        crate::renewal::RenewalThread::start(Arc::clone(&transport), Duration::from_secs(6 * 3600))
            .map_err(|e| tracing::error!(error = %e, "cannot start the certificate renewal check"))
            .ok()
            .map(|r| Box::new(r) as Box<dyn std::any::Any>);
    let heartbeat: Arc<dyn crate::heartbeat::Post> = transport.clone();
    let receipts = crate::gateway::outbox::GatewayReceipts::new(transport);
    let queued = if fhir.is_some() {
        QueuedSubmitter::start_with(outbox, Arc::new(receipts.clinic_to_fhir()), config, wait)
            .map(QueuedSubmitter::clinic_as_fhir)
    } else {
        QueuedSubmitter::start_with(outbox, Arc::new(receipts), config, wait)
    };
    Ok((
        queued.context("cannot start the submission queue")?,
        renewal,
        heartbeat,
    ))
}

#[cfg(not(feature = "https"))]
fn start_https(
    _cfg: &KioskConfig,
    _base_url: &str,
    _outbox: Arc<Outbox>,
    _wait: Duration,
) -> anyhow::Result<HttpsParts> {
    bail!("gateway.url: this kiosk was built without the `https` feature; rebuild with it")
}

/// The gateway's catalogue (`gateway.catalog_download`): downloaded at start-up (sending the
/// cached copy's version as `If-None-Match`), checked, and kept in `gateway.catalog_cache`
/// (written to a temporary file, then renamed). Unreachable gateway or a bad answer: the last
/// good copy; no copy yet: the built-in catalogue. The kiosk always starts.
fn downloaded_catalog(cfg: &KioskConfig, base_url: &str) -> Catalog {
    let cache = &cfg.gateway.catalog_cache;
    let cached = std::fs::read(cache)
        .ok()
        .and_then(|b| Catalog::from_gateway_json(&b, cfg.mode).ok());
    let etag = cached.as_ref().map(|(_, v)| v.as_str());
    match fetch_catalog(cfg, base_url, etag) {
        Ok(Some(body)) => match Catalog::from_gateway_json(&body, cfg.mode) {
            Ok((catalog, version)) => {
                let tmp = cache.with_extension("json.tmp");
                let kept = std::fs::write(&tmp, &body).and_then(|()| std::fs::rename(&tmp, cache));
                if let Err(e) = kept {
                    tracing::warn!(path = %cache.display(), error = %e, "gateway.catalog_cache: cannot keep the catalogue");
                }
                tracing::info!(%version, entries = catalog.entries().len(), "catalogue downloaded");
                return catalog;
            }
            Err(e) => {
                tracing::error!(error = %e, "the gateway's catalogue is invalid: keeping the last good copy")
            }
        },
        Ok(None) => tracing::info!(version = etag.unwrap_or("-"), "catalogue unchanged"),
        Err(e) => {
            tracing::warn!(error = %e, "cannot download the catalogue: using the last good copy")
        }
    }
    match cached {
        Some((catalog, version)) => {
            tracing::info!(%version, "catalogue from the cache");
            catalog
        }
        None => {
            tracing::warn!("no downloaded catalogue yet: using the built-in one");
            Catalog::builtin(cfg.mode)
        }
    }
}

/// `GET /v1/catalog`: `Ok(None)` when unchanged (304).
fn fetch_catalog(
    cfg: &KioskConfig,
    base_url: &str,
    etag: Option<&str>,
) -> anyhow::Result<Option<Vec<u8>>> {
    let timeout = Duration::from_secs(cfg.gateway.timeout_secs.min(10));
    if !base_url.starts_with("https://") {
        let client = GatewayClient::new(base_url, timeout).map_err(|e| anyhow::anyhow!("{e}"))?;
        return client
            .catalog(cfg.mode, etag)
            .map_err(|e| anyhow::anyhow!("{e}"));
    }
    fetch_catalog_https(cfg, base_url, etag, timeout)
}

#[cfg(feature = "https")]
fn fetch_catalog_https(
    cfg: &KioskConfig,
    base_url: &str,
    etag: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<Option<Vec<u8>>> {
    let g = &cfg.gateway;
    let (Some(ca), Some((cert, key))) = (&g.ca_file, &g.client_identity) else {
        bail!("an https gateway needs ca_file, client_cert and client_key");
    };
    let t = kiosk_outbox::https::HttpsTransport::new(&kiosk_outbox::https::HttpsConfig {
        base_url: base_url.to_owned(),
        fhir_base_url: None,
        ca_pem: ca.clone(),
        client_cert_pem: cert.clone(),
        client_key_pem: key.clone(),
        spki_sha256: g.spki_sha256,
        timeout,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let quoted = etag.map(|e| format!("\"{e}\""));
    let mut headers = vec![("Accept", "application/json")];
    if let Some(q) = &quoted {
        headers.push(("If-None-Match", q.as_str()));
    }
    let (status, body) = t
        .get_blocking(&format!("/v1/catalog?mode={}", cfg.mode), &headers)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match status {
        200 => Ok(Some(body)),
        304 => Ok(None),
        s => bail!("the gateway answered {s}"),
    }
}

#[cfg(not(feature = "https"))]
fn fetch_catalog_https(
    _cfg: &KioskConfig,
    _base_url: &str,
    _etag: Option<&str>,
    _timeout: Duration,
) -> anyhow::Result<Option<Vec<u8>>> {
    bail!("this kiosk was built without the `https` feature")
}

/// The demo's gateway, started in-process (feature `demo-gateway`): `kiosk-gateway` itself on
/// a free loopback port, plain HTTP, serving the built-in catalogue of the kiosk's mode.
#[cfg(feature = "demo-gateway")]
type DemoGateway = kiosk_gateway::Gateway;
/// Without the `demo-gateway` feature there is none (the device build links no CA).
#[cfg(not(feature = "demo-gateway"))]
type DemoGateway = std::convert::Infallible;

fn gateway(cfg: &KioskConfig) -> anyhow::Result<(Option<DemoGateway>, String)> {
    let url = cfg.gateway.url.as_str();
    if cfg.demo && (url == "http://127.0.0.1:0" || url == "http://localhost:0") {
        let gw = start_demo_gateway(cfg)?;
        return Ok((Some(gw.0), gw.1));
    }
    Ok((None, url.to_string()))
}

#[cfg(feature = "demo-gateway")]
fn start_demo_gateway(cfg: &KioskConfig) -> anyhow::Result<(DemoGateway, String)> {
    let gw = kiosk_gateway::Gateway::start().context("cannot start the demo gateway")?;
    gw.set_catalog(
        &cfg.mode.to_string(),
        &Catalog::builtin(cfg.mode).to_gateway_json(""),
    )
    .map_err(|e| anyhow::anyhow!("the demo gateway refused the built-in catalogue: {e}"))?;
    let u = gw.url();
    tracing::info!(url = %u, "demo gateway listening");
    Ok((gw, u))
}

#[cfg(not(feature = "demo-gateway"))]
fn start_demo_gateway(_cfg: &KioskConfig) -> anyhow::Result<(DemoGateway, String)> {
    bail!(
        "this kiosk was built without the demo gateway: build it with `--features \
         demo-gateway` (as `cargo xtask demo` does), or set [gateway] url to a running \
         `kiosk-gateway serve`"
    )
}

/// The demo's queue: a fresh folder with its own key, removed at exit (a demo keeps nothing).
struct DemoQueueDir(PathBuf);

impl Drop for DemoQueueDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The encrypted outbox: in demo mode a throw-away one (unless `queue.keep_in_demo`);
/// otherwise the provisioned database and key (`kioskctl queue init-key`) at `queue.path` and
/// `queue.key_file` (what `kioskctl queue --config` reads).
fn open_outbox(cfg: &KioskConfig) -> anyhow::Result<(Arc<Outbox>, Option<DemoQueueDir>)> {
    let throw_away = cfg.demo && !cfg.queue.keep_in_demo;
    let (db, key, dir) = if throw_away {
        // One folder per kiosk assembled (a queue admits one worker at a time).
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("kiosk-demo-queue-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the demo queue folder {}", dir.display()))?;
        let key = KeyFile::new(dir.join("queue.key"));
        let guard = DemoQueueDir(dir.clone());
        let k = match key.load() {
            Ok(k) => k,
            Err(_) => key.create().map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        (dir.join("queue.db"), k, Some(guard))
    } else {
        let k = KeyFile::new(&cfg.queue.key_file)
            .load()
            .map_err(|e| anyhow::anyhow!("queue.key_file: {e}"))?;
        (cfg.queue.path.clone(), k, None)
    };
    let outbox = Outbox::open(&db, &key, &cfg.queue.open_options()).map_err(|e| {
        let setting = if throw_away {
            "the demo queue"
        } else {
            "queue.path"
        };
        anyhow::anyhow!("{setting}: {e}")
    })?;
    Ok((Arc::new(outbox), dir))
}

/// The address picker's administrative units: the configured file, else the checked-in
/// sample (logged, so a technician sees a kiosk that offers five provinces only).
fn admin_units(cfg: &KioskConfig) -> anyhow::Result<crate::admin_units::AdminUnits> {
    match &cfg.admin_units_file {
        Some(p) => crate::admin_units::AdminUnits::load(p)
            .map_err(|e| anyhow::anyhow!("admin_units_file: {e}")),
        None => {
            tracing::warn!(
                "admin_units_file not set: the address picker offers the sample provinces only \
                 (cargo xtask setup fetches the whole list into .kiosk-data/admin-units/)"
            );
            Ok(crate::admin_units::AdminUnits::sample())
        }
    }
}

/// Sends dossiers through the encrypted outbox: durable before the screen says "received";
/// the gateway's receipt if it answers within the timeout, else an offline receipt.
struct GatewaySubmitter {
    queued: QueuedSubmitter,
    catalog: Catalog,
    kind: SubmissionKind,
    units: Arc<crate::admin_units::AdminUnits>,
}

impl Submitter for GatewaySubmitter {
    fn submit(&self, dossier: &Dossier) -> Result<ReceiptInfo, SubmitFailure> {
        let entry = self
            .catalog
            .get(dossier.service())
            .ok_or(SubmitFailure::Rejected)?;
        let code = match &entry.kind {
            EntryKind::Procedure { code, .. } | EntryKind::Department { code } => code.clone(),
        };
        let citizen = dossier.citizen();
        let face = dossier.face();
        let submitted_at =
            crate::gateway::codes::format_portal_time(crate::gateway::codes::now_vietnam());
        let build = |uid: &str| SubmissionRequest {
            // The outbox id (UUIDv7): also the Idempotency-Key, stable over every retry.
            reference_uid: uid.to_owned(),
            kind: self.kind,
            procedure_code: code,
            procedure_name: entry.title("vi").to_string(),
            applicant_name: citizen.full_name().clone(),
            id_number: citizen.id_number().clone(),
            date_of_birth: citizen.date_of_birth().clone(),
            face_matched: face.matched,
            face_score: face.score.clamp(0.0, 1.0),
            liveness_passed: face.live,
            submitted_at,
            dossier: Some(crate::submit::dossier_details(dossier, entry, &self.units)),
        };
        let started = Instant::now();
        let r = self.queued.submit(build);
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            ok = r.is_ok(),
            "submission"
        );
        let receipt = match r {
            Ok(Submitted::Delivered(receipt)) => receipt,
            Ok(Submitted::Queued(id)) => {
                tracing::warn!(%id, "gateway did not answer in time: submission queued");
                return Ok(ReceiptInfo {
                    // A provisional reference staff can find with `kioskctl queue list`.
                    dossier_code: format!("KIOSK-{}", &id.simple().to_string()[24..])
                        .to_uppercase(),
                    service: dossier.service().clone(),
                    received_at: time::OffsetDateTime::now_utc(),
                    appointment: None,
                    lookup_code: String::new(),
                    queue_number: None,
                    applicant_name: citizen.full_name().clone(),
                    applicant_id_masked: kiosk_hw::personal::Personal::new(crate::shell::mask_id(
                        citizen.id_number().expose(),
                    )),
                    offline: true,
                });
            }
            Ok(Submitted::Rejected(id)) => {
                tracing::warn!(%id, "gateway refused the submission: see `kioskctl queue dead`");
                return Err(SubmitFailure::Rejected);
            }
            Err(e) => {
                tracing::error!(error = %e, "submission refused: the queue cannot keep it");
                return Err(SubmitFailure::Storage);
            }
        };
        let received = crate::gateway::codes::parse_portal_time(&receipt.received_at)
            .map(|t| t.assume_offset(time::macros::offset!(+7)))
            .unwrap_or_else(time::OffsetDateTime::now_utc);
        Ok(ReceiptInfo {
            dossier_code: receipt.dossier_code,
            service: dossier.service().clone(),
            received_at: received,
            appointment: crate::gateway::codes::parse_portal_time(&receipt.appointment)
                .map(|t| t.date()),
            lookup_code: receipt.lookup_code,
            queue_number: receipt.queue_number.map(|n| n.to_string()),
            applicant_name: citizen.full_name().clone(),
            applicant_id_masked: kiosk_hw::personal::Personal::new(crate::shell::mask_id(
                citizen.id_number().expose(),
            )),
            offline: false,
        })
    }
}

fn receipt_composer(
    cfg: &Rc<KioskConfig>,
    texts: Rc<i18n::Catalog>,
    catalog: Catalog,
) -> crate::shell::ReceiptComposer {
    let office = cfg.site.name.clone();
    let place = cfg.site.result_place.clone();
    let mode = cfg.mode;
    let paper_width = cfg.devices.printer_dots();
    let lookup_url = cfg.site.lookup_url.clone();
    // Fonts load once; a kiosk without them still serves citizens (the receipt shows on
    // screen) and the failure is logged for the technician.
    let fonts = match receipt::ReceiptFonts::load_default() {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::error!(error = %e, "receipt fonts missing: receipts will not print");
            None
        }
    };
    Box::new(move |info: &ReceiptInfo, lang: &str| {
        let fonts = fonts.as_ref()?;
        let mut doc = receipt_doc(&office, mode, &texts, &catalog, info, lang);
        if let (Some(place), Mode::OneStopShop) = (&place, mode) {
            doc.lines.push(receipt::ReceiptLine::new(
                texts.t(lang, "print-place"),
                place.clone(),
            ));
        }
        doc.paper_width = paper_width;
        doc.qr = doc.qr.map(|qr| qr.with_lookup_url(lookup_url.clone()));
        match receipt::compose(&doc, fonts) {
            Ok(job) => Some(job),
            Err(e) => {
                tracing::warn!(error = %e, "cannot compose the receipt");
                None
            }
        }
    })
}

/// The receipt's content: form 01 of Decree 61/2018 in kiosk form, or a clinic queue ticket.
fn receipt_doc(
    office: &str,
    mode: Mode,
    texts: &i18n::Catalog,
    catalog: &Catalog,
    info: &ReceiptInfo,
    lang: &str,
) -> receipt::ReceiptDoc {
    use receipt::ReceiptLine;
    let t = |k: &str| texts.t(lang, k);
    let service = catalog
        .get(&info.service)
        .map(|e| e.title(lang).to_string())
        .unwrap_or_default();
    let received = info.received_at.to_offset(time::macros::offset!(+7));
    let received = format!(
        "{:02}:{:02} {:02}/{:02}/{}",
        received.hour(),
        received.minute(),
        received.day(),
        u8::from(received.month()),
        received.year()
    );
    let hospital = mode == Mode::Hospital;
    let mut lines = vec![
        ReceiptLine::large(
            t(if hospital {
                "print-registration-code"
            } else {
                "print-dossier-code"
            }),
            info.dossier_code.clone(),
        ),
        ReceiptLine::new(
            t(if mode == Mode::Hospital {
                "print-department"
            } else {
                "print-procedure"
            }),
            service,
        ),
        ReceiptLine::personal(t("print-applicant"), info.applicant_name.clone()),
    ];
    if !hospital {
        lines.push(ReceiptLine::personal(
            t("print-id-number"),
            info.applicant_id_masked.clone(),
        ));
    }
    lines.push(ReceiptLine::new(t("print-received"), received));
    if let Some(d) = info.appointment {
        let weekday = t(match d.weekday() {
            time::Weekday::Monday => "print-weekday-monday",
            time::Weekday::Tuesday => "print-weekday-tuesday",
            time::Weekday::Wednesday => "print-weekday-wednesday",
            time::Weekday::Thursday => "print-weekday-thursday",
            time::Weekday::Friday => "print-weekday-friday",
            time::Weekday::Saturday => "print-weekday-saturday",
            time::Weekday::Sunday => "print-weekday-sunday",
        });
        lines.push(ReceiptLine::large(
            t("print-appointment"),
            format!(
                "{weekday}, {:02}/{:02}/{}",
                d.day(),
                u8::from(d.month()),
                d.year()
            ),
        ));
    }
    // An offline receipt has no lookup code yet (the gateway assigns it).
    if !info.lookup_code.is_empty() {
        lines.push(ReceiptLine::new(
            t("print-lookup-code"),
            info.lookup_code.clone(),
        ));
    }
    let qr = receipt::ReceiptQr::new(&info.dossier_code, &info.lookup_code).ok();
    let has_qr = qr.is_some();
    receipt::ReceiptDoc {
        // Form 01 is an official document under the national heading; a queue ticket is not.
        heading: (!hospital).then(|| receipt::NationalHeading {
            title: t("print-nation"),
            motto: t("print-motto"),
        }),
        office: office.to_string(),
        title: t(if mode == Mode::Hospital {
            "print-title-ticket"
        } else {
            "print-title-receipt"
        }),
        big: info.queue_number.clone(),
        lines,
        qr,
        footer: vec![t(match (info.offline, has_qr, hospital) {
            (true, _, _) => "receipt-offline",
            (false, true, _) => "print-footer-lookup",
            // A hospital's FHIR server gives no lookup code: the HIS calls the patient.
            (false, false, true) => "print-footer-ticket",
            (false, false, false) => "print-footer-staff",
        })],
        paper_width: kiosk_hw::printer::PAPER_WIDTH_80MM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hw::personal::Personal;

    fn info(catalog: &Catalog, code: &str, lookup: &str, offline: bool) -> ReceiptInfo {
        ReceiptInfo {
            dossier_code: code.to_owned(),
            service: catalog.entries()[0].id.clone(),
            received_at: time::OffsetDateTime::UNIX_EPOCH,
            appointment: None,
            lookup_code: lookup.to_owned(),
            queue_number: None,
            applicant_name: Personal::new("NGUYEN VAN AN".to_owned()),
            applicant_id_masked: Personal::new("0010•••••456".to_owned()),
            offline,
        }
    }

    #[test]
    fn receipt_wording_follows_the_mode_and_what_the_server_gave() {
        let texts = i18n::Catalog::new(None).expect("texts");
        let hospital = Catalog::builtin(Mode::Hospital);
        // A FHIR server's receipt: the Encounter id, no lookup code, so no QR.
        let fhir = info(&hospital, "70feb9dd-e7df-446f-8482-972ce9a4ba6d", "", false);
        let doc = receipt_doc("BV", Mode::Hospital, &texts, &hospital, &fhir, "vi");
        assert!(doc.qr.is_none());
        assert!(doc.heading.is_none(), "a queue ticket is no official form");
        assert!(!format!("{:?}", doc.lines).contains("Số định danh"));
        assert!(format!("{:?}", doc.lines).contains("Mã đăng ký khám"));
        assert_eq!(doc.footer, vec![texts.t("vi", "print-footer-ticket")]);
        let offline = info(&hospital, "KIOSK-0123456789AB", "", true);
        let doc = receipt_doc("BV", Mode::Hospital, &texts, &hospital, &offline, "en");
        assert_eq!(doc.footer, vec![texts.t("en", "receipt-offline")]);

        let oss = Catalog::builtin(Mode::OneStopShop);
        let portal = info(&oss, "000.00.01.H29-260105-0001", "ABCD2345", false);
        let doc = receipt_doc("UBND", Mode::OneStopShop, &texts, &oss, &portal, "vi");
        assert!(
            doc.qr.is_some(),
            "dossier and lookup codes give the status QR"
        );
        assert!(format!("{:?}", doc.lines).contains("Mã hồ sơ"));
        assert_eq!(doc.footer, vec![texts.t("vi", "print-footer-lookup")]);
        // Form 01: national heading, the masked ID under the applicant, the appointment with
        // its weekday.
        let heading = doc.heading.expect("form 01 has the national heading");
        assert_eq!(heading.title, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM");
        assert_eq!(heading.motto, "Độc lập - Tự do - Hạnh phúc");
        let id_line = doc
            .lines
            .iter()
            .find(|l| l.label() == "Số định danh cá nhân")
            .expect("masked ID line");
        assert_eq!(id_line.value(), "0010•••••456");
        let mut dated = info(&oss, "000.00.01.H29-260105-0001", "ABCD2345", false);
        dated.appointment = Some(time::macros::date!(2026 - 01 - 08));
        let doc = receipt_doc("UBND", Mode::OneStopShop, &texts, &oss, &dated, "vi");
        assert!(
            doc.lines.iter().any(|l| l.value() == "Thứ Năm, 08/01/2026"),
            "{:?}",
            doc.lines
        );
        let doc = receipt_doc("UBND", Mode::OneStopShop, &texts, &oss, &dated, "en");
        assert!(doc
            .lines
            .iter()
            .any(|l| l.value() == "Thursday, 08/01/2026"));
        let no_lookup = info(&oss, "000.00.01.H29-260105-0001", "", false);
        let doc = receipt_doc("UBND", Mode::OneStopShop, &texts, &oss, &no_lookup, "vi");
        assert_eq!(doc.footer, vec![texts.t("vi", "print-footer-staff")]);
    }
}
