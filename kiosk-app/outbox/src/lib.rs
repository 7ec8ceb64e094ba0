//! The kiosk's outbox: submissions are stored encrypted and durable before the citizen is
//! told "received", then delivered to the provincial kiosk gateway exactly once as the
//! gateway sees it, however long the network is down and however often the kiosk crashes.
//!
//! # Layout
//!
//! - [`key`]: the queue key ([`key::KeySource`], today [`key::KeyFile`]; the TPM seam).
//! - [`schema`]: versioned migrations (`PRAGMA user_version`).
//! - [`store`]: [`Outbox`], the SQLCipher table and every state change of a row.
//! - [`backoff`]: full-jitter exponential backoff (pure).
//! - [`transport`]: the [`Transport`] trait the worker sends through, and the retry rules.
//! - [`worker`]: the tokio sync worker (FIFO per partition, parallel across partitions,
//!   leases, probes, age bound, graceful shutdown).
//! - [`link`]: the OS link-up hook ([`LinkWatcher`]): a network interface coming up makes the
//!   worker retry at once ([`Background::network_returned`]).
//! - `https` (feature `https`): the production transport, reqwest + rustls with mutual TLS.
//!
//! # Guarantees and how they are kept
//!
//! - Durable before "received": [`Outbox::enqueue`] returns after an fsync'd commit (WAL,
//!   `synchronous=FULL`).
//! - Exactly once as the gateway sees it: at-least-once delivery with the row's UUIDv7 as
//!   `Idempotency-Key` and business key; the gateway deduplicates.
//! - Nothing silently dropped: a row ends delivered or dead (with an operator alert).
//! - Minimal personal data: the database is encrypted; a delivered row keeps only the hash of
//!   its payload and the receipt; dead letters lose their payload after a retention period.
//!
//! # Architecture invariant
//!
//! This crate knows nothing of the kiosk's DTOs, sessions or UI: payloads and receipts are
//! bytes. The kiosk (`kiosk-app`) serialises, picks the transport and wires the worker.

pub mod backoff;
#[cfg(feature = "https")]
pub mod https;
pub mod key;
pub mod link;
pub mod schema;
pub mod store;
pub mod transport;
pub mod worker;

pub use backoff::Backoff;
pub use key::{read_private_file, KeyError, KeyFile, KeySource, PrivateFileError, QueueKey};
pub use link::LinkWatcher;
pub use store::{
    Alert, Claimed, Durability, Enqueued, ErrorClass, Kind, NewItem, OpenOptions, Outbox,
    OutboxError, State, Stats, Summary,
};
pub use transport::{
    classify_status, error_codes, status_error, Blocking, BlockingTransport, Delivered, Outgoing,
    SendError, Transport,
};
pub use uuid::Uuid;
pub use worker::{
    Background, Clock, SystemClock, TokioClock, WorkerConfig, WorkerError, WorkerEvent,
    WorkerHandle,
};
