//! TD1 machine-readable zone (ICAO 9303 part 5) as served in data group 1 of the CCCD chip.
//!
//! Pure: bytes in, typed fields out. No chip protocol lives here (PACE, secure messaging and
//! DG13 are a later issue); this module only understands the DG1 the demo card serves:
//! `61 L { 5F1F 5A <90 bytes of MRZ> }`.
//!
//! Layout of the three 30-character lines (0-based offsets):
//! - line 1: `0..2` document code, `2..5` issuing state, `5..14` document number, `14` check
//!   digit, `15..30` optional data. On the CCCD the optional data starts with the 12-digit
//!   personal identification number.
//! - line 2: `0..6` date of birth, `6` check digit, `7` sex, `8..14` expiry, `14` check digit,
//!   `15..18` nationality, `18..29` optional data, `29` composite check digit.
//! - line 3: name, `SURNAME<<GIVEN<NAMES`, padded with `<`.
//!
//! Everything that identifies the holder is returned as [`Personal`] so that a stray `{:?}` in
//! a log line prints `<redacted>` rather than a citizen's number.

use kiosk_hw::personal::Personal;

/// Length of one TD1 line.
pub const LINE_LEN: usize = 30;
/// Length of a whole TD1 MRZ (three lines, no separators).
pub const TD1_LEN: usize = 90;

const TAG_DG1: u8 = 0x61;
const TAG_MRZ: [u8; 2] = [0x5F, 0x1F];

/// A field protected by a check digit, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MrzField {
    /// Line 1, document number.
    DocumentNumber,
    /// Line 2, date of birth.
    DateOfBirth,
    /// Line 2, date of expiry.
    DateOfExpiry,
    /// Line 2, composite check digit.
    Composite,
}

/// Why a DG1 or MRZ was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MrzError {
    /// The bytes end before the structure does.
    #[error("DG1 is truncated")]
    Truncated,
    /// A BER-TLV tag other than the expected one.
    #[error("unexpected tag {found:02X?}, expected {expected:02X?}")]
    UnexpectedTag {
        /// The tag the structure requires.
        expected: Vec<u8>,
        /// The tag found.
        found: Vec<u8>,
    },
    /// A length that is malformed or does not match the content.
    #[error("malformed BER length")]
    BadLength,
    /// The MRZ is not 90 characters long (TD3 passports have 88, TD2 72).
    #[error("MRZ has {0} characters; a TD1 has 90")]
    NotTd1(usize),
    /// A character outside `A-Z`, `0-9` and `<`.
    #[error("invalid MRZ character at offset {0}")]
    InvalidCharacter(usize),
    /// A character that is valid MRZ but not in this field (e.g. a letter in a date).
    #[error("invalid {0:?}")]
    InvalidField(MrzField),
    /// A check digit does not match its field.
    #[error("check digit mismatch for {field:?}: computed {computed}, found {found}")]
    CheckDigit {
        /// The protected field.
        field: MrzField,
        /// The digit computed from the field.
        computed: u8,
        /// The digit printed in the MRZ.
        found: u8,
    },
    /// Sex is not `M`, `F` or `<`.
    #[error("invalid sex marker")]
    InvalidSex,
    /// The optional data does not start with a 12-digit ID number.
    #[error("optional data does not start with a 12-digit ID number")]
    InvalidIdNumber,
    /// A date that is not a calendar date (month 13, day 0...).
    #[error("invalid date in {0:?}")]
    InvalidDate(MrzField),
}

/// Sex as printed in the MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// `M`.
    Male,
    /// `F`.
    Female,
    /// `<`: unspecified.
    Unspecified,
}

impl zeroize::Zeroize for Sex {
    fn zeroize(&mut self) {
        // A fieldless enum holds no secret beyond its discriminant; resetting it is all
        // `Personal<Sex>` needs on drop.
        *self = Self::Unspecified;
    }
}

impl Sex {
    fn from_byte(b: u8) -> Result<Self, MrzError> {
        match b {
            b'M' => Ok(Self::Male),
            b'F' => Ok(Self::Female),
            b'<' => Ok(Self::Unspecified),
            _ => Err(MrzError::InvalidSex),
        }
    }

    fn to_byte(self) -> u8 {
        match self {
            Self::Male => b'M',
            Self::Female => b'F',
            Self::Unspecified => b'<',
        }
    }
}

/// A `YYMMDD` date. The century is not in the MRZ: [`MrzDate::year_with_pivot`] resolves it
/// with a pivot the caller supplies (this module has no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MrzDate {
    /// Two-digit year.
    pub yy: u8,
    /// Month, 1..=12.
    pub month: u8,
    /// Day, 1..=31.
    pub day: u8,
}

impl zeroize::Zeroize for MrzDate {
    fn zeroize(&mut self) {
        self.yy.zeroize();
        self.month.zeroize();
        self.day.zeroize();
    }
}

impl MrzDate {
    /// Parses `YYMMDD`.
    ///
    /// # Errors
    /// [`MrzError::InvalidField`] on non-digits, [`MrzError::InvalidDate`] on an impossible
    /// month or day.
    pub fn parse(s: &[u8], field: MrzField) -> Result<Self, MrzError> {
        if s.len() != 6 || !s.iter().all(u8::is_ascii_digit) {
            return Err(MrzError::InvalidField(field));
        }
        let two = |i: usize| (s[i] - b'0') * 10 + (s[i + 1] - b'0');
        let (yy, month, day) = (two(0), two(2), two(4));
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(MrzError::InvalidDate(field));
        }
        Ok(Self { yy, month, day })
    }

    /// Full year: `20yy` if `yy <= pivot`, else `19yy`. For a birth date pass the current
    /// two-digit year; for an expiry pass e.g. current + 50.
    #[must_use]
    pub fn year_with_pivot(&self, pivot: u8) -> u16 {
        if self.yy <= pivot {
            2000 + u16::from(self.yy)
        } else {
            1900 + u16::from(self.yy)
        }
    }

    fn to_digits(self) -> String {
        format!("{:02}{:02}{:02}", self.yy, self.month, self.day)
    }
}

/// A parsed TD1 MRZ.
#[derive(Debug)]
pub struct Td1 {
    /// Document code, e.g. `ID` or `I<`.
    pub document_code: String,
    /// Issuing state, e.g. `VNM`.
    pub issuing_state: String,
    /// Document number without filler (`090123456`).
    pub document_number: Personal<String>,
    /// The 12-digit personal ID number from the optional data, when present.
    pub id_number: Option<Personal<String>>,
    /// Optional data of line 1 as printed (with filler), kept for the composite digit.
    pub optional_data_1: Personal<String>,
    /// Date of birth.
    pub date_of_birth: Personal<MrzDate>,
    /// Sex.
    pub sex: Personal<Sex>,
    /// Date of expiry.
    pub date_of_expiry: MrzDate,
    /// Nationality, e.g. `VNM`.
    pub nationality: String,
    /// Optional data of line 2 as printed (with filler).
    pub optional_data_2: Personal<String>,
    /// Surname (primary identifier), words separated by spaces.
    pub surname: Personal<String>,
    /// Given names (secondary identifier), words separated by spaces.
    pub given_names: Personal<String>,
}

/// ICAO 9303 check digit: weights 7, 3, 1 repeating; `<` is 0, digits their value,
/// `A`..`Z` are 10..35; sum modulo 10.
///
/// # Errors
/// [`MrzError::InvalidCharacter`] with the offset inside `field` of a character outside the
/// MRZ alphabet.
pub fn check_digit(field: &[u8]) -> Result<u8, MrzError> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, &c) in field.iter().enumerate() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            b'<' => 0,
            _ => return Err(MrzError::InvalidCharacter(i)),
        };
        sum += v * WEIGHTS[i % 3];
    }
    // `sum % 10` is below 10, so the narrowing cannot lose anything.
    Ok((sum % 10) as u8)
}

fn verify(field: MrzField, data: &[u8], digit: u8) -> Result<(), MrzError> {
    let computed = check_digit(data)?;
    if !digit.is_ascii_digit() {
        return Err(MrzError::InvalidField(field));
    }
    let found = digit - b'0';
    if computed == found {
        Ok(())
    } else {
        Err(MrzError::CheckDigit {
            field,
            computed,
            found,
        })
    }
}

/// One BER-TLV element: tag bytes, content, and the bytes after it.
type Tlv<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// Reads one BER-TLV element at the start of `input`.
fn read_tlv(input: &[u8]) -> Result<Tlv<'_>, MrzError> {
    let first = *input.first().ok_or(MrzError::Truncated)?;
    // Multi-byte tag when the low five bits are all set (ISO 7816-4 / X.690).
    let tag_len = if first & 0x1F == 0x1F {
        let mut n = 1;
        loop {
            let b = *input.get(n).ok_or(MrzError::Truncated)?;
            n += 1;
            if b & 0x80 == 0 {
                break n;
            }
        }
    } else {
        1
    };
    let (tag, rest) = input.split_at(tag_len);
    let l0 = *rest.first().ok_or(MrzError::Truncated)?;
    let (len, header) = match l0 {
        0x00..=0x7F => (usize::from(l0), 1),
        0x81 => (usize::from(*rest.get(1).ok_or(MrzError::Truncated)?), 2),
        0x82 => {
            let hi = *rest.get(1).ok_or(MrzError::Truncated)?;
            let lo = *rest.get(2).ok_or(MrzError::Truncated)?;
            (usize::from(u16::from_be_bytes([hi, lo])), 3)
        }
        _ => return Err(MrzError::BadLength),
    };
    let body = &rest[header..];
    if body.len() < len {
        return Err(MrzError::Truncated);
    }
    let (content, tail) = body.split_at(len);
    Ok((tag, content, tail))
}

/// Parses DG1 (`61 { 5F1F <MRZ> }`) holding a TD1 MRZ.
///
/// # Errors
/// Any [`MrzError`]: wrong tags or lengths, a non-TD1 MRZ, bad characters, a failed check digit.
pub fn parse_dg1(dg1: &[u8]) -> Result<Td1, MrzError> {
    let (tag, content, _) = read_tlv(dg1)?;
    if tag != [TAG_DG1] {
        return Err(MrzError::UnexpectedTag {
            expected: vec![TAG_DG1],
            found: tag.to_vec(),
        });
    }
    let (tag, mrz, _) = read_tlv(content)?;
    if tag != TAG_MRZ {
        return Err(MrzError::UnexpectedTag {
            expected: TAG_MRZ.to_vec(),
            found: tag.to_vec(),
        });
    }
    parse_td1(mrz)
}

fn text(bytes: &[u8]) -> String {
    // Callers only pass slices already checked to be MRZ characters (ASCII).
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn strip_filler(bytes: &[u8]) -> String {
    text(bytes).trim_end_matches('<').to_owned()
}

/// Parses a 90-character TD1 MRZ (three lines concatenated, no newlines).
///
/// # Errors
/// Any [`MrzError`] except the TLV ones.
pub fn parse_td1(mrz: &[u8]) -> Result<Td1, MrzError> {
    if mrz.len() != TD1_LEN {
        return Err(MrzError::NotTd1(mrz.len()));
    }
    if let Some(i) = mrz
        .iter()
        .position(|&c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'<'))
    {
        return Err(MrzError::InvalidCharacter(i));
    }
    let (l1, rest) = mrz.split_at(LINE_LEN);
    let (l2, l3) = rest.split_at(LINE_LEN);

    verify(MrzField::DocumentNumber, &l1[5..14], l1[14])?;
    verify(MrzField::DateOfBirth, &l2[0..6], l2[6])?;
    verify(MrzField::DateOfExpiry, &l2[8..14], l2[14])?;
    let mut composite = Vec::with_capacity(60);
    composite.extend_from_slice(&l1[5..30]);
    composite.extend_from_slice(&l2[0..7]);
    composite.extend_from_slice(&l2[8..15]);
    composite.extend_from_slice(&l2[18..29]);
    verify(MrzField::Composite, &composite, l2[29])?;

    let date_of_birth = MrzDate::parse(&l2[0..6], MrzField::DateOfBirth)?;
    let date_of_expiry = MrzDate::parse(&l2[8..14], MrzField::DateOfExpiry)?;
    let sex = Sex::from_byte(l2[7])?;

    // The CCCD puts the full 12-digit number first in the optional data; a document without
    // it (a foreign TD1) simply has no ID number, but a partial number is an error.
    let opt1 = &l1[15..30];
    let id_number = if opt1[0] == b'<' {
        None
    } else if opt1[..12].iter().all(u8::is_ascii_digit) && !opt1[12].is_ascii_digit() {
        Some(Personal::new(text(&opt1[..12])))
    } else {
        return Err(MrzError::InvalidIdNumber);
    };

    let name = text(l3);
    let name = name.trim_end_matches('<');
    let (surname, given) = name.split_once("<<").unwrap_or((name, ""));
    let words = |s: &str| {
        s.split('<')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };

    Ok(Td1 {
        document_code: strip_filler(&l1[0..2]),
        issuing_state: strip_filler(&l1[2..5]),
        document_number: Personal::new(strip_filler(&l1[5..14])),
        id_number,
        optional_data_1: Personal::new(text(opt1)),
        date_of_birth: Personal::new(date_of_birth),
        sex: Personal::new(sex),
        date_of_expiry,
        nationality: strip_filler(&l2[15..18]),
        optional_data_2: Personal::new(text(&l2[18..29])),
        surname: Personal::new(words(surname)),
        given_names: Personal::new(words(given)),
    })
}

fn pad(s: &str, len: usize) -> Result<Vec<u8>, MrzError> {
    let mut v: Vec<u8> = s
        .bytes()
        .map(|b| if b == b' ' { b'<' } else { b })
        .collect();
    if v.len() > len {
        return Err(MrzError::NotTd1(v.len()));
    }
    if let Some(i) = v
        .iter()
        .position(|&c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'<'))
    {
        return Err(MrzError::InvalidCharacter(i));
    }
    v.resize(len, b'<');
    Ok(v)
}

impl Td1 {
    /// Encodes the MRZ back to 90 characters, computing every check digit. Used by the demo
    /// card simulator and by tests; names longer than the line are refused, not truncated,
    /// because truncation rules belong to the issuer.
    ///
    /// # Errors
    /// [`MrzError::InvalidCharacter`] for characters outside the MRZ alphabet (spaces are
    /// turned into `<`), [`MrzError::NotTd1`] when a field is too long.
    pub fn encode(&self) -> Result<Vec<u8>, MrzError> {
        let mut l1 = pad(&self.document_code, 2)?;
        l1.extend(pad(&self.issuing_state, 3)?);
        let doc = pad(self.document_number.expose(), 9)?;
        let cd = check_digit(&doc)?;
        l1.extend(doc);
        l1.push(b'0' + cd);
        l1.extend(pad(self.optional_data_1.expose(), 15)?);

        let dob = self.date_of_birth.expose().to_digits().into_bytes();
        let exp = self.date_of_expiry.to_digits().into_bytes();
        let mut l2 = dob.clone();
        l2.push(b'0' + check_digit(&dob)?);
        l2.push(self.sex.expose().to_byte());
        l2.extend_from_slice(&exp);
        l2.push(b'0' + check_digit(&exp)?);
        l2.extend(pad(&self.nationality, 3)?);
        l2.extend(pad(self.optional_data_2.expose(), 11)?);
        let mut composite = l1[5..30].to_vec();
        composite.extend_from_slice(&l2[0..7]);
        composite.extend_from_slice(&l2[8..15]);
        composite.extend_from_slice(&l2[18..29]);
        l2.push(b'0' + check_digit(&composite)?);

        let name = format!("{}<<{}", self.surname.expose(), self.given_names.expose());
        let l3 = pad(&name, LINE_LEN)?;

        let mut out = l1;
        out.extend(l2);
        out.extend(l3);
        Ok(out)
    }

    /// Wraps [`Td1::encode`] in the DG1 structure `61 { 5F1F <MRZ> }`.
    ///
    /// # Errors
    /// As [`Td1::encode`].
    pub fn encode_dg1(&self) -> Result<Vec<u8>, MrzError> {
        let mrz = self.encode()?;
        // 90 bytes of MRZ + 3 header bytes: both lengths fit the short form (< 128).
        let mut out = vec![TAG_DG1, 0x5D, TAG_MRZ[0], TAG_MRZ[1], 0x5A];
        out.extend(mrz);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cd(s: &str) -> u8 {
        check_digit(s.as_bytes()).expect("valid MRZ characters")
    }

    #[test]
    fn check_digit_vectors() {
        let table = [
            ("L898902C<", 3),
            ("690806", 1),
            ("940623", 6),
            ("090123456", 2),
            ("900101", 1),
            // The issue text gives 1 for `300101`; by the 7-3-1 rule it is
            // 3*7 + 0*3 + 0*1 + 1*7 + 0*3 + 1*1 = 29, so 9.
            ("300101", 9),
        ];
        for (field, expect) in table {
            assert_eq!(cd(field), expect, "{field}");
        }
        assert_eq!(check_digit(b"ab"), Err(MrzError::InvalidCharacter(0)));
    }

    fn synthetic() -> Td1 {
        Td1 {
            document_code: "ID".into(),
            issuing_state: "VNM".into(),
            document_number: Personal::new("090123456".into()),
            id_number: Some(Personal::new("001090123456".into())),
            optional_data_1: Personal::new("001090123456<<<".into()),
            date_of_birth: Personal::new(MrzDate {
                yy: 90,
                month: 1,
                day: 1,
            }),
            sex: Personal::new(Sex::Male),
            date_of_expiry: MrzDate {
                yy: 30,
                month: 1,
                day: 1,
            },
            nationality: "VNM".into(),
            optional_data_2: Personal::new(String::new()),
            surname: Personal::new("NGUYEN".into()),
            given_names: Personal::new("VAN AN".into()),
        }
    }

    #[test]
    fn synthetic_cccd_round_trip() {
        let dg1 = synthetic().encode_dg1().expect("encodable");
        let mrz = std::str::from_utf8(&dg1[5..]).expect("ascii");
        assert_eq!(&mrz[0..30], "IDVNM0901234562001090123456<<<");
        assert_eq!(&mrz[30..48], "9001011M3001019VNM");
        assert_eq!(&mrz[60..90], "NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<");

        let td1 = parse_dg1(&dg1).expect("parses");
        assert_eq!(td1.document_code, "ID");
        assert_eq!(td1.issuing_state, "VNM");
        assert_eq!(td1.document_number.expose(), "090123456");
        assert_eq!(
            td1.id_number.as_ref().map(|p| p.expose().as_str()),
            Some("001090123456")
        );
        assert_eq!(
            *td1.date_of_birth.expose(),
            MrzDate {
                yy: 90,
                month: 1,
                day: 1
            }
        );
        assert_eq!(td1.date_of_birth.expose().year_with_pivot(26), 1990);
        assert_eq!(*td1.sex.expose(), Sex::Male);
        assert_eq!(td1.date_of_expiry.year_with_pivot(76), 2030);
        assert_eq!(td1.nationality, "VNM");
        assert_eq!(td1.surname.expose(), "NGUYEN");
        assert_eq!(td1.given_names.expose(), "VAN AN");
        assert_eq!(td1.encode().expect("re-encodes"), dg1[5..].to_vec());
    }

    #[test]
    fn icao_specimen_td1() {
        // ICAO 9303 part 5 specimen (Utopia), document number with filler.
        let mrz = b"I<UTOD231458907<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<";
        let td1 = parse_td1(mrz).expect("specimen parses");
        assert_eq!(td1.document_number.expose(), "D23145890");
        assert!(td1.id_number.is_none());
        assert_eq!(td1.given_names.expose(), "ANNA MARIA");
        assert_eq!(*td1.sex.expose(), Sex::Female);
    }

    #[test]
    fn tampering_is_detected() {
        let good = synthetic().encode_dg1().expect("encodable");
        let check = |offset: usize, byte: u8, expect: &dyn Fn(&MrzError) -> bool| {
            let mut dg1 = good.clone();
            dg1[5 + offset] = byte;
            let err = parse_dg1(&dg1).expect_err("tampered MRZ must fail");
            assert!(expect(&err), "offset {offset}: {err:?}");
        };
        let digit = |f: MrzField| move |e: &MrzError| matches!(e, MrzError::CheckDigit { field, .. } if *field == f);
        check(5, b'1', &digit(MrzField::DocumentNumber));
        check(14, b'9', &digit(MrzField::DocumentNumber));
        check(36, b'7', &digit(MrzField::DateOfBirth));
        check(44, b'0', &digit(MrzField::DateOfExpiry));
        // Optional data is covered by the composite digit only.
        check(20, b'9', &digit(MrzField::Composite));
        check(59, b'0', &digit(MrzField::Composite));
        check(37, b'X', &|e| *e == MrzError::InvalidSex);
        check(0, b'a', &|e| *e == MrzError::InvalidCharacter(0));
    }

    #[test]
    fn structural_errors() {
        let good = synthetic().encode_dg1().expect("encodable");
        assert_eq!(parse_dg1(&[]).err(), Some(MrzError::Truncated));
        assert_eq!(parse_dg1(&good[..50]).err(), Some(MrzError::Truncated));
        let mut wrong = good.clone();
        wrong[0] = 0x62;
        assert!(matches!(
            parse_dg1(&wrong),
            Err(MrzError::UnexpectedTag { .. })
        ));
        assert_eq!(parse_td1(&[b'<'; 88]).err(), Some(MrzError::NotTd1(88)));
        // A partial ID number in the optional data is refused rather than guessed.
        let mut t = synthetic();
        t.optional_data_1 = Personal::new("00109012<<<<<<<".into());
        let dg1 = t.encode_dg1().expect("encodable");
        assert_eq!(parse_dg1(&dg1).err(), Some(MrzError::InvalidIdNumber));
    }
}
