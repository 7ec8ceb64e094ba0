//! `cargo xtask bench` (= `cargo bench -p kiosk-app --bench kiosk`): the kiosk's own benchmark
//! harness, printing one Markdown table (recorded in `docs/BENCHMARKS.md`).
//!
//! A small harness instead of criterion keeps the workspace's dependency count (and CI's
//! `clippy --all-targets`) unchanged. Each benchmark warms up, then takes N samples with
//! [`Instant`]; the table gives the median and the 90th percentile (nearest rank) of the sorted
//! samples. Nothing here asserts on time: the numbers are read by people, against the targets
//! in `docs/BENCHMARKS.md`.
//!
//! Slint allows one platform per process, so the headless platform is installed once, the
//! kiosk is assembled once (the cold start, measured once), and every render benchmark reuses
//! that window. Run without `--bench` (e.g. `cargo test --benches`) it does a quick smoke run
//! with two samples per benchmark.

use std::hint::black_box;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kiosk_app::catalog::{self, ServiceId};
use kiosk_app::config::{self, KioskConfig};
use kiosk_app::devices::{Devices, FaceVerifier, Hardware};
use kiosk_app::gateway::{GatewayClient, SubmissionKind, SubmissionRequest};
use kiosk_app::headless::Headless;
use kiosk_app::i18n;
use kiosk_app::identity;
use kiosk_app::receipt::{self, NationalHeading, ReceiptDoc, ReceiptFonts, ReceiptLine, ReceiptQr};
use kiosk_app::session::{
    Citizen, Dossier, Event, FaceOutcome, Generation, IdentitySource, Millis, ReceiptInfo, Session,
    SessionConfig, Step, SubmitFailure,
};
use kiosk_app::shell::{Parts, Shell, Submitter};
use kiosk_gateway::Gateway as DemoGateway;
use kiosk_hw::card::SimCardReader;
use kiosk_hw::personal::Personal;
use kiosk_hw::sim::SimHardware;
use kiosk_ui::{AppWindow, Kiosk};
use slint::ComponentHandle as _;

/// The kiosk's usual mounting: portrait full HD.
const WIDTH: u32 = 1080;
const HEIGHT: u32 = 1920;

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; anything else (`cargo test --benches`) is a smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let mut b = Bench {
        full,
        rows: Vec::new(),
    };

    print_header();

    // 1. Cold start, then the render benchmarks on the same window.
    let headless = Rc::new(Headless::install(WIDTH, HEIGHT)?);
    let receipts = tempfile::tempdir().context("temporary folder for receipts")?;
    let kiosk = startup(&mut b, &headless, receipts.path())?;

    // 2. Full-frame software renders.
    render(
        &mut b,
        &kiosk.ui,
        &headless,
        "render_attract_portrait",
        "attract",
    );
    render(
        &mut b,
        &kiosk.ui,
        &headless,
        "render_language_portrait",
        "language",
    );
    fill_receipt(&kiosk.ui);
    render(
        &mut b,
        &kiosk.ui,
        &headless,
        "render_receipt_portrait",
        "receipt",
    );

    // 9. Issue 14: tap-to-next-screen, the face screen with live frames, a whole journey.
    tap_latency(&mut b, &kiosk, &headless)?;
    face_frames(&mut b, &kiosk, &headless);
    journey(&mut b, &kiosk, &headless)?;

    // 8. The resident memory of a kiosk with its UI loaded and rendered.
    memory(&mut b);

    // 3.-7. Domain logic, simulators and the loopback gateway.
    session_transition(&mut b);
    i18n_lookup(&mut b)?;
    chip_read(&mut b);
    receipt_compose(&mut b)?;
    gateway_submit(&mut b)?;

    // The whole process, as systemd starts it (no frame drawn: headless).
    process_start(&mut b, receipts.path());

    kiosk.shell.borrow_mut().shutdown();
    drop(kiosk);
    b.print();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Harness

struct Row {
    name: String,
    median: f64,
    p90: Option<f64>,
    iterations: usize,
    unit: &'static str,
}

/// A time unit and its length in nanoseconds.
#[derive(Clone, Copy)]
enum Unit {
    Ns,
    Us,
    Ms,
}

impl Unit {
    fn label(self) -> &'static str {
        match self {
            Unit::Ns => "ns",
            Unit::Us => "µs",
            Unit::Ms => "ms",
        }
    }

    fn of(self, d: Duration) -> f64 {
        let ns = d.as_nanos() as f64;
        match self {
            Unit::Ns => ns,
            Unit::Us => ns / 1e3,
            Unit::Ms => ns / 1e6,
        }
    }
}

struct Bench {
    full: bool,
    rows: Vec<Row>,
}

impl Bench {
    /// Runs `sample` `warmup` times untimed, then `n` times; each call returns the duration it
    /// measured itself (so set-up that is not part of the benchmark stays outside the timer)
    /// and how many operations that duration covers. The row is per operation.
    fn run(
        &mut self,
        name: &str,
        unit: Unit,
        warmup: usize,
        n: usize,
        mut sample: impl FnMut() -> (Duration, u32),
    ) {
        let (warmup, n) = if self.full { (warmup, n) } else { (0, 2) };
        eprintln!("bench: {name} ({n} samples)");
        for _ in 0..warmup {
            black_box(sample());
        }
        let mut samples: Vec<f64> = (0..n)
            .map(|_| {
                let (d, ops) = sample();
                unit.of(d) / f64::from(ops.max(1))
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        self.rows.push(Row {
            name: name.to_owned(),
            median: median(&samples),
            p90: Some(percentile(&samples, 0.9)),
            iterations: n,
            unit: unit.label(),
        });
    }

    /// A single measurement (a cold start happens once per process).
    fn once(&mut self, name: &str, unit: Unit, d: Duration) {
        self.rows.push(Row {
            name: name.to_owned(),
            median: unit.of(d),
            p90: None,
            iterations: 1,
            unit: unit.label(),
        });
    }

    /// A value that is not a time (memory).
    fn value(&mut self, name: &str, value: f64, unit: &'static str) {
        self.rows.push(Row {
            name: name.to_owned(),
            median: value,
            p90: None,
            iterations: 1,
            unit,
        });
    }

    fn print(&self) {
        println!();
        println!("| name | median | p90 | iterations | unit |");
        println!("|---|---:|---:|---:|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} |",
                r.name,
                fmt_num(r.median),
                r.p90.map_or_else(|| "–".to_owned(), fmt_num),
                r.iterations,
                r.unit
            );
        }
        if !self.full {
            println!();
            println!("(smoke run: 2 samples each; `cargo xtask bench` for real numbers)");
        }
    }
}

/// Times one call of `f`, for samples of one operation.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, u32) {
    let t = Instant::now();
    black_box(f());
    (t.elapsed(), 1)
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "n/a".to_owned()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn print_header() {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let mem_gib = proc_kib("/proc/meminfo", "MemTotal:").map(|k| k as f64 / (1024.0 * 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "rustc (version unknown)".into());
    println!("# kiosk benchmarks");
    println!();
    println!(
        "- machine: {model}, {cpus} CPUs (nproc), {} RAM, Linux {}",
        mem_gib.map_or_else(|| "? GiB".into(), |g| format!("{g:.1} GiB")),
        kernel.trim()
    );
    let profile = if cfg!(debug_assertions) {
        "a debug build (not representative)"
    } else {
        "profile `bench` (release: thin LTO, 4 codegen units)"
    };
    println!("- {rustc}; {profile}");
    println!("- window {WIDTH}x{HEIGHT}, Slint software renderer, headless platform");
    // Other builds on the machine skew every number: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("- load average at start (1, 5, 15 min): {}", load.join(" "));
}

/// A `kB` field of a `/proc` file such as `/proc/self/status`.
fn proc_kib(file: &str, key: &str) -> Option<u64> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// 1. Cold start

/// The assembled kiosk, kept alive for the render benchmarks.
struct Assembled {
    ui: AppWindow,
    shell: Rc<std::cell::RefCell<Shell>>,
    _gateway: DemoGateway,
}

fn demo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml")
}

/// `AppWindow::new`, then the kiosk assembled from the public pieces the way
/// `kiosk_app::app` assembles it (translations, catalogue, simulated devices and their worker
/// threads, the demo gateway and its client, the receipt fonts, `Shell::install`), then the
/// first frame. The configuration is parsed before the clock starts, as `kiosk` does before it
/// creates the window.
fn startup(b: &mut Bench, headless: &Rc<Headless>, receipts: &Path) -> anyhow::Result<Assembled> {
    let cfg = config::load(&demo_config()).map_err(|e| anyhow::anyhow!("{e}"))?;

    let t0 = Instant::now();
    let ui = AppWindow::new().context("cannot create the window")?;
    let t1 = Instant::now();
    let (shell, gateway) = assemble(cfg, &ui, headless, receipts)?;
    let t2 = Instant::now();
    ui.show().context("cannot show the window")?;
    let frame = ui
        .window()
        .take_snapshot()
        .map_err(|e| anyhow::anyhow!("rendering failed: {e}"))?;
    let t3 = Instant::now();
    black_box(frame);

    b.once("startup_to_first_frame", Unit::Ms, t3 - t0);
    b.once("  startup: AppWindow::new", Unit::Ms, t1 - t0);
    b.once("  startup: assemble + Shell::install", Unit::Ms, t2 - t1);
    b.once("  startup: show + first frame", Unit::Ms, t3 - t2);
    Ok(Assembled {
        ui,
        shell,
        _gateway: gateway,
    })
}

/// Submits nothing: the benchmark never confirms a dossier through the shell. It holds the
/// client so that the assembly costs what the kiosk's does.
struct NoSubmit {
    _client: GatewayClient,
}

impl Submitter for NoSubmit {
    fn submit(&self, _dossier: &Dossier) -> Result<ReceiptInfo, SubmitFailure> {
        Err(SubmitFailure::Storage)
    }
}

type Wired = (Rc<std::cell::RefCell<Shell>>, DemoGateway);

fn assemble(
    cfg: KioskConfig,
    ui: &AppWindow,
    headless: &Rc<Headless>,
    receipts: &Path,
) -> anyhow::Result<Wired> {
    let cfg = Rc::new(cfg);
    let texts = Rc::new(i18n::Catalog::new(cfg.ui.locales_dir.as_deref())?);
    let catalog = catalog::Catalog::builtin(cfg.mode);
    let sim = SimHardware::demo_in(receipts);
    let devices = Devices::start(Hardware {
        card_reader: Box::new(sim.card_reader),
        card_trust: identity::CscaTrust::default(),
        qr: Box::new(sim.qr_scanner),
        camera: Box::new(sim.camera),
        printer: Box::new(sim.printer),
        face: FaceVerifier::Simulated {
            capture: Duration::from_secs(2),
            outcome: FaceOutcome {
                matched: true,
                score: 0.92,
                live: true,
            },
        },
    })?;
    let gateway = DemoGateway::start()?;
    let client = GatewayClient::new(
        &gateway.url(),
        Duration::from_secs(cfg.gateway.timeout_secs),
    )?;
    let fonts = ReceiptFonts::load_default().ok();
    let compose: kiosk_app::shell::ReceiptComposer = Box::new(move |_info, _lang| {
        // Never called here; the fonts are loaded for the start-up cost only.
        fonts.as_ref().map(|_| Vec::new())
    });
    let clock_src = headless.clone();
    let clock: kiosk_app::shell::Clock =
        Rc::new(move || Millis(u64::try_from(clock_src.now().as_millis()).unwrap_or(u64::MAX)));
    let shell = Shell::install(
        ui,
        Parts {
            config: cfg.clone(),
            texts,
            catalog,
            devices,
            submitter: Arc::new(NoSubmit { _client: client }),
            compose_receipt: compose,
            clock,
            id_seed: 0x5eed,
            units: Arc::new(kiosk_app::admin_units::AdminUnits::sample()),
        },
    );
    Ok((shell, gateway))
}

// ---------------------------------------------------------------------------------------------
// 2. Rendering

/// Full-frame software render of `page` via `take_snapshot` (a fresh buffer each time, so every
/// pixel is drawn). The mock clock moves one 60 Hz frame between samples, so animated pages
/// (the attract screen's card) change from frame to frame as on the screen.
fn render(b: &mut Bench, ui: &AppWindow, headless: &Headless, name: &str, page: &str) {
    ui.global::<Kiosk>().set_page(page.into());
    // Let the page transition settle, as the tour does before a screenshot.
    headless.advance(Duration::from_millis(400));
    b.run(name, Unit::Ms, 3, 30, || {
        headless.advance(Duration::from_millis(16));
        ui.window().request_redraw();
        timed(|| ui.window().take_snapshot().expect("the frame renders"))
    });
}

/// What the receipt page shows after a typical form-01 submission.
fn fill_receipt(ui: &AppWindow) {
    let k = ui.global::<Kiosk>();
    k.set_receipt_code("000.00.01.H29-261125-0001".into());
    k.set_receipt_appointment("28/11/2026".into());
    k.set_receipt_lookup("7KQ2MZ4P".into());
    k.set_receipt_queue_number("".into());
    k.set_receipt_offline(false);
}

// ---------------------------------------------------------------------------------------------
// 8. Memory

fn memory(b: &mut Bench) {
    for (name, key) in [
        ("memory: VmRSS after renders", "VmRSS:"),
        ("memory: VmHWM (peak RSS) after renders", "VmHWM:"),
    ] {
        let mib = proc_kib("/proc/self/status", key).map_or(f64::NAN, |k| k as f64 / 1024.0);
        b.value(name, mib, "MiB");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Session

fn demo_citizen() -> Citizen {
    let p = |s: &str| Personal::new(s.to_owned());
    Citizen::new(
        IdentitySource::Chip,
        p("001090123456"),
        p("NGUYỄN VĂN AN"),
        p("01/01/1990"),
        p("Nam"),
        None,
    )
    .expect("the demo citizen is valid")
}

fn demo_receipt() -> ReceiptInfo {
    ReceiptInfo {
        dossier_code: "000.00.01.H29-261125-0001".into(),
        service: ServiceId::new("temporary-residence"),
        received_at: time::macros::datetime!(2026-11-25 09:30 +7),
        appointment: Some(time::macros::date!(2026 - 11 - 28)),
        lookup_code: "7KQ2MZ4P".into(),
        queue_number: None,
        applicant_name: Personal::new("NGUYỄN VĂN AN".into()),
        applicant_id_masked: Personal::new("0010•••••456".to_owned()),
        offline: false,
    }
}

/// `ev` addressed to the session's current arming, as a worker armed by it would send it.
fn addressed(ev: Event, g: Generation) -> Event {
    match ev {
        Event::IdNumberScanned(_, id) => Event::IdNumberScanned(g, id),
        Event::CardInserted(_) => Event::CardInserted(g),
        Event::IdentityRead(_, c) => Event::IdentityRead(g, c),
        Event::FaceResult(_, o) => Event::FaceResult(g, o),
        other => other,
    }
}

/// One whole citizen session, Attract to Attract, through `Session::handle`. The events are
/// built (cloned) outside the timer; the commands the session returns are dropped inside it.
fn session_transition(b: &mut Bench) {
    let mut events = vec![
        Event::Start,
        Event::LanguageChosen("vi".into()),
        Event::IdNumberScanned(Generation(0), Personal::new("001090123456".into())),
        Event::CardInserted(Generation(0)),
        Event::IdentityRead(Generation(0), demo_citizen()),
        Event::ConsentGiven,
        Event::FaceResult(
            Generation(0),
            FaceOutcome {
                matched: true,
                score: 0.92,
                live: true,
            },
        ),
        Event::ServiceChosen(ServiceId::new("temporary-residence")),
    ];
    // The dossier form (issue 14): phone, province, ward, delivery, then the review.
    {
        use kiosk_app::session::dossier::{Delivery, FormEvent};
        events.extend(
            "0912345678"
                .bytes()
                .map(|b| Event::Form(FormEvent::PhoneDigit(b - b'0'))),
        );
        events.extend([
            Event::Form(FormEvent::Next),
            Event::Form(FormEvent::Province(12)),
            Event::Form(FormEvent::Ward(3380)),
            Event::Form(FormEvent::Delivery(Delivery::Post)),
        ]);
    }
    events.extend([
        Event::Confirmed,
        Event::SubmitDone(demo_receipt()),
        Event::ReceiptDone,
    ]);
    let mut session = Session::new(SessionConfig::default(), 0x5eed);
    let mut now = 0u64;
    // Check once, untimed, that the events really walk a whole session.
    let mut steps = Vec::new();
    for ev in events.clone() {
        now += 1_000;
        let ev = addressed(ev, session.generation());
        black_box(session.handle(ev, Millis(now)));
        steps.push(session.step());
    }
    assert_eq!(
        steps[steps.len() - 2..],
        [Step::Receipt, Step::Attract],
        "the benchmark session must reach the receipt and wipe"
    );
    b.run(
        "session_transition (24 events, the form included)",
        Unit::Us,
        1_000,
        5_000,
        || {
            let batch = events.clone();
            let t = Instant::now();
            for ev in batch {
                now += 1_000;
                let ev = addressed(ev, session.generation());
                black_box(session.handle(ev, Millis(now)));
            }
            (t.elapsed(), 1)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Translations

fn i18n_lookup(b: &mut Bench) -> anyhow::Result<()> {
    let texts = i18n::Catalog::embedded()?;
    const CALLS: u32 = 1_000;
    b.run("i18n_lookup: t (vi)", Unit::Ns, 20, 300, || {
        let t = Instant::now();
        for _ in 0..CALLS {
            black_box(texts.t(black_box("vi"), black_box("identify-prompt")));
        }
        (t.elapsed(), CALLS)
    });
    b.run(
        "i18n_lookup: ta (vi, one argument)",
        Unit::Ns,
        20,
        300,
        || {
            let t = Instant::now();
            for _ in 0..CALLS {
                black_box(texts.ta(
                    black_box("vi"),
                    black_box("service-code"),
                    black_box("1.004194"),
                ));
            }
            (t.elapsed(), CALLS)
        },
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 5. Chip

/// `read_chip` against the simulated reader and the demo's virtual CCCD: PACE-CAN, the SOD,
/// DG1, DG2 (15 KB portrait), DG13, DG15 in 223-byte blocks, Active Authentication, then
/// passive authentication (about 90 APDUs).
fn chip_read(b: &mut Bench) {
    let (card, trust) = kiosk_vcard::VirtualCccd::demo().expect("the demo card");
    let trust = identity::CscaTrust::new(vec![trust.csca_der], false);
    let card = std::sync::Arc::new(std::sync::Mutex::new(card));
    let mut reader = SimCardReader::new("bench reader");
    let control = reader.control();
    control.insert(Box::new(SharedCard(card.clone())));
    let key = identity::ChipKey::from_id(&Personal::new("001090123456".into())).expect("12 digits");
    let mut rng = rand::rng();
    let mut read = move |reader: &mut SimCardReader| {
        // Power the chip up afresh, as a new tap does.
        if let Ok(mut c) = card.lock() {
            c.reset();
        }
        let mut fill = |b: &mut [u8]| rand::Rng::fill_bytes(&mut rng, b);
        timed(|| {
            identity::read_chip(
                reader,
                &key,
                &trust,
                "20260601000000",
                &mut fill,
                None,
                Instant::now() + identity::READ_DEADLINE,
            )
            .expect("the demo card reads")
        })
    };
    b.run(
        "chip_read_virtual_cccd (no APDU delay)",
        Unit::Ms,
        3,
        50,
        || read(&mut reader),
    );
    control.set_apdu_delay(Duration::from_millis(20));
    b.run(
        "chip_read_virtual_cccd (20 ms per APDU)",
        Unit::Ms,
        1,
        3,
        || read(&mut reader),
    );
}

/// The virtual chip shared with the benchmark, which resets it between reads.
struct SharedCard(std::sync::Arc<std::sync::Mutex<kiosk_vcard::VirtualCccd>>);

impl kiosk_hw::card::VirtualCard for SharedCard {
    fn atr(&self) -> Vec<u8> {
        kiosk_vcard::chip::ATR.to_vec()
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut c| c.process(apdu))
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Receipt

fn form01() -> ReceiptDoc {
    let dossier = "000.00.01.H29-261125-0001";
    let lookup = "7KQ2MZ4P";
    ReceiptDoc {
        heading: Some(NationalHeading {
            title: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".into(),
            motto: "Độc lập - Tự do - Hạnh phúc".into(),
        }),
        office: "UBND PHƯỜNG HOÀN KIẾM - BỘ PHẬN MỘT CỬA".into(),
        title: "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ".into(),
        big: None,
        lines: vec![
            ReceiptLine::large("Mã hồ sơ", dossier),
            ReceiptLine::new("Thủ tục", "Đăng ký tạm trú"),
            ReceiptLine::personal("Người nộp", Personal::new("NGUYỄN VĂN AN".into())),
            ReceiptLine::new("Tiếp nhận", "09:30 25/11/2026"),
            ReceiptLine::large("Hẹn trả kết quả", "28/11/2026"),
            ReceiptLine::new("Mã tra cứu", lookup),
        ],
        qr: Some(ReceiptQr::new(dossier, lookup).expect("valid codes")),
        footer: vec!["Tra cứu tình trạng hồ sơ bằng mã QR này".into()],
        paper_width: kiosk_hw::printer::PAPER_WIDTH_80MM,
    }
}

fn receipt_compose(b: &mut Bench) -> anyhow::Result<()> {
    let fonts = ReceiptFonts::load(Path::new(receipt::DEFAULT_FONTS_DIR))
        .context("receipt fonts (fonts-noto-core; `cargo xtask setup`)")?;
    let doc = form01();
    b.run("receipt_compose (form 01, 80 mm)", Unit::Ms, 5, 50, || {
        timed(|| receipt::compose(&doc, &fonts).map(|job| job.len()))
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 7. Gateway

fn gateway_submit(b: &mut Bench) -> anyhow::Result<()> {
    let gw = DemoGateway::start()?;
    let client = GatewayClient::new(&gw.url(), Duration::from_secs(5))?;
    let mut n = 0u32;
    let mut request = move || {
        n += 1;
        SubmissionRequest::synthetic(&format!("bench-{n:08}"), SubmissionKind::Tthc)
    };
    b.run("demo_gateway_submit (loopback)", Unit::Us, 20, 300, || {
        let req = request();
        timed(|| client.submit(&req).expect("the demo gateway accepts"))
    });
    gw.stop();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The whole process

/// `kiosk --config demo.toml --headless` from exec to its "kiosk ready" log line: dynamic
/// loading, configuration, logging, window, assembly, `show`. Headless draws nothing, so add
/// the first-frame row for a screen. Stopped with SIGTERM after each run.
fn process_start(b: &mut Bench, receipts: &Path) {
    let exe = env!("CARGO_BIN_EXE_kiosk");
    let cfg = match write_demo_config(receipts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench: process start skipped: {e:#}");
            return;
        }
    };
    let mut failed = false;
    b.run(
        "process_start_to_ready (kiosk --headless)",
        Unit::Ms,
        1,
        5,
        || match start_once(exe, &cfg) {
            Ok(d) => (d, 1),
            Err(e) => {
                eprintln!("bench: kiosk did not start: {e:#}");
                failed = true;
                (Duration::ZERO, 1)
            }
        },
    );
    if failed {
        if let Some(r) = b.rows.last_mut() {
            r.median = f64::NAN;
            r.p90 = Some(f64::NAN);
        }
    }
}

fn write_demo_config(receipts: &Path) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(demo_config())?;
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("printer =") {
                format!("printer = \"sim:{}\"", receipts.display())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = receipts.join("bench-demo.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn start_once(exe: &str, cfg: &Path) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let mut child = Command::new(exe)
        .arg("--config")
        .arg(cfg)
        .arg("--headless")
        .env("KIOSK_LOG", "info")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start kiosk")?;
    let stderr = child.stderr.take().context("no stderr")?;
    let (tx, rx) = mpsc::channel();
    // Reads to the end so the child never blocks on a full pipe.
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("kiosk ready") {
                let _ = tx.send(Instant::now());
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(30));
    // SIGTERM, the way systemd stops it; this child only.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.wait();
    let _ = reader.join();
    let ready = ready.context("no \"kiosk ready\" within 30 s")?;
    Ok(ready - t)
}

// ---------------------------------------------------------------------------------------------
// 9. Tap to next screen, the face screen with live frames, a whole journey (issue 14)

/// A tap on the visible element whose accessible label is `label`, as a finger does it: the
/// pointer pressed and released at its centre, through the window's event dispatch (the same
/// path as a touch on the screen: the TouchArea, the adapter callback, the shell).
fn tap(ui: &AppWindow, label: &str) -> anyhow::Result<()> {
    use slint::platform::{PointerEventButton, WindowEvent};
    let el = i_slint_backend_testing::ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .with_context(|| format!("no element labelled {label:?} on screen"))?;
    let (p, s) = (el.absolute_position(), el.size());
    let position = slint::LogicalPosition::new(p.x + s.width / 2.0, p.y + s.height / 2.0);
    let button = PointerEventButton::Left;
    let w = ui.window();
    w.dispatch_event(WindowEvent::PointerMoved { position });
    w.dispatch_event(WindowEvent::PointerPressed { position, button });
    w.dispatch_event(WindowEvent::PointerReleased { position, button });
    w.dispatch_event(WindowEvent::PointerExited);
    Ok(())
}

/// The full frame the screen shows next (a fresh buffer: every pixel drawn).
fn frame(ui: &AppWindow) {
    black_box(ui.window().take_snapshot().expect("the frame renders"));
}

type ShellRc = Rc<std::cell::RefCell<Shell>>;

fn dispatch(shell: &ShellRc, ev: Event) {
    let g = shell.borrow().generation();
    shell.borrow_mut().dispatch(addressed(ev, g));
}

/// From the attract screen to the procedure list: the language, the ID number, the chip's
/// identity, consent and the face verdict, as the workers would report them.
fn to_services(shell: &ShellRc) -> anyhow::Result<()> {
    for ev in [
        Event::Start,
        Event::LanguageChosen("vi".into()),
        Event::IdNumberScanned(Generation(0), Personal::new("001090123456".into())),
        Event::CardInserted(Generation(0)),
        Event::IdentityRead(Generation(0), demo_citizen()),
        Event::ConsentGiven,
        Event::FaceResult(
            Generation(0),
            FaceOutcome {
                matched: true,
                score: 0.92,
                live: true,
            },
        ),
    ] {
        dispatch(shell, ev);
    }
    let step = shell.borrow().step();
    anyhow::ensure!(
        step == Step::ChooseService,
        "the benchmark citizen is at {step:?}"
    );
    Ok(())
}

/// The one-stop-shop form from its phone page to the review, through the adapter's callbacks
/// as its buttons call them.
fn fill_form(ui: &AppWindow) -> anyhow::Result<()> {
    use kiosk_ui::Dossier as DossierAdapter;
    use slint::Model as _;
    let d = ui.global::<DossierAdapter>();
    for digit in "0912345678".bytes() {
        d.invoke_phone_digit(i32::from(digit - b'0'));
    }
    d.invoke_next();
    let province = d.get_provinces().row_data(0).context("no provinces")?;
    d.invoke_choose_province(province.code);
    let ward = d.get_wards().row_data(0).context("no wards")?;
    d.invoke_choose_ward(ward.code);
    d.invoke_choose_delivery("counter".into());
    anyhow::ensure!(
        d.get_form_page() == "review",
        "the form is not at its review"
    );
    Ok(())
}

/// Back to the attract screen from wherever the session is (a notice after the benchmark's
/// refused submission, a form): cancel, then let the notice end.
fn to_attract(shell: &ShellRc, headless: &Headless) {
    for _ in 0..4 {
        let step = shell.borrow().step();
        match step {
            Step::Attract => return,
            // A notice stays its minimum time, then returns by itself (the tour does the same).
            Step::Notice => {
                dispatch(shell, Event::ReceiptDone);
                headless.advance(Duration::from_secs(61));
                shell.borrow_mut().pump();
            }
            _ => dispatch(shell, Event::Cancel),
        }
    }
}

/// Tap-to-next-screen at 1080x1920 with the software renderer: the tap dispatched as pointer
/// events on the real button, the session's transition, the view mirrored into the adapters,
/// and the next page's first full frame. Target < 100 ms.
fn tap_latency(b: &mut Bench, kiosk: &Assembled, headless: &Headless) -> anyhow::Result<()> {
    let (ui, shell) = (&kiosk.ui, &kiosk.shell);
    let texts = shell.borrow().texts();
    headless.resize(WIDTH, HEIGHT);
    to_attract(shell, headless);

    // Language -> identify: the "Tiếng Việt" button; Back returns to the language page.
    dispatch(shell, Event::Start);
    frame(ui);
    let vi = texts.t("vi", "language-name");
    let mut failed = None;
    b.run("tap: language -> identify", Unit::Ms, 3, 20, || {
        let t = Instant::now();
        let tapped = tap(ui, &vi);
        frame(ui);
        let d = t.elapsed();
        if tapped.is_err() || shell.borrow().step() != Step::Identify {
            failed.get_or_insert(format!("{tapped:?} at {:?}", shell.borrow().step()));
        }
        dispatch(shell, Event::Back);
        frame(ui);
        (d, 1)
    });
    if let Some(f) = failed {
        anyhow::bail!("tap language -> identify did not reach the identify step: {f}");
    }
    to_attract(shell, headless);

    // Procedure -> form: the first procedure's tile; Back leaves the form for the list.
    to_services(shell)?;
    frame(ui);
    let first = {
        use slint::Model as _;
        ui.global::<kiosk_ui::Dossier>()
            .get_services()
            .row_data(0)
            .context("no procedures listed")?
            .title
            .to_string()
    };
    let mut failed = None;
    b.run("tap: procedure -> form", Unit::Ms, 3, 20, || {
        let t = Instant::now();
        let tapped = tap(ui, &first);
        frame(ui);
        let d = t.elapsed();
        if tapped.is_err() || shell.borrow().step() != Step::Confirm {
            failed.get_or_insert(format!("{tapped:?} at {:?}", shell.borrow().step()));
        }
        dispatch(shell, Event::Back);
        frame(ui);
        (d, 1)
    });
    if let Some(f) = failed {
        anyhow::bail!("tap procedure -> form did not open the form: {f}");
    }
    to_attract(shell, headless);

    // Review -> submitting: "Submit" on the review page; the benchmark's submitter refuses on
    // its thread, so each sample walks the session back to the review, untimed.
    let submit = texts.t("vi", "btn-submit");
    let mut failed = None;
    b.run("tap: review -> submitting", Unit::Ms, 2, 12, || {
        let ready = to_services(shell).and_then(|()| {
            ui.global::<Kiosk>()
                .invoke_choose_service(ServiceId::new("temporary-residence").as_str().into());
            fill_form(ui)
        });
        frame(ui);
        let t = Instant::now();
        let tapped = ready.and_then(|()| tap(ui, &submit));
        frame(ui);
        let d = t.elapsed();
        if tapped.is_err() || shell.borrow().step() != Step::Submitting {
            failed.get_or_insert(format!("{tapped:?} at {:?}", shell.borrow().step()));
        }
        // The refusal comes back from the submit thread.
        let deadline = Instant::now() + Duration::from_secs(5);
        while shell.borrow().step() == Step::Submitting && Instant::now() < deadline {
            shell.borrow_mut().pump_blocking(Duration::from_millis(20));
        }
        to_attract(shell, headless);
        (d, 1)
    });
    if let Some(f) = failed {
        anyhow::bail!("tap review -> submitting did not submit: {f}");
    }
    Ok(())
}

/// The face-guidance screen with live frames: a 640x480 camera frame copied into a new
/// preview image (as the shell's `frame_to_image` does) and set on the adapter, then the full
/// frame rendered. Target < 16 ms (60 Hz). The headless window draws into a fresh buffer each
/// time (`RepaintBufferType::NewBuffer`), so this is the full-frame cost; Slint's partial
/// (dirty-region) rendering is not exercised here.
fn face_frames(b: &mut Bench, kiosk: &Assembled, headless: &Headless) {
    let ui = &kiosk.ui;
    let k = ui.global::<Kiosk>();
    k.set_page("face".into());
    k.set_face_progress(0.5);
    headless.advance(Duration::from_millis(400));
    let (w, h) = (640u32, 480u32);
    let camera: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
    let mut n = 0u8;
    b.run(
        "face screen: 640x480 preview + full frame",
        Unit::Ms,
        5,
        60,
        || {
            n = n.wrapping_add(1);
            headless.advance(Duration::from_millis(16));
            let t = Instant::now();
            let mut buf = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(w, h);
            let dst = buf.make_mut_bytes();
            dst.copy_from_slice(&camera);
            dst[0] = n;
            k.set_face_preview(slint::Image::from_rgb8(buf));
            frame(ui);
            (t.elapsed(), 1)
        },
    );
    k.set_face_preview(slint::Image::default());
}

/// Journey 2 (one-stop shop) as the kiosk's own work on its UI thread: every transition from
/// the attract screen to "submitting" (start, language, the number, the chip's identity,
/// consent, the face verdict, the procedure, the form's four pages, submit), each followed by
/// the full frame the citizen then sees. Not counted: the citizen's reading and typing, the
/// chip read (`chip_read` above), the face capture (camera time), the gateway round trip
/// (`gateway_submit`).
fn journey(b: &mut Bench, kiosk: &Assembled, headless: &Headless) -> anyhow::Result<()> {
    use kiosk_ui::Dossier as DossierAdapter;
    use slint::Model as _;
    let (ui, shell) = (&kiosk.ui, &kiosk.shell);
    let d = ui.global::<DossierAdapter>();
    let mut failed = None;
    b.run(
        "journey: attract -> submitting (12 screens)",
        Unit::Ms,
        1,
        10,
        || {
            to_attract(shell, headless);
            let t = Instant::now();
            let go = |ev: Event| {
                dispatch(shell, ev);
                frame(ui);
            };
            go(Event::Start);
            go(Event::LanguageChosen("vi".into()));
            go(Event::IdNumberScanned(
                Generation(0),
                Personal::new("001090123456".into()),
            ));
            go(Event::IdentityRead(Generation(0), demo_citizen()));
            go(Event::ConsentGiven);
            go(Event::FaceResult(
                Generation(0),
                FaceOutcome {
                    matched: true,
                    score: 0.92,
                    live: true,
                },
            ));
            go(Event::ServiceChosen(ServiceId::new("temporary-residence")));
            for digit in "0912345678".bytes() {
                d.invoke_phone_digit(i32::from(digit - b'0'));
            }
            d.invoke_next();
            frame(ui);
            if let Some(p) = d.get_provinces().row_data(0) {
                d.invoke_choose_province(p.code);
            }
            frame(ui);
            if let Some(w) = d.get_wards().row_data(0) {
                d.invoke_choose_ward(w.code);
            }
            frame(ui);
            d.invoke_choose_delivery("counter".into());
            frame(ui);
            go(Event::Confirmed);
            let elapsed = t.elapsed();
            if shell.borrow().step() != Step::Submitting {
                failed.get_or_insert(shell.borrow().step());
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while shell.borrow().step() == Step::Submitting && Instant::now() < deadline {
                shell.borrow_mut().pump_blocking(Duration::from_millis(20));
            }
            (elapsed, 1)
        },
    );
    to_attract(shell, headless);
    if let Some(step) = failed {
        anyhow::bail!("the benchmark journey ended at {step:?}, not submitting");
    }
    Ok(())
}
