//! The gateway's own mutual TLS over a socket on 127.0.0.1: enrolment without a certificate,
//! then the issued certificate admitted; a revoked one and one from another CA refused at the
//! handshake.

use std::io::{Read as _, Write as _};
use std::sync::Arc;

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

#[test]
fn enrolled_kiosks_get_in_revoked_and_foreign_certificates_do_not() {
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
    assert!(r.is_err() || r.as_deref().is_ok_and(str::is_empty), "{r:?}");
    // Revoked: refused at the next handshake.
    assert_eq!(gw.revoke_kiosk("kiosk-01").expect("revoke"), 2);
    let r = call(&gw, Some((&cert, &key)), HEALTH);
    assert!(r.is_err() || r.as_deref().is_ok_and(str::is_empty), "{r:?}");
}
