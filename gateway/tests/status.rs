//! The status lookup, `GET /v1/submissions/{MaHoSo}?code={MaTraCuu}`, through the protocol
//! (no sockets): the state of an accepted dossier, one refusal for a wrong code or an unknown
//! dossier.

use kiosk_gateway::ca::Authority;
use kiosk_gateway::{GatewayConfig, Peer, Request, Response, State};
use kiosk_wire::dto::{
    DossierState, ErrorBody, SubmissionKind, SubmissionReceipt, SubmissionRequest, SubmissionStatus,
};

const NOW: i64 = 1_767_225_600_000; // 2026-01-01

fn state() -> State {
    let config = GatewayConfig {
        fixed_now: Some(time::macros::datetime!(2026-01-09 16:00)),
        seed: Some(7),
        // Forwarding on (no worker runs here: the test moves the queue by hand).
        forward: Some(kiosk_gateway::ForwardConfig::new("http://127.0.0.1:9")),
        ..GatewayConfig::default()
    };
    let ca = Authority::ephemeral("Test CA").expect("ca");
    let store = kiosk_gateway::store::SqliteStore::open(None).expect("db");
    State::new(config, Box::new(store), ca)
}

fn kiosk() -> Peer {
    Peer {
        kiosk_id: Some("kiosk-hn-01".to_owned()),
        tls: true,
    }
}

fn get(s: &mut State, peer: &Peer, target: &str) -> Response {
    let req = Request {
        method: "GET".to_owned(),
        target: target.to_owned(),
        headers: Vec::new(),
    };
    s.handle(&req, peer, b"", NOW)
}

fn submit(s: &mut State, uid: &str) -> SubmissionReceipt {
    let body =
        serde_json::to_vec(&SubmissionRequest::synthetic(uid, SubmissionKind::Tthc)).expect("json");
    let req = Request {
        method: "POST".to_owned(),
        target: "/v1/submissions".to_owned(),
        headers: vec![("Idempotency-Key".to_owned(), uid.to_owned())],
    };
    let r = s.handle(&req, &kiosk(), &body, NOW);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).expect("receipt")
}

fn status(r: &Response) -> SubmissionStatus {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).expect("status")
}

#[test]
fn an_accepted_dossier_is_received_then_follows_its_forwarding() {
    let mut s = state();
    let receipt = submit(&mut s, "0190f0a0-0000-7000-8000-000000000001");
    let target = format!(
        "/v1/submissions/{}?code={}",
        receipt.dossier_code, receipt.lookup_code
    );
    let first = status(&get(&mut s, &kiosk(), &target));
    assert_eq!(first.state(), DossierState::Received);
    assert_eq!(first.dossier_code, receipt.dossier_code);
    assert_eq!(first.received_at, receipt.received_at);
    assert_eq!(first.appointment, receipt.appointment);
    // No personal data in the answer: the synthetic citizen's name and ID are not in it.
    let text = String::from_utf8_lossy(&get(&mut s, &kiosk(), &target).body).into_owned();
    assert!(
        !text.contains("001090123456") && !text.contains("NGUYEN"),
        "{text}"
    );

    // The one-stop system takes it: forwarded.
    let jobs = s.store_mut().lease_forward(NOW, 60_000, 16).expect("lease");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].dossier_code, receipt.dossier_code);
    s.store_mut()
        .forward_done(jobs[0].id, NOW, 0)
        .expect("done");
    assert_eq!(
        status(&get(&mut s, &kiosk(), &target)).state(),
        DossierState::Forwarded
    );
    // Another kiosk of the gateway may look it up (the citizen comes back anywhere).
    let other = Peer {
        kiosk_id: Some("kiosk-hn-02".to_owned()),
        tls: true,
    };
    assert_eq!(
        status(&get(&mut s, &other, &target)).state(),
        DossierState::Forwarded
    );

    // A dossier the one-stop system refused for good: forward_failed (ask at the counter).
    let refused = submit(&mut s, "0190f0a0-0000-7000-8000-000000000005");
    let jobs = s.store_mut().lease_forward(NOW, 60_000, 16).expect("lease");
    assert_eq!(jobs.len(), 1);
    s.store_mut()
        .forward_failed(jobs[0].id, None, "422 from the one-stop system", NOW)
        .expect("dead letter");
    let target = format!(
        "/v1/submissions/{}?code={}",
        refused.dossier_code, refused.lookup_code
    );
    assert_eq!(
        status(&get(&mut s, &kiosk(), &target)).state(),
        DossierState::ForwardFailed
    );
}

#[test]
fn a_wrong_lookup_code_and_an_unknown_dossier_get_the_same_404() {
    let mut s = state();
    let receipt = submit(&mut s, "0190f0a0-0000-7000-8000-000000000002");
    let other = submit(&mut s, "0190f0a0-0000-7000-8000-000000000003");
    let wrong_code = get(
        &mut s,
        &kiosk(),
        &format!(
            "/v1/submissions/{}?code={}",
            receipt.dossier_code, other.lookup_code
        ),
    );
    // A dossier code of the right shape that was never issued.
    let unknown = get(
        &mut s,
        &kiosk(),
        &format!(
            "/v1/submissions/000.00.01.H29-260109-9999?code={}",
            receipt.lookup_code
        ),
    );
    for r in [&wrong_code, &unknown] {
        assert_eq!(r.status, 404);
        let e: ErrorBody = serde_json::from_slice(&r.body).expect("error body");
        assert_eq!(e.error, "not_found");
    }
    assert_eq!(
        wrong_code.body, unknown.body,
        "the answer does not tell which part was wrong"
    );
    let missing = get(
        &mut s,
        &kiosk(),
        &format!("/v1/submissions/{}", receipt.dossier_code),
    );
    assert_eq!(missing.status, 400);
}

#[test]
fn over_tls_the_lookup_needs_the_kiosks_certificate() {
    let mut s = state();
    let receipt = submit(&mut s, "0190f0a0-0000-7000-8000-000000000004");
    let target = format!(
        "/v1/submissions/{}?code={}",
        receipt.dossier_code, receipt.lookup_code
    );
    let anonymous = Peer {
        kiosk_id: None,
        tls: true,
    };
    assert_eq!(get(&mut s, &anonymous, &target).status, 401);
}
