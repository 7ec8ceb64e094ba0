//! Mutual TLS, terminated by the gateway itself.
//!
//! Client certificates must chain to the deployment CA (the one enrolment issues from) and
//! must not be revoked: [`RevocationChecking`] wraps rustls' WebPKI verifier and looks the
//! certificate's serial up in the gateway's database at every handshake, so `kiosk-gateway
//! kiosk revoke` takes effect on the next connection, on every replica sharing the database.
//! Clients without a certificate are admitted for `POST /v1/enrolment` only (a kiosk has
//! none before it enrols); [`crate::State::handle`] refuses them everything else.
//!
//! The kiosk id is the verified certificate's common name ([`peer_identity`]); no header can
//! set it.

use std::sync::{Arc, Mutex};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use x509_cert::der::Decode as _;

use crate::state::State;

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

/// The WebPKI client verifier plus the revocation list in the database.
pub struct RevocationChecking {
    inner: Arc<dyn ClientCertVerifier>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for RevocationChecking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationChecking").finish_non_exhaustive()
    }
}

impl ClientCertVerifier for RevocationChecking {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let Some((serial, cn)) = serial_and_name(end_entity.as_ref()) else {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::BadEncoding,
            ));
        };
        let revoked = {
            let state = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            crate::store::is_revoked(state.db(), &serial)
        };
        match revoked {
            Ok(false) => Ok(verified),
            Ok(true) => {
                tracing::warn!(
                    kiosk = cn.as_deref().unwrap_or("?"),
                    serial = %serial,
                    "handshake refused: revoked client certificate"
                );
                Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
            }
            // Fail closed: without the list, a revoked kiosk must not get in.
            Err(e) => {
                tracing::error!(error = %e, "handshake refused: cannot read the revocation list");
                Err(rustls::Error::General("revocation list unavailable".into()))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The rustls server configuration: the gateway's certificate chain and key (PEM), client
/// certificates from `client_ca_pem` checked against the revocation list in `state`.
///
/// # Errors
///
/// Unparsable PEM or a key that does not fit (message naming the part).
pub fn server_config(
    cert_chain_pem: &str,
    key_pem: &str,
    client_ca_pem: &str,
    state: Arc<Mutex<State>>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(client_ca_pem.as_bytes())
        .map_err(|e| format!("deployment CA: {e}"))?;
    roots.add(ca).map_err(|e| format!("deployment CA: {e}"))?;
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
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
        .with_client_cert_verifier(Arc::new(RevocationChecking { inner, state }))
        .with_single_cert(chain, key)
        .map_err(|e| format!("server certificate and key: {e}"))?;
    Ok(Arc::new(config))
}
