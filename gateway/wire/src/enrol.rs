//! Enrolment messages: EST (RFC 7030) in JSON form, as `POST /v1/enrolment` and
//! `POST /v1/enrolment/renew` in the OpenAPI contract.
//!
//! The technician brings a short-lived, single-use token bound to one kiosk id; the kiosk
//! generates its own P-256 key pair and sends a PKCS#10 request; the gateway answers with a
//! client certificate from the deployment CA. Renewal goes over mutual TLS with the current
//! certificate and a request for a new key.

use serde::{Deserialize, Serialize};

/// Longest accepted kiosk id.
pub const MAX_KIOSK_ID: usize = 64;

/// `POST /v1/enrolment` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrolmentRequest {
    /// The kiosk's asset id as printed on its case; becomes the certificate's CN.
    pub kiosk_id: String,
    /// PKCS#10 request, PEM.
    pub csr: String,
}

/// `201` answer of `POST /v1/enrolment` and `POST /v1/enrolment/renew`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrolmentResponse {
    /// The client certificate (chain), PEM.
    pub certificate: String,
    /// The deployment CA, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
    /// End of validity, RFC 3339.
    pub not_after: String,
}

/// `POST /v1/enrolment/renew` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalRequest {
    /// PKCS#10 request for the new key, PEM; its subject's common name must be the kiosk id
    /// of the certificate the caller authenticated with.
    pub csr: String,
}

/// A kiosk id: 1 to 64 of `A-Z a-z 0-9 - . _` (it is printed on the case and becomes a CN).
#[must_use]
pub fn is_kiosk_id(s: &str) -> bool {
    (1..=MAX_KIOSK_ID).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_ids() {
        for ok in ["kiosk-01", "HN.01_a", &"k".repeat(MAX_KIOSK_ID)] {
            assert!(is_kiosk_id(ok), "{ok}");
        }
        for bad in [
            "",
            "kiosk 01",
            "kiosk/01",
            "CN=x",
            &"k".repeat(MAX_KIOSK_ID + 1),
        ] {
            assert!(!is_kiosk_id(bad), "{bad}");
        }
    }
}
