//! [`Transport`]: how the worker hands one submission to a gateway, and how failures are
//! classified (pure: status codes in, decisions out).

use std::future::Future;
use std::time::Duration;

use uuid::Uuid;

use crate::store::{ErrorClass, Kind};

/// One submission as the transport sends it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The id: send it as `Idempotency-Key` (and it is the business key inside the payload).
    pub id: Uuid,
    /// What it is for: picks the gateway endpoint (TTHC REST or FHIR).
    pub kind: Kind,
    /// The exact bytes to send; identical on every attempt.
    pub payload: Vec<u8>,
    /// Attempt number, from 1.
    pub attempt: u32,
}

/// What the gateway answered to an accepted submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The receipt to keep (no personal data: dossier code, dates, lookup code).
    pub receipt: Vec<u8>,
    /// `true` if the gateway created it now, `false` if it already had it (a replay).
    pub created: bool,
}

/// Why a send failed, as the worker decides on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class:?}{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct SendError {
    /// Retry or give up.
    pub class: ErrorClass,
    /// The HTTP status, if there was an answer.
    pub status: Option<u16>,
    /// `Retry-After` from the gateway.
    pub retry_after: Option<Duration>,
    /// What happened (no personal data: gateways name fields, never values).
    pub message: String,
}

impl SendError {
    /// No answer (refused, reset, timed out, TLS failure).
    #[must_use]
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Unreachable,
            status: None,
            retry_after: None,
            message: message.into(),
        }
    }

    /// An answer that is not the protocol (bad JSON, bad receipt): retried, since a gateway
    /// mid-upgrade produces these; a persisting one ends at the age bound.
    #[must_use]
    pub fn protocol(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Transient,
            status: None,
            retry_after: None,
            message: message.into(),
        }
    }

    /// Not sendable at all (a malformed row): dead-letter at once.
    #[must_use]
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Permanent,
            status: None,
            retry_after: None,
            message: message.into(),
        }
    }

    /// An HTTP error status, classified by [`classify_status`].
    #[must_use]
    pub fn status(status: u16, retry_after: Option<Duration>, message: impl Into<String>) -> Self {
        Self {
            class: classify_status(status),
            status: Some(status),
            retry_after,
            message: message.into(),
        }
    }
}

/// The retry rules of the brief (draft-ietf-httpapi-idempotency-key-header and common
/// practice): retry on 408, 409 (the key is still being processed), 425, 429 and 5xx;
/// 401/403 after a credential refresh; dead-letter at once on 400, 422 and any other 4xx.
#[must_use]
pub fn classify_status(status: u16) -> ErrorClass {
    match status {
        408 | 409 | 425 | 429 | 500..=599 => ErrorClass::Transient,
        401 | 403 => ErrorClass::Unauthorized,
        _ => ErrorClass::Permanent,
    }
}

/// The most codes [`error_codes`] keeps, and the longest code.
const MAX_CODES: usize = 8;
const MAX_CODE_LEN: usize = 64;

/// The machine-readable codes of a gateway's error body, and nothing else: the kiosk
/// gateway's `{"error": "<code>", ...}` gives its `error`; a FHIR OperationOutcome gives its
/// `issue[].code`s (`invalid,duplicate`). Any other body (text, HTML, other JSON) gives none.
/// Free text is never kept: an OperationOutcome's `diagnostics` can echo the Patient, and a
/// body's text ends up in logs and in the row's stored last error. Codes are at most
/// 64 characters of `A-Z a-z 0-9 - _ .`, at most 8 of them, joined by commas.
#[must_use]
pub fn error_codes(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let is_code = |c: &&str| {
        !c.is_empty()
            && c.len() <= MAX_CODE_LEN
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    let codes: Vec<&str> = if v["resourceType"] == "OperationOutcome" {
        v["issue"]
            .as_array()?
            .iter()
            .filter_map(|i| i["code"].as_str())
            .filter(is_code)
            .take(MAX_CODES)
            .collect()
    } else {
        v["error"].as_str().filter(is_code).into_iter().collect()
    };
    (!codes.is_empty()).then(|| codes.join(","))
}

/// The [`SendError`] for an HTTP error answer: its status, `Retry-After` and [`error_codes`]
/// only, never the body's text.
#[must_use]
pub fn status_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> SendError {
    let message = match error_codes(body) {
        Some(codes) => format!("gateway error {codes}"),
        None => "gateway error without a code".to_owned(),
    };
    SendError::status(status, retry_after, message)
}

/// A gateway client as the worker sees it. Two implementations: the loopback demo client
/// (in `kiosk-app`) and [`crate::https::HttpsTransport`] (feature `https`).
pub trait Transport: Send + Sync + 'static {
    /// Sends one submission with `Idempotency-Key: <id>`.
    fn send(&self, item: Outgoing) -> impl Future<Output = Result<Delivered, SendError>> + Send;

    /// A cheap check that the gateway answers (`GET /healthz`), used while offline to notice
    /// that the network is back.
    fn probe(&self) -> impl Future<Output = bool> + Send;

    /// Renews the client's credentials after a 401/403 (re-enrolment, a new certificate);
    /// `true` if something changed and a retry makes sense.
    fn refresh_credentials(&self) -> impl Future<Output = bool> + Send {
        async { false }
    }
}

/// A blocking gateway client (the std-only loopback client of the demo): implement this and
/// wrap it in [`Blocking`] to get a [`Transport`]; each call runs on tokio's blocking pool.
pub trait BlockingTransport: Send + Sync + 'static {
    /// As [`Transport::send`].
    ///
    /// # Errors
    ///
    /// As [`Transport::send`].
    fn send_blocking(&self, item: &Outgoing) -> Result<Delivered, SendError>;

    /// As [`Transport::probe`].
    fn probe_blocking(&self) -> bool;
}

/// Adapts a [`BlockingTransport`] to [`Transport`].
#[derive(Debug)]
pub struct Blocking<B>(pub std::sync::Arc<B>);

impl<B: BlockingTransport> Transport for Blocking<B> {
    async fn send(&self, item: Outgoing) -> Result<Delivered, SendError> {
        let b = std::sync::Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || b.send_blocking(&item))
            .await
            .unwrap_or_else(|e| Err(SendError::protocol(format!("send task failed: {e}"))))
    }

    async fn probe(&self) -> bool {
        let b = std::sync::Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || b.probe_blocking())
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_brief() {
        let check = |codes: &[u16], class| {
            for &c in codes {
                assert_eq!(classify_status(c), class, "{c}");
            }
        };
        check(
            &[408, 409, 425, 429, 500, 502, 503, 504],
            ErrorClass::Transient,
        );
        check(&[401, 403], ErrorClass::Unauthorized);
        check(&[400, 404, 405, 413, 422], ErrorClass::Permanent);
        let e = SendError::status(429, Some(Duration::from_secs(7)), "slow down");
        assert_eq!(e.to_string(), "Transient (HTTP 429): slow down");
    }

    /// Error bodies give codes only; the synthetic citizen's name and number never survive.
    #[test]
    fn error_bodies_keep_codes_only() {
        let check = |body: &str, want: Option<&str>| {
            assert_eq!(error_codes(body.as_bytes()).as_deref(), want, "{body}");
            let e = status_error(422, None, body.as_bytes());
            for personal in ["Nguyễn", "001099000001", "Tổng"] {
                assert!(!e.to_string().contains(personal), "{e}");
            }
            assert!(e.to_string().contains("HTTP 422"), "{e}");
        };
        check(
            r#"{"resourceType":"OperationOutcome","issue":[
                {"severity":"error","code":"invalid",
                 "diagnostics":"Patient Nguyễn Văn Tổng Hợp 001099000001: bad birthDate"},
                {"severity":"error","code":"duplicate"}]}"#,
            Some("invalid,duplicate"),
        );
        check(
            r#"{"error":"invalid_field","message":"HoTen Nguyễn Văn Tổng Hợp is too long"}"#,
            Some("invalid_field"),
        );
        check("Patient Nguyễn Văn Tổng Hợp 001099000001 rejected", None);
        check(r#"{"error":"Nguyễn Văn Tổng Hợp"}"#, None);
        check(
            r#"{"resourceType":"OperationOutcome","issue":[{"code":"001099000001 x"}]}"#,
            None,
        );
        check(r#"["invalid"]"#, None);
        let many = format!(
            r#"{{"resourceType":"OperationOutcome","issue":[{}]}}"#,
            vec![r#"{"code":"invalid"}"#; 20].join(",")
        );
        assert_eq!(
            error_codes(many.as_bytes()).map(|c| c.split(',').count()),
            Some(MAX_CODES)
        );
        assert_eq!(
            status_error(500, None, b"<html>oops</html>").message,
            "gateway error without a code"
        );
    }
}
