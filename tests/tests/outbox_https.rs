//! The kiosk outbox's production transport (`kiosk_outbox::https`) over real mutual TLS: a
//! test CA, server and client certificates made at test time, and the gateway's protocol
//! (`kiosk_gateway::State`) behind a rustls server that requires a client certificate; other
//! servers here answer what a misbehaving gateway could.

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiosk_app::gateway::http;
use kiosk_app::gateway::outbox::GatewayReceipts;
use kiosk_app::gateway::{SubmissionKind, SubmissionRequest};
use kiosk_gateway::{GatewayConfig, Peer, Request, Response, State};
use kiosk_outbox::https::{spki_sha256, HttpsConfig, HttpsTransport, MAX_BODY};
use kiosk_outbox::{ErrorClass, Kind, Outbox, Outgoing, Transport};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let cert = p.self_signed(&key).expect("ca");
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(p, key),
    }
}

/// (certificate PEM, DER, key PEM, key DER)
fn leaf(ca: &Ca, san: &str) -> (String, CertificateDer<'static>, String, Vec<u8>) {
    let key = KeyPair::generate().expect("key");
    let p = CertificateParams::new(vec![san.to_owned()]).expect("params");
    let cert = p.signed_by(&key, &ca.issuer).expect("sign");
    (
        cert.pem(),
        cert.der().clone(),
        key.serialize_pem(),
        key.serialize_der(),
    )
}

/// A gateway on 127.0.0.1 that requires a client certificate from `client_ca`.
fn serve(server_ca: &Ca, client_ca: &Ca) -> (u16, CertificateDer<'static>) {
    let ca = kiosk_gateway::ca::Authority::ephemeral("Enrolment CA").expect("CA");
    let db = kiosk_gateway::store::SqliteStore::open(None).expect("records");
    let state = Mutex::new(State::new(GatewayConfig::default(), Box::new(db), ca));
    serve_with(server_ca, client_ca, move |head, body| {
        let req = Request {
            method: head.first.clone(),
            target: head.second.clone(),
            headers: head.headers.clone(),
        };
        // The TLS server here verified the client's certificate (issued for kiosk-0001).
        let peer = Peer {
            kiosk_id: Some("kiosk-0001".to_owned()),
            tls: true,
        };
        let now = kiosk_gateway::state::now_ms();
        state.lock().expect("lock").handle(&req, &peer, body, now)
    })
}

/// As [`serve`], answering every request with `handler`.
fn serve_with(
    server_ca: &Ca,
    client_ca: &Ca,
    handler: impl Fn(&http::Head, &[u8]) -> Response + Send + 'static,
) -> (u16, CertificateDer<'static>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (_, cert_der, _, key_der) = leaf(server_ca, "127.0.0.1");
    let mut roots = rustls::RootCertStore::empty();
    let client_ca_der =
        rustls::pki_types::pem::PemObject::from_pem_slice(client_ca.pem.as_bytes()).expect("pem");
    roots.add(client_ca_der).expect("root");
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .expect("verifier");
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![cert_der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
            )
            .expect("server config"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let response = match http::read_message(&mut tls, false) {
                Ok((head, body)) => handler(&head, &body),
                // Handshake refused (no or untrusted client certificate) or a bad request.
                Err(_) => continue,
            };
            let _ = std::io::Write::write_all(&mut tls, &to_bytes(&response));
            tls.conn.send_close_notify();
            let _ = std::io::Write::flush(&mut tls);
        }
    });
    (port, cert_der)
}

/// The response on the wire (`Connection: close`).
fn to_bytes(r: &Response) -> Vec<u8> {
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
    headers.extend(r.headers.iter().map(|(n, v)| (*n, v.as_str())));
    http::write_response(r.status, &headers, &r.body)
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        // The transport refuses a key group or others can read.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        p
    }
}

fn config(files: &Files, port: u16, trust: &Ca, client: &Ca, pin: Option<[u8; 32]>) -> HttpsConfig {
    let (cert_pem, _, key_pem, _) = leaf(client, "kiosk-0001");
    HttpsConfig {
        base_url: format!("https://127.0.0.1:{port}"),
        fhir_base_url: None,
        ca_pem: files.write("ca.pem", &trust.pem),
        client_cert_pem: files.write("client.pem", &cert_pem),
        client_key_pem: files.write("client.key", &key_pem),
        spki_sha256: pin,
        timeout: Duration::from_secs(5),
    }
}

fn item() -> Outgoing {
    let id = Outbox::new_id();
    let r = SubmissionRequest::synthetic(&id.to_string(), SubmissionKind::Tthc);
    Outgoing {
        id,
        kind: Kind::Tthc,
        payload: serde_json::to_vec(&r).expect("json"),
        attempt: 1,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn mutual_tls_submit_replay_probe_and_pin() {
    let files = Files {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let deployment = ca("Deployment CA");
    let (port, server_cert) = serve(&deployment, &deployment);
    let pin = spki_sha256(&server_cert).expect("spki");
    let t = HttpsTransport::new(&config(&files, port, &deployment, &deployment, Some(pin)))
        .expect("transport");
    let rt = rt();
    let it = item();
    let first = rt.block_on(t.send(it.clone())).expect("delivered");
    assert!(first.created);
    let receipt: serde_json::Value = serde_json::from_slice(&first.receipt).expect("json");
    assert!(receipt["MaHoSo"].as_str().is_some_and(|c| c.contains("-")));
    let again = rt.block_on(t.send(it)).expect("replay");
    assert!(
        !again.created,
        "a replay is answered 200 with the first receipt"
    );
    assert_eq!(again.receipt, first.receipt);
    assert!(rt.block_on(t.probe()));

    // A wrong pin fails the handshake: unreachable, with the reason.
    let t = HttpsTransport::new(&config(
        &files,
        port,
        &deployment,
        &deployment,
        Some([0; 32]),
    ))
    .expect("transport");
    let e = rt.block_on(t.send(item())).expect_err("pin mismatch");
    assert_eq!(e.class, ErrorClass::Unreachable);
    assert!(e.message.contains("SPKI pin"), "{e}");
}

#[test]
fn untrusted_server_or_client_certificate_is_refused() {
    let files = Files {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let deployment = ca("Deployment CA");
    let rogue = ca("Rogue CA");
    let rt = rt();

    // The server's certificate is not from the deployment CA (system roots are not trusted).
    let (port, _) = serve(&rogue, &deployment);
    let t = HttpsTransport::new(&config(&files, port, &deployment, &deployment, None))
        .expect("transport");
    let e = rt.block_on(t.send(item())).expect_err("untrusted server");
    assert_eq!(e.class, ErrorClass::Unreachable);
    assert!(e.message.to_lowercase().contains("certificate"), "{e}");
    assert!(!rt.block_on(t.probe()));

    // The kiosk's certificate is not from the CA the gateway trusts.
    let (port, _) = serve(&deployment, &deployment);
    let t =
        HttpsTransport::new(&config(&files, port, &deployment, &rogue, None)).expect("transport");
    let e = rt.block_on(t.send(item())).expect_err("untrusted client");
    assert_eq!(e.class, ErrorClass::Unreachable, "{e}");
}

#[test]
fn configuration_errors_name_the_file() {
    let files = Files {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let deployment = ca("Deployment CA");
    let mut cfg = config(&files, 1, &deployment, &deployment, None);
    cfg.base_url = "http://127.0.0.1:1".into();
    let e = HttpsTransport::new(&cfg).expect_err("plain http");
    assert!(e.to_string().contains("https://"), "{e}");
    let mut cfg = config(&files, 1, &deployment, &deployment, None);
    cfg.ca_pem = Path::new("/nonexistent/ca.pem").to_owned();
    let e = HttpsTransport::new(&cfg).expect_err("missing CA");
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    // The TLS key is checked like the queue key: no access for group or others.
    let cfg = config(&files, 1, &deployment, &deployment, None);
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&cfg.client_key_pem, std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
    }
    let e = HttpsTransport::new(&cfg).expect_err("world-readable key");
    assert!(e.to_string().contains("chmod 600"), "{e}");
}

fn files() -> Files {
    Files {
        dir: tempfile::tempdir().expect("tempdir"),
    }
}

fn answer(status: u16, body: Vec<u8>) -> Response {
    Response {
        status,
        headers: Vec::new(),
        body,
    }
}

/// A body over 1 MiB (success or error) is refused, never buffered whole or kept as a receipt.
#[test]
fn response_bodies_are_capped() {
    let files = files();
    let deployment = ca("Deployment CA");
    let rt = rt();
    for status in [201, 500] {
        let (port, _) = serve_with(&deployment, &deployment, move |_, _| {
            answer(status, vec![b'x'; MAX_BODY + 1])
        });
        let t = HttpsTransport::new(&config(&files, port, &deployment, &deployment, None))
            .expect("transport");
        // (No `expect_err`: it would print a megabyte.)
        let e = match rt.block_on(t.send(item())) {
            Ok(d) => panic!("a {}-byte answer was delivered", d.receipt.len()),
            Err(e) => e,
        };
        assert_eq!(e.class, ErrorClass::Transient, "{e}");
        assert!(e.message.contains("longer than"), "{e}");
        let e = match t.get_blocking("/v1/catalog", &[]) {
            Ok((_, body)) => panic!("a {}-byte answer was read", body.len()),
            Err(e) => e,
        };
        assert!(e.message.contains("longer than"), "{e}");
    }
    // Exactly the limit is read.
    let (port, _) = serve_with(&deployment, &deployment, |_, _| {
        answer(201, vec![b'x'; MAX_BODY])
    });
    let t = HttpsTransport::new(&config(&files, port, &deployment, &deployment, None))
        .expect("transport");
    let d = rt.block_on(t.send(item())).expect("at the limit");
    assert_eq!(d.receipt.len(), MAX_BODY);
}

/// A redirect is an answer, not an instruction: the submission is not sent on to its target.
#[test]
fn redirects_are_not_followed() {
    let files = files();
    let deployment = ca("Deployment CA");
    let rt = rt();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&seen);
    let (port, _) = serve_with(&deployment, &deployment, move |head, _| {
        log.lock().expect("lock").push(head.second.clone());
        let mut r = answer(307, Vec::new());
        r.headers.push(("Location", "/elsewhere".to_owned()));
        r
    });
    let t = HttpsTransport::new(&config(&files, port, &deployment, &deployment, None))
        .expect("transport");
    let e = rt.block_on(t.send(item())).expect_err("a redirect");
    assert_eq!(e.status, Some(307), "{e}");
    assert_eq!(e.class, ErrorClass::Permanent);
    let (status, _) = t.get_blocking("/v1/catalog", &[]).expect("an answer");
    assert_eq!(status, 307);
    assert_eq!(
        *seen.lock().expect("lock"),
        ["/v1/submissions", "/v1/catalog"],
        "nothing sent to /elsewhere"
    );
}

/// Through the kiosk's `GatewayReceipts`: a receipt that fails the loopback client's checks
/// is not delivered (retried), and fields the kiosk does not use are not kept.
#[test]
fn receipts_are_validated_and_reduced_to_the_kiosks_fields() {
    let files = files();
    let deployment = ca("Deployment CA");
    let rt = rt();
    let good = serde_json::json!({
        "MaHoSo": "000.00.00.H01-261205-0001",
        "NgayTiepNhan": "20261205101500",
        "NgayHenTra": "20261208101500",
        "MaTraCuu": "ABCD2345",
        "ChuHoSo": {"HoTen": "Nguyễn Văn Tổng Hợp", "SoCCCD": "001099000001"},
    });
    let mut bad = good.clone();
    bad["MaHoSo"] = serde_json::json!("not a dossier code");
    let answers = Arc::new(Mutex::new(vec![
        serde_json::to_vec(&good).expect("json"),
        serde_json::to_vec(&bad).expect("json"),
        b"{\"MaHoSo\": 001099000001}".to_vec(),
    ]));
    let (port, _) = serve_with(&deployment, &deployment, move |_, _| {
        answer(201, answers.lock().expect("lock").remove(0))
    });
    let t = GatewayReceipts::new(Arc::new(
        HttpsTransport::new(&config(&files, port, &deployment, &deployment, None))
            .expect("transport"),
    ));
    let d = rt.block_on(t.send(item())).expect("a valid receipt");
    let kept: serde_json::Value = serde_json::from_slice(&d.receipt).expect("json");
    let mut want = good.clone();
    want.as_object_mut().expect("object").remove("ChuHoSo");
    assert_eq!(kept, want, "only the receipt's fields are kept");
    assert!(d.created);
    let e = rt.block_on(t.send(item())).expect_err("invalid receipt");
    assert_eq!(e.class, ErrorClass::Transient);
    assert!(e.message.contains("MaHoSo"), "{e}");
    let e = rt.block_on(t.send(item())).expect_err("not JSON");
    assert_eq!(e.class, ErrorClass::Transient);
    assert!(!e.message.contains("001099000001"), "{e}");
}

/// An error answer is kept as its status and error codes: a FHIR OperationOutcome's
/// diagnostics (or any body's text) may echo the patient and would end in logs and the row.
#[test]
fn error_answers_keep_status_and_codes_only() {
    let files = files();
    let deployment = ca("Deployment CA");
    let rt = rt();
    let outcome = serde_json::json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid",
                   "diagnostics": "Patient Nguyễn Văn Tổng Hợp, 001099000001: bad birthDate"}],
    });
    let answers = Arc::new(Mutex::new(vec![
        answer(422, serde_json::to_vec(&outcome).expect("json")),
        answer(
            500,
            b"Nguyen Van Tong Hop 001099000001 caused a NullPointerException".to_vec(),
        ),
    ]));
    let (port, _) = serve_with(&deployment, &deployment, move |_, _| {
        answers.lock().expect("lock").remove(0)
    });
    let t = HttpsTransport::new(&config(&files, port, &deployment, &deployment, None))
        .expect("transport");
    let e = rt.block_on(t.send(item())).expect_err("422");
    assert_eq!(e.to_string(), "Permanent (HTTP 422): gateway error invalid");
    let e = rt.block_on(t.send(item())).expect_err("500");
    assert_eq!(
        e.to_string(),
        "Transient (HTTP 500): gateway error without a code"
    );
}
