//! The wire format between the kiosk and the provincial kiosk gateway, shared by both sides
//! (`kiosk-app`'s client and `kiosk-gateway`'s server).
//!
//! # Layout
//!
//! - [`dto`]: the JSON wire types, named after the national portal / OpenCPS fields
//!   ([`dto::SubmissionRequest`], [`dto::SubmissionReceipt`], [`dto::SubmissionStatus`],
//!   [`dto::ErrorBody`]).
//! - [`codes`]: dossier codes, lookup codes, appointment dates, portal timestamps (pure).
//! - [`enrol`]: the enrolment and renewal messages and the kiosk id rule.
//! - [`OPENAPI`]: the contract, `openapi/kiosk-gateway.yaml` in this crate (its field names
//!   are checked against the DTOs by this crate's tests).
//!
//! **Architecture invariant:** pure values and serde; no sockets, no clock (time and
//! randomness are passed in), no knowledge of sessions, TLS or storage.

pub mod codes;
pub mod dto;
pub mod enrol;

/// The OpenAPI 3 description of the gateway's API (YAML).
pub const OPENAPI: &str = include_str!("../openapi/kiosk-gateway.yaml");
