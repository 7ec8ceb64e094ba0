//! The demo gateway client as the outbox's transport: [`LoopbackTransport`] turns an outbox
//! row (the JSON of a [`SubmissionRequest`]) into a `POST /v1/submissions` over
//! [`GatewayClient`], and its errors into the outbox's retry classes.

use kiosk_outbox::{BlockingTransport, Delivered, Outgoing, SendError};

use super::client::{GatewayClient, GatewayError, GatewayErrorKind};
use super::dto::SubmissionRequest;

/// [`GatewayClient`] for [`kiosk_outbox::Blocking`]: the demo's transport (plain HTTP on the
/// loopback interface). The production transport is `kiosk_outbox::https`.
#[derive(Debug, Clone)]
pub struct LoopbackTransport {
    client: GatewayClient,
}

impl LoopbackTransport {
    /// Wraps a client.
    #[must_use]
    pub fn new(client: GatewayClient) -> Self {
        Self { client }
    }
}

impl BlockingTransport for LoopbackTransport {
    fn send_blocking(&self, item: &Outgoing) -> Result<Delivered, SendError> {
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
            Ok(a) => Ok(Delivered {
                receipt: serde_json::to_vec(&a.receipt)
                    .map_err(|_| SendError::protocol("cannot serialise the receipt"))?,
                created: a.created,
            }),
            Err(e) => Err(to_send_error(&e)),
        }
    }

    fn probe_blocking(&self) -> bool {
        self.client.health().is_ok()
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
