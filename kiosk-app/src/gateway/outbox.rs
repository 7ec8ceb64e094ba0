//! The kiosk's transports for the outbox.
//!
//! - [`LoopbackTransport`]: the demo's (plain HTTP on the loopback interface). An outbox row
//!   (the JSON of a [`SubmissionRequest`]) becomes a `POST /v1/submissions` over
//!   [`GatewayClient`]; with a FHIR base, a clinic row (a FHIR transaction Bundle) is posted
//!   there instead. Errors map to the outbox's retry classes.
//! - [`FhirReceipts`]: wraps the production transport (`kiosk_outbox::https`, which sends the
//!   bytes as they are) so that a FHIR server's answer to a clinic row is reduced to the
//!   kiosk's receipt before the outbox stores it (the answer may quote the Patient).

use std::sync::Arc;

use kiosk_outbox::{BlockingTransport, Delivered, Kind, Outgoing, SendError, Transport};

use super::client::{Accepted, GatewayClient, GatewayError, GatewayErrorKind};
use super::dto::SubmissionRequest;
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

/// A transport whose clinic rows go to a FHIR server: their answers (transaction-response
/// Bundles) become the kiosk's receipt ([`fhir::receipt_from_transaction_response`]) before
/// the outbox keeps them. Other rows pass through untouched.
#[derive(Debug)]
pub struct FhirReceipts<T> {
    inner: Arc<T>,
}

impl<T> FhirReceipts<T> {
    /// Wraps `inner`, which sends clinic rows to a FHIR base.
    pub fn new(inner: Arc<T>) -> Self {
        Self { inner }
    }
}

impl<T: Transport> Transport for FhirReceipts<T> {
    async fn send(&self, item: Outgoing) -> Result<Delivered, SendError> {
        let kind = item.kind;
        let d = self.inner.send(item).await?;
        if kind != Kind::Clinic {
            return Ok(d);
        }
        match fhir::receipt_from_transaction_response(&d.receipt) {
            Ok(a) => delivered(&a),
            // Retried: a replay is answered 200 with the same Encounter.
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

fn to_send_error(e: &GatewayError) -> SendError {
    let message = e.to_string();
    match (e.kind(), e) {
        (GatewayErrorKind::Unreachable, _) => SendError::unreachable(message),
        (_, GatewayError::Status { status, .. }) => {
            SendError::status(*status, e.retry_after(), message)
        }
        (GatewayErrorKind::Invalid, _) => SendError::permanent(message),
        _ => SendError::protocol(message),
    }
}
