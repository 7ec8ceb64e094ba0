//! `kioskctl selftest` against the demo rig (the demo gateway, the virtual ESC/POS printer over
//! TCP, the simulated camera and reader), over mutual TLS with enrolment files, and with the
//! printer and the camera missing.

use std::net::SocketAddr;
use std::process::Command;

use kiosk_hw::printer::VirtualPrinter;
use kiosk_hw::PaperState;
use kiosk_tests::demo_config;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn selftest(cfg: &std::path::Path, extra: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .arg("selftest")
        .arg("--config")
        .arg(cfg)
        .args(["--camera-seconds", "1"])
        .args(extra)
        .output()
        .expect("kioskctl runs");
    Run {
        code: output.status.code().expect("exited, not killed"),
        out: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        err: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// The line of check `name`, e.g. `ok    printer  tcp:...`.
fn line<'a>(r: &'a Run, name: &str) -> &'a str {
    r.out
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no {name} line in:\n{}", r.out))
}

fn virtual_printer(dir: &std::path::Path) -> VirtualPrinter {
    VirtualPrinter::start(SocketAddr::from(([127, 0, 0, 1], 0)), dir, 576).expect("printer")
}

/// The demo's gateway (kiosk-gateway on the loopback) and a virtual printer the configuration points at, as on a demo rig.
#[test]
fn the_demo_rig_passes_and_prints_a_test_page() {
    let gw = kiosk_gateway::Gateway::start().expect("gateway");
    let dir = tempfile::tempdir().expect("tempdir");
    let printer = virtual_printer(&dir.path().join("printed"));
    let url = format!("url = \"{}\"", gw.url());
    let device = format!("printer = \"{}\"", printer.device());
    let cfg = demo_config(dir.path(), &[("url =", &url), ("printer =", &device)]);
    let r = selftest(&cfg, &["--print"]);
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
    for name in [
        "clock",
        "disk",
        "queue",
        "certificate",
        "gateway",
        "card-reader",
        "camera",
        "printer",
    ] {
        assert!(line(&r, name).starts_with("ok "), "{name}: {}", r.out);
    }
    assert!(line(&r, "gateway").contains("reachable"), "{}", r.out);
    assert!(line(&r, "camera").contains("fps measured"), "{}", r.out);
    assert!(
        line(&r, "printer").contains("test page printed"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("selftest: 8 ok, 0 warn, 0 fail (exit 0)"),
        "{}",
        r.out
    );
    assert_eq!(printer.control().printed().len(), 1, "one test page");

    // Paper nearly used up: the kiosk still serves, the selftest warns (exit 1).
    printer.control().set_paper(PaperState::NearEnd);
    let r = selftest(&cfg, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.out, r.err);
    assert!(line(&r, "printer").starts_with("warn"), "{}", r.out);
    assert!(
        line(&r, "printer").contains("replace the roll"),
        "{}",
        r.out
    );

    // The gateway down: the gateway line fails, exit 2.
    drop(gw);
    let r = selftest(&cfg, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.out, r.err);
    assert!(line(&r, "gateway").starts_with("fail"), "{}", r.out);
}

/// The production path of the gateway check: /healthz over mutual TLS with the kiosk's
/// enrolment files, and the certificate's days left.
#[test]
fn the_gateway_is_checked_over_mutual_tls_with_the_kiosks_certificate() {
    let gw = kiosk_tests::gateway::start_mtls();
    let dir = tempfile::tempdir().expect("tempdir");
    let id = kiosk_tests::gateway::enrol(&gw, dir.path(), "kiosk-hn-01");
    let printer = virtual_printer(&dir.path().join("printed"));
    let gateway = format!(
        "url = \"{}\"\nca_file = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"",
        gw.url(),
        id.ca_file.display(),
        id.client_cert.display(),
        id.client_key.display()
    );
    let device = format!("printer = \"{}\"", printer.device());
    let cfg = demo_config(dir.path(), &[("url =", &gateway), ("printer =", &device)]);
    let r = selftest(&cfg, &["--json"]);
    let report: serde_json::Value = serde_json::from_str(&r.out).expect("JSON report");
    let check = |name: &str| {
        report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {report}"))
            .clone()
    };
    assert_eq!(check("gateway")["status"], "ok", "{report}");
    assert!(
        check("gateway")["detail"]
            .as_str()
            .is_some_and(|d| d.contains("mutual TLS")),
        "{report}"
    );
    let cert = check("certificate");
    assert_eq!(cert["status"], "ok", "{report}");
    assert!(
        cert["detail"]
            .as_str()
            .is_some_and(|d| d.contains("days left") && d.contains("renewal in")),
        "{report}"
    );
    assert_eq!(report["exit"], 0, "{report}");
    assert_eq!(r.code, 0);

    // The kiosk revoked at the gateway: refused at the handshake.
    gw.revoke_kiosk("kiosk-hn-01").expect("revoked");
    let r = selftest(&cfg, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.out, r.err);
    assert!(line(&r, "gateway").starts_with("fail"), "{}", r.out);

    // A gateway presenting a certificate the deployment CA did not sign: refused.
    let rogue = kiosk_tests::gateway::start_mtls();
    let moved = gateway.replace(&gw.url(), &rogue.url());
    let cfg = demo_config(dir.path(), &[("url =", &moved), ("printer =", &device)]);
    let r = selftest(&cfg, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.out, r.err);
    assert!(line(&r, "gateway").starts_with("fail"), "{}", r.out);
}

/// No printer on the configured port and no camera: both fail with what to do, the rest is
/// checked all the same, exit 2.
#[test]
fn a_missing_printer_and_camera_fail_with_the_fix() {
    let gw = kiosk_gateway::Gateway::start().expect("gateway");
    let dir = tempfile::tempdir().expect("tempdir");
    // A free port, closed again: nobody listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("url = \"{}\"", gw.url());
    let device = format!("printer = \"tcp:127.0.0.1:{port}\"");
    let camera = format!(
        "camera = \"replay:{}\"",
        dir.path().join("no-camera").display()
    );
    let cfg = demo_config(
        dir.path(),
        &[
            ("url =", &url),
            ("printer =", &device),
            ("camera =", &camera),
        ],
    );
    let r = selftest(&cfg, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.out, r.err);
    let printer = line(&r, "printer");
    assert!(printer.starts_with("fail"), "{}", r.out);
    assert!(printer.contains("no receipt printer found"), "{printer}");
    assert!(printer.contains("check power"), "{printer}");
    let camera = line(&r, "camera");
    assert!(camera.starts_with("fail"), "{}", r.out);
    assert!(camera.contains("no-camera"), "{camera}");
    assert!(line(&r, "gateway").starts_with("ok"), "{}", r.out);
    assert!(r.out.contains("6 ok, 0 warn, 2 fail (exit 2)"), "{}", r.out);
    assert!(r.err.contains("fix the lines marked fail"), "{}", r.err);

    // A V4L2 device that does not exist fails as well (with or without the v4l2 build).
    let cfg = demo_config(
        dir.path(),
        &[
            ("url =", &url),
            ("printer =", &device),
            ("camera =", "camera = \"/dev/video9\""),
        ],
    );
    let r = selftest(&cfg, &[]);
    assert!(line(&r, "camera").starts_with("fail"), "{}", r.out);
    assert!(line(&r, "camera").contains("/dev/video9"), "{}", r.out);
}

#[test]
fn an_invalid_configuration_is_one_failed_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = demo_config(
        dir.path(),
        &[("url =", "url = \"http://127.0.0.1:0\"\ntimout = 5")],
    );
    let r = selftest(&cfg, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.out, r.err);
    assert!(line(&r, "config").contains("gateway.timout"), "{}", r.out);
}

/// A hospital kiosk sends clinic registrations to its FHIR server: selftest asks it for its
/// CapabilityStatement, and a server that does not answer is a failed line with the fix.
/// (The answering case, over mutual TLS to a real FHIR server, is in
/// `tests/tests/clinic_fhir.rs`.)
#[test]
fn a_hospital_kiosks_fhir_server_that_does_not_answer_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let gateway =
        format!("url = \"http://127.0.0.1:0\"\nfhir_url = \"http://127.0.0.1:{port}/fhir\"");
    let cfg = demo_config(
        dir.path(),
        &[("mode =", "mode = \"hospital\""), ("url =", &gateway)],
    );
    let r = selftest(&cfg, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.out, r.err);
    let fhir = line(&r, "his-fhir");
    assert!(fhir.starts_with("fail"), "{}", r.out);
    assert!(fhir.contains(&format!("127.0.0.1:{port}")), "{fhir}");
    assert!(fhir.contains("gateway.fhir_url"), "{fhir}");
    // The one-stop shop configuration has no FHIR server and no such line.
    let cfg = demo_config(dir.path(), &[]);
    let r = selftest(&cfg, &[]);
    assert!(!r.out.contains("his-fhir"), "{}", r.out);
}
