//! The status lookup (issue 14, journey 4): where an earlier dossier stands, from the codes on
//! its receipt (scanned QR or typed), asked of the kiosk gateway
//! (`GET /v1/submissions/{MaHoSo}?code={MaTraCuu}`).
//!
//! [`lookup_status`] is blocking and bounded by the endpoint's timeout: call it from a worker
//! thread, never the UI thread. Every outcome is a value ([`StatusLookup`]); an unreachable
//! gateway is [`StatusLookup::Offline`] ("cannot check right now, try later or ask at the
//! counter"), not an error.

use std::path::PathBuf;
use std::time::Duration;

use super::client::{GatewayClient, GatewayError, GatewayErrorKind};
use super::codes;
use super::dto::{DossierState, SubmissionStatus};

/// What the lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusLookup {
    /// The gateway knows the dossier; [`SubmissionStatus::state`] says where it stands.
    Found(SubmissionStatus),
    /// No dossier with this code and lookup code (the gateway does not say which part is
    /// wrong): "check the codes on your receipt".
    NotFound,
    /// The codes are not well-formed (nothing was sent): a typing mistake.
    Malformed,
    /// The gateway cannot be reached now (network, gateway down, TLS failure, timeout).
    Offline,
    /// The gateway answered, but not with a status (a refusal or a broken answer); the text
    /// is for the log (status and error code, no personal data).
    Failed(String),
}

impl StatusLookup {
    /// The dossier's state when found.
    #[must_use]
    pub fn state(&self) -> Option<DossierState> {
        match self {
            Self::Found(s) => Some(s.state()),
            _ => None,
        }
    }
}

/// The kiosk's mutual-TLS files (`[gateway] ca_file`, `client_cert`, `client_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutualTls {
    /// The deployment CA, PEM: the only trusted root.
    pub ca_pem: PathBuf,
    /// The kiosk's client certificate, PEM.
    pub client_cert_pem: PathBuf,
    /// The kiosk's private key, PEM.
    pub client_key_pem: PathBuf,
    /// SHA-256 of the gateway's SubjectPublicKeyInfo, if pinned.
    pub spki_sha256: Option<[u8; 32]>,
}

/// Where to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupEndpoint {
    /// The gateway's base URL: `https://...` (mutual TLS), or the demo's
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The TLS files, for an `https://` URL.
    pub tls: Option<MutualTls>,
    /// Bounds the whole lookup (connect included).
    pub timeout: Duration,
}

impl LookupEndpoint {
    /// The endpoint of a kiosk's `[gateway]` section; `base_url` is the URL in use (in demo
    /// mode, the started gateway's, which replaces the configured placeholder).
    #[must_use]
    pub fn from_config(gateway: &crate::config::Gateway, base_url: &str) -> Self {
        let tls = match (&gateway.ca_file, &gateway.client_identity) {
            (Some(ca), Some((cert, key))) => Some(MutualTls {
                ca_pem: ca.clone(),
                client_cert_pem: cert.clone(),
                client_key_pem: key.clone(),
                spki_sha256: gateway.spki_sha256,
            }),
            _ => None,
        };
        Self {
            base_url: base_url.to_owned(),
            tls,
            timeout: Duration::from_secs(gateway.timeout_secs.max(1)),
        }
    }
}

/// Asks the gateway where the dossier `dossier_code` stands, proving the citizen holds its
/// receipt with `lookup_code`. Blocking, at most about `endpoint.timeout`.
#[must_use]
pub fn lookup_status(
    endpoint: &LookupEndpoint,
    dossier_code: &str,
    lookup_code: &str,
) -> StatusLookup {
    // Validated here, so they need no percent-encoding and cannot alter the path.
    if !codes::is_dossier_code(dossier_code) || !codes::is_lookup_code(lookup_code) {
        return StatusLookup::Malformed;
    }
    if endpoint.base_url.starts_with("https://") {
        return lookup_https(endpoint, dossier_code, lookup_code);
    }
    let client = match GatewayClient::new(&endpoint.base_url, endpoint.timeout) {
        Ok(c) => c,
        Err(e) => return StatusLookup::Failed(e.to_string()),
    };
    match client.status(dossier_code, lookup_code) {
        Ok(s) => StatusLookup::Found(s),
        Err(GatewayError::Status { status: 404, .. }) => StatusLookup::NotFound,
        Err(e) if e.kind() == GatewayErrorKind::Unreachable => StatusLookup::Offline,
        Err(GatewayError::Status { status, code, .. }) => {
            StatusLookup::Failed(format!("the gateway answered {status} {code}"))
        }
        Err(e) => StatusLookup::Failed(e.to_string()),
    }
}

/// The answer to `GET /v1/submissions/...`: status and body in, outcome out (pure).
fn outcome(status: u16, body: &[u8]) -> StatusLookup {
    match status {
        200 => match serde_json::from_slice::<SubmissionStatus>(body) {
            Ok(s) if codes::is_dossier_code(&s.dossier_code) => StatusLookup::Found(s),
            Ok(_) => StatusLookup::Failed("the status names no valid dossier code".to_owned()),
            Err(e) => StatusLookup::Failed(format!(
                "the status is not the expected JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            )),
        },
        404 => StatusLookup::NotFound,
        // A gateway overloaded or restarting: as unreachable, for the citizen.
        502..=504 => StatusLookup::Offline,
        s => {
            let code = serde_json::from_slice::<super::ErrorBody>(body)
                .map(|e| e.error)
                .unwrap_or_default();
            StatusLookup::Failed(format!("the gateway answered {s} {code}"))
        }
    }
}

#[cfg(feature = "https")]
fn lookup_https(endpoint: &LookupEndpoint, dossier_code: &str, lookup_code: &str) -> StatusLookup {
    use kiosk_outbox::https::{HttpsConfig, HttpsTransport};
    let Some(tls) = &endpoint.tls else {
        return StatusLookup::Failed(
            "an https gateway needs ca_file, client_cert and client_key".to_owned(),
        );
    };
    let transport = match HttpsTransport::new(&HttpsConfig {
        base_url: endpoint.base_url.clone(),
        fhir_base_url: None,
        ca_pem: tls.ca_pem.clone(),
        client_cert_pem: tls.client_cert_pem.clone(),
        client_key_pem: tls.client_key_pem.clone(),
        spki_sha256: tls.spki_sha256,
        timeout: endpoint.timeout,
    }) {
        Ok(t) => t,
        Err(e) => return StatusLookup::Failed(e.to_string()),
    };
    let target = format!("/v1/submissions/{dossier_code}?code={lookup_code}");
    match transport.get_blocking(&target, &[("Accept", "application/json")]) {
        Ok((status, body)) => outcome(status, &body),
        Err(_) => StatusLookup::Offline,
    }
}

#[cfg(not(feature = "https"))]
fn lookup_https(_: &LookupEndpoint, _: &str, _: &str) -> StatusLookup {
    StatusLookup::Failed("this kiosk was built without the `https` feature".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_outcomes() {
        let body = br#"{"MaHoSo":"000.00.01.H29-260109-0001","TrangThaiHoSo":"forwarded",
            "TenTTHC":"x","NgayTiepNhan":"20260109160000","NgayHenTra":"20260114160000"}"#;
        assert_eq!(outcome(200, body).state(), Some(DossierState::Forwarded));
        assert_eq!(outcome(404, b"{}"), StatusLookup::NotFound);
        assert_eq!(outcome(503, b""), StatusLookup::Offline);
        assert!(matches!(outcome(200, b"not json"), StatusLookup::Failed(_)));
        let refused = outcome(
            401,
            br#"{"error":"client_certificate_required","message":"m"}"#,
        );
        assert_eq!(
            refused,
            StatusLookup::Failed("the gateway answered 401 client_certificate_required".into())
        );
    }

    #[test]
    fn malformed_codes_are_not_sent() {
        let endpoint = LookupEndpoint {
            // Nothing listens on port 9 (discard); a sent request would be Offline.
            base_url: "http://127.0.0.1:9".to_owned(),
            tls: None,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(
            lookup_status(&endpoint, "000.00.01.H29-260109-0001", "bad"),
            StatusLookup::Malformed
        );
        assert_eq!(
            lookup_status(&endpoint, "../../etc", "7KQ2MZ4P"),
            StatusLookup::Malformed
        );
        assert_eq!(
            lookup_status(&endpoint, "000.00.01.H29-260109-0001", "7KQ2MZ4P"),
            StatusLookup::Offline
        );
    }
}
