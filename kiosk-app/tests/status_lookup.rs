//! The kiosk's status lookup (`kiosk_app::gateway::lookup::lookup_status`) against the real
//! gateway on 127.0.0.1: over mutual TLS with a certificate the gateway issued at enrolment,
//! and over the demo's plain-HTTP loopback; `Offline` when the gateway is down.
#![cfg(feature = "https")]

use std::path::Path;
use std::time::Duration;

use kiosk_app::gateway::dto::DossierState;
use kiosk_app::gateway::enrol::{new_key_and_csr, EnrolmentRequest, EnrolmentResponse};
use kiosk_app::gateway::lookup::{lookup_status, LookupEndpoint, MutualTls, StatusLookup};
use kiosk_app::gateway::{GatewayClient, SubmissionKind, SubmissionReceipt, SubmissionRequest};
use kiosk_gateway::{Gateway, GatewayConfig, Tls};
use kiosk_outbox::https::{HttpsConfig, HttpsTransport};

const TIMEOUT: Duration = Duration::from_secs(5);

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    // The transport refuses a key group or others can read.
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    p
}

/// Enrols `kiosk_id` with the gateway as `kioskctl enrol` does; the kiosk's TLS files.
fn enrol(gw: &Gateway, dir: &Path, kiosk_id: &str) -> MutualTls {
    let ca_pem = write(dir, "ca.pem", &gw.enrolment_ca_pem());
    let token = gw.issue_enrolment_token(kiosk_id, "HN-01").expect("token");
    let (key, csr) = new_key_and_csr(kiosk_id).expect("csr");
    let body = serde_json::to_vec(&EnrolmentRequest {
        kiosk_id: kiosk_id.to_owned(),
        csr,
    })
    .expect("json");
    let (status, answer) =
        kiosk_outbox::https::enrol_blocking(&gw.url(), &ca_pem, None, &token, body, TIMEOUT)
            .expect("enrolment");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    let issued: EnrolmentResponse = serde_json::from_slice(&answer).expect("answer");
    MutualTls {
        ca_pem,
        client_cert_pem: write(dir, "client.pem", &issued.certificate),
        client_key_pem: write(dir, "client.key", &key),
        spki_sha256: None,
    }
}

/// A dossier submitted over the same mutual TLS, as the kiosk's outbox sends it.
fn submit(gw: &Gateway, tls: &MutualTls, uid: &str) -> SubmissionReceipt {
    let t = HttpsTransport::new(&HttpsConfig {
        base_url: gw.url(),
        fhir_base_url: None,
        ca_pem: tls.ca_pem.clone(),
        client_cert_pem: tls.client_cert_pem.clone(),
        client_key_pem: tls.client_key_pem.clone(),
        spki_sha256: None,
        timeout: TIMEOUT,
    })
    .expect("transport");
    let body =
        serde_json::to_vec(&SubmissionRequest::synthetic(uid, SubmissionKind::Tthc)).expect("json");
    let (status, answer) = t
        .request_blocking(
            "POST",
            "/v1/submissions",
            &[
                ("Idempotency-Key", uid),
                ("Content-Type", "application/json"),
            ],
            body,
        )
        .expect("sent");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    serde_json::from_slice(&answer).expect("receipt")
}

#[test]
fn over_mutual_tls_the_kiosk_reads_where_its_dossier_stands() {
    let gw = Gateway::start_with(GatewayConfig {
        tls: Tls::SelfIssued(vec!["127.0.0.1".to_owned()]),
        ..GatewayConfig::default()
    })
    .expect("gateway");
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = enrol(&gw, dir.path(), "kiosk-hn-01");
    let receipt = submit(&gw, &tls, "0190f0a0-0000-7000-8000-0000000000a1");
    let endpoint = LookupEndpoint {
        base_url: gw.url(),
        tls: Some(tls.clone()),
        timeout: TIMEOUT,
    };
    let found = lookup_status(&endpoint, &receipt.dossier_code, &receipt.lookup_code);
    let StatusLookup::Found(status) = &found else {
        panic!("{found:?}");
    };
    assert_eq!(status.dossier_code, receipt.dossier_code);
    assert_eq!(status.state(), DossierState::Received);
    assert_eq!(status.appointment, receipt.appointment);

    // (The later states, forwarded and forward_failed, come from the gateway's forwarding:
    // gateway/tests/status.rs.)

    // A lookup code of another receipt: not found, whichever part is wrong.
    let wrong = if receipt.lookup_code == "ABCDEFGH" {
        "ABCDEFGJ"
    } else {
        "ABCDEFGH"
    };
    assert_eq!(
        lookup_status(&endpoint, &receipt.dossier_code, wrong),
        StatusLookup::NotFound
    );
    assert_eq!(
        lookup_status(&endpoint, "000.00.01.H29-260101-9999", &receipt.lookup_code),
        StatusLookup::NotFound
    );
    // Typed wrong: nothing is sent.
    assert_eq!(
        lookup_status(&endpoint, &receipt.dossier_code, "1234"),
        StatusLookup::Malformed
    );

    // The gateway unreachable: Offline, within the timeout.
    gw.set_down(true);
    assert_eq!(
        lookup_status(&endpoint, &receipt.dossier_code, &receipt.lookup_code),
        StatusLookup::Offline
    );
    gw.set_down(false);

    // A revoked kiosk is refused at the handshake: the kiosk cannot tell that from a network
    // fault, so it is Offline too (the technician sees the revocation in the gateway's log).
    gw.revoke_kiosk("kiosk-hn-01").expect("revoked");
    assert_eq!(
        lookup_status(&endpoint, &receipt.dossier_code, &receipt.lookup_code),
        StatusLookup::Offline
    );
}

#[test]
fn the_demo_looks_up_over_the_loopback_and_a_stopped_gateway_is_offline() {
    let gw = Gateway::start().expect("gateway");
    let client = GatewayClient::new(&gw.url(), TIMEOUT).expect("client");
    let receipt = client
        .submit(&SubmissionRequest::synthetic(
            "0190f0a0-0000-7000-8000-0000000000a2",
            SubmissionKind::Tthc,
        ))
        .expect("accepted");
    let endpoint = LookupEndpoint {
        base_url: gw.url(),
        tls: None,
        timeout: TIMEOUT,
    };
    assert_eq!(
        lookup_status(&endpoint, &receipt.dossier_code, &receipt.lookup_code).state(),
        Some(DossierState::Received)
    );
    gw.stop();
    assert_eq!(
        lookup_status(&endpoint, &receipt.dossier_code, &receipt.lookup_code),
        StatusLookup::Offline
    );
}

/// The report back: the one-stop system's office moves a forwarded dossier on, the gateway's
/// poller hears it, and the kiosk's lookup reads the new state (with the collection place and
/// date); a failing status call only delays it; a finished dossier is not asked again.
#[test]
fn the_one_stop_systems_progress_reaches_the_kiosks_lookup() {
    use kiosk_gateway::onestop_sim::{OneStopSim, SimFaults};
    use kiosk_gateway::ForwardConfig;
    let sim = OneStopSim::start("127.0.0.1:0".parse().expect("addr"), SimFaults::default())
        .expect("simulator");
    let gw = Gateway::start_with(GatewayConfig {
        forward: Some(ForwardConfig {
            timeout: Duration::from_secs(2),
            backoff_base: Duration::from_millis(10),
            backoff_cap: Duration::from_millis(200),
            idle_poll: Duration::from_millis(20),
            status_poll: Some(Duration::from_millis(50)),
            status_poll_max: Duration::from_millis(200),
            status_idle: Duration::from_millis(20),
            ..ForwardConfig::new(sim.url())
        }),
        ..GatewayConfig::default()
    })
    .expect("gateway");
    let uid = "0190f0a0-0000-7000-8000-0000000000a3";
    let receipt = GatewayClient::new(&gw.url(), TIMEOUT)
        .expect("client")
        .submit(&SubmissionRequest::synthetic(uid, SubmissionKind::Tthc))
        .expect("accepted");
    let endpoint = LookupEndpoint {
        base_url: gw.url(),
        tls: None,
        timeout: TIMEOUT,
    };
    let lookup = || lookup_status(&endpoint, &receipt.dossier_code, &receipt.lookup_code);
    // Waits (bounded: a liveness guard, not a speed assertion) for the lookup to say `want`.
    let wait_for = |want: DossierState| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let got = lookup();
            if got.state() == Some(want) {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still {got:?}, waiting for {want:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(DossierState::Forwarded);
    // Taken in ("new"): nothing new for the citizen; then the office works on it, while the
    // status call fails a few times.
    sim.fail_status_polls(3);
    assert!(sim.advance(uid, "processing", None, None));
    wait_for(DossierState::Processing);
    assert!(sim.advance(uid, "waiting", None, None));
    wait_for(DossierState::Returned);
    assert!(sim.advance(
        uid,
        "releasing",
        Some("Bộ phận một cửa, quầy 3"),
        Some("20260106080000")
    ));
    let StatusLookup::Found(ready) = wait_for(DossierState::Ready) else {
        unreachable!("wait_for returns a found dossier");
    };
    assert_eq!(
        ready.collect_place.as_deref(),
        Some("Bộ phận một cửa, quầy 3")
    );
    assert_eq!(ready.collect_at.as_deref(), Some("20260106080000"));
    assert!(sim.advance(uid, "done", None, None));
    wait_for(DossierState::Done);
    // Final: the poller leaves it alone (a later change on the simulator is not asked for).
    let asked = sim.requests();
    assert!(sim.advance(uid, "processing", None, None));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sim.requests(), asked, "a finished dossier is not polled");
    assert_eq!(lookup().state(), Some(DossierState::Done));
}
