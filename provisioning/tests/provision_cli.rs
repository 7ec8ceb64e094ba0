//! `kioskctl provision` against the demo gateway's enrolment (as `enrol_cli.rs`), with the
//! simulated reader and camera and the virtual ESC/POS printer: a strict provision.toml, the
//! `enrolled` marker only after every step, a safe re-run, a used token refused.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use kiosk_app::provision_status::{Outcome, Source, Status, StepId, StepState};

use kiosk_gateway::Gateway;
use kiosk_hw::printer::VirtualPrinter;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn provision(file: &Path, state: &Path) -> Run {
    provision_with(file, state, &[], None)
}

/// `kioskctl provision` with more arguments and, when given, `stdin` on its standard input.
fn provision_with(file: &Path, state: &Path, extra: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .arg("provision")
        .arg("--file")
        .arg(file)
        .arg("--state-dir")
        .arg(state)
        .args(["--camera-seconds", "1"])
        .args(extra)
        .env_remove("KIOSK_ENROL_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kioskctl runs");
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.unwrap_or_default().as_bytes())
            .expect("stdin");
    }
    let o = child.wait_with_output().expect("kioskctl ends");
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

/// The status file the technician screen reads.
fn status(state: &Path) -> (Status, String) {
    let text = std::fs::read_to_string(state.join("provision-status.json")).expect("status file");
    (
        Status::from_json(text.as_bytes()).expect("valid status"),
        text,
    )
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

    // The technician screen's file: every step ok, the kiosk named, no secret in it.
    let (st, text) = status(&state);
    assert_eq!(st.outcome, Outcome::Enrolled, "{text}");
    assert_eq!(st.source, Source::File);
    assert_eq!(st.kiosk_id.as_deref(), Some("demo-07"));
    assert_eq!(st.site.as_deref(), Some("Kiosk thử nghiệm"));
    assert_eq!(
        st.steps.iter().map(|s| s.id).collect::<Vec<_>>(),
        StepId::ALL.to_vec()
    );
    assert!(st
        .steps
        .iter()
        .all(|s| s.state == StepState::Ok && s.ended_at.is_some()));
    assert!(st.steps[5].text.vi.contains("đã đăng ký"), "{text}");
    assert!(
        !text.contains(&token) && !text.contains("PRIVATE KEY"),
        "{text}"
    );

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
    assert!(r.err.contains("Xin nhà vận hành mã mới"), "{}", r.err);
    assert!(!other.join("enrolled").exists());
    // The screen's file: step 1 ok, step 2 failed with the reason and the next step.
    let (st, text) = status(&other);
    assert_eq!(st.outcome, Outcome::Failed, "{text}");
    assert_eq!(st.steps.len(), 2, "{text}");
    assert_eq!(st.steps[0].state, StepState::Ok);
    let failed = st.failed_step().expect("a failed step");
    assert_eq!(failed.id, StepId::Enrol);
    assert!(failed.text.vi.contains("từ chối mã đăng ký"), "{text}");
    let next = failed.next.as_ref().expect("a next step");
    assert!(next.vi.contains("Xin nhà vận hành mã mới"), "{text}");
    assert!(next.en.contains("new token"), "{text}");
    assert!(!text.contains(&token), "{text}");
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
    // Nothing but the technician screen's status file, which names the key.
    let written: Vec<String> = std::fs::read_dir(&state)
        .expect("state dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n != "provision.lock")
        .collect();
    assert_eq!(written, ["provision-status.json"], "nothing else written");
    let (st, text) = status(&state);
    let failed = st.failed_step().expect("failed");
    assert_eq!(failed.id, StepId::File);
    assert!(failed.text.en.contains("devices.qr"), "{text}");

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

#[test]
fn an_enrolment_qr_provisions_with_the_file_for_the_rest() {
    let gw = kiosk_tests::gateway::start_mtls();
    let token = gw
        .issue_enrolment_token("demo-07", "demo-07")
        .expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let printer = virtual_printer(&dir.path().join("printed"));
    // The file without token nor gateway: the QR brings both.
    let file = medium(dir.path(), &gw, &token, &printer.device().to_string());
    edit(&file, &format!("token = \"{token}\"\n"), "");
    edit(&file, &format!("url = \"{}\"\n", gw.url()), "");
    let state = dir.path().join("state");

    // Not an enrolment code: refused at step 1, the token not spent.
    let receipt = "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P\n";
    let r = provision_with(&file, &state, &["--qr", "-"], Some(receipt));
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(r.err.contains("not a kiosk enrolment code"), "{}", r.err);
    let (st, _) = status(&state);
    assert_eq!(st.source, Source::Qr);
    assert_eq!(st.failed_step().map(|s| s.id), Some(StepId::File));

    let qr = kiosk_qr::kiosk::format_enrolment(&gw.url(), &token).expect("enrolment QR");
    let r = provision_with(&file, &state, &["--qr", "-"], Some(&format!("{qr}\n")));
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
    assert!(state.join("enrolled").is_file());
    let cfg = kiosk_app::config::load(&state.join("kiosk.toml")).expect("valid kiosk.toml");
    assert_eq!(
        cfg.gateway.url.as_str().trim_end_matches('/'),
        gw.url().trim_end_matches('/')
    );
    let (st, text) = status(&state);
    assert_eq!(st.outcome, Outcome::Enrolled, "{text}");
    assert_eq!(st.gateway.as_deref(), Some(gw.url().as_str()));
    assert!(!text.contains(&token));
}

#[test]
fn a_gateway_from_another_ca_or_unreachable_gives_a_next_step() {
    let gw = kiosk_tests::gateway::start_mtls();
    let token = gw
        .issue_enrolment_token("demo-07", "demo-07")
        .expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = medium(dir.path(), &gw, &token, "sim:/tmp/unused");
    // Another deployment's CA: the gateway's certificate does not chain to it.
    let stranger = kiosk_tests::gateway::start_mtls();
    std::fs::write(
        file.with_file_name("gateway-ca.pem"),
        stranger.enrolment_ca_pem(),
    )
    .expect("write CA");
    let state = dir.path().join("state");
    let r = provision_with(&file, &state, &["--retry-after", "30"], None);
    assert_eq!(r.code, 2, "{}", r.out);
    let (st, text) = status(&state);
    let failed = st.failed_step().expect("failed");
    assert_eq!(failed.id, StepId::Enrol, "{text}");
    assert!(failed.text.vi.contains("không khớp với tệp CA"), "{text}");
    assert_eq!(st.retry_after_secs, Some(30));
    assert!(!state.join("tls/client.pem").exists());

    // The right CA, the gateway gone: "check the cable", and when it tries again.
    std::fs::write(file.with_file_name("gateway-ca.pem"), gw.enrolment_ca_pem()).expect("write CA");
    drop(gw);
    let r = provision_with(&file, &state, &["--retry-after", "30"], None);
    assert_eq!(r.code, 2, "{}", r.out);
    let (st, text) = status(&state);
    let failed = st.failed_step().expect("failed");
    assert!(
        failed.text.vi.contains("Không kết nối được máy chủ cổng"),
        "{text}"
    );
    let next = failed.next.as_ref().expect("next");
    assert!(
        next.vi.contains("cáp mạng") && next.vi.contains("thử lại sau 30 giây"),
        "{text}"
    );
}

#[test]
fn a_second_run_waits_for_the_first_and_touches_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    // The technician screen scanning (or another run) holds the lock.
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join(kiosk_app::provision_status::LOCK))
        .expect("lock file");
    held.lock().expect("lock");
    let r = provision(&dir.path().join("missing.toml"), &state);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(r.err.contains("another provisioning run"), "{}", r.err);
    assert!(!state.join("provision-status.json").exists());
    drop(held);
    // Free again: this run reports its own failure (no file) on the screen.
    let r = provision(&dir.path().join("missing.toml"), &state);
    assert_eq!(r.code, 2);
    let (st, text) = status(&state);
    assert_eq!(st.failed_step().map(|s| s.id), Some(StepId::File), "{text}");
    let next = st.failed_step().and_then(|s| s.next.clone()).expect("next");
    assert!(next.vi.contains("provision.toml"), "{text}");
}
