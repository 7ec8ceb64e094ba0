//! The kiosk's side of the kiosk gateway protocol: its clients, transports and enrolment.
//!
//! The kiosk never talks to the provincial one-stop system, the national portal or a
//! hospital's HIS directly: it sends each submission to a kiosk gateway, which holds the
//! organisational credentials and forwards (see `docs/formats.md` for the wire format).
//!
//! # Layout
//!
//! - [`dto`]: the JSON wire types, named after the national portal / OpenCPS fields
//!   ([`SubmissionRequest`], [`SubmissionReceipt`], [`SubmissionStatus`], [`ErrorBody`]).
//! - [`codes`]: dossier codes, lookup codes, appointment dates, portal timestamps (pure).
//! - [`http`]: the sliver of HTTP/1.1 the loopback client speaks (pure parsing, bounded).
//! - [`client`]: [`GatewayClient`], with [`GatewayError::kind`] telling the outbox whether to
//!   retry ([`GatewayErrorKind`]).
//! - [`fhir`]: clinic registrations as FHIR R4 transaction Bundles, and the kiosk's receipt
//!   from the FHIR server's transaction-response.
//! - [`enrol`]: enrolment, the kiosk's side (its key and certificate request, the files).
//! - [`lookup`]: the status of an earlier dossier ([`lookup::lookup_status`]), over the
//!   loopback client or mutual TLS, with `Offline` as an answer.
//! - [`outbox`]: the kiosk's transports for the outbox (loopback; FHIR receipts around the
//!   production one).
//!
//! # Scope
//!
//! The server is not here: it is the `kiosk-gateway` crate (the demo starts it in-process
//! with the `demo-gateway` feature; see `app.rs`). The loopback client uses the standard
//! library only: plain HTTP/1.1 over a `TcpStream`, one request per connection, and it
//! refuses any host but the loopback interface. The production client is
//! `kiosk_outbox::https` (reqwest + rustls with mutual TLS and the deployment's own CA); it
//! keeps these DTOs and error kinds.
//!
//! # Idempotency
//!
//! Every submission carries a stable `referenceUid`, also sent as the `Idempotency-Key`
//! header (draft-ietf-httpapi-idempotency-key-header): a replay with the same key and body is
//! answered with the first receipt (200 instead of 201), the same key with another body is
//! refused (422), and the gateway also deduplicates on `referenceUid` itself, because keys are
//! only kept for a while.

pub mod client;
/// The wire types and codes now live in `kiosk-wire`, shared with `kiosk-gateway`.
pub use kiosk_wire::{codes, dto};
pub mod enrol;
pub mod fhir;
pub mod http;
pub mod lookup;
pub mod outbox;

pub use client::{Accepted, GatewayClient, GatewayError, GatewayErrorKind, GatewayUrlError};
pub use dto::{
    ErrorBody, InvalidField, SubmissionKind, SubmissionReceipt, SubmissionRequest, SubmissionStatus,
};
