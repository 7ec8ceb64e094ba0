//! Turning what a reader hands us into a [`Citizen`]: the chip (today the plain DG1 the demo
//! card serves) and the QR printed on the card.
//!
//! Both functions are pure apart from the APDU exchange, which goes through the
//! [`CardReader`] trait; the full ICAO 9303 protocol (PACE-CAN, BAC, secure messaging, DG13,
//! passive authentication) replaces [`read_chip`] in the chip issue.

use kiosk_hw::card::{CardErrorKind, CardReader};
use kiosk_hw::personal::Personal;
use unicode_normalization::UnicodeNormalization as _;

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
}

/// Parses the QR printed on a CCCD: `ID12|old CMND|NAME|ddmmyyyy|sex|address|issue date`.
///
/// Minimal and defensive: accepts 6 or more fields, normalises text to NFC. The camera/QR issue
/// adds classification of other QR kinds and fuzzing.
///
/// # Errors
/// [`QrIdentityError`] naming the field that is wrong.
pub fn citizen_from_cccd_qr(text: &str) -> Result<Citizen, QrIdentityError> {
    let fields: Vec<&str> = text.trim().split('|').collect();
    if fields.len() < 6 {
        return Err(QrIdentityError::NotCccd);
    }
    let id = fields[0].trim();
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QrIdentityError::IdNumber);
    }
    let name: String = fields[2].trim().nfc().collect();
    if name.is_empty() {
        return Err(QrIdentityError::Name);
    }
    let dob = parse_ddmmyyyy(fields[3].trim()).ok_or(QrIdentityError::DateOfBirth)?;
    let sex: String = fields[4].trim().nfc().collect();
    let address: String = fields[5].trim().nfc().collect();
    Citizen::new(
        IdentitySource::Qr,
        Personal::new(id.to_string()),
        Personal::new(name),
        Personal::new(dob),
        Personal::new(sex),
        (!address.is_empty()).then(|| Personal::new(address)),
    )
    .map_err(|_| QrIdentityError::IdNumber)
}

/// `ddmmyyyy` -> `dd/mm/yyyy`, only for real calendar dates.
fn parse_ddmmyyyy(s: &str) -> Option<String> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day: u8 = s[0..2].parse().ok()?;
    let month: u8 = s[2..4].parse().ok()?;
    let year: i32 = s[4..8].parse().ok()?;
    let month_t = time::Month::try_from(month).ok()?;
    time::Date::from_calendar_date(year, month_t, day).ok()?;
    Some(format!("{day:02}/{month:02}/{year}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hw::card::{DemoCard, SimCardReader};

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
}
