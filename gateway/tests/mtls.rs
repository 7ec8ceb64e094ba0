//! The gateway's own mutual TLS over a socket on 127.0.0.1: enrolment without a certificate,
//! then the issued certificate admitted; a revoked one and one from another CA refused at the
//! handshake; a forged `X-Client-Cert-CN`, a reused or foreign token, a renewal for another
//! kiosk id refused; every refusal in the audit log. Two replicas sharing PostgreSQL share
//! tokens and the revocation list.

use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex, OnceLock};

use kiosk_gateway::ca::Authority;
use kiosk_gateway::{Gateway, GatewayConfig, Tls};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

fn key_and_csr(cn: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let csr = p
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .expect("csr");
    (key.serialize_pem(), csr)
}

/// One request over TLS; the raw answer, or the error (a refused handshake).
fn call(gw: &Gateway, client: Option<(&str, &str)>, request: &str) -> std::io::Result<String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(gw.enrolment_ca_pem().as_bytes()).expect("ca"))
        .expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key"),
            )
            .expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("conn");
    let tcp = std::net::TcpStream::connect(gw.addr())?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(request.as_bytes())?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer)?;
    Ok(answer)
}

fn post(path: &str, headers: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const HEALTH: &str = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

/// The log lines of every gateway in this test binary (the subscriber is global because the
/// gateways log from their own threads).
fn log() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Capture(buf))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buf
    })
}

struct Capture(&'static Mutex<Vec<u8>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether an audit line mentioning all of `words` was logged.
fn logged(words: &[&str]) -> bool {
    let text = String::from_utf8_lossy(&log().lock().expect("log")).into_owned();
    text.lines()
        .any(|l| l.contains("audit") && words.iter().all(|w| l.contains(w)))
}

fn enrol(gw: &Gateway, token: &str, kiosk: &str) -> (String, String) {
    let (key, csr) = key_and_csr(kiosk);
    let body = serde_json::json!({"kioskId": kiosk, "csr": csr}).to_string();
    let auth = format!("Authorization: Bearer {token}\r\n");
    let answer = call(gw, None, &post("/v1/enrolment", &auth, &body)).expect("enrol");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let json = answer.split("\r\n\r\n").nth(1).expect("body");
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    (
        v["certificate"].as_str().expect("certificate").to_owned(),
        key,
    )
}

fn heartbeat() -> String {
    post(
        "/v1/heartbeat",
        "",
        r#"{"appVersion":"0.1.0","queueDepth":0,"sentAt":"20260105093000"}"#,
    )
}

fn refused(r: &std::io::Result<String>) -> bool {
    r.is_err() || r.as_deref().is_ok_and(str::is_empty)
}

#[test]
fn enrolled_kiosks_get_in_revoked_and_foreign_certificates_do_not() {
    log();
    let gw = Gateway::start_with(GatewayConfig {
        tls: Tls::SelfIssued(vec!["127.0.0.1".to_owned()]),
        ..GatewayConfig::default()
    })
    .expect("gateway");
    assert!(gw.url().starts_with("https://127.0.0.1:"));
    // Enrolment needs no certificate; the token is bound to kiosk-01.
    let token = gw
        .issue_enrolment_token("kiosk-01", "HN-01")
        .expect("token");
    let (key, csr) = key_and_csr("kiosk-01");
    let body = serde_json::json!({"kioskId": "kiosk-01", "csr": csr}).to_string();
    let auth = format!("Authorization: Bearer {token}\r\n");
    let answer = call(&gw, None, &post("/v1/enrolment", &auth, &body)).expect("enrol");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let json = answer.split("\r\n\r\n").nth(1).expect("body");
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    let cert = v["certificate"].as_str().expect("certificate").to_owned();
    // Reused token: refused.
    let again = call(&gw, None, &post("/v1/enrolment", &auth, &body)).expect("answer");
    assert!(again.starts_with("HTTP/1.1 401"), "{again}");
    // Without a certificate, a forged header buys nothing.
    let forged = post(
        "/v1/enrolment/renew",
        "X-Client-Cert-CN: kiosk-01\r\n",
        &serde_json::json!({"csr": key_and_csr("kiosk-01").1}).to_string(),
    );
    let r = call(&gw, None, &forged).expect("answer");
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    // With the certificate: in, and renewal for itself works.
    let r = call(&gw, Some((&cert, &key)), HEALTH).expect("health");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let r = call(&gw, Some((&cert, &key)), &forged).expect("renew");
    assert!(r.starts_with("HTTP/1.1 201"), "{r}");
    // A certificate from another CA: refused at the handshake.
    let rogue = Authority::ephemeral("Rogue CA").expect("rogue");
    let (rkey, rcsr) = key_and_csr("kiosk-01");
    let rcert = rogue
        .issue("kiosk-01", &rcsr, kiosk_gateway::state::now_ms())
        .expect("issued");
    let r = call(&gw, Some((&rcert.response.certificate, &rkey)), HEALTH);
    assert!(refused(&r), "{r:?}");
    assert!(logged(&["TLS handshake refused"]));
    // Revoked: refused at the next handshake.
    assert_eq!(gw.revoke_kiosk("kiosk-01").expect("revoke"), 2);
    let r = call(&gw, Some((&cert, &key)), HEALTH);
    assert!(refused(&r), "{r:?}");
    assert!(logged(&["revoked client certificate", "kiosk-01"]));
    assert!(logged(&[
        "enrolment refused: token already used",
        "kiosk-01"
    ]));
    assert!(logged(&[
        "no client certificate on a TLS connection",
        "/v1/enrolment/renew"
    ]));
    assert!(gw
        .metrics_text()
        .contains("kiosk_gateway_tls_refused_total 2"));
}

#[test]
fn foreign_tokens_forged_headers_and_renewals_for_another_kiosk_are_refused_and_logged() {
    log();
    let gw = Gateway::start_with(GatewayConfig {
        tls: Tls::SelfIssued(vec!["127.0.0.1".to_owned()]),
        ..GatewayConfig::default()
    })
    .expect("gateway");
    // A token bound to kiosk-12 presented for kiosk-11: refused, and not spent by that.
    let token12 = gw
        .issue_enrolment_token("kiosk-12", "HN-02")
        .expect("token");
    let (_, csr) = key_and_csr("kiosk-11");
    let body = serde_json::json!({"kioskId": "kiosk-11", "csr": csr}).to_string();
    let auth = format!("Authorization: Bearer {token12}\r\n");
    let r = call(&gw, None, &post("/v1/enrolment", &auth, &body)).expect("answer");
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    assert!(r.contains("token_for_another_kiosk"), "{r}");
    assert!(logged(&[
        "the token belongs to another kiosk",
        "kiosk-12",
        "kiosk-11"
    ]));
    let (cert12, key12) = enrol(&gw, &token12, "kiosk-12");
    let token11 = gw
        .issue_enrolment_token("kiosk-11", "HN-02")
        .expect("token");
    let _ = enrol(&gw, &token11, "kiosk-11");
    // kiosk-12, verified, asks to renew as kiosk-11 (header and CSR): refused.
    let forged = post(
        "/v1/enrolment/renew",
        "X-Client-Cert-CN: kiosk-11\r\n",
        &serde_json::json!({"csr": key_and_csr("kiosk-11").1}).to_string(),
    );
    let r = call(&gw, Some((&cert12, &key12)), &forged).expect("answer");
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    assert!(r.contains("kiosk_id_mismatch"), "{r}");
    assert!(logged(&[
        "renewal refused",
        "kiosk-12",
        "kiosk_id_mismatch"
    ]));
    // A submission with a forged header is recorded under the certificate's kiosk: the
    // heartbeat registry shows kiosk-12, never kiosk-11 from the header.
    let hb = heartbeat().replace("Content-Type", "X-Client-Cert-CN: kiosk-11\r\nContent-Type");
    let r = call(&gw, Some((&cert12, &key12)), &hb).expect("heartbeat");
    assert!(r.starts_with("HTTP/1.1 204"), "{r}");
    // Without a certificate, a forged header buys nothing on any kiosk endpoint.
    for request in [heartbeat(), hb] {
        let r = call(&gw, None, &request).expect("answer");
        assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    }
    assert!(logged(&[
        "no client certificate on a TLS connection",
        "/v1/heartbeat"
    ]));
}

#[test]
fn replicas_sharing_postgres_share_tokens_and_the_revocation_list() {
    log();
    let Some(pg) = kiosk_gateway::testing::PgCluster::for_test() else {
        return;
    };
    let url = pg.database("replicas").expect("database");
    let ca = tempfile::tempdir().expect("dir");
    Authority::init(&ca.path().join("ca"), "Test deployment CA").expect("ca");
    let replica = || {
        Gateway::start_with(GatewayConfig {
            tls: Tls::SelfIssued(vec!["127.0.0.1".to_owned()]),
            postgres: Some(url.clone()),
            ca_dir: Some(ca.path().join("ca")),
            ..GatewayConfig::default()
        })
        .expect("replica")
    };
    let (a, b) = (replica(), replica());
    // A token made on one replica enrols on the other, once.
    let token = b.issue_enrolment_token("kiosk-21", "HN-03").expect("token");
    let (cert, key) = enrol(&a, &token, "kiosk-21");
    let (_, csr) = key_and_csr("kiosk-21");
    let body = serde_json::json!({"kioskId": "kiosk-21", "csr": csr}).to_string();
    let auth = format!("Authorization: Bearer {token}\r\n");
    let r = call(&b, None, &post("/v1/enrolment", &auth, &body)).expect("answer");
    assert!(
        r.starts_with("HTTP/1.1 401"),
        "reused on the other replica: {r}"
    );
    // The certificate from A's enrolment is trusted by B (same CA files).
    let r = call(&b, Some((&cert, &key)), &heartbeat()).expect("heartbeat");
    assert!(r.starts_with("HTTP/1.1 204"), "{r}");
    assert!(b.metrics_text().contains("kiosk_gateway_kiosks_seen_5m 1"));
    // Revoked through A: B refuses the next connection.
    assert_eq!(a.revoke_kiosk("kiosk-21").expect("revoke"), 1);
    let r = call(&b, Some((&cert, &key)), &heartbeat());
    assert!(refused(&r), "{r:?}");
    assert!(logged(&["revoked client certificate", "kiosk-21"]));
}
