//! What a scanned QR code is, and what the kiosk can do with it.
//!
//! Pure: text (or bytes) in, a classification out; no camera, no clock, no I/O. The camera side
//! (`kiosk_hw::qr::CameraQrScanner`) delivers the text; this crate says whether it is
//!
//! - the QR printed on a citizen's CCCD ([`CccdQr`], seven `|`-separated fields), from which
//!   [`CccdQr::chip_access`] derives the chip's PACE CAN, the BAC document number, date of birth
//!   and expiry candidates;
//! - a kiosk receipt (`VNKIOSK1|R|...`, [`ReceiptCode`], for a status lookup);
//! - a technician's enrolment code (`VNKIOSK1|E|<gateway URL>|<token>`, [`EnrolmentCode`]);
//! - or something else ([`Unrecognised`]: a VNeID app code, a web link, ...), with a message
//!   that says what the kiosk does read.
//!
//! Formats: `docs/formats.md` (kiosk codes) and the brief on the CCCD QR. Personal fields are
//! [`kiosk_hw::Personal`] and never print. Every input gives a classification or a typed error; no input
//! panics (property tests in CI, a coverage-guided fuzz target in `fuzz/`).
//!
//! # Layout
//! - [`cccd`]: the card's QR code and the CCCD expiry rule.
//! - [`kiosk`]: the `VNKIOSK` envelope: receipt and enrolment codes.
//! - [`date`]: calendar dates without a clock.
//! - [`synthetic`]: synthetic citizens (never a real person) for tests, demos and benchmarks.

pub mod cccd;
pub mod date;
pub mod kiosk;
pub mod synthetic;

use thiserror::Error;

pub use cccd::{CccdError, CccdQr, ChipAccess, ExpiryCandidates, Sex};
pub use date::CivilDate;
pub use kiosk::{EnrolmentCode, KioskCodeError, ReceiptCode};

/// Longest payload looked at; a QR code holds at most 2953 bytes, our codes far fewer.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// A QR code the kiosk understood.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Payload {
    /// The QR code printed on a CCCD.
    Cccd(CccdQr),
    /// A kiosk receipt, for a status lookup.
    Receipt(ReceiptCode),
    /// A technician's enrolment code.
    Enrolment(EnrolmentCode),
}

impl Payload {
    /// A short English name of the kind, for technicians and logs (never personal).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Cccd(_) => "cccd",
            Self::Receipt(_) => "kiosk-receipt",
            Self::Enrolment(_) => "enrolment",
        }
    }
}

/// Why a scanned code gave nothing usable. Messages are for technicians and logs and never
/// contain the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClassifyError {
    /// Shaped like a CCCD QR code, with a wrong field.
    #[error("CCCD QR code not understood: {0}")]
    Cccd(#[from] CccdError),
    /// A kiosk code (`VNKIOSK...`) this build cannot use.
    #[error("{0}")]
    Kiosk(#[from] KioskCodeError),
    /// Not a kind of code the kiosk reads.
    #[error("{0}")]
    Unrecognised(Unrecognised),
}

/// A code that is none of the kinds the kiosk reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Unrecognised {
    /// Nothing but white space.
    #[error("the QR code is empty")]
    Empty,
    /// Over [`MAX_PAYLOAD_BYTES`].
    #[error(
        "the QR code holds over {MAX_PAYLOAD_BYTES} bytes; no code the kiosk reads is that long"
    )]
    TooLong,
    /// Not UTF-8 text.
    #[error("the QR code holds binary data, not text; the kiosk reads CCCD, receipt and enrolment codes")]
    NotText,
    /// A web link (a poster, a payment code, ...).
    #[error("the QR code is a web link, not a CCCD, kiosk receipt or enrolment code; for identity show the QR printed on the card (VNeID app codes are not supported)")]
    WebLink,
    /// Anything else.
    #[error("not a CCCD, kiosk receipt or enrolment QR code; for identity show the QR printed on the card (VNeID app codes are not supported)")]
    Other,
}

/// Classifies the text of a scanned QR code.
///
/// # Errors
///
/// [`ClassifyError`]: a CCCD-shaped or kiosk code with a wrong field names the field; any other
/// text is [`ClassifyError::Unrecognised`].
pub fn classify(text: &str) -> Result<Payload, ClassifyError> {
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(ClassifyError::Unrecognised(Unrecognised::TooLong));
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ClassifyError::Unrecognised(Unrecognised::Empty));
    }
    if let Some(kiosk) = kiosk::parse(text) {
        return Ok(match kiosk? {
            kiosk::KioskCode::Receipt(r) => Payload::Receipt(r),
            kiosk::KioskCode::Enrolment(e) => Payload::Enrolment(e),
        });
    }
    if looks_like_cccd(trimmed) {
        return Ok(Payload::Cccd(CccdQr::parse(text)?));
    }
    let lower = trimmed.get(..8).unwrap_or(trimmed).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Err(ClassifyError::Unrecognised(Unrecognised::WebLink));
    }
    Err(ClassifyError::Unrecognised(Unrecognised::Other))
}

/// As [`classify`], for raw bytes (a decoder that hands out bytes, the fuzz target).
///
/// # Errors
///
/// As [`classify`]; bytes that are not UTF-8 are [`Unrecognised::NotText`].
pub fn classify_bytes(bytes: &[u8]) -> Result<Payload, ClassifyError> {
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(ClassifyError::Unrecognised(Unrecognised::TooLong));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ClassifyError::Unrecognised(Unrecognised::NotText))?;
    classify(text)
}

/// A CCCD attempt: six or more fields, or a run of digits followed by at least two more
/// fields (a CCCD code with a field missing or a mangled ID is still reported as a CCCD
/// problem, which tells the citizen more than "unknown code").
fn looks_like_cccd(text: &str) -> bool {
    let mut fields = text.split('|');
    let first = fields.next().unwrap_or_default().trim();
    let rest = fields.count();
    rest >= 5 || (rest >= 2 && !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Result<&'static str, ClassifyError> {
        classify(text).map(|p| p.kind_name())
    }

    #[test]
    fn classification() {
        assert_eq!(kind(kiosk_hw::sim::DEMO_QR), Ok("cccd"));
        assert_eq!(
            kind("VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P"),
            Ok("kiosk-receipt")
        );
        assert_eq!(
            kind("VNKIOSK1|E|https://gw.example.vn|k7Hq2-Zp_9xYw3Lm"),
            Ok("enrolment")
        );
        assert_eq!(
            kind("VNKIOSK9|R|x|y"),
            Err(KioskCodeError::UnsupportedVersion.into())
        );
        assert_eq!(
            kind("0010901234567||A|01011990|Nam|x|01012021"),
            Err(CccdError::IdNumber.into())
        );
        assert_eq!(
            kind("001090123456||A|01011990"),
            Err(CccdError::TooFewFields(4).into())
        );
        assert_eq!(
            kind("https://vneid.gov.vn/x"),
            Err(ClassifyError::Unrecognised(Unrecognised::WebLink))
        );
        assert_eq!(
            kind("hello"),
            Err(ClassifyError::Unrecognised(Unrecognised::Other))
        );
        assert_eq!(
            kind(" \r\n"),
            Err(ClassifyError::Unrecognised(Unrecognised::Empty))
        );
        assert_eq!(
            kind(&"1|".repeat(3000)),
            Err(ClassifyError::Unrecognised(Unrecognised::TooLong))
        );
        assert_eq!(
            classify_bytes(&[0xff, 0xfe, b'|']).map(|p| p.kind_name()),
            Err(ClassifyError::Unrecognised(Unrecognised::NotText))
        );
    }

    #[test]
    fn messages_never_echo_the_code() {
        let text = "0010901234567||Trần Thị Bích|01011990|Nam|x|01012021";
        let msg = classify(text).expect_err("13 digits").to_string();
        assert!(msg.contains("ID number") && !msg.contains("Bích") && !msg.contains("001090"));
    }
}
