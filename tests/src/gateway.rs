//! The kiosk gateway (`kiosk-gateway`) for the end-to-end tests: started in-process on
//! 127.0.0.1, terminating mutual TLS itself with a server certificate from its own CA, and
//! kiosks enrolled with it as `kioskctl enrol` does (a token bound to the kiosk id, a key made
//! on the kiosk, the certificate over `POST /v1/enrolment`).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use kiosk_app::gateway::enrol::{new_key_and_csr, EnrolmentRequest, EnrolmentResponse};
use kiosk_gateway::ca::Authority;
use kiosk_gateway::{Gateway, GatewayConfig, Tls};

use crate::tls::{KioskIdentity, TlsFront};

/// A gateway with mutual TLS on a free port of 127.0.0.1.
///
/// # Panics
/// When it cannot start.
#[must_use]
pub fn start_mtls() -> Gateway {
    start_mtls_with(GatewayConfig::default())
}

/// As [`start_mtls`], with other settings (TLS is set here).
///
/// # Panics
/// When it cannot start.
#[must_use]
pub fn start_mtls_with(config: GatewayConfig) -> Gateway {
    Gateway::start_with(GatewayConfig {
        tls: Tls::SelfIssued(vec!["127.0.0.1".to_owned()]),
        ..config
    })
    .expect("the kiosk gateway starts")
}

/// Enrols `kiosk_id` (site `TEST-01`) with `gw` and writes its files into `dir`: `ca.pem` (the
/// deployment CA), `client.pem`, `client.key` (mode 0600).
///
/// # Panics
/// When enrolment fails or a file cannot be written.
#[must_use]
pub fn enrol(gw: &Gateway, dir: &Path, kiosk_id: &str) -> KioskIdentity {
    let write = |name: &str, text: &str| {
        use std::os::unix::fs::PermissionsExt as _;
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write PEM");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod PEM");
        p
    };
    let ca_file = write("ca.pem", &gw.enrolment_ca_pem());
    let token = gw
        .issue_enrolment_token(kiosk_id, "TEST-01")
        .expect("enrolment token");
    let (key, csr) = new_key_and_csr(kiosk_id).expect("key and request");
    let body = serde_json::to_vec(&EnrolmentRequest {
        kiosk_id: kiosk_id.to_owned(),
        csr,
    })
    .expect("json");
    let (status, answer) = kiosk_outbox::https::enrol_blocking(
        &gw.url(),
        &ca_file,
        None,
        &token,
        body,
        Duration::from_secs(10),
    )
    .expect("the gateway answers");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    let issued: EnrolmentResponse = serde_json::from_slice(&answer).expect("enrolment answer");
    KioskIdentity {
        ca_file,
        client_cert: write("client.pem", &issued.certificate),
        client_key: write("client.key", &key),
    }
}

/// A gateway with mutual TLS whose deployment CA is on file in `dir/ca`, and that CA (to
/// issue the certificates of other servers the kiosk must trust, e.g. a hospital's FHIR
/// server: the kiosk trusts the one deployment CA for all of them).
///
/// # Panics
/// When the CA or the gateway cannot be made.
#[must_use]
pub fn start_mtls_with_ca(dir: &Path) -> (Gateway, Authority) {
    let ca_dir = dir.join("ca");
    let ca = Authority::init(&ca_dir, "Deployment CA").expect("deployment CA");
    let gw = start_mtls_with(GatewayConfig {
        ca_dir: Some(ca_dir),
        ..GatewayConfig::default()
    });
    (gw, ca)
}

/// A mutual-TLS front on 127.0.0.1 for `backend` (a FHIR server), with a server certificate
/// from `ca`, accepting the clients `ca` enrolled.
///
/// # Panics
/// When the certificate cannot be made or the socket bound.
#[must_use]
pub fn front(ca: &Authority, backend: SocketAddr) -> TlsFront {
    let (cert, key) = ca
        .server_certificate(&["127.0.0.1".to_owned()])
        .expect("server certificate");
    TlsFront::start_for(&cert, &key, ca.ca_pem(), backend)
}
