//! [`DemoCard`]: an unprotected, ICAO-9303-shaped CCCD for tests and the demo mode.
//!
//! It answers the plain (unprotected) command sequence of an LDS read: SELECT the LDS
//! application by AID, SELECT an EF by file identifier, READ BINARY in chunks. It serves EF.COM
//! and DG1 (the TD1 MRZ) built from a synthetic [`CardProfile`].
//!
//! What it deliberately does not do yet: access control. A real CCCD requires PACE (with the CAN,
//! the last 6 digits of the ID number) or BAC before any file is readable, and then every APDU
//! is wrapped in secure messaging. PACE/BAC and secure messaging for this card come in a later
//! issue; until then the card answers plain APDUs, so only the transport and the LDS parsing can
//! be exercised against it. It also does not serve DG2, DG13, DG14, DG15, EF.SOD or
//! EF.CardAccess yet, and its EF.COM lists DG1 only so that a reader following EF.COM stays
//! consistent with what the card can answer.
//!
//! Behaviour copied from real CCCD chips (see the brief): SELECT MF (`00 A4 00 0C 02 3F 00`)
//! answers `6D00`, unknown files answer `6A82`.

use std::fmt;

use super::mrz::mrz_check_digit;
use super::sim::VirtualCard;

/// The AID of the ICAO LDS application: `A0 00 00 02 47 10 01`.
pub const LDS_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// FID of EF.COM.
const FID_COM: [u8; 2] = [0x01, 0x1E];
/// FID of DG1.
const FID_DG1: [u8; 2] = [0x01, 0x01];
/// Short file identifiers, for READ BINARY with P1 bit 8 set.
const SFI_COM: u8 = 0x1E;
const SFI_DG1: u8 = 0x01;

/// A typical contactless ATR (PC/SC pseudo-ATR for an ISO 14443-4 type A/B card).
const DEMO_ATR: [u8; 11] = [
    0x3B, 0x86, 0x80, 0x01, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x84, 0x4F,
];

const SW_OK: [u8; 2] = [0x90, 0x00];
const SW_WRONG_LENGTH: [u8; 2] = [0x67, 0x00];
const SW_NO_CURRENT_EF: [u8; 2] = [0x69, 0x86];
const SW_FILE_NOT_FOUND: [u8; 2] = [0x6A, 0x82];
const SW_WRONG_P1P2: [u8; 2] = [0x6A, 0x86];
const SW_OFFSET_OUT_OF_RANGE: [u8; 2] = [0x6B, 0x00];
const SW_INS_NOT_SUPPORTED: [u8; 2] = [0x6D, 0x00];
const SW_CLA_NOT_SUPPORTED: [u8; 2] = [0x6E, 0x00];

/// The citizen data a [`DemoCard`] carries. Synthetic data only: never a real person.
///
/// All text is MRZ text: upper-case ASCII letters, digits and spaces (no Vietnamese diacritics;
/// the MRZ transliterates them).
#[derive(Clone, PartialEq, Eq)]
pub struct CardProfile {
    /// The 12-digit ID number.
    pub id_number: String,
    /// Surname, e.g. `NGUYEN`.
    pub surname: String,
    /// Given names separated by spaces, e.g. `VAN AN`.
    pub given_names: String,
    /// Date of birth, `YYMMDD`.
    pub dob: String,
    /// `'M'`, `'F'` or `'<'` (unspecified).
    pub sex: char,
    /// Expiry date, `YYMMDD`.
    pub expiry: String,
}

// Hand-written so that logging a profile never prints citizen data, like `Personal`.
impl fmt::Debug for CardProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardProfile(<redacted>)")
    }
}

/// Why a [`CardProfile`] cannot be encoded as a TD1 MRZ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The ID number is not exactly 12 ASCII digits.
    #[error("the ID number must be exactly 12 digits")]
    IdNumber,
    /// A date is not 6 ASCII digits (`YYMMDD`).
    #[error("the {0} must be 6 digits, YYMMDD")]
    Date(&'static str),
    /// The sex is not `M`, `F` or `<`.
    #[error("the sex must be 'M', 'F' or '<'")]
    Sex,
    /// A name holds characters outside `A`-`Z` and space.
    #[error("the {0} may hold only A-Z and spaces (transliterate diacritics first)")]
    Name(&'static str),
}

impl CardProfile {
    /// The synthetic citizen of the test suite: ID `001090123456`, `NGUYEN VAN AN`, male, born
    /// 1990-01-01, card expiring 2030-01-01.
    pub fn demo() -> Self {
        Self {
            id_number: "001090123456".into(),
            surname: "NGUYEN".into(),
            given_names: "VAN AN".into(),
            dob: "900101".into(),
            sex: 'M',
            expiry: "300101".into(),
        }
    }

    /// The 9-digit document number: the last 9 digits of the ID number.
    ///
    /// # Errors
    ///
    /// [`ProfileError::IdNumber`] if the ID number is not 12 digits.
    pub fn document_number(&self) -> Result<&str, ProfileError> {
        let id = &self.id_number;
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProfileError::IdNumber);
        }
        // All bytes are ASCII digits, so index 3 is a char boundary.
        Ok(&id[3..])
    }

    /// The three 30-character lines of the TD1 MRZ, concatenated (90 characters).
    ///
    /// Line 1: `IDVNM`, document number, its check digit, optional data starting with the full
    /// 12-digit ID number. Line 2: date of birth and check digit, sex, expiry and check digit,
    /// nationality `VNM`, filler, composite check digit. Line 3: `SURNAME<<GIVEN<NAMES`,
    /// truncated to 30 characters when too long.
    ///
    /// # Errors
    ///
    /// A [`ProfileError`] naming the first field that cannot be encoded.
    pub fn td1_mrz(&self) -> Result<String, ProfileError> {
        let doc = self.document_number()?;
        let date_ok = |d: &str| d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit());
        if !date_ok(&self.dob) {
            return Err(ProfileError::Date("date of birth"));
        }
        if !date_ok(&self.expiry) {
            return Err(ProfileError::Date("expiry date"));
        }
        if !matches!(self.sex, 'M' | 'F' | '<') {
            return Err(ProfileError::Sex);
        }
        let name_ok = |n: &str| n.bytes().all(|b| b.is_ascii_uppercase() || b == b' ');
        if !name_ok(&self.surname) {
            return Err(ProfileError::Name("surname"));
        }
        if !name_ok(&self.given_names) {
            return Err(ProfileError::Name("given names"));
        }

        let pad = |s: String| format!("{s:<<30}");
        let line1 = pad(format!(
            "IDVNM{doc}{}{}",
            mrz_check_digit(doc),
            self.id_number
        ));
        let line2_body = format!(
            "{}{}{}{}{}VNM",
            self.dob,
            mrz_check_digit(&self.dob),
            self.sex,
            self.expiry,
            mrz_check_digit(&self.expiry),
        );
        let line2_body = format!("{line2_body:<<29}");
        // Composite: line 1 from position 6, line 2 positions 1-7, 9-15 and 19-29 (ICAO 9303-5).
        let composite_input = format!(
            "{}{}{}{}",
            &line1[5..30],
            &line2_body[0..7],
            &line2_body[8..15],
            &line2_body[18..29]
        );
        let line2 = format!("{line2_body}{}", mrz_check_digit(&composite_input));

        let to_mrz = |s: &str| s.split_whitespace().collect::<Vec<_>>().join("<");
        let mut line3 = format!("{}<<{}", to_mrz(&self.surname), to_mrz(&self.given_names));
        line3.truncate(30);
        let line3 = pad(line3);

        Ok(format!("{line1}{line2}{line3}"))
    }

    /// The DG1 file: `61 L { 5F1F 5A <90 MRZ bytes> }`.
    ///
    /// # Errors
    ///
    /// As [`CardProfile::td1_mrz`].
    pub fn dg1(&self) -> Result<Vec<u8>, ProfileError> {
        let mrz = self.td1_mrz()?;
        let mut inner = vec![0x5F, 0x1F];
        push_der_length(&mut inner, mrz.len());
        inner.extend_from_slice(mrz.as_bytes());
        let mut dg1 = vec![0x61];
        push_der_length(&mut dg1, inner.len());
        dg1.extend_from_slice(&inner);
        Ok(dg1)
    }
}

/// Appends a BER/DER definite length (short form below 128, long form otherwise).
fn push_der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// EF.COM listing DG1 only: `60 { 5F01 "0107", 5F36 "040000", 5C { 61 } }`.
fn ef_com() -> Vec<u8> {
    let mut inner = Vec::new();
    inner.extend_from_slice(&[0x5F, 0x01, 0x04]);
    inner.extend_from_slice(b"0107");
    inner.extend_from_slice(&[0x5F, 0x36, 0x06]);
    inner.extend_from_slice(b"040000");
    inner.extend_from_slice(&[0x5C, 0x01, 0x61]);
    let mut com = vec![0x60];
    push_der_length(&mut com, inner.len());
    com.extend_from_slice(&inner);
    com
}

/// Which elementary file is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ef {
    Com,
    Dg1,
}

/// An unprotected ICAO-9303-shaped card (see the module docs for what it does not do).
pub struct DemoCard {
    com: Vec<u8>,
    dg1: Vec<u8>,
    app_selected: bool,
    current: Option<Ef>,
}

impl fmt::Debug for DemoCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoCard")
            .field("app_selected", &self.app_selected)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl DemoCard {
    /// A card carrying `profile`.
    ///
    /// # Errors
    ///
    /// A [`ProfileError`] if the profile cannot be encoded as a TD1 MRZ.
    pub fn new(profile: &CardProfile) -> Result<Self, ProfileError> {
        Ok(Self {
            com: ef_com(),
            dg1: profile.dg1()?,
            app_selected: false,
            current: None,
        })
    }

    /// A card carrying [`CardProfile::demo`].
    pub fn demo() -> Self {
        Self {
            com: ef_com(),
            // The demo profile is a valid constant; the test suite checks it encodes.
            dg1: CardProfile::demo().dg1().unwrap_or_default(),
            app_selected: false,
            current: None,
        }
    }

    fn file(&self, ef: Ef) -> &[u8] {
        match ef {
            Ef::Com => &self.com,
            Ef::Dg1 => &self.dg1,
        }
    }

    fn select(&mut self, p1: u8, data: &[u8]) -> [u8; 2] {
        match p1 {
            // Select by DF name (AID).
            0x04 => {
                if data == LDS_AID {
                    self.app_selected = true;
                    self.current = None;
                    SW_OK
                } else {
                    SW_FILE_NOT_FOUND
                }
            }
            // Select an EF under the current DF, by FID.
            0x02 => {
                let ef = match data {
                    d if d == FID_COM => Ef::Com,
                    d if d == FID_DG1 => Ef::Dg1,
                    _ => return SW_FILE_NOT_FOUND,
                };
                if !self.app_selected {
                    return SW_FILE_NOT_FOUND;
                }
                self.current = Some(ef);
                SW_OK
            }
            // Select MF / by path: real CCCD chips refuse this with 6D00.
            0x00 | 0x08 | 0x09 => SW_INS_NOT_SUPPORTED,
            _ => SW_WRONG_P1P2,
        }
    }

    fn read_binary(&mut self, p1: u8, p2: u8, le: usize) -> Vec<u8> {
        let (ef, offset) = if p1 & 0x80 != 0 {
            // Short file identifier in P1 bits 1-5, offset in P2; also selects the file.
            let ef = match p1 & 0x1F {
                SFI_COM => Ef::Com,
                SFI_DG1 => Ef::Dg1,
                _ => return SW_FILE_NOT_FOUND.to_vec(),
            };
            if !self.app_selected {
                return SW_FILE_NOT_FOUND.to_vec();
            }
            self.current = Some(ef);
            (ef, usize::from(p2))
        } else {
            match self.current {
                Some(ef) => (ef, usize::from(p1) << 8 | usize::from(p2)),
                None => return SW_NO_CURRENT_EF.to_vec(),
            }
        };
        let file = self.file(ef);
        if offset >= file.len() {
            return SW_OFFSET_OUT_OF_RANGE.to_vec();
        }
        // A short read (fewer bytes than Le at the end of the file) answers 9000 with what is
        // there, as the eMRTD readers we target expect.
        let end = file.len().min(offset + le);
        let mut out = file[offset..end].to_vec();
        out.extend_from_slice(&SW_OK);
        out
    }
}

/// A short command APDU split into its parts (ISO 7816-4 cases 1 to 4, short length only).
struct Command<'a> {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: &'a [u8],
    /// Expected response length; `Le = 00` means 256.
    le: Option<usize>,
}

fn parse_command(apdu: &[u8]) -> Option<Command<'_>> {
    let (&[cla, ins, p1, p2], body) = apdu.split_first_chunk::<4>()?;
    let le_of = |b: u8| if b == 0 { 256 } else { usize::from(b) };
    let (data, le) = match body {
        [] => (&[][..], None),
        [le] => (&[][..], Some(le_of(*le))),
        [lc, rest @ ..] => {
            let lc = usize::from(*lc);
            if lc == 0 {
                // Extended length is not supported by this card.
                return None;
            }
            match rest.len().checked_sub(lc)? {
                0 => (rest, None),
                1 => (&rest[..lc], rest.get(lc).map(|b| le_of(*b))),
                _ => return None,
            }
        }
    };
    Some(Command {
        cla,
        ins,
        p1,
        p2,
        data,
        le,
    })
}

impl VirtualCard for DemoCard {
    fn atr(&self) -> Vec<u8> {
        DEMO_ATR.to_vec()
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Some(cmd) = parse_command(apdu) else {
            return SW_WRONG_LENGTH.to_vec();
        };
        if cmd.cla != 0x00 {
            // Includes 0C (secure messaging), which this card does not speak yet.
            return SW_CLA_NOT_SUPPORTED.to_vec();
        }
        match cmd.ins {
            0xA4 => self.select(cmd.p1, cmd.data).to_vec(),
            0xB0 => self.read_binary(cmd.p1, cmd.p2, cmd.le.unwrap_or(256)),
            _ => SW_INS_NOT_SUPPORTED.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw(resp: &[u8]) -> u16 {
        let n = resp.len();
        u16::from_be_bytes([resp[n - 2], resp[n - 1]])
    }

    #[test]
    fn demo_profile_mrz_is_the_expected_td1() {
        let mrz = CardProfile::demo().td1_mrz().expect("demo profile encodes");
        assert_eq!(mrz.len(), 90);
        assert_eq!(&mrz[0..30], "IDVNM0901234562001090123456<<<");
        // The BAC MRZ information string is embedded as expected.
        assert_eq!(&mrz[5..15], "0901234562");
        assert_eq!(&mrz[30..37], "9001011");
        assert_eq!(&mrz[38..45], "3001019");
        assert_eq!(&mrz[30..60], "9001011M3001019VNM<<<<<<<<<<<3");
        assert_eq!(&mrz[60..90], "NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<");
    }

    #[test]
    fn composite_check_digit_matches_recomputation() {
        let mrz = CardProfile::demo().td1_mrz().expect("demo profile encodes");
        let composite = format!(
            "{}{}{}{}",
            &mrz[5..30],
            &mrz[30..37],
            &mrz[38..45],
            &mrz[48..59]
        );
        let cd = mrz_check_digit(&composite);
        assert_eq!(mrz.as_bytes()[59], b'0' + cd);
    }

    #[test]
    fn dg1_tlv_layout() {
        let dg1 = CardProfile::demo().dg1().expect("demo profile encodes");
        assert_eq!(dg1.len(), 95);
        assert_eq!(&dg1[..5], &[0x61, 0x5D, 0x5F, 0x1F, 0x5A]);
    }

    #[test]
    fn invalid_profiles_are_rejected() {
        let mut p = CardProfile::demo();
        p.id_number = "12345".into();
        assert_eq!(p.td1_mrz(), Err(ProfileError::IdNumber));
        let mut p = CardProfile::demo();
        p.surname = "NGUYỄN".into();
        assert_eq!(p.td1_mrz(), Err(ProfileError::Name("surname")));
        let mut p = CardProfile::demo();
        p.sex = 'X';
        assert_eq!(p.td1_mrz(), Err(ProfileError::Sex));
        let mut p = CardProfile::demo();
        p.expiry = "3001".into();
        assert_eq!(p.td1_mrz(), Err(ProfileError::Date("expiry date")));
    }

    #[test]
    fn long_names_are_truncated() {
        let mut p = CardProfile::demo();
        p.given_names = "THI THANH HUONG NGOC LAN ANH MAI".into();
        let mrz = p.td1_mrz().expect("encodes");
        assert_eq!(mrz.len(), 90);
        assert_eq!(&mrz[60..90], "NGUYEN<<THI<THANH<HUONG<NGOC<L");
    }

    #[test]
    fn status_words() {
        let mut card = DemoCard::demo();
        // EF select before the application is selected.
        assert_eq!(
            sw(&card.process(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01])),
            0x6A82
        );
        // READ BINARY without a current EF.
        assert_eq!(sw(&card.process(&[0x00, 0xB0, 0x00, 0x00, 0x04])), 0x6986);
        // SELECT MF is refused like on real CCCD chips.
        assert_eq!(
            sw(&card.process(&[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00])),
            0x6D00
        );
        // Wrong AID.
        assert_eq!(
            sw(&card.process(&[0x00, 0xA4, 0x04, 0x0C, 0x02, 0xA0, 0x00])),
            0x6A82
        );
        let mut select_aid = vec![0x00, 0xA4, 0x04, 0x0C, 0x07];
        select_aid.extend_from_slice(&LDS_AID);
        assert_eq!(card.process(&select_aid), vec![0x90, 0x00]);
        // DG2 is not served.
        assert_eq!(
            sw(&card.process(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x02])),
            0x6A82
        );
        // Unknown instruction, secure messaging class, malformed APDUs.
        assert_eq!(sw(&card.process(&[0x00, 0x84, 0x00, 0x00, 0x08])), 0x6D00);
        assert_eq!(sw(&card.process(&[0x0C, 0xB0, 0x00, 0x00, 0x04])), 0x6E00);
        assert_eq!(
            sw(&card.process(&[0x00, 0xA4, 0x02, 0x0C, 0x05, 0x01])),
            0x6700
        );
        assert_eq!(sw(&card.process(&[0x00, 0xA4])), 0x6700);
    }

    #[test]
    fn read_binary_offsets_short_reads_and_past_end() {
        let mut card = DemoCard::demo();
        let mut select_aid = vec![0x00, 0xA4, 0x04, 0x0C, 0x07];
        select_aid.extend_from_slice(&LDS_AID);
        card.process(&select_aid);
        assert_eq!(
            card.process(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E]),
            vec![0x90, 0x00]
        );
        let com = ef_com();
        let r = card.process(&[0x00, 0xB0, 0x00, 0x00, 0x04]);
        assert_eq!(&r[..4], &com[..4]);
        assert_eq!(sw(&r), 0x9000);
        // Short read at the end.
        let r = card.process(&[0x00, 0xB0, 0x00, 0x10, 0xFF]);
        assert_eq!(&r[..r.len() - 2], &com[0x10..]);
        // Le = 00 means 256.
        let r = card.process(&[0x00, 0xB0, 0x00, 0x00, 0x00]);
        assert_eq!(&r[..r.len() - 2], &com[..]);
        // Past the end.
        let len = com.len() as u8;
        assert_eq!(
            card.process(&[0x00, 0xB0, 0x00, len, 0x01]),
            vec![0x6B, 0x00]
        );
        assert_eq!(
            card.process(&[0x00, 0xB0, 0x01, 0x00, 0x01]),
            vec![0x6B, 0x00]
        );
        // Read by SFI (DG1 = 01), offset in P2.
        let dg1 = CardProfile::demo().dg1().expect("encodes");
        let r = card.process(&[0x00, 0xB0, 0x81, 0x02, 0x03]);
        assert_eq!(&r[..3], &dg1[2..5]);
    }
}
