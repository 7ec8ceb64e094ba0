//! The kiosk's transports for the outbox.
//!
//! - [`LoopbackTransport`]: the demo's (plain HTTP on the loopback interface). An outbox row
//!   (the JSON of a [`SubmissionRequest`]) becomes a `POST /v1/submissions` over
//!   [`GatewayClient`]; with a FHIR base, a clinic row (a FHIR transaction Bundle) is posted
//!   there instead. Errors map to the outbox's retry classes.
//! - [`GatewayReceipts`]: wraps the production transport (`kiosk_outbox::https`, which returns
//!   answers as they come) so that every answer is validated and reduced to the kiosk's
//!   receipt before the outbox stores it (a FHIR answer may quote the Patient; a gateway's may
//!   carry fields the kiosk has no use for).

use std::sync::Arc;

use kiosk_outbox::{BlockingTransport, Delivered, Kind, Outgoing, SendError, Transport};

use super::client::{Accepted, GatewayClient, GatewayError, GatewayErrorKind};
use super::dto::{SubmissionReceipt, SubmissionRequest};
use super::fhir;

/// [`GatewayClient`] for [`kiosk_outbox::Blocking`]: the demo's transport (plain HTTP on the
/// loopback interface). The production transport is `kiosk_outbox::https`.
#[derive(Debug, Clone)]
pub struct LoopbackTransport {
    client: GatewayClient,
    fhir: Option<GatewayClient>,
}

impl LoopbackTransport {
    /// Wraps a client.
    #[must_use]
    pub fn new(client: GatewayClient) -> Self {
        Self { client, fhir: None }
    }

    /// Sends clinic rows (FHIR transaction Bundles) to the FHIR base `fhir` is a client for.
    #[must_use]
    pub fn with_fhir(mut self, fhir: GatewayClient) -> Self {
        self.fhir = Some(fhir);
        self
    }
}

fn delivered(a: &Accepted) -> Result<Delivered, SendError> {
    Ok(Delivered {
        receipt: serde_json::to_vec(&a.receipt)
            .map_err(|_| SendError::protocol("cannot serialise the receipt"))?,
        created: a.created,
    })
}

impl BlockingTransport for LoopbackTransport {
    fn send_blocking(&self, item: &Outgoing) -> Result<Delivered, SendError> {
        if let (Kind::Clinic, Some(fhir)) = (item.kind, &self.fhir) {
            return match fhir.post_fhir_bundle(&item.id.to_string(), &item.payload) {
                Ok(a) => delivered(&a),
                Err(e) => Err(to_send_error(&e)),
            };
        }
        // The row holds the exact JSON first built; serde_json re-serialises it to the same
        // bytes, so a replay stays byte-identical for the gateway's idempotency check.
        let request: SubmissionRequest = serde_json::from_slice(&item.payload)
            .map_err(|_| SendError::permanent("queued payload is not a submission"))?;
        if request.reference_uid != item.id.to_string() {
            return Err(SendError::permanent(
                "queued payload's referenceUid differs from its queue id",
            ));
        }
        match self.client.submit_detailed(&request) {
            Ok(a) => delivered(&a),
            Err(e) => Err(to_send_error(&e)),
        }
    }

    fn probe_blocking(&self) -> bool {
        // A hospital kiosk with a FHIR base sends everything there.
        match &self.fhir {
            Some(f) => f.fhir_health().is_ok(),
            None => self.client.health().is_ok(),
        }
    }
}

/// Wraps the production transport (`kiosk_outbox::https`, which returns answers as they
/// come): every answer is checked and reduced to the kiosk's receipt before the outbox keeps
/// it. A gateway's receipt must be a valid [`SubmissionReceipt`] (as the loopback client
/// checks) and only its fields are kept; with [`GatewayReceipts::clinic_to_fhir`], a clinic
/// row's answer is a FHIR transaction-response, reduced by
/// [`fhir::receipt_from_transaction_response`] (it may quote the Patient). An answer that
/// fails is a protocol error: retried (a replay is answered with the same receipt), dead at
/// the age bound if it persists.
#[derive(Debug)]
pub struct GatewayReceipts<T> {
    inner: Arc<T>,
    clinic_fhir: bool,
}

impl<T> GatewayReceipts<T> {
    /// Wraps `inner`, which sends every row to the kiosk gateway.
    pub fn new(inner: Arc<T>) -> Self {
        Self {
            inner,
            clinic_fhir: false,
        }
    }

    /// `inner` sends clinic rows (FHIR transaction Bundles) to a FHIR base.
    #[must_use]
    pub fn clinic_to_fhir(mut self) -> Self {
        self.clinic_fhir = true;
        self
    }
}

/// A kiosk gateway's answer to a submission, checked as [`GatewayClient`] checks it.
///
/// # Errors
///
/// The answer is not a valid receipt (the message names the field, never its value).
pub fn receipt_from_gateway(body: &[u8], created: bool) -> Result<Accepted, String> {
    let receipt: SubmissionReceipt = serde_json::from_slice(body).map_err(|e| {
        // serde_json's Display may quote a value: position and class only.
        format!(
            "receipt is not the expected JSON ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    receipt.validate().map_err(|e| format!("receipt: {e}"))?;
    Ok(Accepted { receipt, created })
}

impl<T: Transport> Transport for GatewayReceipts<T> {
    async fn send(&self, item: Outgoing) -> Result<Delivered, SendError> {
        let kind = item.kind;
        let d = self.inner.send(item).await?;
        let accepted = if kind == Kind::Clinic && self.clinic_fhir {
            fhir::receipt_from_transaction_response(&d.receipt)
        } else {
            receipt_from_gateway(&d.receipt, d.created)
        };
        match accepted {
            Ok(a) => delivered(&a),
            Err(e) => Err(SendError::protocol(e)),
        }
    }

    async fn probe(&self) -> bool {
        self.inner.probe().await
    }

    async fn refresh_credentials(&self) -> bool {
        self.inner.refresh_credentials().await
    }
}

/// What the worker logs and stores of a failed send: for an error status, the status and the
/// gateway's error code only (as `kiosk_outbox::status_error` for the HTTPS transport), never
/// its free text.
fn to_send_error(e: &GatewayError) -> SendError {
    let message = e.to_string();
    match (e.kind(), e) {
        (GatewayErrorKind::Unreachable, _) => SendError::unreachable(message),
        (_, GatewayError::Status { status, code, .. }) => {
            let message = if code.is_empty() {
                "gateway error without a code".to_owned()
            } else {
                format!("gateway error {code}")
            };
            SendError::status(*status, e.retry_after(), message)
        }
        (GatewayErrorKind::Invalid, _) => SendError::permanent(message),
        _ => SendError::protocol(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored last error of a refused send holds the status and code, not the message.
    #[test]
    fn send_errors_keep_status_and_code_only() {
        let e = to_send_error(&GatewayError::Status {
            status: 422,
            code: "invalid,duplicate".to_owned(),
            message: "Patient Nguyễn Văn Tổng Hợp 001099000001".to_owned(),
            retry_after: None,
        });
        assert_eq!(
            e.to_string(),
            "Permanent (HTTP 422): gateway error invalid,duplicate"
        );
        let e = to_send_error(&GatewayError::Status {
            status: 503,
            code: String::new(),
            message: "Nguyễn Văn Tổng Hợp".to_owned(),
            retry_after: None,
        });
        assert_eq!(
            e.to_string(),
            "Transient (HTTP 503): gateway error without a code"
        );
    }
}
