//! `kioskctl enrol` against the kiosk gateway's `/v1/enrolment` (`kiosk-gateway`, in-process):
//! over plain HTTP on the loopback interface (the demo), and over the gateway's own TLS, which
//! admits certificate-less clients to enrolment only; the enrolled identity then carries a
//! dossier over mutual TLS and renews its certificate.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kiosk_app::gateway::{SubmissionKind, SubmissionRequest};
use kiosk_app::renewal::Renewal;
use kiosk_app::submit::{QueuedSubmitter, Submitted};
use kiosk_gateway::Gateway;
use kiosk_outbox::https::{HttpsConfig, HttpsTransport};
use kiosk_outbox::{OpenOptions, Outbox, QueueKey, WorkerConfig};
use kiosk_tests::tls::Ca;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn enrol(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kioskctl"));
    c.arg("enrol").args(args).env_remove("KIOSK_ENROL_TOKEN");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("kioskctl runs");
    Run {
        code: o.status.code().expect("exited"),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn a_token_gives_the_kiosk_its_certificate_once() {
    let gw = Gateway::start().expect("gateway");
    let token = gw
        .issue_enrolment_token("demo-01", "TEST-01")
        .expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("tls");
    let url = gw.url();
    let args = [
        "--gateway",
        url.as_str(),
        "--kiosk-id",
        "demo-01",
        "--out",
        s(&out),
    ];
    let none = enrol(&args, &[]);
    assert_eq!(none.code, 2, "{}", none.err);
    assert!(none.err.contains("KIOSK_ENROL_TOKEN"), "{}", none.err);

    let r = enrol(&[&args[..], &["--token", &token]].concat(), &[]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("enrolled demo-01 until"), "{}", r.out);
    let key = std::fs::metadata(out.join("client.key")).expect("key written");
    assert_eq!(
        key.permissions().mode() & 0o777,
        0o600,
        "the key is private"
    );
    let cert = std::fs::read_to_string(out.join("client.pem")).expect("certificate");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        std::fs::read_to_string(out.join("ca.pem")).ok(),
        Some(gw.enrolment_ca_pem())
    );
    // The key never reaches the output.
    assert!(!r.out.contains("PRIVATE KEY") && !r.err.contains("PRIVATE KEY"));

    // An enrolled kiosk is not overwritten by accident...
    let again = enrol(&[&args[..], &["--token", &token]].concat(), &[]);
    assert_eq!(again.code, 2);
    assert!(again.err.contains("--force"), "{}", again.err);
    // ...and a token works once.
    let reused = enrol(&[&args[..], &["--token", &token, "--force"]].concat(), &[]);
    assert_eq!(reused.code, 2);
    assert!(reused.err.contains("ask the operator"), "{}", reused.err);
    assert_eq!(
        std::fs::read_to_string(out.join("client.pem")).ok(),
        Some(cert.clone())
    );
    // A fresh token from the environment (kept out of the shell history).
    let fresh = gw
        .issue_enrolment_token("demo-01", "TEST-01")
        .expect("token");
    let r = enrol(
        &[&args[..], &["--force"]].concat(),
        &[("KIOSK_ENROL_TOKEN", fresh.as_str())],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert_ne!(
        std::fs::read_to_string(out.join("client.pem")).ok(),
        Some(cert)
    );
}

#[test]
fn an_enrolled_kiosk_submits_over_mutual_tls() {
    let gw = kiosk_tests::gateway::start_mtls();
    let dir = tempfile::tempdir().expect("tempdir");
    // What the technician brings on the provisioning medium.
    let deployment_ca = gw.enrolment_ca_pem();
    let medium_ca = dir.path().join("medium-ca.pem");
    std::fs::write(&medium_ca, &deployment_ca).expect("write");
    let rogue_ca = dir.path().join("rogue-ca.pem");
    std::fs::write(&rogue_ca, Ca::new("Rogue").pem).expect("write");
    let out = dir.path().join("tls");
    let url = gw.url();
    let token = gw
        .issue_enrolment_token("HN-PB-001", "HN-PB")
        .expect("token");
    let base = [
        "--gateway",
        url.as_str(),
        "--kiosk-id",
        "HN-PB-001",
        "--token",
        token.as_str(),
        "--out",
        s(&out),
    ];

    // No CA for an https gateway, or the wrong one: nothing is sent, the token is kept.
    let r = enrol(&base, &[]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("--ca"), "{}", r.err);
    let r = enrol(&[&base[..], &["--ca", s(&rogue_ca)]].concat(), &[]);
    assert_eq!(r.code, 2);
    assert!(r.err.to_lowercase().contains("certificate"), "{}", r.err);
    assert!(!out.join("client.pem").exists());

    let r = enrol(&[&base[..], &["--ca", s(&medium_ca)]].concat(), &[]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert_eq!(
        std::fs::read_to_string(out.join("ca.pem")).ok().as_deref(),
        Some(deployment_ca.as_str()),
        "the trust anchor is the one the technician brought"
    );

    // The enrolled identity submits a dossier over mutual TLS.
    let transport =
        HttpsTransport::new(&https_config(&url, &out)).expect("transport from the enrolled files");
    let outbox = Arc::new(
        Outbox::open(
            &dir.path().join("q.db"),
            &QueueKey::from_bytes([3; 32]),
            &OpenOptions::default(),
        )
        .expect("outbox"),
    );
    let submitter = QueuedSubmitter::start_with(
        outbox,
        Arc::new(transport),
        WorkerConfig::default(),
        Duration::from_secs(10),
    )
    .expect("submitter");
    let r = submitter
        .submit(|uid| SubmissionRequest::synthetic(uid, SubmissionKind::Tthc))
        .expect("kept");
    assert!(matches!(r, Submitted::Delivered(_)), "{r:?}");
    assert_eq!(gw.received(), 1);
    submitter.shutdown();

    // A fresh 30-day certificate is not due for renewal...
    let transport = HttpsTransport::new(&https_config(&url, &out)).expect("transport");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let due = kiosk_app::renewal::renew_if_due(&transport, now, false).expect("checked");
    assert!(
        matches!(due, Renewal::NotDue { renew_at } if renew_at > now + 19 * 86_400),
        "{due:?}"
    );
    // ...but the technician can renew now, over mutual TLS with the current certificate.
    let cfg = kiosk_tests::demo_config(dir.path(), &[("url =", &mtls_lines(&url, &out))]);
    let old_cert = std::fs::read_to_string(out.join("client.pem")).expect("cert");
    let old_key = std::fs::read_to_string(out.join("client.key")).expect("key");
    let r = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .args(["enrol", "--renew", "--config", s(&cfg)])
        .output()
        .expect("kioskctl");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr),
    );
    assert!(r.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("renewed until"), "{stdout}");
    let new_cert = std::fs::read_to_string(out.join("client.pem")).expect("cert");
    let new_key = std::fs::read_to_string(out.join("client.key")).expect("key");
    assert_ne!(new_cert, old_cert);
    assert_ne!(new_key, old_key, "a new key, made on the kiosk");
    assert!(kiosk_app::gateway::enrol::certifies(&new_cert, &new_key));
    let meta = std::fs::metadata(out.join("client.key")).expect("key");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // The renewed identity is accepted: the transport reloads it (what the worker does after
    // a 401/403).
    transport.reload().expect("reload");
    let (status, _) = transport
        .request_blocking("GET", "/healthz", &[], Vec::new())
        .expect("reachable");
    assert_eq!(status, 200);
}

fn https_config(url: &str, out: &Path) -> HttpsConfig {
    HttpsConfig {
        base_url: url.to_owned(),
        fhir_base_url: None,
        ca_pem: out.join("ca.pem"),
        client_cert_pem: out.join("client.pem"),
        client_key_pem: out.join("client.key"),
        spki_sha256: None,
        timeout: Duration::from_secs(10),
    }
}

fn mtls_lines(url: &str, out: &Path) -> String {
    format!(
        "url = \"{url}\"\nca_file = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"",
        out.join("ca.pem").display(),
        out.join("client.pem").display(),
        out.join("client.key").display()
    )
}

#[test]
fn the_kiosk_renews_its_certificate_two_thirds_into_its_life() {
    // A gateway issuing 60-second certificates (backdated 5 minutes, as every certificate it
    // issues): two thirds of the life have passed at once.
    let gw = kiosk_tests::gateway::start_mtls_with(kiosk_gateway::GatewayConfig {
        cert_lifetime: Some(Duration::from_secs(60)),
        ..kiosk_gateway::GatewayConfig::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let medium_ca = dir.path().join("medium-ca.pem");
    std::fs::write(&medium_ca, gw.enrolment_ca_pem()).expect("write");
    let out = dir.path().join("tls");
    let url = gw.url();
    let token = gw
        .issue_enrolment_token("HN-PB-002", "HN-PB")
        .expect("token");
    let r = enrol(
        &[
            "--gateway",
            &url,
            "--kiosk-id",
            "HN-PB-002",
            "--token",
            &token,
            "--ca",
            s(&medium_ca),
            "--out",
            s(&out),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    let first = std::fs::read_to_string(out.join("client.pem")).expect("cert");

    // The kiosk's own check (what it runs at start-up and every 6 hours) renews it.
    let transport = Arc::new(HttpsTransport::new(&https_config(&url, &out)).expect("transport"));
    let thread =
        kiosk_app::renewal::RenewalThread::start(Arc::clone(&transport), Duration::from_secs(3600))
            .expect("thread");
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(out.join("client.pem"))
        .ok()
        .as_deref()
        == Some(&first)
    {
        assert!(std::time::Instant::now() < until, "not renewed");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(thread);
    let renewed = std::fs::read_to_string(out.join("client.pem")).expect("cert");
    let info = kiosk_app::gateway::enrol::CertificateInfo::from_pem(&renewed).expect("info");
    assert_eq!(info.kiosk_id, "HN-PB-002", "renewed for the same kiosk");
    assert!(kiosk_app::gateway::enrol::certifies(
        &renewed,
        &std::fs::read_to_string(out.join("client.key")).expect("key")
    ));
    let (status, _) = transport
        .request_blocking("GET", "/healthz", &[], Vec::new())
        .expect("reachable with the renewed certificate");
    assert_eq!(status, 200);
}
