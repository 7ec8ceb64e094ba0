//! Turning what a reader hands us into a [`Citizen`]: the chip (today the plain DG1 the demo
//! card serves) and the QR printed on the card.
//!
//! Both functions are pure apart from the APDU exchange, which goes through the
//! [`CardReader`] trait; the full ICAO 9303 protocol (PACE-CAN, BAC, secure messaging, DG13,
//! passive authentication) replaces [`read_chip`] in the chip issue.

use kiosk_hw::card::{CardErrorKind, CardReader};
use kiosk_hw::personal::Personal;

use crate::mrz;
use crate::session::{Citizen, IdentifyFailure, IdentitySource};

/// The LDS application of an ICAO 9303 eMRTD (CCCD chips answer to it).
const LDS_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];
/// Plaintext bytes per READ BINARY: the common safe size (JMRTD reads 223 under SM too).
const CHUNK: u8 = 0xDF;
/// DG1 is ~95 bytes; anything past this is a broken or hostile card.
const MAX_DG1: usize = 512;

/// Reads DG1 from the card on `reader` and builds the citizen from its MRZ.
///
/// `this_year` (two digits) is the pivot for two-digit birth years: a birth year above it is in
/// the 1900s.
///
/// # Errors
/// An [`IdentifyFailure`] the session can explain: the card left mid-read, no reader, or a
/// card whose data does not parse.
pub fn read_chip(reader: &mut dyn CardReader, this_year: u8) -> Result<Citizen, IdentifyFailure> {
    let mut select_aid = vec![0x00, 0xA4, 0x04, 0x0C, LDS_AID.len() as u8];
    select_aid.extend_from_slice(&LDS_AID);
    expect_ok(reader, &select_aid)?;
    expect_ok(reader, &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01])?;
    let mut dg1 = Vec::new();
    loop {
        let off = dg1.len();
        let apdu = [0x00, 0xB0, (off >> 8) as u8, (off & 0xFF) as u8, CHUNK];
        let resp = reader.transmit(&apdu).map_err(|e| card_failure(e.kind()))?;
        let (data, sw) = split_sw(&resp)?;
        match sw {
            [0x90, 0x00] => {
                dg1.extend_from_slice(data);
                if data.len() < usize::from(CHUNK) {
                    break;
                }
            }
            // Offset at or past the end: the previous read ended exactly on a chunk boundary.
            [0x6B, 0x00] | [0x62, 0x82] if off > 0 => break,
            _ => return Err(IdentifyFailure::Unreadable),
        }
        if dg1.len() > MAX_DG1 {
            return Err(IdentifyFailure::Unreadable);
        }
    }
    let td1 = mrz::parse_dg1(&dg1).map_err(|e| {
        tracing::warn!(error = %e, "DG1 did not parse");
        IdentifyFailure::Unreadable
    })?;
    citizen_from_td1(&td1, this_year)
}

fn citizen_from_td1(td1: &mrz::Td1, this_year: u8) -> Result<Citizen, IdentifyFailure> {
    let id = td1
        .id_number
        .as_ref()
        .ok_or(IdentifyFailure::Unreadable)?
        .clone();
    let name = format!(
        "{} {}",
        td1.surname.expose().trim(),
        td1.given_names.expose().trim()
    );
    let dob = td1.date_of_birth.expose();
    let dob_text = format!(
        "{:02}/{:02}/{}",
        dob.day,
        dob.month,
        dob.year_with_pivot(this_year)
    );
    let sex = match td1.sex.expose() {
        mrz::Sex::Male => "Nam",
        mrz::Sex::Female => "Nữ",
        mrz::Sex::Unspecified => "",
    };
    Citizen::new(
        IdentitySource::Chip,
        id,
        Personal::new(name.trim().to_string()),
        Personal::new(dob_text),
        Personal::new(sex.to_string()),
        None,
    )
    .map_err(|_| IdentifyFailure::Unreadable)
}

fn expect_ok(reader: &mut dyn CardReader, apdu: &[u8]) -> Result<(), IdentifyFailure> {
    let resp = reader.transmit(apdu).map_err(|e| card_failure(e.kind()))?;
    match split_sw(&resp)? {
        (_, [0x90, 0x00]) => Ok(()),
        _ => Err(IdentifyFailure::Unreadable),
    }
}

fn split_sw(resp: &[u8]) -> Result<(&[u8], [u8; 2]), IdentifyFailure> {
    match resp.len().checked_sub(2) {
        Some(n) => Ok((&resp[..n], [resp[n], resp[n + 1]])),
        // A response shorter than the status word: seen when a card is pulled away.
        None => Err(IdentifyFailure::CardRemovedDuringRead),
    }
}

/// Maps a reader error to what the citizen is told.
#[must_use]
pub fn card_failure(kind: CardErrorKind) -> IdentifyFailure {
    match kind {
        CardErrorKind::CardRemoved | CardErrorKind::NoCard => {
            IdentifyFailure::CardRemovedDuringRead
        }
        CardErrorKind::NoReader | CardErrorKind::ServiceUnavailable => {
            IdentifyFailure::ReaderMissing
        }
        _ => IdentifyFailure::Unreadable,
    }
}

/// Why a scanned QR did not give an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrIdentityError {
    /// Fewer than the 6 `|`-separated fields a CCCD QR has.
    #[error("not a CCCD QR code (expected at least 6 fields separated by '|')")]
    NotCccd,
    /// The ID number is not 12 digits.
    #[error("the ID number in the QR code is not 12 digits")]
    IdNumber,
    /// The date of birth is not a real `ddmmyyyy` date.
    #[error("the date of birth in the QR code is not a valid ddmmyyyy date")]
    DateOfBirth,
    /// The name is empty.
    #[error("the name in the QR code is empty")]
    Name,
    /// Another field is wrong (old ID number, sex, address, issue date).
    #[error(transparent)]
    Field(kiosk_qr::CccdError),
}

impl From<kiosk_qr::CccdError> for QrIdentityError {
    fn from(e: kiosk_qr::CccdError) -> Self {
        use kiosk_qr::CccdError as E;
        match e {
            E::TooFewFields(_) => Self::NotCccd,
            E::IdNumber => Self::IdNumber,
            E::DateOfBirth => Self::DateOfBirth,
            E::Name => Self::Name,
            other => Self::Field(other),
        }
    }
}

/// Parses the QR printed on a CCCD: `ID12|old CMND|NAME|ddmmyyyy|sex|address|issue date`,
/// with `kiosk_qr::CccdQr` (6+ fields, NFC, real dates, `Nam`/`Nữ`).
///
/// # Errors
/// [`QrIdentityError`] naming the field that is wrong.
pub fn citizen_from_cccd_qr(text: &str) -> Result<Citizen, QrIdentityError> {
    citizen_from_parsed(&kiosk_qr::CccdQr::parse(text)?)
}

/// What the identify worker makes of any scanned code: a citizen from a CCCD's QR, or the
/// failure the citizen is told. A code of another kind (a receipt, a VNeID app code, a web
/// link) is [`IdentifyFailure::QrNotCard`]; a CCCD code with a wrong field is
/// [`IdentifyFailure::Unreadable`]. Logs name the kind or field, never the content.
///
/// # Errors
/// As above.
pub fn citizen_from_scan(text: &str) -> Result<Citizen, IdentifyFailure> {
    match kiosk_qr::classify(text) {
        Ok(kiosk_qr::Payload::Cccd(q)) => {
            citizen_from_parsed(&q).map_err(|_| IdentifyFailure::Unreadable)
        }
        Err(kiosk_qr::ClassifyError::Cccd(e)) => {
            tracing::info!(error = %e, "CCCD QR code with a wrong field");
            Err(IdentifyFailure::Unreadable)
        }
        Ok(other) => {
            tracing::info!(kind = other.kind_name(), "QR code is not a CCCD card QR");
            Err(IdentifyFailure::QrNotCard)
        }
        Err(e) => {
            tracing::info!(error = %e, "QR code is not a CCCD card QR");
            Err(IdentifyFailure::QrNotCard)
        }
    }
}

fn citizen_from_parsed(q: &kiosk_qr::CccdQr) -> Result<Citizen, QrIdentityError> {
    Citizen::new(
        IdentitySource::Qr,
        q.id_number().clone(),
        q.full_name().clone(),
        // `dd/mm/yyyy`, as the chip path and the gateway use.
        q.date_of_birth().map(ToString::to_string),
        q.sex().map(|s| s.as_vietnamese().to_owned()),
        q.address().cloned(),
    )
    .map_err(|_| QrIdentityError::IdNumber)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hw::card::{DemoCard, SimCardReader};
    use unicode_normalization::UnicodeNormalization as _;

    #[test]
    fn demo_card_gives_the_synthetic_citizen() {
        let mut reader = SimCardReader::new("sim");
        reader.control().insert(Box::new(DemoCard::demo()));
        let c = read_chip(&mut reader, 26).expect("demo card reads");
        assert_eq!(c.id_number().expose(), "001090123456");
        assert_eq!(c.full_name().expose(), "NGUYEN VAN AN");
        assert_eq!(c.date_of_birth().expose(), "01/01/1990");
        assert_eq!(c.sex().expose(), "Nam");
        assert_eq!(c.source(), IdentitySource::Chip);
    }

    #[test]
    fn card_pulled_mid_read_is_reported_as_such() {
        let mut reader = SimCardReader::new("sim");
        let ctl = reader.control();
        ctl.insert(Box::new(DemoCard::demo()));
        ctl.remove_after_apdus(2);
        assert_eq!(
            read_chip(&mut reader, 26).err(),
            Some(IdentifyFailure::CardRemovedDuringRead)
        );
    }

    #[test]
    fn no_card_no_identity() {
        let mut reader = SimCardReader::new("sim");
        assert!(read_chip(&mut reader, 26).is_err());
    }

    #[test]
    fn cccd_qr_parses_and_normalises() {
        // Decomposed tone marks (NFD) must come out composed (NFC).
        let nfd: String = "Nguyễn Văn An".nfd().collect();
        let text = format!("001090123456||{nfd}|01011990|Nam|Hà Nội|01012021");
        let c = citizen_from_cccd_qr(&text).expect("parses");
        assert_eq!(c.full_name().expose(), "Nguyễn Văn An");
        assert_eq!(c.date_of_birth().expose(), "01/01/1990");
        assert_eq!(c.source(), IdentitySource::Qr);
        assert!(citizen_from_cccd_qr(kiosk_hw::sim::DEMO_QR).is_ok());
    }

    #[test]
    fn cccd_qr_errors_name_the_field() {
        let cases = [
            ("hello", QrIdentityError::NotCccd),
            (
                "0010901234567||A|01011990|Nam|x|01012021",
                QrIdentityError::IdNumber,
            ),
            (
                "001090123456||A|31021990|Nam|x|01012021",
                QrIdentityError::DateOfBirth,
            ),
            (
                "001090123456|| |01011990|Nam|x|01012021",
                QrIdentityError::Name,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(citizen_from_cccd_qr(text).err(), Some(want), "{text}");
        }
    }

    #[test]
    fn scans_of_other_codes_say_so() {
        let c = citizen_from_scan(kiosk_hw::sim::DEMO_QR).expect("the demo card's QR");
        assert_eq!(c.date_of_birth().expose(), "01/01/1990");
        assert_eq!(c.sex().expose(), "Nam");
        let cases = [
            (
                "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P",
                IdentifyFailure::QrNotCard,
            ),
            ("https://vneid.gov.vn/x", IdentifyFailure::QrNotCard),
            ("not a cccd", IdentifyFailure::QrNotCard),
            (
                "001090123456||A|01011990|Male|x|01012021",
                IdentifyFailure::Unreadable,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(citizen_from_scan(text).err(), Some(want), "{text}");
        }
    }
}
