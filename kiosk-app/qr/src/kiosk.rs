//! QR codes the kiosk system itself prints: `VNKIOSK<version>|<record type>|...`.
//!
//! The envelope is shared by every record type (docs/formats.md): `R` is the receipt
//! (`VNKIOSK1|R|<MaHoSo>|<MaTraCuu>`, whose fields `kiosk_app::receipt::parse_receipt_qr`
//! validates: that parser stays the one owner of the receipt rules), `E` the technician's
//! enrolment code (`VNKIOSK1|E|<gateway URL>|<token>`, defined and parsed here).

use kiosk_hw::Personal;
use thiserror::Error;

/// The envelope's magic and version this build reads.
pub const MAGIC: &str = "VNKIOSK1";
/// Longest gateway URL in an enrolment code.
pub const MAX_URL_LEN: usize = 256;
/// Token length bounds in an enrolment code.
pub const TOKEN_LEN: std::ops::RangeInclusive<usize> = 16..=128;

/// A kiosk receipt QR code, recognised by its envelope; the text is kept whole for
/// `kiosk_app::receipt::parse_receipt_qr`, which checks the dossier and lookup codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptCode {
    /// The scanned text, trailing CR/LF removed. Not personal: a receipt code carries none.
    pub text: String,
}

/// A technician's enrolment code: where the kiosk's gateway is and the one-time token that
/// lets this kiosk enrol with it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrolmentCode {
    /// The gateway's base URL, `https://...` (or `http://127.0.0.1...` / `http://localhost...`
    /// for a demo gateway).
    pub gateway_url: String,
    /// The one-time enrolment token: a secret, so it never prints.
    pub token: Personal<String>,
}

/// Why a `VNKIOSK` code was not understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KioskCodeError {
    /// Another envelope version (from a newer or older kiosk system).
    #[error(
        "a kiosk QR code of another version; this kiosk reads {MAGIC}: update the kiosk software"
    )]
    UnsupportedVersion,
    /// A record type this build does not know.
    #[error(
        "a kiosk QR code of a record type this kiosk does not know: update the kiosk software"
    )]
    UnsupportedType,
    /// An enrolment code with the wrong number of fields.
    #[error("malformed enrolment QR code: expected 4 fields")]
    EnrolmentFields,
    /// An enrolment code whose URL is not https (or loopback http), too long or not plain ASCII.
    #[error("malformed enrolment QR code: the gateway URL must be https:// (http:// only for 127.0.0.1 or localhost), ASCII, at most {MAX_URL_LEN} characters")]
    EnrolmentUrl,
    /// An enrolment code whose token is not 16-128 URL-safe base64 characters.
    #[error("malformed enrolment QR code: the token must be 16-128 characters of A-Z a-z 0-9 - _")]
    EnrolmentToken,
}

/// What a `VNKIOSK` envelope holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KioskCode {
    Receipt(ReceiptCode),
    Enrolment(EnrolmentCode),
}

/// `None` when `text` is not a kiosk code at all (no `VNKIOSK<digits>` first field).
pub(crate) fn parse(text: &str) -> Option<Result<KioskCode, KioskCodeError>> {
    let text = text.trim_end_matches(['\r', '\n']);
    let mut fields = text.split('|');
    let magic = fields.next().unwrap_or_default();
    let version = magic.strip_prefix("VNKIOSK")?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if magic != MAGIC {
        return Some(Err(KioskCodeError::UnsupportedVersion));
    }
    Some(match fields.next() {
        Some("R") => Ok(KioskCode::Receipt(ReceiptCode {
            text: text.to_owned(),
        })),
        Some("E") => parse_enrolment(fields).map(KioskCode::Enrolment),
        _ => Err(KioskCodeError::UnsupportedType),
    })
}

fn parse_enrolment<'a>(
    mut fields: impl Iterator<Item = &'a str>,
) -> Result<EnrolmentCode, KioskCodeError> {
    let (Some(url), Some(token), None) = (fields.next(), fields.next(), fields.next()) else {
        return Err(KioskCodeError::EnrolmentFields);
    };
    if !is_gateway_url(url) {
        return Err(KioskCodeError::EnrolmentUrl);
    }
    let token_ok = TOKEN_LEN.contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !token_ok {
        return Err(KioskCodeError::EnrolmentToken);
    }
    Ok(EnrolmentCode {
        gateway_url: url.to_owned(),
        token: Personal::new(token.to_owned()),
    })
}

fn is_gateway_url(url: &str) -> bool {
    if url.len() > MAX_URL_LEN || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let host_of = |rest: &str| -> Option<String> {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        (!host.is_empty() && !authority.contains('@')).then(|| host.to_ascii_lowercase())
    };
    if let Some(rest) = url.strip_prefix("https://") {
        return host_of(rest).is_some();
    }
    if let Some(rest) = url.strip_prefix("http://") {
        return host_of(rest).is_some_and(|h| h == "127.0.0.1" || h == "localhost");
    }
    false
}

/// The enrolment QR payload for `gateway_url` and `token` (what a provisioning tool prints).
///
/// # Errors
///
/// [`KioskCodeError`] if the URL or token break the rules in docs/formats.md.
pub fn format_enrolment(gateway_url: &str, token: &str) -> Result<String, KioskCodeError> {
    let text = format!("{MAGIC}|E|{gateway_url}|{token}");
    match parse(&text) {
        Some(Ok(KioskCode::Enrolment(_))) => Ok(text),
        Some(Err(e)) => Err(e),
        _ => Err(KioskCodeError::EnrolmentFields),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "k7Hq2-Zp_9xYw3Lm";

    #[test]
    fn envelope() {
        assert_eq!(parse("001090123456||A|01011990|Nam|x|01012021"), None);
        assert_eq!(parse("VNKIOSK|R|x|y"), None);
        assert_eq!(parse("VNKIOSKx|R|x|y"), None);
        assert_eq!(
            parse("VNKIOSK2|R|x|y"),
            Some(Err(KioskCodeError::UnsupportedVersion))
        );
        assert_eq!(
            parse("VNKIOSK1|Z|x|y"),
            Some(Err(KioskCodeError::UnsupportedType))
        );
        assert_eq!(
            parse("VNKIOSK1"),
            Some(Err(KioskCodeError::UnsupportedType))
        );
        let r = "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P";
        assert_eq!(
            parse(&format!("{r}\r\n")),
            Some(Ok(KioskCode::Receipt(ReceiptCode { text: r.into() })))
        );
    }

    #[test]
    fn enrolment() {
        let ok = |url: &str| format_enrolment(url, TOKEN).is_ok();
        assert!(ok("https://gateway.example.vn/kiosk"));
        assert!(ok("https://10.0.0.5:8443"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(ok("http://localhost"));
        assert!(!ok("http://gateway.example.vn"));
        assert!(!ok("https://user@gateway.example.vn"));
        assert!(!ok("https://"));
        assert!(!ok("ftp://x"));
        assert!(!ok("https://gäteway.vn"));
        assert!(!ok(&format!("https://{}", "a".repeat(MAX_URL_LEN))));
        let text = format_enrolment("https://gw.example.vn", TOKEN).expect("valid");
        assert_eq!(text, format!("VNKIOSK1|E|https://gw.example.vn|{TOKEN}"));
        match parse(&text) {
            Some(Ok(KioskCode::Enrolment(e))) => {
                assert_eq!(e.token.expose(), TOKEN);
                assert!(!format!("{e:?}").contains(TOKEN));
            }
            other => panic!("{other:?}"),
        }
        let bad = |s: &str| parse(s).and_then(Result::err);
        assert_eq!(
            bad("VNKIOSK1|E|https://gw.vn"),
            Some(KioskCodeError::EnrolmentFields)
        );
        assert_eq!(
            bad(&format!("VNKIOSK1|E|https://gw.vn|{TOKEN}|x")),
            Some(KioskCodeError::EnrolmentFields)
        );
        assert_eq!(
            bad("VNKIOSK1|E|https://gw.vn|short"),
            Some(KioskCodeError::EnrolmentToken)
        );
        assert_eq!(
            bad("VNKIOSK1|E|https://gw.vn|bad token with spaces!"),
            Some(KioskCodeError::EnrolmentToken)
        );
    }
}
