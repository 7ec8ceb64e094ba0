//! The kiosk's loopback client against the real gateway (`kiosk-gateway`, as the demo starts
//! it: plain HTTP on 127.0.0.1), over real sockets.
//!
//! Only the synthetic citizen of the demo card appears here: ID 001090123456, NGUYEN VAN AN,
//! born 01/01/1990. The server's own handling of malformed requests is kiosk-gateway's
//! (its tests); these check what the kiosk's client makes of its answers.

use std::time::Duration;

use kiosk_app::gateway::codes;
use kiosk_app::gateway::{GatewayClient, GatewayErrorKind, SubmissionKind, SubmissionRequest};
use kiosk_gateway::{Gateway as DemoGateway, GatewayConfig as DemoGatewayConfig};
use kiosk_hw::personal::Personal;

const TIMEOUT: Duration = Duration::from_secs(5);

fn request(uid: &str, kind: SubmissionKind) -> SubmissionRequest {
    // The same procedure for both kinds: the tests compare what the gateway makes of them.
    SubmissionRequest {
        procedure_code: "1.004194".to_owned(),
        procedure_name: "Đăng ký tạm trú".to_owned(),
        face_score: 0.93,
        ..SubmissionRequest::synthetic(uid, kind)
    }
}

fn gateway() -> (DemoGateway, GatewayClient) {
    let gw = DemoGateway::start_with(DemoGatewayConfig {
        fixed_now: Some(time::macros::datetime!(2026-01-05 09:30:15)),
        seed: Some(42),
        ..DemoGatewayConfig::default()
    })
    .expect("gateway starts");
    let client = GatewayClient::new(&gw.url(), TIMEOUT).expect("loopback URL");
    (gw, client)
}

#[test]
fn submit_then_replay_gives_the_same_receipt() {
    let (gw, client) = gateway();
    let req = request("0190f0a0-0000-7000-8000-000000000001", SubmissionKind::Tthc);

    let first = client.submit_detailed(&req).expect("accepted");
    assert!(first.created, "first submission is 201");
    let r = &first.receipt;
    assert_eq!(r.dossier_code, "000.00.01.H29-260105-0001");
    assert!(codes::is_dossier_code(&r.dossier_code));
    assert!(codes::is_lookup_code(&r.lookup_code), "{}", r.lookup_code);
    assert_eq!(r.received_at, "20260105093015");
    assert_eq!(r.appointment, "20260108093015", "Monday + 3 working days");
    assert_eq!(r.queue_number, None);
    assert_eq!(gw.received(), 1);

    let again = client.submit_detailed(&req).expect("replay accepted");
    assert!(!again.created, "a replay is 200");
    assert_eq!(again.receipt, first.receipt);
    assert_eq!(client.submit(&req).expect("replay"), first.receipt);
    assert_eq!(gw.received(), 1);
    gw.stop();
}

#[test]
fn clinic_gets_a_queue_number_today() {
    let (_gw, client) = gateway();
    let mut req = request("clinic-1", SubmissionKind::Clinic);
    req.procedure_code = "K01".to_owned();
    req.procedure_name = "Khoa Nội".to_owned();
    let r = client.submit(&req).expect("accepted");
    assert_eq!(r.queue_number, Some(1));
    assert_eq!(r.appointment, r.received_at);
}

#[test]
fn same_key_different_body_is_rejected() {
    let (gw, client) = gateway();
    let req = request("uid-1", SubmissionKind::Tthc);
    client.submit(&req).expect("accepted");
    let mut changed = req.clone();
    changed.procedure_code = "1.001234".to_owned();
    let err = client.submit(&changed).expect_err("key reused");
    assert_eq!(err.kind(), GatewayErrorKind::Rejected { status: 422 });
    assert!(err.to_string().contains("idempotency_key_reused"), "{err}");
    assert!(!err.to_string().contains("001090123456"));
    assert_eq!(gw.received(), 1);
}

#[test]
fn status_lookup() {
    let (_gw, client) = gateway();
    let r = client
        .submit(&request("uid-3", SubmissionKind::Tthc))
        .expect("accepted");
    let s = client
        .status(&r.dossier_code, &r.lookup_code)
        .expect("status");
    assert_eq!(s.dossier_code, r.dossier_code);
    assert_eq!(s.status, "received");
    assert_eq!(s.appointment, r.appointment);
    assert_eq!(s.procedure_name, "Đăng ký tạm trú");

    let wrong = if r.lookup_code == "ABCDEFGH" {
        "ABCDEFGJ"
    } else {
        "ABCDEFGH"
    };
    let err = client
        .status(&r.dossier_code, wrong)
        .expect_err("wrong code");
    assert_eq!(err.kind(), GatewayErrorKind::Rejected { status: 404 });
    let err = client
        .status("../etc", &r.lookup_code)
        .expect_err("bad code");
    assert_eq!(err.kind(), GatewayErrorKind::Invalid);
}

#[test]
fn invalid_submission_is_not_sent() {
    let (gw, client) = gateway();
    let mut req = request("uid-4", SubmissionKind::Tthc);
    req.id_number = Personal::new("12345".to_owned());
    let err = client.submit(&req).expect_err("invalid");
    assert_eq!(err.kind(), GatewayErrorKind::Invalid);
    assert!(err.to_string().contains("SoCCCD") && !err.to_string().contains("12345"));
    assert_eq!(gw.received(), 0);
}

#[test]
fn closed_port_is_unreachable() {
    let (gw, _) = gateway();
    let url = gw.url();
    gw.stop(); // the port is now closed
    let client = GatewayClient::new(&url, Duration::from_secs(1)).expect("url");
    let err = client
        .submit(&request("uid-5", SubmissionKind::Tthc))
        .expect_err("nobody listens");
    assert_eq!(err.kind(), GatewayErrorKind::Unreachable);
    assert_eq!(
        client.health().map_err(|e| e.kind()),
        Err(GatewayErrorKind::Unreachable)
    );
}

#[test]
fn stop_and_drop_end_the_thread_promptly() {
    let started = std::time::Instant::now();
    for _ in 0..20 {
        let (gw, client) = gateway();
        client.health().expect("up");
        drop(gw);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// The gateway keeps what it received in its SQLite file: stopped and started again on the
/// same file, it answers a replay with the same receipt (no second dossier), finds the dossier
/// by its lookup code, and goes on numbering from where it stopped.
#[test]
fn a_restarted_gateway_remembers_what_it_received() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || DemoGatewayConfig {
        fixed_now: Some(time::macros::datetime!(2026-01-05 09:30:15)),
        seed: Some(42),
        db_path: Some(dir.path().join("gateway.db")),
        ..DemoGatewayConfig::default()
    };
    let start = || {
        let gw = DemoGateway::start_with(config()).expect("gateway starts");
        let client = GatewayClient::new(&gw.url(), TIMEOUT).expect("loopback URL");
        (gw, client)
    };
    let tthc = request("0190f0a0-0000-7000-8000-0000000000a1", SubmissionKind::Tthc);
    let clinic = request(
        "0190f0a0-0000-7000-8000-0000000000a2",
        SubmissionKind::Clinic,
    );

    let (gw, client) = start();
    let first = client.submit_detailed(&tthc).expect("accepted");
    assert!(first.created);
    let first_clinic = client.submit(&clinic).expect("accepted");
    assert_eq!(first_clinic.queue_number, Some(1));
    assert_eq!(gw.received(), 2);
    gw.stop();

    let (gw, client) = start();
    assert_eq!(gw.received(), 2, "the records survived the restart");
    let again = client.submit_detailed(&tthc).expect("replay accepted");
    assert!(!again.created, "a replay is 200, not a new dossier");
    assert_eq!(again.receipt, first.receipt);
    assert_eq!(client.submit(&clinic).expect("replay"), first_clinic);
    assert_eq!(gw.received(), 2, "no second dossier");
    let s = client
        .status(&first.receipt.dossier_code, &first.receipt.lookup_code)
        .expect("status after restart");
    assert_eq!(s.procedure_name, "Đăng ký tạm trú");

    // The same key with another body is still refused after the restart.
    let mut changed = tthc.clone();
    changed.procedure_code = "1.000001".to_owned();
    let err = client.submit(&changed).expect_err("reused key");
    assert_eq!(err.kind(), GatewayErrorKind::Rejected { status: 422 });

    // New submissions continue the day's sequence and the department's queue.
    let next = client
        .submit(&request(
            "0190f0a0-0000-7000-8000-0000000000a3",
            SubmissionKind::Tthc,
        ))
        .expect("accepted");
    assert_eq!(next.dossier_code, "000.00.01.H29-260105-0003");
    let next_clinic = client
        .submit(&request(
            "0190f0a0-0000-7000-8000-0000000000a4",
            SubmissionKind::Clinic,
        ))
        .expect("accepted");
    assert_eq!(next_clinic.queue_number, Some(2));
    assert_eq!(gw.dossiers().len(), 4);
    gw.stop();
}

#[test]
fn an_unusable_database_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let not_sqlite = dir.path().join("gateway.db");
    std::fs::write(
        &not_sqlite,
        b"this is not a database, it is a text file of some length",
    )
    .expect("write");
    let err = DemoGateway::start_with(DemoGatewayConfig {
        db_path: Some(not_sqlite),
        ..DemoGatewayConfig::default()
    })
    .expect_err("not SQLite");
    let msg = err.to_string();
    assert!(
        msg.contains("gateway.db") && msg.contains("writable SQLite file path"),
        "{msg}"
    );
}
