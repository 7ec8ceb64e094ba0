//! The `kiosk` binary as systemd and a newcomer meet it: bad configuration, no display,
//! SIGTERM, and the headless tour of a whole demo session (which must log no personal data).

use std::process::Command;
use std::time::{Duration, Instant};

use kiosk_tests::{bin, demo_config, spawn_kiosk, wait_for_text};

/// Exit codes documented in `kiosk_app::app::exit`.
const BAD_CONFIG: i32 = 2;
const NO_DISPLAY: i32 = 3;

fn output(args: &[&str]) -> std::process::Output {
    Command::new(bin("kiosk"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("SLINT_BACKEND")
        .output()
        .expect("run kiosk")
}

#[test]
fn bad_config_exits_non_zero_naming_the_key_and_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = demo_config(
        dir.path(),
        &[("url =", "url = \"http://127.0.0.1:0\"\ntimout = 5")],
    );
    let out = output(&["--config", cfg.to_str().expect("utf-8 path")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(BAD_CONFIG), "stderr: {err}");
    assert!(err.contains("gateway.timout"), "names the key: {err}");
    assert!(err.contains("timeout"), "suggests the fix: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
}

#[test]
fn missing_config_file_is_named() {
    let out = output(&["--config", "/nonexistent/kiosk.toml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(BAD_CONFIG), "stderr: {err}");
    assert!(err.contains("/nonexistent/kiosk.toml"), "{err}");
}

#[test]
fn without_a_display_it_says_so_in_one_line_and_offers_the_tour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = demo_config(dir.path(), &[]);
    let out = output(&["--config", cfg.to_str().expect("utf-8 path")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(NO_DISPLAY), "stderr: {err}");
    let line: Vec<&str> = err.lines().filter(|l| l.starts_with("kiosk:")).collect();
    assert_eq!(line.len(), 1, "{err}");
    assert!(
        line[0].contains("no display") && line[0].contains("--tour"),
        "{err}"
    );
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = demo_config(dir.path(), &[]);
    let log = dir.path().join("kiosk.log");
    let mut kiosk = spawn_kiosk(
        &[
            "--config",
            cfg.to_str().expect("utf-8 path"),
            "--headless",
            "--log-file",
            log.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    wait_for_text(&log, "kiosk ready", Duration::from_secs(30));
    let pid = kiosk.0.id().to_string();
    // No core dumps (kiosk_app::hardening): a crash must not write portraits and keys to
    // disk. /proc/PID/limits stays world-readable for a non-dumpable process.
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("core limit listed");
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = kiosk.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "kiosk still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "clean exit on SIGTERM");
    wait_for_text(&log, "shutdown complete", Duration::from_secs(1));
}

/// The synthetic demo citizen's personal fields, in every spelling the kiosk handles.
const DEMO_PII: &[&str] = &[
    "001090123456", // ID number
    "090123456",    // document number (last 9 digits)
    "NGUYEN VAN AN",
    "NGUYEN<<VAN<AN",
    "Nguyễn Văn An",
    "01/01/1990",
    "01011990",
    "900101",
    "Giả Định",     // the QR's address
    "001090123459", // the wrong number the tour types first
    "0912345678",   // the phone number the tour types on the dossier form
    "0212345678",   // and the landline it types first
    // DG13 of the virtual CCCD the tour reads.
    "Nguyễn Văn Bình",
    "Trần Thị Cúc",
    "Thử Nghiệm",
    "012345678",
];

#[test]
fn headless_tour_writes_every_screen_and_logs_no_personal_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = demo_config(dir.path(), &[("level =", "level = \"trace\"")]);
    let log = dir.path().join("kiosk.log");
    let tour = dir.path().join("tour");
    let out = Command::new(bin("kiosk"))
        .args(["--config", cfg.to_str().expect("utf-8"), "--tour"])
        .arg(&tour)
        .arg("--log-file")
        .arg(&log)
        .env("KIOSK_LOG", "trace")
        .output()
        .expect("run the tour");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tour failed: {stderr}");

    let screens = [
        "attract",
        "language",
        "identify",
        "identify-still-there",
        "identify-id-first",
        "identify-keypad",
        "identify-wrong-id",
        "consent",
        "face",
        "services",
        "services-filtered",
        "services-search",
        "form-phone",
        "form-phone-invalid",
        "form-province",
        "form-ward",
        "form-street",
        "form-delivery",
        "form-review",
        "submitting",
        "receipt",
        "receipt-printer-failed",
        "identify-place-card",
        "notice-card-removed",
        "notice-consent-declined",
        "attract-staff-notice",
        "out-of-service",
        // Issue 14: help from a dead end, a staff call, assisted mode, display switches.
        "help-wrong-id",
        "help-staff-called",
        "identify-staff-called",
        "help-pin",
        "identify-assisted",
        "language-large-text",
        "language-large-contrast",
        "identify-large-contrast",
        "help-large-contrast",
    ];
    for (orientation, w, h) in [("portrait", 1080, 1920), ("landscape", 1920, 1080)] {
        for lang in ["vi", "en", "hmn"] {
            for (i, name) in screens.iter().enumerate() {
                let p = tour
                    .join(orientation)
                    .join(lang)
                    .join(format!("{:02}-{name}.png", i + 1));
                let f = std::fs::File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let info = png::Decoder::new(std::io::BufReader::new(f))
                    .read_info()
                    .expect("a PNG")
                    .info()
                    .clone();
                assert_eq!((info.width, info.height), (w, h), "{}", p.display());
            }
        }
    }
    // The technician screen (technician mode), in vi and en.
    for (orientation, w, h) in [("portrait", 1080, 1920), ("landscape", 1920, 1080)] {
        for lang in ["vi", "en"] {
            for name in [
                "tech-01-waiting",
                "tech-02-running",
                "tech-03-failed",
                "tech-04-finished",
            ] {
                let p = tour
                    .join(orientation)
                    .join(lang)
                    .join(format!("{name}.png"));
                let f = std::fs::File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let info = png::Decoder::new(std::io::BufReader::new(f))
                    .read_info()
                    .expect("a PNG")
                    .info()
                    .clone();
                assert_eq!((info.width, info.height), (w, h), "{}", p.display());
            }
        }
    }
    // Every completed session printed a receipt through the simulated ESC/POS printer.
    let printed = std::fs::read_dir(dir.path().join("receipts"))
        .expect("receipts folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert_eq!(
        printed, 6,
        "one receipt per completed session (2 orientations x 3 languages)"
    );

    let logged = std::fs::read_to_string(&log).expect("log file");
    assert!(
        logged.contains("session wiped"),
        "the log is the session's log"
    );
    assert!(logged.lines().count() > 100, "trace logging was on");
    for pii in DEMO_PII {
        assert!(!logged.contains(pii), "log contains personal data `{pii}`");
        assert!(
            !stderr.contains(pii),
            "stderr contains personal data `{pii}`"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(pii),
            "stdout: `{pii}`"
        );
    }
}

#[test]
fn an_https_gateway_goes_through_the_mutual_tls_transport() {
    // The production path: gateway.url is https, so the outbox worker is built on the mTLS
    // transport, which reads the deployment CA and the kiosk's certificate at start-up. A
    // missing CA file must stop the kiosk with a message naming the file.
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = demo_config(
        dir.path(),
        &[(
            "url =",
            "url = \"https://gw.example.invalid/kiosk\"\nca_file = \"/nonexistent/tls/ca.pem\"\n\
             client_cert = \"/nonexistent/tls/client.pem\"\nclient_key = \"/nonexistent/tls/client.key\"",
        )],
    );
    let out = output(&["--config", cfg.to_str().expect("utf-8 path"), "--headless"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "stderr: {err}");
    assert!(
        err.contains("/nonexistent/tls/ca.pem"),
        "names the file: {err}"
    );
}

/// Runs the headless tour (Vietnamese only: one session per orientation) with `cfg`; returns
/// how many receipts were printed.
fn tour_receipts(dir: &std::path::Path, cfg: &std::path::Path) -> usize {
    let started = Instant::now();
    let out = Command::new(bin("kiosk"))
        .args(["--config", cfg.to_str().expect("utf-8"), "--tour"])
        .arg(dir.join("tour"))
        .output()
        .expect("run the tour");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tour failed: {stderr}");
    eprintln!("tour: {} ms", started.elapsed().as_millis());
    std::fs::read_dir(dir.join("receipts"))
        .expect("receipts folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count()
}

/// `[gateway]` lines for a mutual-TLS gateway, with the kiosk's enrolment files.
fn mtls_gateway(url: &str, fhir: Option<&str>, id: &kiosk_tests::tls::KioskIdentity) -> String {
    let mut s = format!(
        "url = \"{url}\"\nca_file = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"",
        id.ca_file.display(),
        id.client_cert.display(),
        id.client_key.display()
    );
    if let Some(f) = fhir {
        s.push_str(&format!("\nfhir_url = \"{f}\""));
    }
    s
}

#[test]
fn the_kiosk_submits_every_dossier_over_mutual_tls_with_enrolment_certificates() {
    let gw = kiosk_tests::gateway::start_mtls();
    let dir = tempfile::tempdir().expect("tempdir");
    let id = kiosk_tests::gateway::enrol(&gw, dir.path(), "kiosk-hn-01");
    let gateway = mtls_gateway(&gw.url(), None, &id);
    let cfg = demo_config(
        dir.path(),
        &[
            ("url =", gateway.as_str()),
            ("languages =", "languages = [\"vi\"]"),
        ],
    );
    let printed = tour_receipts(dir.path(), &cfg);
    assert_eq!(printed, 2, "one receipt per session");
    // Each receipt is the gateway's: both dossiers arrived over mutual TLS.
    assert_eq!(gw.received(), 2);
}

#[test]
fn a_hospital_kiosk_registers_patients_on_a_fhir_server_over_mutual_tls() {
    use kiosk_app::gateway::fhir::NATIONAL_ID_SYSTEM;
    if !kiosk_tests::require_env(
        "OUTBOX_FHIR",
        "set OUTBOX_FHIR=1 to run against sekmet-fhir (`cargo xtask test` does)",
    ) {
        return;
    }
    let fhir =
        kiosk_tests::sekmet::Sekmet::start(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    // The kiosk trusts the one deployment CA for the gateway and the FHIR server.
    let dir = tempfile::tempdir().expect("tempdir");
    let (gw, ca) = kiosk_tests::gateway::start_mtls_with_ca(dir.path());
    let id = kiosk_tests::gateway::enrol(&gw, dir.path(), "kiosk-bv-01");
    let fhir_front = kiosk_tests::gateway::front(&ca, fhir.addr());
    let fhir_base = format!("{}/fhir", fhir_front.url());
    let gateway = mtls_gateway(&gw.url(), Some(&fhir_base), &id);
    let cfg = demo_config(
        dir.path(),
        &[
            ("mode =", "mode = \"hospital\""),
            ("url =", gateway.as_str()),
            ("languages =", "languages = [\"vi\"]"),
        ],
    );
    let printed = tour_receipts(dir.path(), &cfg);
    assert_eq!(printed, 2, "one ticket per session");
    assert_eq!(gw.received(), 0, "registrations go to the FHIR server");
    // The demo citizen once, with one Encounter per session, as the FHIR server itself finds.
    let patients = fhir.search_ids(&format!(
        "/fhir/Patient?identifier={NATIONAL_ID_SYSTEM}%7C001090123456"
    ));
    assert_eq!(patients.len(), 1, "{patients:?}");
    let encounters = fhir.search_ids(&format!("/fhir/Encounter?subject=Patient/{}", patients[0]));
    assert_eq!(encounters.len(), 2, "{encounters:?}");
}

#[test]
fn the_kiosk_offers_the_gateways_catalogue_and_keeps_the_last_good_copy() {
    use kiosk_app::catalog::Catalog;
    use kiosk_app::config::Mode;
    let gw = kiosk_tests::gateway::start_mtls();
    // The province's catalogue: one procedure the built-in list does not have.
    let toml = "[[procedure]]\nid = \"birth-registration\"\ncode = \"1.001193\"\n\
                title = { vi = \"Đăng ký khai sinh\", en = \"Birth registration\" }\n";
    let province = Catalog::from_toml(
        std::path::Path::new("province.toml"),
        toml,
        Mode::OneStopShop,
    )
    .expect("catalogue");
    gw.set_catalog("one-stop-shop", &province.to_gateway_json(""))
        .expect("catalogue served");
    let dir = tempfile::tempdir().expect("tempdir");
    let id = kiosk_tests::gateway::enrol(&gw, dir.path(), "kiosk-hn-02");
    let cache = dir.path().join("catalog.json");
    let gateway = format!(
        "{}\ncatalog_download = true\ncatalog_cache = \"{}\"",
        mtls_gateway(&gw.url(), None, &id),
        cache.display()
    );
    let cfg = demo_config(
        dir.path(),
        &[
            ("url =", gateway.as_str()),
            ("languages =", "languages = [\"vi\"]"),
        ],
    );
    assert_eq!(tour_receipts(dir.path(), &cfg), 2);
    // The citizen chose from the gateway's catalogue, and the kiosk kept a copy.
    assert_eq!(gw.procedure_codes(), vec!["1.001193", "1.001193"]);
    let kept = std::fs::read_to_string(&cache).expect("cache written");
    assert!(kept.contains("1.001193"), "{kept}");

    // The gateway unreachable at the next start: the kept copy is offered (the dossiers wait
    // in the queue; receipts say so).
    gw.set_down(true);
    let dir2 = tempfile::tempdir().expect("tempdir");
    // A short wait for the gateway's answer before the offline receipt.
    let offline = format!("{gateway}\ntimeout = 2");
    let cfg2 = demo_config(
        dir2.path(),
        &[
            ("url =", offline.as_str()),
            ("languages =", "languages = [\"vi\"]"),
            ("level =", "level = \"info\""),
        ],
    );
    let log = dir2.path().join("kiosk.log");
    let out = Command::new(bin("kiosk"))
        .args(["--config", cfg2.to_str().expect("utf-8"), "--tour"])
        .arg(dir2.path().join("tour"))
        .arg("--log-file")
        .arg(&log)
        .output()
        .expect("run the tour");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("catalogue from the cache"), "{logged}");
    assert_eq!(gw.received(), 2, "nothing new reached the gateway");
}

#[test]
fn the_kiosk_sends_its_heartbeat_over_mutual_tls_and_the_gateway_shows_it() {
    use kiosk_outbox::https::{HttpsConfig, HttpsTransport};
    let gw = kiosk_tests::gateway::start_mtls();
    let dir = tempfile::tempdir().expect("tempdir");
    let id = kiosk_tests::gateway::enrol(&gw, dir.path(), "kiosk-hb-01");
    let gateway = format!(
        "{}\nheartbeat_interval_s = 10",
        mtls_gateway(&gw.url(), None, &id)
    );
    let cfg = demo_config(dir.path(), &[("url =", gateway.as_str())]);
    let log = dir.path().join("kiosk.log");
    let _kiosk = spawn_kiosk(
        &[
            "--config",
            cfg.to_str().expect("utf-8 path"),
            "--headless",
            "--log-file",
            log.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    wait_for_text(&log, "heartbeat to the gateway on", Duration::from_secs(30));
    // The first beat comes 5 s after the start.
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = loop {
        let h = gw.kiosk_health().expect("the gateway's store");
        if let Some(k) = h.into_iter().next() {
            break k;
        }
        assert!(
            Instant::now() < deadline,
            "no heartbeat recorded within 60 s:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // The kiosk id is the one in its certificate; the facts are the kiosk's.
    assert_eq!(health.kiosk, "kiosk-hb-01");
    let beat = &health.heartbeat;
    assert_eq!(beat.validate(), Ok(()));
    let loaded = kiosk_app::config::load(&cfg).expect("config");
    assert_eq!(
        beat.config_sha256.as_deref(),
        Some(loaded.source_sha256.as_str())
    );
    assert_eq!(beat.app_version, env!("CARGO_PKG_VERSION"));
    assert_eq!((beat.queue_depth, beat.dead_letters), (0, 0));
    let days = beat.cert_days_left.expect("certificate days left");
    assert!((1..=30).contains(&days), "{days} days left");
    let devices: Vec<&str> = beat.devices.iter().map(|d| d.device.as_str()).collect();
    assert_eq!(devices, ["card-reader", "camera", "printer"]);
    assert!(!beat.has_failed_device(), "{beat:?}");
    // /metrics over the network, as Prometheus scrapes it.
    let transport = HttpsTransport::new(&HttpsConfig {
        base_url: gw.url(),
        fhir_base_url: None,
        ca_pem: id.ca_file.clone(),
        client_cert_pem: id.client_cert.clone(),
        client_key_pem: id.client_key.clone(),
        spki_sha256: None,
        timeout: Duration::from_secs(10),
    })
    .expect("https transport");
    let (status, body) = transport
        .request_blocking("GET", "/metrics", &[], Vec::new())
        .expect("metrics");
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{text}");
    for want in [
        "kiosk_gateway_kiosks_seen_5m 1\n",
        "kiosk_gateway_kiosks_device_failed 0\n",
        "kiosk_gateway_kiosk_queue_depth{kiosk=\"kiosk-hb-01\"} 0\n",
        "kiosk_gateway_kiosk_device_up{kiosk=\"kiosk-hb-01\",device=\"printer\"} 1\n",
        "kiosk_gateway_requests_total{route=\"/v1/heartbeat\",status=\"204\"}",
    ] {
        assert!(text.contains(want), "{want} missing from\n{text}");
    }
}
