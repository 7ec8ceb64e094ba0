//! Clinic registrations through the kiosk's submitter to a real FHIR server (sekmet-fhir 0.1.1
//! from PyPI, on 127.0.0.1 with its own SQLite), and the production mutual-TLS transport to
//! both peers (the FHIR server and the demo gateway, each behind a TLS front with certificates
//! made at test time).
//!
//! Opt-in, because it installs sekmet-fhir from PyPI the first time (about 30 s):
//! `OUTBOX_FHIR=1 cargo test -p kiosk-tests --test clinic_fhir`. `cargo xtask test` sets it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_app::gateway::fhir::{NATIONAL_ID_SYSTEM, SUBMISSION_ID_SYSTEM};
use kiosk_app::gateway::outbox::{GatewayReceipts, LoopbackTransport};
use kiosk_app::gateway::{GatewayClient, SubmissionKind, SubmissionRequest};
use kiosk_app::submit::{QueuedSubmitter, Submitted};
use kiosk_gateway::Gateway as DemoGateway;
use kiosk_outbox::https::{HttpsConfig, HttpsTransport};
use kiosk_outbox::{
    BlockingTransport, Kind, OpenOptions, Outbox, Outgoing, QueueKey, State, WorkerConfig,
};
use kiosk_tests::sekmet::Sekmet;

/// The synthetic citizen of the fixtures.
const ID_NUMBER: &str = "001090123456";
const NAME: &str = "NGUYEN VAN AN";

/// Under CI=1 a missing OUTBOX_FHIR fails the test instead of skipping it.
fn enabled() -> bool {
    kiosk_tests::require_env(
        "OUTBOX_FHIR",
        "set OUTBOX_FHIR=1 to run against sekmet-fhir (`cargo xtask test` does)",
    )
}

fn request(kind: SubmissionKind, code: &str) -> impl FnOnce(&str) -> SubmissionRequest + '_ {
    move |uid| SubmissionRequest {
        procedure_code: code.into(),
        ..SubmissionRequest::synthetic(uid, kind)
    }
}

fn outbox(dir: &std::path::Path) -> Arc<Outbox> {
    Arc::new(
        Outbox::open(
            &dir.join("q.db"),
            &QueueKey::from_bytes([9; 32]),
            &OpenOptions::default(),
        )
        .expect("open outbox"),
    )
}

fn worker_config() -> WorkerConfig {
    WorkerConfig {
        probe_interval: Duration::from_millis(100),
        ..WorkerConfig::default()
    }
}

fn delivered(
    s: Result<Submitted, kiosk_app::submit::SubmitRefused>,
) -> kiosk_app::gateway::SubmissionReceipt {
    match s.expect("accepted") {
        Submitted::Delivered(r) => r,
        other => panic!("not delivered in time: {other:?}"),
    }
}

fn encounters(fhir: &Sekmet, id: kiosk_outbox::Uuid) -> Vec<String> {
    fhir.search_ids(&format!(
        "/fhir/Encounter?identifier={SUBMISSION_ID_SYSTEM}%7Curn:uuid:{id}"
    ))
}

fn raw_hits(dir: &std::path::Path, needle: &str) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let bytes = std::fs::read(e.path()).unwrap_or_default();
        n += bytes
            .windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count();
    }
    n
}

#[test]
fn registrations_reach_the_fhir_server_exactly_once_with_their_encounter_on_the_receipt() {
    if !enabled() {
        return;
    }
    let fhir = Sekmet::start(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    let gw = DemoGateway::start().expect("gateway");
    let wait = Duration::from_secs(15);
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = outbox(dir.path());
    let fhir_client = GatewayClient::new(&fhir.base_url(), wait).expect("fhir client");
    let s = QueuedSubmitter::start_loopback_fhir(
        Arc::clone(&outbox),
        GatewayClient::new(&gw.url(), wait).expect("client"),
        fhir_client.clone(),
        worker_config(),
        wait,
    )
    .expect("submitter");

    let mut receipts = Vec::new();
    for dept in ["K01", "K02", "K03"] {
        receipts.push(delivered(s.submit(request(SubmissionKind::Clinic, dept))));
    }
    // Nothing went to the kiosk gateway: registrations are the HIS's.
    assert_eq!(gw.received(), 0);
    let patients = fhir.search_ids(&format!(
        "/fhir/Patient?identifier={NATIONAL_ID_SYSTEM}%7C{ID_NUMBER}"
    ));
    assert_eq!(
        patients.len(),
        1,
        "one Patient for the citizen: {patients:?}"
    );

    let ids: Vec<_> = outbox
        .list(Some(State::Delivered), 10)
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids.len(), 3);
    let replay = LoopbackTransport::new(GatewayClient::new(&gw.url(), wait).expect("client"))
        .with_fhir(fhir_client);
    for id in &ids {
        let found = encounters(&fhir, *id);
        assert_eq!(found.len(), 1, "Encounter {id} exactly once: {found:?}");
        // The receipt names the Encounter the server made, for staff to find it.
        assert!(
            receipts.iter().any(|r| r.dossier_code == found[0]),
            "{found:?} not on any receipt"
        );
        assert!(!receipts.iter().any(|r| r.received_at.is_empty()));
        // A replay (an answer lost on the way back): accepted, nothing new created.
        let bundle = kiosk_app::gateway::fhir::registration_bundle(&request(
            SubmissionKind::Clinic,
            "K01",
        )(&id.to_string()))
        .expect("bundle");
        let again = replay
            .send_blocking(&Outgoing {
                id: *id,
                kind: Kind::Clinic,
                payload: serde_json::to_vec(&bundle).expect("json"),
                attempt: 2,
            })
            .expect("replay accepted");
        assert!(!again.created, "a replay must not create");
        assert_eq!(encounters(&fhir, *id).len(), 1);
    }
    s.shutdown();
    // The outbox keeps the receipt, never the Patient the FHIR server echoed back; the file is
    // encrypted besides.
    assert_eq!(raw_hits(dir.path(), NAME), 0);
    assert_eq!(raw_hits(dir.path(), ID_NUMBER), 0);
    for id in &ids {
        let kept = outbox.receipt(*id).expect("receipt").expect("kept");
        let kept = String::from_utf8_lossy(&kept);
        assert!(!kept.contains(NAME) && !kept.contains(ID_NUMBER), "{kept}");
    }
}

#[test]
fn over_mutual_tls_registrations_go_to_fhir_and_dossiers_to_the_gateway() {
    if !enabled() {
        return;
    }
    let fhir = Sekmet::start(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    let pki = tempfile::tempdir().expect("tempdir");
    let (gw, ca) = kiosk_tests::gateway::start_mtls_with_ca(pki.path());
    let fhir_front = kiosk_tests::gateway::front(&ca, fhir.addr());
    let dir = tempfile::tempdir().expect("tempdir");
    let id = kiosk_tests::gateway::enrol(&gw, pki.path(), "kiosk-bv-01");
    let transport = HttpsTransport::new(&HttpsConfig {
        base_url: gw.url(),
        fhir_base_url: Some(format!("{}/fhir", fhir_front.url())),
        ca_pem: id.ca_file.clone(),
        client_cert_pem: id.client_cert.clone(),
        client_key_pem: id.client_key.clone(),
        spki_sha256: None,
        timeout: Duration::from_secs(10),
    })
    .expect("https transport");
    // What `kioskctl selftest` asks a hospital kiosk's FHIR server, over the same mutual TLS.
    let (status, body) = transport
        .fhir_get_blocking("/metadata", &[("Accept", "application/fhir+json")])
        .expect("FHIR metadata over mutual TLS");
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&body).contains("\"CapabilityStatement\""),
        "not a CapabilityStatement"
    );
    let outbox = outbox(dir.path());
    let s = QueuedSubmitter::start_with(
        Arc::clone(&outbox),
        Arc::new(GatewayReceipts::new(Arc::new(transport)).clinic_to_fhir()),
        worker_config(),
        // How long "Submit" waits for an answer before printing an offline receipt.
        Duration::from_secs(5),
    )
    .expect("submitter")
    .clinic_as_fhir();

    // A dossier: the kiosk gateway's receipt, as in the one-stop-shop.
    let dossier = delivered(s.submit(request(SubmissionKind::Tthc, "1.004194")));
    assert_eq!(dossier.validate(), Ok(()));
    assert_eq!(gw.received(), 1);
    // A registration: to the FHIR server, its Encounter on the receipt.
    let reg = delivered(s.submit(request(SubmissionKind::Clinic, "K01")));
    let clinic_id = outbox
        .list(Some(State::Delivered), 10)
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .find(|i| encounters(&fhir, *i).len() == 1)
        .expect("the registration's Encounter on the FHIR server");
    assert_eq!(encounters(&fhir, clinic_id), vec![reg.dossier_code.clone()]);
    assert_eq!(
        gw.received(),
        1,
        "the registration did not go to the gateway"
    );

    // Fault: the FHIR server's front presents a certificate from another CA. The kiosk
    // refuses the handshake, keeps the registration and says "queued"...
    fhir_front.set_untrusted(true);
    let relayed = fhir_front.forwarded();
    let Submitted::Queued(queued) = s
        .submit(request(SubmissionKind::Clinic, "K02"))
        .expect("kept")
    else {
        panic!("delivered through an untrusted certificate");
    };
    assert_eq!(
        fhir_front.forwarded(),
        relayed,
        "nothing reached the FHIR server"
    );
    assert_eq!(encounters(&fhir, queued).len(), 0);
    // ...and delivers it once the right certificate is back (the probe notices).
    fhir_front.set_untrusted(false);
    let until = Instant::now() + Duration::from_secs(30);
    while outbox.state(queued).expect("state") != State::Delivered {
        assert!(
            Instant::now() < until,
            "not delivered after the fault cleared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(encounters(&fhir, queued).len(), 1);
    s.shutdown();
    assert_eq!(raw_hits(dir.path(), NAME), 0);
}
