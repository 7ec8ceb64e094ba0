//! Mutual TLS, terminated by the gateway itself.
//!
//! Client certificates must chain to the deployment CA (the one enrolment issues from):
//! rustls' WebPKI verifier refuses any other in the handshake. They must not be revoked: the
//! server looks the verified certificate's serial up in the store as soon as the handshake
//! ends, before reading the connection's first request (`crate::server`), so `kiosk-gateway
//! kiosk revoke` takes effect on the next connection, on every replica sharing the database.
//! (Not inside the verifier: the stores block, and PostgreSQL's client must not run on an
//! async worker thread.) Clients without a certificate are admitted for `POST /v1/enrolment`
//! only (a kiosk has none before it enrols); [`crate::State::handle`] refuses them the rest.
//!
//! The kiosk id is the verified certificate's common name ([`peer_identity`]); no header can
//! set it.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_cert::der::Decode as _;

/// Serial (lower-case hex) and common name of a DER certificate.
#[must_use]
pub fn serial_and_name(der: &[u8]) -> Option<(String, Option<String>)> {
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let tbs = cert.tbs_certificate();
    let serial = crate::ca::hex(tbs.serial_number().as_bytes());
    let cn = tbs
        .subject()
        .common_name()
        .ok()
        .flatten()
        .map(|s| s.value().into_owned());
    Some((serial, cn))
}

/// The kiosk id of a verified client certificate: its common name, if it is a kiosk id.
#[must_use]
pub fn peer_identity(end_entity: &CertificateDer<'_>) -> Option<String> {
    serial_and_name(end_entity.as_ref())
        .and_then(|(_, cn)| cn)
        .filter(|cn| kiosk_wire::enrol::is_kiosk_id(cn))
}

/// A rustls client configuration trusting only the certificates in `roots_pem` (the
/// gateway's outgoing TLS: PostgreSQL, the one-stop system).
///
/// # Errors
///
/// No certificate in the PEM, or one rustls cannot use (message).
pub fn client_config(roots_pem: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem.as_bytes()) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    if roots.is_empty() {
        return Err("no certificate in the PEM".to_owned());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The rustls server configuration: the gateway's certificate chain and key (PEM), client
/// certificates from `client_ca_pem` (optional: enrolment comes without one).
///
/// # Errors
///
/// Unparsable PEM or a key that does not fit (message naming the part).
pub fn server_config(
    cert_chain_pem: &str,
    key_pem: &str,
    client_ca_pem: &str,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(client_ca_pem.as_bytes())
        .map_err(|e| format!("deployment CA: {e}"))?;
    roots.add(ca).map_err(|e| format!("deployment CA: {e}"))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| format!("client verifier: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("server certificate: {e}"))?;
    if chain.is_empty() {
        return Err("server certificate: no certificate in the PEM".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("server key: {e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| format!("server certificate and key: {e}"))?;
    Ok(Arc::new(config))
}
