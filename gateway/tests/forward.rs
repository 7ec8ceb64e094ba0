//! Forwarding from the PostgreSQL queue to the one-stop simulator with faults injected (503s,
//! answers after the gateway's timeout, replies lost after the dossier was taken): every TTHC
//! dossier arrives exactly once by `referenceUid`, clinic registrations and a technician's test
//! submission are not forwarded, personal fields are erased once forwarded, the lookup says
//! `forwarded`; an adapter that refuses for good makes a dead letter.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kiosk_gateway::forward::OAuthConfig;
use kiosk_gateway::onestop_sim::{OneStopSim, SimFaults};
use kiosk_gateway::testing::PgCluster;
use kiosk_gateway::{ForwardConfig, Gateway, GatewayConfig};
use kiosk_wire::dto::{SubmissionKind, SubmissionReceipt, SubmissionRequest};

/// One plain-HTTP exchange: status and body.
fn http(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &[u8]) -> (u16, String) {
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).expect("head");
    tcp.write_all(body).expect("body");
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).expect("answer");
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn submit(gw: &Gateway, uid: &str, kind: SubmissionKind) -> SubmissionReceipt {
    let body = serde_json::to_vec(&SubmissionRequest::synthetic(uid, kind)).expect("json");
    let (status, answer) = http(
        gw.addr(),
        "POST",
        "/v1/submissions",
        &format!("Idempotency-Key: {uid}\r\n"),
        &body,
    );
    assert_eq!(status, 201, "{answer}");
    serde_json::from_str(&answer).expect("receipt")
}

fn fast(url: String) -> ForwardConfig {
    ForwardConfig {
        timeout: Duration::from_millis(300),
        max_attempts: 100,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(100),
        lease: Duration::from_secs(5),
        batch: 8,
        idle_poll: Duration::from_millis(20),
        ..ForwardConfig::new(url)
    }
}

/// Waits (bounded: a liveness guard, not a speed assertion) until `done`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn gauge(gw: &Gateway, name: &str) -> Option<u64> {
    gw.metrics_text()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} "))?.parse().ok())
}

#[test]
fn dossiers_reach_the_one_stop_system_once_through_faults_and_personal_fields_are_erased() {
    let Some(pg) = PgCluster::for_test() else {
        return;
    };
    let url = pg.database("forward").expect("database");
    let sim = OneStopSim::start(
        "127.0.0.1:0".parse().expect("addr"),
        SimFaults {
            error_rate: 0.2,
            timeout_rate: 0.1,
            lost_reply_rate: 0.15,
            hang: Duration::from_secs(1),
            seed: 15,
        },
    )
    .expect("simulator");
    let gw = Gateway::start_with(GatewayConfig {
        postgres: Some(url.clone()),
        forward: Some(fast(sim.url())),
        ..GatewayConfig::default()
    })
    .expect("gateway");
    let uids: Vec<String> = (0..24)
        .map(|i| format!("0190f0a0-0000-7000-8000-{i:012}"))
        .collect();
    let receipts: Vec<SubmissionReceipt> = uids
        .iter()
        .map(|u| submit(&gw, u, SubmissionKind::Tthc))
        .collect();
    let clinic = submit(
        &gw,
        "0190f0a0-0000-7000-9000-000000000001",
        SubmissionKind::Clinic,
    );
    assert_eq!(clinic.queue_number, Some(1));
    // A technician's test submission (`kioskctl queue send-test`) is accepted, not forwarded.
    let test = SubmissionRequest {
        procedure_code: kiosk_wire::dto::TEST_PROCEDURE_CODE.to_owned(),
        ..SubmissionRequest::synthetic("0190f0a0-0000-7000-a000-000000000001", SubmissionKind::Tthc)
    };
    let (status, answer) = http(
        gw.addr(),
        "POST",
        "/v1/submissions",
        "Idempotency-Key: 0190f0a0-0000-7000-a000-000000000001\r\n",
        &serde_json::to_vec(&test).expect("json"),
    );
    assert_eq!(status, 201, "{answer}");
    wait_until("the queue to drain", || {
        gauge(&gw, "kiosk_gateway_forward_queue_depth") == Some(0)
    });

    let dossiers = sim.dossiers();
    let mut got: Vec<&String> = dossiers.keys().collect();
    got.sort();
    assert_eq!(
        got,
        uids.iter().collect::<Vec<_>>(),
        "each TTHC once, no clinic, no test submission"
    );
    let deliveries: u32 = dossiers.values().map(|d| d.deliveries).sum();
    assert!(
        deliveries > 24,
        "the faults should have caused duplicate deliveries ({deliveries})"
    );
    for r in &receipts {
        let d = dossiers
            .values()
            .find(|d| d.dossier_no == r.dossier_code)
            .expect("dossier code forwarded");
        assert_eq!(d.service_code, "1.004194");
    }
    assert_eq!(gauge(&gw, "kiosk_gateway_forward_dead_letters"), Some(0));

    // The lookup says forwarded; the bodies are gone, the receipts stay.
    let r = &receipts[0];
    let (status, body) = http(
        gw.addr(),
        "GET",
        &format!("/v1/submissions/{}?code={}", r.dossier_code, r.lookup_code),
        "",
        b"",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"TrangThaiHoSo\":\"forwarded\""), "{body}");
    let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let row = db
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE body IS NOT NULL), COUNT(*) FROM submissions
             WHERE kind = 'tthc'",
            &[],
        )
        .expect("count");
    // 24 dossiers and the test submission (accepted, never forwarded, its body never stored).
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (0, 25));
    // The clinic registration is not forwarded, so its body was never stored.
    let clinic_body: Option<Vec<u8>> = db
        .query_one("SELECT body FROM submissions WHERE kind = 'clinic'", &[])
        .expect("clinic")
        .get(0);
    assert_eq!(clinic_body, None);
    // A replay after erasure still gets the first receipt (the hash is kept).
    let body = serde_json::to_vec(&SubmissionRequest::synthetic(
        &uids[0],
        SubmissionKind::Tthc,
    ))
    .expect("json");
    let (status, answer) = http(
        gw.addr(),
        "POST",
        "/v1/submissions",
        &format!("Idempotency-Key: {}\r\n", uids[0]),
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        serde_json::from_str::<SubmissionReceipt>(&answer).expect("receipt"),
        receipts[0]
    );
    gw.stop();

    // An adapter that refuses for good (404 on this path): a dead letter, not retried.
    let dead_url = pg.database("dead").expect("database");
    let gw = Gateway::start_with(GatewayConfig {
        postgres: Some(dead_url),
        forward: Some(fast(format!("{}/wrong-base", sim.url()))),
        ..GatewayConfig::default()
    })
    .expect("gateway");
    let r = submit(
        &gw,
        "0190f0a0-0000-7000-a000-000000000001",
        SubmissionKind::Tthc,
    );
    wait_until("a dead letter", || {
        gauge(&gw, "kiosk_gateway_forward_dead_letters") == Some(1)
    });
    let (_, body) = http(
        gw.addr(),
        "GET",
        &format!("/v1/submissions/{}?code={}", r.dossier_code, r.lookup_code),
        "",
        b"",
    );
    assert!(
        body.contains("\"TrangThaiHoSo\":\"forward_failed\""),
        "{body}"
    );
    assert_eq!(gauge(&gw, "kiosk_gateway_forward_queue_depth"), Some(0));
}

#[test]
fn forwarding_over_https_trusts_only_the_given_roots() {
    // The far end: any TLS server with a certificate from a known CA will do; a gateway
    // answers our intake path with an HTTP error (no client certificate), which is a dead
    // letter, so reaching it proves the TLS connection was made.
    let target = Gateway::start_with(GatewayConfig {
        tls: kiosk_gateway::Tls::SelfIssued(vec!["127.0.0.1".to_owned()]),
        ..GatewayConfig::default()
    })
    .expect("target");
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.pem");
    std::fs::write(&good, target.enrolment_ca_pem()).expect("roots");
    let other = kiosk_gateway::ca::Authority::ephemeral("Other CA").expect("ca");
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, other.ca_pem()).expect("roots");
    let source = |roots: &std::path::Path| {
        Gateway::start_with(GatewayConfig {
            forward: Some(ForwardConfig {
                ca_file: Some(roots.to_owned()),
                ..fast(target.url())
            }),
            ..GatewayConfig::default()
        })
        .expect("gateway")
    };
    let trusted = source(&good);
    submit(
        &trusted,
        "0190f0a0-0000-7000-b000-000000000001",
        SubmissionKind::Tthc,
    );
    wait_until("an answer over TLS", || {
        gauge(&trusted, "kiosk_gateway_forward_dead_letters") == Some(1)
    });
    let untrusted = source(&bad);
    submit(
        &untrusted,
        "0190f0a0-0000-7000-b000-000000000002",
        SubmissionKind::Tthc,
    );
    wait_until("retries", || {
        gauge(&untrusted, "kiosk_gateway_forward_retries_total").is_some_and(|n| n >= 2)
    });
    assert_eq!(
        gauge(&untrusted, "kiosk_gateway_forward_dead_letters"),
        Some(0)
    );
    assert_eq!(
        gauge(&untrusted, "kiosk_gateway_forward_queue_depth"),
        Some(1)
    );
}

/// LGSP/iGate-style credentials: a wrong secret pauses forwarding (no attempt counted, no dead
/// letter) until the file is corrected; the token is cached, and fetched again when the
/// adapter answers 401 (expired).
#[test]
fn a_wrong_secret_pauses_forwarding_and_the_token_is_cached_and_refreshed() {
    use std::os::unix::fs::PermissionsExt as _;
    let sim = OneStopSim::start("127.0.0.1:0".parse().expect("addr"), SimFaults::default())
        .expect("simulator");
    sim.require_client("kiosk-gw", "right secret/+=", Duration::from_secs(3600));
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("client-secret");
    let write = |text: &str| {
        std::fs::write(&secret, text).expect("write");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    };
    write("wrong secret\n");
    let gw = Gateway::start_with(GatewayConfig {
        forward: Some(ForwardConfig {
            oauth: Some(OAuthConfig {
                token_url: format!("{}/oauth/token", sim.url()),
                client_id: "kiosk-gw".to_owned(),
                secret_file: secret.clone(),
                scope: None,
            }),
            status_poll: None,
            ..fast(sim.url())
        }),
        ..GatewayConfig::default()
    })
    .expect("gateway");
    submit(
        &gw,
        "0190f0a0-0000-7000-8000-00000000c001",
        SubmissionKind::Tthc,
    );
    wait_until("the gateway to retry its credentials", || {
        sim.token_requests() >= 3
    });
    assert!(sim.dossiers().is_empty(), "nothing sent without a token");
    assert_eq!(gauge(&gw, "kiosk_gateway_forward_dead_letters"), Some(0));
    assert_eq!(gauge(&gw, "kiosk_gateway_forward_queue_depth"), Some(1));
    assert_eq!(gauge(&gw, "kiosk_gateway_forward_rejected_total"), Some(0));
    // The operator corrects the file: forwarding resumes without a restart.
    write("right secret/+=\n");
    wait_until("the first dossier", || sim.dossiers().len() == 1);
    // Cached: the next dossier needs no new token.
    let fetched = sim.token_requests();
    submit(
        &gw,
        "0190f0a0-0000-7000-8000-00000000c002",
        SubmissionKind::Tthc,
    );
    wait_until("the second dossier", || sim.dossiers().len() == 2);
    assert_eq!(sim.token_requests(), fetched, "the token was reused");
    // Expired at the identity provider: a 401, a new token, the dossier goes through.
    sim.expire_tokens();
    submit(
        &gw,
        "0190f0a0-0000-7000-8000-00000000c003",
        SubmissionKind::Tthc,
    );
    wait_until("the third dossier", || sim.dossiers().len() == 3);
    assert_eq!(
        sim.token_requests(),
        fetched + 1,
        "one new token after the 401"
    );
    assert_eq!(gauge(&gw, "kiosk_gateway_forward_dead_letters"), Some(0));
}
