//! `kioskctl selftest`: every part a kiosk needs, checked in one go from its configuration,
//! one line per check (`ok`, `warn` or `fail` with a detail), a summary and an exit status a
//! technician and a monitoring script can use.
//!
//! The checks use the kiosk's own code: the configuration loader, the PC/SC driver, the camera
//! sources, the ESC/POS driver, the gateway client and its mutual TLS, the outbox. None of them
//! prints personal data: a card on the reader is asked only to select its travel-document
//! application, and the queue is counted, never listed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use kiosk_app::config::{CameraSpec, CardReaderSpec, KioskConfig, PrinterSpec};
use kiosk_hw::printer::{EscPosPrinter, PrinterOptions, ReceiptPrinter as _};
use kiosk_outbox::KeySource as _;
use serde::Serialize;

use crate::Outcome;

/// `kioskctl selftest`.
#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// The kiosk's configuration file
    #[arg(long, value_name = "FILE", default_value = "/etc/kiosk/kiosk.toml")]
    pub config: PathBuf,
    /// Also print a test page on the receipt printer
    #[arg(long)]
    pub print: bool,
    /// Print the result as JSON on stdout (one object: checks, summary, exit), for scripts
    #[arg(long)]
    pub json: bool,
    /// How long to measure the camera's frame rate
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub camera_seconds: u64,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Works.
    Ok,
    /// Works, but needs attention soon (paper nearly out, dead letters, renewal overdue...).
    Warn,
    /// Does not work: the kiosk cannot serve, or will not for long.
    Fail,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// One check's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`clock`, `disk`, `queue`, `certificate`, `gateway`, `card-reader`,
    /// `camera`, `printer`).
    pub name: &'static str,
    /// How it came out.
    pub status: Level,
    /// What was seen, and for a problem what to do.
    pub detail: String,
}

fn check(name: &'static str, status: Level, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
    }
}

#[derive(Debug, Serialize)]
struct Summary {
    ok: usize,
    warn: usize,
    fail: usize,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    config: String,
    checks: &'a [Check],
    summary: Summary,
    exit: u8,
}

/// Runs `kioskctl selftest`.
///
/// # Errors
/// Only when the report cannot be written.
pub fn run(
    args: &SelftestArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let checks = match kiosk_app::config::load(&args.config) {
        Ok(cfg) => run_checks(&cfg, args),
        Err(e) => vec![check("config", Level::Fail, e.to_string())],
    };
    let count = |l: Level| checks.iter().filter(|c| c.status == l).count();
    let summary = Summary {
        ok: count(Level::Ok),
        warn: count(Level::Warn),
        fail: count(Level::Fail),
    };
    let outcome = if summary.fail > 0 {
        Outcome::Invalid
    } else if summary.warn > 0 {
        Outcome::Warnings
    } else {
        Outcome::Ok
    };
    let exit = match outcome {
        Outcome::Ok => 0,
        Outcome::Warnings => 1,
        Outcome::Invalid => 2,
    };
    if args.json {
        let report = Report {
            config: args.config.display().to_string(),
            checks: &checks,
            summary,
            exit,
        };
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        for c in &checks {
            writeln!(out, "{:<4}  {:<12} {}", c.status.word(), c.name, c.detail)?;
        }
        writeln!(
            out,
            "selftest: {} ok, {} warn, {} fail (exit {exit})",
            summary.ok, summary.warn, summary.fail
        )?;
        if summary.fail > 0 {
            writeln!(err, "the kiosk is not ready: fix the lines marked fail")?;
        }
    }
    Ok(outcome)
}

fn run_checks(cfg: &KioskConfig, args: &SelftestArgs) -> Vec<Check> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    vec![
        clock(now, kiosk_app::clock::BUILD_EPOCH),
        disk(cfg),
        queue(cfg, now),
        certificate(cfg, now),
        gateway(cfg),
    ]
    .into_iter()
    .chain(his_fhir(cfg))
    .chain([
        card_reader(&cfg.devices.card_reader),
        camera(
            &cfg.devices.camera,
            Duration::from_secs(args.camera_seconds.max(1)),
        ),
        printer(cfg, args.print),
    ])
    .collect()
}

/// Seconds in a day.
const DAY: i64 = 86_400;

/// The wall clock against the build: before it (less a day) it is certainly wrong; more than
/// ten years after it is absurd; more than two years after it, the clock or the software is old.
pub fn clock(now: i64, build: i64) -> Check {
    let day = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .map(|d| d.date().to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    let ahead_days = now.saturating_sub(build) / DAY;
    if now < build.saturating_sub(DAY) {
        check(
            "clock",
            Level::Fail,
            format!(
                "{} is before this software was built ({}): set the time (timedatectl \
                 set-ntp true) and check the clock battery; cards cannot be checked until then",
                day(now),
                day(build)
            ),
        )
    } else if ahead_days > 3650 {
        check(
            "clock",
            Level::Fail,
            format!(
                "{} is {ahead_days} days after this software was built ({}): the clock is \
                 wrong; set the time (timedatectl set-ntp true)",
                day(now),
                day(build)
            ),
        )
    } else if ahead_days > 730 {
        check(
            "clock",
            Level::Warn,
            format!(
                "{}: this software was built {ahead_days} days ago ({}); update the kiosk, or \
                 check the clock",
                day(now),
                day(build)
            ),
        )
    } else {
        check(
            "clock",
            Level::Ok,
            format!("{} (UTC), built {}", day(now), day(build)),
        )
    }
}

/// The folder the kiosk keeps its state in: the queue's folder (the demo's queue is a
/// throw-away folder under the temporary directory, unless `queue.keep_in_demo`).
fn state_dir(cfg: &KioskConfig) -> PathBuf {
    if cfg.demo && !cfg.queue.keep_in_demo {
        return std::env::temp_dir();
    }
    cfg.queue
        .path
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

fn gib(bytes: u64) -> String {
    // Display only: precision loss above 2^53 bytes does not matter here.
    #[allow(clippy::cast_precision_loss)]
    let g = bytes as f64 / f64::from(1u32 << 30);
    format!("{g:.1} GiB")
}

/// Free space where the queue lives: less than 64 MiB fails (the queue refuses dossiers soon),
/// less than the queue's size limit warns.
fn disk(cfg: &KioskConfig) -> Check {
    let dir = state_dir(cfg);
    let st = match rustix::fs::statvfs(&dir) {
        Ok(s) => s,
        Err(e) => {
            return check(
                "disk",
                Level::Fail,
                format!(
                    "{}: {e}; create the state folder (systemd's StateDirectory=kiosk does)",
                    dir.display()
                ),
            )
        }
    };
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    let total = st.f_blocks.saturating_mul(st.f_frsize);
    let pct = free.saturating_mul(100).checked_div(total).unwrap_or(0);
    let limit = u64::from(cfg.queue.max_size_mb).saturating_mul(1 << 20);
    let detail = format!(
        "{}: {} free of {} ({pct}%)",
        dir.display(),
        gib(free),
        gib(total)
    );
    if free < 64 << 20 {
        check("disk", Level::Fail, format!("{detail}: free space now"))
    } else if free < limit {
        check(
            "disk",
            Level::Warn,
            format!(
                "{detail}: less than the queue's limit (queue.max_size_mb = {}); free space or \
                 lower the limit",
                cfg.queue.max_size_mb
            ),
        )
    } else {
        check("disk", Level::Ok, detail)
    }
}

fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// The submission queue: how many dossiers wait, and dead letters (a technician must look).
fn queue(cfg: &KioskConfig, now: i64) -> Check {
    if cfg.demo && !cfg.queue.keep_in_demo {
        return check(
            "queue",
            Level::Ok,
            "demo: a throw-away queue made by the kiosk at each start",
        );
    }
    let key = match kiosk_outbox::KeyFile::new(&cfg.queue.key_file).load() {
        Ok(k) => k,
        Err(e) => {
            return check(
                "queue",
                Level::Fail,
                format!(
                    "queue.key_file: {e} (`kioskctl queue init-key {}` makes one)",
                    cfg.queue.key_file.display()
                ),
            )
        }
    };
    if !cfg.queue.path.exists() {
        return check(
            "queue",
            Level::Ok,
            format!(
                "{}: not created yet (the kiosk creates it at its first start)",
                cfg.queue.path.display()
            ),
        );
    }
    let outbox = kiosk_outbox::Outbox::open(
        &cfg.queue.path,
        &key,
        &kiosk_outbox::OpenOptions {
            read_only: true,
            ..kiosk_outbox::OpenOptions::default()
        },
    );
    let stats = match outbox.and_then(|o| o.stats()) {
        Ok(s) => s,
        Err(e) => {
            return check(
                "queue",
                Level::Fail,
                format!("{}: {e}", cfg.queue.path.display()),
            )
        }
    };
    let waiting = stats.pending.saturating_add(stats.in_flight);
    let oldest = stats
        .oldest_undelivered
        .map(|t| {
            format!(
                ", oldest {}",
                age(now.saturating_mul(1000).saturating_sub(t))
            )
        })
        .unwrap_or_default();
    let detail = format!(
        "{waiting} waiting{oldest}, {} delivered, {} dead letters, {} open alerts",
        stats.delivered, stats.dead, stats.open_alerts
    );
    if stats.dead > 0 || stats.open_alerts > 0 {
        check(
            "queue",
            Level::Warn,
            format!("{detail}: see `kioskctl queue dead`"),
        )
    } else {
        check("queue", Level::Ok, detail)
    }
}

/// The kiosk's client certificate: days left; renewal overdue warns, expired fails.
fn certificate(cfg: &KioskConfig, now: i64) -> Check {
    let Some((cert, _)) = &cfg.gateway.client_identity else {
        return check(
            "certificate",
            Level::Ok,
            "no client certificate configured (plain-http demo gateway)",
        );
    };
    let info = std::fs::read_to_string(cert)
        .map_err(|e| e.to_string())
        .and_then(|pem| kiosk_app::gateway::enrol::CertificateInfo::from_pem(&pem));
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            return check(
                "certificate",
                Level::Fail,
                format!(
                    "{}: {e}; enrol the kiosk again (`kioskctl enrol`)",
                    cert.display()
                ),
            )
        }
    };
    certificate_at(&info, now)
}

/// The certificate's verdict at `now` (Unix seconds). Pure, for tests.
fn certificate_at(info: &kiosk_app::gateway::enrol::CertificateInfo, now: i64) -> Check {
    let days_left = info.not_after.saturating_sub(now) / DAY;
    let until = time::OffsetDateTime::from_unix_timestamp(info.not_after)
        .map(|d| d.date().to_string())
        .unwrap_or_default();
    if now >= info.not_after {
        check(
            "certificate",
            Level::Fail,
            format!(
                "{}: expired on {until}; enrol the kiosk again (`kioskctl enrol`)",
                info.kiosk_id
            ),
        )
    } else if now < info.not_before {
        check(
            "certificate",
            Level::Fail,
            format!("{}: not valid yet (the clock is behind?)", info.kiosk_id),
        )
    } else if now >= info.renew_at() {
        check(
            "certificate",
            Level::Warn,
            format!(
                "{}: {days_left} days left (until {until}); renewal is overdue: check the \
                 gateway, or `kioskctl enrol --renew --config FILE`",
                info.kiosk_id
            ),
        )
    } else {
        check(
            "certificate",
            Level::Ok,
            format!(
                "{}: {days_left} days left (until {until}), renewal in {} days",
                info.kiosk_id,
                info.renew_at().saturating_sub(now) / DAY
            ),
        )
    }
}

/// The gateway's `/healthz`: over mutual TLS with the kiosk's files for an https gateway, plain
/// http for a demo gateway on the loopback interface.
fn gateway(cfg: &KioskConfig) -> Check {
    let url = cfg.gateway.url.as_str();
    if cfg.demo && (url == "http://127.0.0.1:0" || url == "http://localhost:0") {
        return check(
            "gateway",
            Level::Ok,
            "demo: the kiosk starts its own gateway on 127.0.0.1",
        );
    }
    let timeout = Duration::from_secs(cfg.gateway.timeout_secs.clamp(1, 10));
    let started = Instant::now();
    let r = if url.starts_with("https://") {
        https_health(cfg, url, timeout)
    } else {
        kiosk_app::gateway::GatewayClient::new(url, timeout)
            .map_err(|e| e.to_string())
            .and_then(|c| c.health().map_err(|e| e.to_string()))
            .map(|()| "plain http (demo)".to_owned())
    };
    let ms = started.elapsed().as_millis();
    match r {
        Ok(how) => check(
            "gateway",
            Level::Ok,
            format!("{url}: reachable, {how}, {ms} ms"),
        ),
        Err(e) => check("gateway", Level::Fail, format!("{url}: {e}")),
    }
}

/// A hospital kiosk's FHIR server (`gateway.fhir_url`): `GET metadata` must give a
/// CapabilityStatement, over the kiosk's mutual TLS for https, plain http for a demo on the
/// loopback interface. `None` when the kiosk sends no FHIR (one-stop shop, or clinic
/// registrations through the gateway).
fn his_fhir(cfg: &KioskConfig) -> Option<Check> {
    let url = cfg.gateway.fhir_url.as_ref()?.as_str();
    let timeout = Duration::from_secs(cfg.gateway.timeout_secs.clamp(1, 10));
    let started = Instant::now();
    let r = if url.starts_with("https://") {
        https_fhir_metadata(cfg, url, timeout)
    } else {
        kiosk_app::gateway::GatewayClient::new(url, timeout)
            .map_err(|e| e.to_string())
            .and_then(|c| c.fhir_health().map_err(|e| e.to_string()))
            .map(|()| "plain http (demo)".to_owned())
    };
    let ms = started.elapsed().as_millis();
    Some(match r {
        Ok(how) => check(
            "his-fhir",
            Level::Ok,
            format!("{url}: CapabilityStatement, {how}, {ms} ms"),
        ),
        Err(e) => check(
            "his-fhir",
            Level::Fail,
            format!(
                "{url}: {e} (clinic registrations wait in the queue until it answers; check \
                 the hospital network and gateway.fhir_url)"
            ),
        ),
    })
}

/// The kiosk's mutual-TLS transport from its configuration, to the gateway at `url` (and the
/// FHIR server at `fhir`).
#[cfg(feature = "https")]
fn kiosk_transport(
    cfg: &KioskConfig,
    url: &str,
    fhir: Option<&str>,
    timeout: Duration,
) -> Result<kiosk_outbox::https::HttpsTransport, String> {
    let g = &cfg.gateway;
    let (Some(ca), Some((cert, key))) = (&g.ca_file, &g.client_identity) else {
        return Err("https needs the gateway's ca_file, client_cert and client_key".into());
    };
    kiosk_outbox::https::HttpsTransport::new(&kiosk_outbox::https::HttpsConfig {
        base_url: url.to_owned(),
        fhir_base_url: fhir.map(str::to_owned),
        ca_pem: ca.clone(),
        client_cert_pem: cert.clone(),
        client_key_pem: key.clone(),
        spki_sha256: g.spki_sha256,
        timeout,
    })
    .map_err(|e| e.to_string())
}

#[cfg(feature = "https")]
fn https_fhir_metadata(cfg: &KioskConfig, url: &str, timeout: Duration) -> Result<String, String> {
    let t = kiosk_transport(cfg, cfg.gateway.url.as_str(), Some(url), timeout)?;
    match t.fhir_get_blocking("/metadata", &[("Accept", "application/fhir+json")]) {
        Ok((200, body)) if is_capability_statement(&body) => Ok("mutual TLS".to_owned()),
        Ok((200, _)) => Err(
            "answered 200 but not with a FHIR CapabilityStatement: is this \
                             the FHIR base URL?"
                .to_owned(),
        ),
        Ok((status, _)) => Err(format!("GET metadata answered {status}")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(not(feature = "https"))]
fn https_fhir_metadata(_: &KioskConfig, _: &str, _: Duration) -> Result<String, String> {
    Err("this kioskctl was built without the `https` feature".into())
}

/// Whether `body` is a FHIR CapabilityStatement (JSON).
fn is_capability_statement(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("resourceType")
                .and_then(|t| t.as_str())
                .map(|t| t == "CapabilityStatement")
        })
        .unwrap_or(false)
}

#[cfg(feature = "https")]
fn https_health(cfg: &KioskConfig, url: &str, timeout: Duration) -> Result<String, String> {
    let t = kiosk_transport(cfg, url, None, timeout)?;
    // The transport exists, so ca_file is set.
    let ca = cfg
        .gateway
        .ca_file
        .as_deref()
        .unwrap_or(std::path::Path::new("ca_file"));
    match t.get_blocking("/healthz", &[("Accept", "application/json")]) {
        Ok((200, _)) => Ok("mutual TLS".to_owned()),
        Ok((status, _)) => Err(format!(
            "mutual TLS works but /healthz answered {status}: the gateway is unwell"
        )),
        Err(e) => Err(format!(
            "{e} (check the network, the gateway's address, and that {} is the deployment CA)",
            ca.display()
        )),
    }
}

#[cfg(not(feature = "https"))]
fn https_health(_cfg: &KioskConfig, _url: &str, _timeout: Duration) -> Result<String, String> {
    Err("this kioskctl was built without the `https` feature".into())
}

/// `SELECT` of the eMRTD application (ICAO 9303 LDS1), no answer data asked: any status word
/// shows the chip answers.
const SELECT_EMRTD: [u8; 12] = [
    0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
];

fn card_reader(spec: &CardReaderSpec) -> Check {
    let name = match spec {
        CardReaderSpec::Sim => {
            return check("card-reader", Level::Ok, "simulated (demo): not checked")
        }
        CardReaderSpec::Auto => None,
        CardReaderSpec::Named(n) => Some(n.as_str()),
    };
    pcsc_check(name)
}

#[cfg(feature = "pcsc")]
fn pcsc_check(name: Option<&str>) -> Check {
    use kiosk_hw::card::{pcsc::PcscCardReader, CardPresence, CardReader as _};
    let fix = "check the USB cable and that pcscd runs (`systemctl status pcscd`); \
               `kioskctl card readers` lists what pcscd sees";
    let mut reader = match PcscCardReader::open(name) {
        Ok(r) => r,
        Err(e) => return check("card-reader", Level::Fail, format!("{e}; {fix}")),
    };
    let rname = reader.name().to_owned();
    match reader.wait_for_change(Duration::from_millis(300)) {
        Ok(CardPresence::Absent) => check(
            "card-reader",
            Level::Ok,
            format!("{rname}: present, no card on it"),
        ),
        Ok(CardPresence::Present { .. }) => match reader.transmit(&SELECT_EMRTD) {
            Ok(resp) if resp.len() >= 2 => {
                let sw = &resp[resp.len() - 2..];
                let sw = u16::from_be_bytes([sw[0], sw[1]]);
                let what = if sw == 0x9000 {
                    "an ID card chip answered (eMRTD application selected)".to_owned()
                } else {
                    format!("a card answered {sw:04X} (not an ID card chip?)")
                };
                check("card-reader", Level::Ok, format!("{rname}: {what}"))
            }
            Ok(_) => check(
                "card-reader",
                Level::Warn,
                format!("{rname}: the card on it gave no status word; lift it and try again"),
            ),
            Err(e) => check(
                "card-reader",
                Level::Warn,
                format!(
                    "{rname}: a card is on it but does not answer ({e}); lift it and try again"
                ),
            ),
        },
        Err(e) => check("card-reader", Level::Fail, format!("{rname}: {e}; {fix}")),
    }
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_check(_name: Option<&str>) -> Check {
    check(
        "card-reader",
        Level::Fail,
        "this kioskctl was built without PC/SC support (cargo feature `pcsc`)",
    )
}

/// Frames from the camera for `seconds`: the measured rate. Under 10 frames a second the face
/// check is slow (warn); no frames fails.
fn camera(spec: &CameraSpec, duration: Duration) -> Check {
    let (mut source, negotiated) = match crate::camera_test::open(spec, 1280, 720, 30) {
        Ok(s) => s,
        Err(e) => {
            return check(
                "camera",
                Level::Fail,
                format!("{e}; the kiosk stays out of service without its camera"),
            )
        }
    };
    let info = source.info();
    let started = Instant::now();
    let (mut frames, mut last_error) = (0u32, None);
    while started.elapsed() < duration {
        match source.next_frame(Duration::from_secs(1)) {
            Ok(_) => frames = frames.saturating_add(1),
            Err(e) => {
                last_error = Some(e.to_string());
                if e.kind() != kiosk_hw::CameraErrorKind::Timeout {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let fps = f64::from(frames) / secs.max(0.001);
    let what =
        negotiated.unwrap_or_else(|| format!("{} {}x{}", info.name, info.width, info.height));
    let detail = format!("{what}: {frames} frames in {secs:.1} s ({fps:.1} fps measured)");
    if frames == 0 {
        let why = last_error.unwrap_or_else(|| "no frames".into());
        check(
            "camera",
            Level::Fail,
            format!("{detail}: {why}; check the cable and `ls /dev/video*`"),
        )
    } else if fps < 10.0 {
        check(
            "camera",
            Level::Warn,
            format!("{detail}: below 10 fps, the face check will be slow (light? USB 2 hub?)"),
        )
    } else {
        check("camera", Level::Ok, detail)
    }
}

/// The printer's status through the ESC/POS driver (for `virtual:DIR`, the virtual printer
/// started here, as the kiosk would); with `print`, a test page.
fn printer(cfg: &KioskConfig, print: bool) -> Check {
    let options = PrinterOptions {
        width_dots: cfg.devices.printer_dots(),
        ..PrinterOptions::default()
    };
    let mut _virtual = None;
    let mut label = String::new();
    let device = match (&cfg.devices.printer, cfg.devices.printer.device()) {
        (_, Some(d)) => d,
        (PrinterSpec::Virtual(dir), None) => {
            let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            match kiosk_hw::printer::VirtualPrinter::start(listen, dir, options.width_dots) {
                Ok(p) => {
                    let d = p.device();
                    _virtual = Some(p);
                    label.push_str("virtual printer (demo) on ");
                    d
                }
                Err(e) => {
                    return check(
                        "printer",
                        Level::Fail,
                        format!("virtual printer in {}: {e}", dir.display()),
                    )
                }
            }
        }
        (spec, None) => {
            return check(
                "printer",
                Level::Ok,
                format!("simulated ({spec}): not checked"),
            )
        }
    };
    let mut driver = EscPosPrinter::new(device.clone(), options);
    let status = match driver.status() {
        Ok(s) => s,
        Err(e) => {
            return check(
                "printer",
                Level::Fail,
                format!(
                    "{device}: {e}; check power, cable or network, then `kioskctl printer test`"
                ),
            )
        }
    };
    if let Some(kind) = status.fault() {
        return check(
            "printer",
            Level::Fail,
            format!("{device}: {kind}: {}", status.advice()),
        );
    }
    let mut detail = format!("{label}{device}: {status}");
    if print {
        let printed = kiosk_app::receipt::ReceiptFonts::load_default()
            .map_err(|e| e.to_string())
            .and_then(|fonts| {
                crate::printer::test_page(&device, options.width_dots, &status.to_string(), &fonts)
                    .map_err(|e| e.to_string())
            })
            .and_then(|job| {
                driver.print(&job).map_err(|e| e.to_string())?;
                Ok(job.len())
            });
        match printed {
            Ok(n) => detail.push_str(&format!("; test page printed ({n} bytes)")),
            Err(e) => {
                return check(
                    "printer",
                    Level::Fail,
                    format!("{detail}; test page not printed: {e}"),
                )
            }
        }
    }
    let near_end = driver
        .last_status()
        .is_some_and(|s| s.paper == kiosk_hw::PaperState::NearEnd);
    if near_end {
        check(
            "printer",
            Level::Warn,
            format!("{detail}; paper nearly used up: replace the roll soon"),
        )
    } else {
        check("printer", Level::Ok, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_judged_against_the_build() {
        let build = 1_796_083_200; // 2026-12-01
        assert_eq!(clock(build + 3600, build).status, Level::Ok);
        // A few hours before the build (time zones, a commit just made): still fine.
        assert_eq!(clock(build - 3600, build).status, Level::Ok);
        let c = clock(0, build);
        assert_eq!(c.status, Level::Fail);
        assert!(
            c.detail.contains("1970-01-01") && c.detail.contains("timedatectl"),
            "{c:?}"
        );
        assert_eq!(clock(build + 800 * DAY, build).status, Level::Warn);
        assert_eq!(clock(build + 4000 * DAY, build).status, Level::Fail);
    }

    #[test]
    fn certificate_days_left_renewal_and_expiry() {
        let info = kiosk_app::gateway::enrol::CertificateInfo {
            kiosk_id: "hn-pb-001".into(),
            not_before: 1_000 * DAY,
            not_after: 1_030 * DAY,
        };
        let c = certificate_at(&info, 1_001 * DAY);
        assert_eq!(c.status, Level::Ok, "{c:?}");
        assert!(c.detail.contains("hn-pb-001: 29 days left"), "{c:?}");
        assert!(c.detail.contains("renewal in 19 days"), "{c:?}");
        // Two thirds into its life the kiosk should have renewed it.
        let c = certificate_at(&info, 1_025 * DAY);
        assert_eq!(c.status, Level::Warn, "{c:?}");
        assert!(
            c.detail.contains("5 days left") && c.detail.contains("overdue"),
            "{c:?}"
        );
        assert_eq!(certificate_at(&info, 1_030 * DAY).status, Level::Fail);
        assert_eq!(certificate_at(&info, 999 * DAY).status, Level::Fail);
    }

    /// A production queue (key file and database): depth counted, a dead letter warns.
    #[test]
    fn the_queue_is_counted_and_dead_letters_warn() {
        use kiosk_outbox::{ErrorClass, Kind, NewItem, Outbox};
        let dir = tempfile::tempdir().expect("tempdir");
        let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml");
        let mut cfg = kiosk_app::config::load(std::path::Path::new(demo)).expect("demo config");
        cfg.demo = false;
        cfg.queue.path = dir.path().join("queue.db");
        cfg.queue.key_file = dir.path().join("queue.key");
        let c = queue(&cfg, 0);
        assert_eq!(c.status, Level::Fail, "no key yet: {c:?}");
        assert!(c.detail.contains("init-key"), "{c:?}");
        let key = kiosk_outbox::KeyFile::new(&cfg.queue.key_file)
            .create()
            .expect("key");
        assert_eq!(queue(&cfg, 0).status, Level::Ok, "not created yet");
        let o = Outbox::open(&cfg.queue.path, &key, &kiosk_outbox::OpenOptions::default())
            .expect("outbox");
        let ids = [Outbox::new_id(), Outbox::new_id()];
        for id in ids {
            o.enqueue(
                NewItem {
                    id,
                    kind: Kind::Tthc,
                    partition: &o.partition_for(id.as_bytes()),
                    payload: b"{}",
                },
                1_000,
            )
            .expect("enqueue");
        }
        let c = queue(&cfg, 61);
        assert_eq!(c.status, Level::Ok, "{c:?}");
        assert!(c.detail.starts_with("2 waiting, oldest 60 s"), "{c:?}");
        o.dead(ids[0], ErrorClass::Permanent, "422 from the gateway", 2_000)
            .expect("dead");
        let c = queue(&cfg, 61);
        assert_eq!(c.status, Level::Warn, "{c:?}");
        assert!(c.detail.contains("1 dead letters"), "{c:?}");
        assert!(c.detail.contains("kioskctl queue dead"), "{c:?}");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5_000), "5 s");
        assert_eq!(age(600_000), "10 min");
        assert_eq!(age(3 * 3_600_000), "3 h");
        assert_eq!(age(3 * 86_400_000), "3 days");
    }
}
