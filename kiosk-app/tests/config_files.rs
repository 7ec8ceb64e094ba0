//! Every example configuration parses; bad configurations fail with a message that names the
//! file, the key and the fix.

use std::path::{Path, PathBuf};

use kiosk_app::catalog::Catalog;
use std::time::Duration;

use kiosk_app::config::{
    self, CameraSpec, CardReaderSpec, ConfigErrorKind, Mode, PrinterSpec, QrSpec, QueueSettings,
};
use kiosk_outbox::WorkerConfig;

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
}

#[test]
fn every_example_parses() {
    let mut seen = 0;
    for entry in std::fs::read_dir(config_dir()).expect("config/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let cfg = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            // The catalogue for the configured mode must be usable as well.
            assert!(!Catalog::builtin(cfg.mode).entries().is_empty());
            seen += 1;
        }
    }
    assert!(seen >= 3, "expected demo and two examples, found {seen}");
}

#[test]
fn examples_mean_what_they_say() {
    let demo = config::load(&config_dir().join("demo.toml")).expect("demo");
    assert!(demo.demo);
    assert_eq!(demo.devices.card_reader, CardReaderSpec::Sim);
    assert_eq!(demo.devices.camera, CameraSpec::Sim);
    assert_eq!(demo.devices.qr, QrSpec::Sim);
    assert_eq!(
        demo.devices.printer,
        PrinterSpec::Virtual("/tmp/kiosk-receipts".into())
    );
    assert_eq!(demo.devices.printer_dots(), 576, "80 mm by default");
    assert_eq!(demo.gateway.url.as_str(), "http://127.0.0.1:0");
    assert_eq!(demo.session.timeouts.language_ms, 30_000);
    assert_eq!(demo.session.timeouts.submitting_ms, 30_000, "default kept");

    let oss = config::load(&config_dir().join("example-one-stop-shop.toml")).expect("oss");
    assert_eq!(oss.mode, Mode::OneStopShop);
    assert!(!oss.demo);
    assert_eq!(oss.site.province_code.as_deref(), Some("01"));
    assert_eq!(
        oss.site.lookup_url.as_ref().map(|u| u.as_str()),
        Some("https://dichvucong.example.gov.vn/tra-cuu?maHoSo={dossier}&maTraCuu={lookup}")
    );
    assert_eq!(
        oss.site.result_place.as_deref(),
        Some("Bộ phận Một cửa UBND phường Bách Khoa, số 1 Tạ Quang Bửu")
    );
    assert!(oss.gateway.client_identity.is_some());
    assert_eq!(oss.session.max_face_attempts, 3);
    assert_eq!(oss.session.languages, ["vi", "en"]);
    assert_eq!(
        oss.queue,
        QueueSettings::default(),
        "the example spells out the defaults"
    );

    let hos = config::load(&config_dir().join("example-hospital.toml")).expect("hospital");
    assert_eq!(hos.mode, Mode::Hospital);
    assert_eq!(
        hos.gateway.fhir_url.as_ref().map(|u| u.as_str()),
        Some("https://kiosk-gw.bvdk-laocai.example.vn/fhir")
    );
    assert_eq!(oss.gateway.fhir_url, None);
    assert_eq!(
        hos.devices.printer,
        PrinterSpec::Tcp {
            host: "192.168.10.50".into(),
            port: 9100
        }
    );
    assert_eq!(hos.devices.printer_dots(), 512, "safe area");
    assert_eq!(oss.devices.printer_dots(), 576);
    assert_eq!(
        hos.devices.card_reader,
        CardReaderSpec::Named("ACS ACR1252 1S CL Reader PICC 0".into())
    );
    assert_eq!(hos.queue, QueueSettings::default());
}

const BASE: &str = r#"
mode = "one-stop-shop"
demo = DEMO

[site]
id = "hn-01"
name = "Phường A"

[gateway]
url = "URL"
ca_file = "/etc/kiosk/tls/ca.pem"
client_cert = "/var/lib/kiosk/tls/client.pem"
client_key = "/var/lib/kiosk/tls/client.key"

[card]
trust_dir = "/etc/kiosk/csca"

[devices]
card_reader = "auto"
camera = "/dev/video0"
qr = "camera"
printer = "usb:/dev/usb/lp0"
"#;

fn base(demo: bool, url: &str) -> String {
    BASE.replace("DEMO", if demo { "true" } else { "false" })
        .replace("URL", url)
}

fn good() -> String {
    base(false, "https://gw.example.vn")
}

/// `config text | kind | substrings the message must contain`.
fn bad_configs() -> Vec<(String, ConfigErrorKind, Vec<&'static str>)> {
    use ConfigErrorKind::*;
    vec![
        (
            good().replace("ca_file = \"/etc/kiosk/tls/ca.pem\"\n", ""),
            MissingKey,
            vec!["gateway.ca_file", "deployment's CA"],
        ),
        (
            good().replace("client_cert = \"/var/lib/kiosk/tls/client.pem\"\nclient_key = \"/var/lib/kiosk/tls/client.key\"\n", ""),
            MissingKey,
            vec!["gateway.client_cert", "mutual TLS"],
        ),
        (
            good().replace("[card]", "spki_sha256 = \"abcd\"\n\n[card]"),
            InvalidValue,
            vec!["gateway.spki_sha256", "64 hexadecimal digits"],
        ),
        (
            good().replace("[card]", "fhir_url = \"https://his.example.vn/fhir\"\n\n[card]"),
            InvalidValue,
            vec!["gateway.fhir_url", "mode = \"hospital\""],
        ),
        (
            base(true, "http://127.0.0.1:8080")
                .replace("one-stop-shop", "hospital")
                .replace("[card]", "fhir_url = \"https://his.example.vn/fhir\"\n\n[card]"),
            InvalidValue,
            vec!["gateway.fhir_url", "different schemes"],
        ),
        (
            good()
                .replace("one-stop-shop", "hospital")
                .replace("[card]", "fhir_url = \"http://his.example.vn/fhir\"\n\n[card]"),
            InvalidValue,
            vec!["gateway.fhir_url", "plain http"],
        ),
        (
            format!("catalog_file = \"/etc/kiosk/p.toml\"\n{}", good())
                .replace("[card]", "catalog_download = true\n\n[card]"),
            InvalidValue,
            vec!["gateway.catalog_download", "catalog_file"],
        ),
        (
            good() + "[face]\nverifier = \"simulated\"\n",
            InvalidValue,
            vec!["face.verifier", "demo = false"],
        ),
        (
            good() + "[face]\nthreshold = 0.9\n",
            InvalidValue,
            vec!["face.threshold", "0.3 to 0.6"],
        ),
        (
            good() + "[face]\nliveness_turns = 0\n",
            InvalidValue,
            vec!["face.liveness_turns", "only in a demo"],
        ),
        (
            good() + "[timeouts]\nlanguage = 30\ntimout = 5\n",
            UnknownKey,
            vec![
                "bad.toml:",
                "timeouts.timout",
                "unknown key `timout` in [timeouts]",
                "valid keys:",
                "`identify`",
            ],
        ),
        (
            good() + "[ui]\ndefault_languag = \"vi\"\n",
            UnknownKey,
            vec!["ui.default_languag", "did you mean `default_language`?"],
        ),
        (
            "colour = \"blue\"\n".to_owned() + &good(),
            UnknownKey,
            vec![
                "unknown key `colour` at the top level",
                ":1:1",
                "valid keys:",
            ],
        ),
        (
            good() + "colour = \"blue\"\n",
            UnknownKey,
            vec![
                "devices.colour",
                "unknown key `colour` in [devices]",
                "`card_reader`",
            ],
        ),
        (
            good().replace("one-stop-shop", "clinic"),
            InvalidValue,
            vec![
                "mode = \"clinic\" is not valid",
                "use \"one-stop-shop\" or \"hospital\"",
                ":2:",
            ],
        ),
        (
            good() + "[ui]\nlanguages = [\"vi\", \"en\"]\ndefault_language = \"fr\"\n",
            InvalidValue,
            vec![
                "ui.default_language",
                "default_language \"fr\" is not in ui.languages",
                "\"vi\", \"en\"",
            ],
        ),
        (
            good() + "[ui]\nlanguages = [\"vi\", \"vi\"]\n",
            InvalidValue,
            vec!["ui.languages[1]", "listed twice"],
        ),
        (
            good() + "[ui]\norientation = \"sideways\"\n",
            InvalidValue,
            vec!["ui.orientation", "use \"portrait\" or \"landscape\""],
        ),
        (
            base(false, "http://gw.example.vn"),
            InvalidValue,
            vec!["gateway.url", "use https"],
        ),
        (
            base(false, "http://127.0.0.1:8080"),
            InvalidValue,
            vec!["gateway.url", "demo = true"],
        ),
        (
            base(false, "gw.example.vn"),
            InvalidValue,
            vec!["gateway.url", "no scheme"],
        ),
        (
            good().replace("card_reader = \"auto\"", "card_reader = \"sim\""),
            InvalidValue,
            vec!["devices.card_reader", "simulator", "set `demo = true`"],
        ),
        (
            good().replace("/dev/video0", "webcam"),
            InvalidValue,
            vec!["devices.camera", "\"/dev/video0\""],
        ),
        (
            good().replace("usb:/dev/usb/lp0", "tcp:printer"),
            InvalidValue,
            vec!["devices.printer", "tcp:host:9100"],
        ),
        (
            good().replace("[gateway]", "lookup_url = \"http://dvc.example.vn/{dossier}\"\n\n[gateway]"),
            InvalidValue,
            vec!["site.lookup_url", "https://", "{dossier}"],
        ),
        (
            good().replace("[gateway]", "result_place = \"  \"\n\n[gateway]"),
            InvalidValue,
            vec!["site.result_place", "1 to 120 characters"],
        ),
        (
            good().replace("usb:/dev/usb/lp0", "virtual:/tmp/r"),
            InvalidValue,
            vec!["devices.printer", "simulator", "set `demo = true`"],
        ),
        (
            good().replace("usb:/dev/usb/lp0\"", "usb:/dev/usb/lp0\"\nprinter_width = \"76mm\""),
            InvalidValue,
            vec!["devices.printer_width", "\"80mm\" or \"58mm\""],
        ),
        (
            good().replace(
                "usb:/dev/usb/lp0\"",
                "usb:/dev/usb/lp0\"\nprinter_width = \"58mm\"\nprinter_safe_area = true",
            ),
            InvalidValue,
            vec!["devices.printer_safe_area", "80 mm"],
        ),
        (
            good().replace("qr = \"camera\"", "qr = \"usb\""),
            InvalidValue,
            vec!["devices.qr", "\"camera\" or \"sim\""],
        ),
        (
            good().replace("qr = \"camera\"", "qr = \"camera\"\nir_camera = \"ir0\""),
            InvalidValue,
            vec!["devices.ir_camera", "\"/dev/video0\""],
        ),
        (
            good().replace("qr = \"camera\"", "qr = \"camera\"\nir_camera = \"sim\""),
            InvalidValue,
            vec!["devices.ir_camera", "simulator"],
        ),
        (
            good().replace("client_key = \"/var/lib/kiosk/tls/client.key\"\n", ""),
            InvalidValue,
            vec!["gateway.client_cert", "client_key"],
        ),
        (
            good() + "[timeouts]\nconfirm = 0\n",
            InvalidValue,
            vec!["timeouts.confirm", "1 to 3600"],
        ),
        (
            good() + "[timeouts]\nwarn_before = 60\n",
            InvalidValue,
            vec!["timeouts.warn_before", "raise the step timeouts"],
        ),
        (
            // WCAG 2.2.1: at least 20 s to ask for more time before the wipe.
            good() + "[timeouts]\nwarn_before = 10\n",
            InvalidValue,
            vec!["timeouts.warn_before", "less than 20s", "at least 20"],
        ),
        (
            // 18446744073709552 * 1000 wraps to 384 (ms) in u64: it must be refused, not
            // accepted as a 0.4 s warning (or panic in a debug build).
            good() + "[timeouts]\nwarn_before = 18446744073709552\n",
            InvalidValue,
            vec!["timeouts.warn_before", "too large"],
        ),
        (
            good() + "[timeouts]\nconfirm = \"long\"\n",
            WrongType,
            vec!["timeouts.confirm", "invalid type"],
        ),
        (
            good() + "[session]\nmax_face_attempts = 0\n",
            InvalidValue,
            vec!["session.max_face_attempts", "1 to 10"],
        ),
        (
            good().replace("id = \"hn-01\"", "id = \"hn 01\""),
            InvalidValue,
            vec!["site.id", "slug"],
        ),
        (
            good().replace("trust_dir = \"/etc/kiosk/csca\"\n", ""),
            MissingKey,
            vec![
                "card.trust_dir",
                "cannot verify chips",
                "trust_dir = \"/etc/kiosk/csca\"",
            ],
        ),
        (
            good().replace("[card]\ntrust_dir = \"/etc/kiosk/csca\"\n", ""),
            MissingKey,
            vec!["card.trust_dir", "bad.toml:3:"],
        ),
        (
            good().replace(
                "trust_dir = \"/etc/kiosk/csca\"",
                "trust_dir = \"/etc/kiosk/csca\"\nallow_unknown_csca = true",
            ),
            InvalidValue,
            vec!["card.allow_unknown_csca", "demo = false"],
        ),
        (
            good().replace("trust_dir = \"/etc/kiosk/csca\"", "trust_dir = \"\""),
            InvalidValue,
            vec!["card.trust_dir", "empty trust_dir"],
        ),
        (
            good().replace("name = \"Phường A\"\n", ""),
            MissingKey,
            vec!["missing key `name` in [site]", "add `name = ...`"],
        ),
        (
            good() + "[site.extra\n",
            Syntax,
            vec!["not valid TOML", "bad.toml:"],
        ),
        (
            good() + "[logging]\nlevel = \"loud\"\n",
            InvalidValue,
            vec!["logging.level", "\"info\""],
        ),
        (
            good() + "[queue]\nbackoff_base_secs = 0\n",
            InvalidValue,
            vec!["queue.backoff_base_secs", "1 to 300"],
        ),
        (
            good() + "[queue]\nbackoff_base_secs = 30\nbackoff_cap_secs = 10\n",
            InvalidValue,
            vec![
                "queue.backoff_cap_secs",
                "backoff_cap_secs = 10 is out of range",
                "use backoff_base_secs (30) to 86400",
            ],
        ),
        (
            good() + "[queue]\nbackoff_cap_secs = 86401\n",
            InvalidValue,
            vec!["queue.backoff_cap_secs", "86400"],
        ),
        (
            good() + "[queue]\nmax_age_hours = 721\n",
            InvalidValue,
            vec!["queue.max_age_hours", "1 to 720 hours", "dead letters"],
        ),
        (
            good() + "[queue]\nmax_size_mb = 8\n",
            InvalidValue,
            vec!["queue.max_size_mb", "16 to 65536 MiB", "before the disk fills"],
        ),
        (
            good() + "[queue]\nmax_size_mb = 4294967296\n",
            WrongType,
            vec!["queue.max_size_mb"],
        ),
        (
            good() + "[queue]\npath = \"\"\n",
            InvalidValue,
            vec!["queue.path", "empty path", "/var/lib/kiosk/queue.db"],
        ),
        (
            good() + "[queue]\nkey_file = \"\"\n",
            InvalidValue,
            vec!["queue.key_file", "empty key_file", "/etc/kiosk/queue.key"],
        ),
        (
            good() + "[queue]\nmax_age_hour = 3\n",
            UnknownKey,
            vec!["queue.max_age_hour", "did you mean `max_age_hours`?"],
        ),
        (
            good() + "[queue]\nbackoff_cap_secs = -1\n",
            WrongType,
            vec!["queue.backoff_cap_secs"],
        ),
    ]
}

#[test]
fn good_base_parses() {
    config::from_toml(Path::new("good.toml"), &good()).unwrap_or_else(|e| panic!("{e}"));
    config::from_toml(
        Path::new("demo.toml"),
        &base(true, "http://localhost:9000/x"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_csca_folder_is_required_outside_demo_and_lenient_csca_only_in_demo() {
    let cfg = config::from_toml(Path::new("good.toml"), &good()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cfg.card.trust_dir.as_deref(),
        Some(Path::new("/etc/kiosk/csca"))
    );
    assert!(!cfg.card.allow_unknown_csca);
    // A demo may leave it out (the virtual card brings its test CSCA) and may accept real
    // cards of an unknown CSCA.
    let demo = base(true, "http://localhost:9000/x").replace(
        "trust_dir = \"/etc/kiosk/csca\"",
        "allow_unknown_csca = true",
    );
    let cfg = config::from_toml(Path::new("demo.toml"), &demo).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.card.trust_dir, None);
    assert!(cfg.card.allow_unknown_csca);
}

#[test]
fn an_ir_camera_is_optional() {
    let plain =
        config::from_toml(Path::new("good.toml"), &good()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.devices.ir_camera, None);
    let text = good().replace(
        "qr = \"camera\"",
        "qr = \"camera\"\nir_camera = \"/dev/video2\"",
    );
    let ir = config::from_toml(Path::new("ir.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ir.devices.ir_camera,
        Some(CameraSpec::Device("/dev/video2".into()))
    );
}

/// `gateway.heartbeat_interval_s`: 60 s by default, 0 turns it off, 10 to 3600 otherwise.
#[test]
fn the_heartbeat_interval_defaults_to_a_minute_and_is_bounded() {
    let with = |v: &str| good().replace("[gateway]\n", &format!("[gateway]\n{v}\n"));
    let plain =
        config::from_toml(Path::new("good.toml"), &good()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plain.gateway.heartbeat_interval,
        Some(Duration::from_secs(60))
    );
    let off = config::from_toml(Path::new("off.toml"), &with("heartbeat_interval_s = 0"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(off.gateway.heartbeat_interval, None);
    for bad in ["heartbeat_interval_s = 5", "heartbeat_interval_s = 3601"] {
        let e = config::from_toml(Path::new("bad.toml"), &with(bad))
            .expect_err("out of range")
            .to_string();
        assert!(
            e.contains("gateway.heartbeat_interval_s") && e.contains("10 to 3600"),
            "{e}"
        );
    }
}

/// The lease of a claimed row outlasts the longest send `gateway.timeout` allows (300 s):
/// it is derived from the timeout, not fixed (it was 120 s).
#[test]
fn the_outbox_lease_outlasts_the_gateway_timeout() {
    let text = good().replace("[gateway]\n", "[gateway]\ntimeout = 300\n");
    let cfg = config::from_toml(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.gateway.timeout_secs, 300);
    let w = cfg
        .queue
        .worker_config(Duration::from_secs(cfg.gateway.timeout_secs));
    assert_eq!(w.send_timeout, Duration::from_secs(300));
    assert!(w.send_limit() > w.send_timeout);
    assert!(
        w.lease() >= w.send_limit() + kiosk_outbox::worker::LEASE_MARGIN,
        "lease {:?} for a 300 s timeout",
        w.lease()
    );
}

#[test]
fn the_queue_has_defaults_and_maps_onto_the_worker() {
    let cfg = config::from_toml(Path::new("good.toml"), &good()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.queue, QueueSettings::default());
    assert_eq!(cfg.queue.path, Path::new("/var/lib/kiosk/queue.db"));
    assert_eq!(cfg.queue.key_file, Path::new("/etc/kiosk/queue.key"));
    assert_eq!(
        (
            cfg.queue.backoff_base_secs,
            cfg.queue.backoff_cap_secs,
            cfg.queue.max_age_hours
        ),
        (2, 900, 168)
    );
    // The defaults are the worker's own: a kiosk without [queue] behaves as before, but for
    // the clock floor, the kiosk's build date.
    let timeout = Duration::from_secs(cfg.gateway.timeout_secs);
    assert_eq!(
        cfg.queue.worker_config(timeout),
        WorkerConfig {
            clock_floor_ms: kiosk_app::clock::floor_secs() * 1000,
            ..WorkerConfig::default()
        }
    );

    let text = good()
        + "[queue]\npath = \"/data/q.db\"\nkey_file = \"/data/q.key\"\n\
           backoff_base_secs = 5\nbackoff_cap_secs = 600\nmax_age_hours = 48\n";
    let cfg = config::from_toml(Path::new("q.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.queue.path, Path::new("/data/q.db"));
    assert_eq!(cfg.queue.key_file, Path::new("/data/q.key"));
    assert!(
        !cfg.queue.keep_in_demo,
        "a demo's queue is thrown away unless asked"
    );
    let kept = config::from_toml(
        Path::new("q.toml"),
        &(text.clone() + "keep_in_demo = true\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(kept.queue.keep_in_demo);
    let w = cfg.queue.worker_config(timeout);
    assert_eq!(w.backoff.base, Duration::from_secs(5));
    assert_eq!(w.backoff.cap, Duration::from_secs(600));
    assert_eq!(w.max_age, Duration::from_secs(48 * 3600));
    // What [queue] does not set keeps the worker's defaults.
    let d = WorkerConfig::default();
    assert_eq!(
        (
            w.lease(),
            w.probe_interval,
            w.dead_retention,
            w.max_in_flight
        ),
        (
            d.lease(),
            d.probe_interval,
            d.dead_retention,
            d.max_in_flight
        )
    );

    // The edges of each range are accepted.
    let edges =
        good() + "[queue]\nbackoff_base_secs = 300\nbackoff_cap_secs = 300\nmax_age_hours = 720\n";
    let cfg = config::from_toml(Path::new("q.toml"), &edges).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cfg.queue.worker_config(timeout).backoff.ceiling(5),
        Duration::from_secs(300)
    );
    let edges =
        good() + "[queue]\nbackoff_base_secs = 1\nbackoff_cap_secs = 86400\nmax_age_hours = 1\n";
    config::from_toml(Path::new("q.toml"), &edges).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn bad_configs_explain_themselves() {
    let mut failures = Vec::new();
    for (i, (text, kind, needles)) in bad_configs().into_iter().enumerate() {
        match config::from_toml(Path::new("bad.toml"), &text) {
            Ok(_) => failures.push(format!("#{i}: accepted:\n{text}")),
            Err(e) => {
                let msg = e.to_string();
                if e.kind() != kind {
                    failures.push(format!(
                        "#{i}: kind {:?}, expected {kind:?}: {msg}",
                        e.kind()
                    ));
                }
                if e.location().is_none() {
                    failures.push(format!("#{i}: no line/column: {msg}"));
                }
                for n in needles {
                    if !msg.contains(n) {
                        failures.push(format!("#{i}: {msg:?} lacks {n:?}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn missing_file_names_the_path() {
    let err = config::load(Path::new("/nonexistent/kiosk.toml")).expect_err("no file");
    assert_eq!(err.kind(), ConfigErrorKind::Io);
    assert!(err.to_string().contains("/nonexistent/kiosk.toml"));
}

/// `camera = "auto"`: the first V4L2 device offering MJPG or YUYV, allowed outside demo mode.
#[test]
fn the_camera_may_be_auto() {
    let text = good().replace("camera = \"/dev/video0\"", "camera = \"auto\"");
    assert_ne!(text, good());
    let cfg = config::from_toml(Path::new("auto.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.devices.camera, CameraSpec::Auto);
}
