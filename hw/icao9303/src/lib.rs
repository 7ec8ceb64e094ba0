//! The ICAO 9303 eMRTD protocol for Vietnam's CCCD chip, as pure code.
//!
//! This crate does no I/O. The protocol steps are functions and small state values: command
//! APDUs come out, response APDUs go in, randomness and the current time are passed in. The
//! caller owns the transport (PC/SC in `kiosk-hw`, a virtual card in tests). [`reader`] drives a
//! whole read over any [`reader::Transceive`] implementation.
//!
//! # Layout
//!
//! - [`tlv`]: tolerant BER-TLV parsing and encoding.
//! - [`apdu`]: command and response APDUs, short and extended length.
//! - [`crypto`]: KDF, padding, CBC, retail MAC, AES-CMAC.
//! - [`sm`]: secure messaging (3DES and AES), terminal and card sides.
//! - [`bac`]: Basic Access Control from the MRZ, with the CCCD expiry rule
//!   ([`bac::cccd_expiry_candidates`]) for when only the QR (no expiry) is at hand.
//! - [`ec`]: the curve operations (brainpoolP256r1, P-256), points as SEC 1 bytes.
//! - [`pace`]: PACE with ECDH generic mapping, typed terminal states and the chip side.
//! - [`lds`]: EF.COM, DG1 (TD1 MRZ), DG2 (face image), DG13 (by field number, NFC), DG15.
//! - [`pki`]: the X.509 / CMS subset for the SOD and its Document Signer certificate.
//! - [`auth`]: passive authentication verdicts and Active Authentication.
//! - [`dg14`]: DG14's SecurityInfos (Chip Authentication protocols and keys, the ECDSA Active
//!   Authentication hash).
//! - [`aa`]: Active Authentication, ECDSA with the DG14 hash and RSA (ISO/IEC 9796-2 scheme 1).
//! - [`chip_auth`]: Chip Authentication (ECDH, then new secure-messaging keys), typed states.
//! - [`policy`]: the one verdict on a read: passive authentication plus the clone checks the
//!   chip offers, which cannot be skipped ([`policy::ChipVerdict`]).
//! - [`reader`]: a whole read over a one-method [`reader::Transceive`] transport.
//! - [`issue`]: CSCA / DS / SOD builders for the virtual card and tests.
//!
//! Every public fallible function returns the one [`Error`] enum ([`reader::ReadError`] adds
//! the transport's own errors).

pub mod aa;
pub mod apdu;
pub mod auth;
pub mod bac;
pub mod chip_auth;
pub mod crypto;
pub mod dg14;
pub mod ec;
pub mod issue;
pub mod lds;
pub mod pace;
pub mod pki;
pub mod policy;
pub mod reader;
pub mod sm;
pub mod tlv;

/// Everything that can go wrong in the protocol, grouped by cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input (MRZ data, CAN) is not well-formed.
    #[error("bad input: {0}")]
    BadInput(&'static str),
    /// The transport delivered a broken answer (e.g. shorter than SW1 SW2).
    #[error("transport: {0}")]
    Transport(&'static str),
    /// A TLV, ASN.1 or LDS structure does not parse.
    #[error("malformed data: {0}")]
    Malformed(&'static str),
    /// Secure messaging failed (MAC, padding, missing data objects): restart the session.
    #[error("secure messaging: {0}")]
    SecureMessaging(&'static str),
    /// The card answered without secure messaging (status {0:04X}): it dropped the session.
    #[error("the card ended secure messaging (status {0:04X})")]
    SessionLost(u16),
    /// The access key (CAN or MRZ data) is wrong, or the card refused authentication.
    #[error("access denied: wrong CAN or MRZ data (status {0:04X})")]
    AccessDenied(u16),
    /// The card answered an unexpected status word.
    #[error("the card answered status {0:04X}")]
    Status(u16),
    /// The card or data uses something this crate does not implement.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// A cryptographic check failed.
    #[error("crypto: {0}")]
    Crypto(&'static str),
}
