//! `kioskctl provision` against the demo gateway's enrolment (as `enrol_cli.rs`), with the
//! simulated reader and camera and the virtual ESC/POS printer: a strict provision.toml, the
//! `enrolled` marker only after every step, a safe re-run, a used token refused.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use kiosk_gateway::Gateway;
use kiosk_hw::printer::VirtualPrinter;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn provision(file: &Path, state: &Path) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .arg("provision")
        .arg("--file")
        .arg(file)
        .arg("--state-dir")
        .arg(state)
        .args(["--camera-seconds", "1"])
        .env_remove("KIOSK_ENROL_TOKEN")
        .output()
        .expect("kioskctl runs");
    Run {
        code: o.status.code().expect("exited"),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A demo kiosk's provision.toml on a "FAT partition" folder, with the gateway's CA beside it.
fn medium(dir: &Path, gw: &Gateway, token: &str, printer: &str) -> std::path::PathBuf {
    let esp = dir.join("esp");
    std::fs::create_dir_all(&esp).expect("mkdir");
    std::fs::write(esp.join("gateway-ca.pem"), gw.enrolment_ca_pem()).expect("write CA");
    let text = format!(
        r#"mode = "one-stop-shop"
demo = true

[enrolment]
token = "{token}"
ca_file = "gateway-ca.pem"

[site]
id = "demo-07"
name = "Kiosk thử nghiệm"

[gateway]
url = "{url}"

[face]
verifier = "simulated"

[devices]
card_reader = "sim"
camera = "sim"
qr = "sim"
printer = "{printer}"
"#,
        url = gw.url()
    );
    let file = esp.join("provision.toml");
    std::fs::write(&file, text).expect("write provision.toml");
    file
}

fn virtual_printer(dir: &Path) -> VirtualPrinter {
    VirtualPrinter::start(SocketAddr::from(([127, 0, 0, 1], 0)), dir, 576).expect("printer")
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.contains(from), "{from:?} not in the file");
    std::fs::write(file, text.replace(from, to)).expect("write");
}

#[test]
fn a_good_file_enrols_configures_tests_and_marks_once() {
    let gw = kiosk_tests::gateway::start_mtls();
    let token = gw
        .issue_enrolment_token("demo-07", "demo-07")
        .expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let printer = virtual_printer(&dir.path().join("printed"));
    let file = medium(dir.path(), &gw, &token, &printer.device().to_string());
    let state = dir.path().join("state");

    let r = provision(&file, &state);
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
    for step in [
        "1/6",
        "2/6 enrolment ok",
        "3/6",
        "4/6",
        "5/6 self-test passed",
        "6/6 enrolled",
    ] {
        assert!(r.out.contains(step), "no {step:?} in:\n{}", r.out);
    }
    assert!(state.join("enrolled").is_file());
    // The configuration it wrote is one the kiosk loads, pointing at the enrolled identity.
    let cfg = kiosk_app::config::load(&state.join("kiosk.toml")).expect("valid kiosk.toml");
    assert_eq!(cfg.site.id, "demo-07");
    let (cert, key) = cfg.gateway.client_identity.expect("client identity");
    assert_eq!(cert, state.join("tls/client.pem"));
    assert_eq!(key, state.join("tls/client.key"));
    let cert = std::fs::read_to_string(cert).expect("certificate");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(std::fs::read_to_string(key)
        .expect("key")
        .contains("PRIVATE KEY"));
    // The token is not copied into the kiosk's configuration, nor printed.
    let written = std::fs::read_to_string(state.join("kiosk.toml")).expect("read");
    assert!(!written.contains(&token) && !r.out.contains(&token) && !r.err.contains(&token));

    // Running again (every boot while the unit is enabled) changes nothing.
    let cert_before = std::fs::read(state.join("tls/client.pem")).expect("cert");
    let again = provision(&file, &state);
    assert_eq!(again.code, 0, "{}", again.err);
    assert!(again.out.contains("already enrolled"), "{}", again.out);
    assert_eq!(
        std::fs::read(state.join("tls/client.pem")).ok(),
        Some(cert_before)
    );
}

#[test]
fn a_used_token_is_refused_with_a_next_step_and_no_marker() {
    let gw = kiosk_tests::gateway::start_mtls();
    let token = gw
        .issue_enrolment_token("demo-07", "demo-07")
        .expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let printer = virtual_printer(&dir.path().join("printed"));
    let file = medium(dir.path(), &gw, &token, &printer.device().to_string());
    let first = provision(&file, &dir.path().join("a"));
    assert_eq!(first.code, 0, "{}", first.err);

    let other = dir.path().join("b");
    let r = provision(&file, &other);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(r.err.contains("ask the operator"), "{}", r.err);
    assert!(r.err.contains("xin nhà vận hành mã mới"), "{}", r.err);
    assert!(!other.join("enrolled").exists());
    assert!(!other.join("tls/client.pem").exists());
    assert!(!other.join("kiosk.toml").exists());
}

#[test]
fn unknown_and_missing_keys_stop_before_anything_is_written() {
    let gw = kiosk_tests::gateway::start_mtls();
    let token = gw
        .issue_enrolment_token("demo-07", "demo-07")
        .expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = medium(dir.path(), &gw, &token, "sim:/tmp/unused");
    let state = dir.path().join("state");

    edit(&file, "ca_file =", "ca_fiel =");
    let r = provision(&file, &state);
    assert_eq!(r.code, 2);
    assert!(
        r.err.contains("ca_fiel") && r.err.contains("bước 1"),
        "{}",
        r.err
    );
    edit(&file, "ca_fiel =", "ca_file =");

    edit(&file, "qr = \"sim\"\n", "");
    let r = provision(&file, &state);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("devices.qr"), "{}", r.err);
    assert!(!state.exists(), "nothing written for an invalid file");

    // The token still works: a bad file did not spend it.
    edit(&file, "printer =", "qr = \"sim\"\nprinter =");
    let printer = virtual_printer(&dir.path().join("printed"));
    edit(&file, "sim:/tmp/unused", &printer.device().to_string());
    let r = provision(&file, &state);
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
}

#[test]
fn a_failed_selftest_leaves_no_marker_and_the_retry_keeps_the_certificate() {
    let gw = kiosk_tests::gateway::start_mtls();
    let token = gw
        .issue_enrolment_token("demo-07", "demo-07")
        .expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    // A printer that is not there: the self-test fails after enrolment succeeded.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let gone = format!("tcp:{}", closed.local_addr().expect("addr"));
    drop(closed);
    let file = medium(dir.path(), &gw, &token, &gone);
    let state = dir.path().join("state");

    let r = provision(&file, &state);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(r.out.contains("2/6 enrolment ok"), "{}", r.out);
    assert!(
        r.err.contains("bước 5") && r.err.contains("printer"),
        "{}",
        r.err
    );
    assert!(
        !state.join("enrolled").exists(),
        "not enrolled after a failure"
    );
    let cert = std::fs::read(state.join("tls/client.pem")).expect("certificate kept");

    // The technician plugs the printer in and reboots: the same (now used) token is not needed.
    let printer = virtual_printer(&dir.path().join("printed"));
    edit(&file, &gone, &printer.device().to_string());
    let r = provision(&file, &state);
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
    assert!(
        r.out.contains("certificate from an earlier run kept"),
        "{}",
        r.out
    );
    assert!(state.join("enrolled").is_file());
    assert_eq!(std::fs::read(state.join("tls/client.pem")).ok(), Some(cert));
}
