//! The QR code printed on a CCCD, and the chip access inputs it gives.
//!
//! Layout (seven `|`-separated fields, no expiry):
//! `ID12|old CMND (9 digits or empty)|FULL NAME|ddmmyyyy (birth)|Nam or Nữ|address|ddmmyyyy (issue)`.
//! Readers in the wild accept six or more fields; the newer "Căn cước" card's layout is not
//! confirmed, so fields past the seventh are kept as a count and reported, never guessed at.

use kiosk_hw::Personal;
use thiserror::Error;
use unicode_normalization::UnicodeNormalization as _;

use crate::date::CivilDate;

/// The longest name accepted (characters); real names are far shorter.
pub const MAX_NAME_CHARS: usize = 128;
/// The longest address accepted (characters).
pub const MAX_ADDRESS_CHARS: usize = 512;

/// Sex as the card writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, zeroize::Zeroize)]
pub enum Sex {
    /// `Nam`.
    Male,
    /// `Nữ`.
    Female,
}

impl Sex {
    /// The Vietnamese word the card prints.
    pub fn as_vietnamese(self) -> &'static str {
        match self {
            Self::Male => "Nam",
            Self::Female => "Nữ",
        }
    }
}

/// A parsed CCCD QR code. Every field is personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct CccdQr {
    id_number: Personal<String>,
    old_id_number: Option<Personal<String>>,
    full_name: Personal<String>,
    date_of_birth: Personal<CivilDate>,
    sex: Personal<Sex>,
    address: Option<Personal<String>>,
    issue_date: Option<Personal<CivilDate>>,
    extra_fields: usize,
}

/// Which field of a CCCD QR code is wrong, and how. Carries no value from the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CccdError {
    /// Fewer than six `|`-separated fields.
    #[error("a CCCD QR code has 7 fields separated by '|'; this one has {0}")]
    TooFewFields(usize),
    /// The ID number is not 12 ASCII digits.
    #[error("the ID number (field 1) is not 12 digits")]
    IdNumber,
    /// The old CMND number is neither empty nor 9 digits.
    #[error("the old ID number (field 2) is neither empty nor 9 digits")]
    OldIdNumber,
    /// The name is empty, too long or holds control characters.
    #[error("the full name (field 3) is empty, over {MAX_NAME_CHARS} characters or has control characters")]
    Name,
    /// The date of birth is not a real `ddmmyyyy` date in 1900..=2100.
    #[error("the date of birth (field 4) is not a real ddmmyyyy date")]
    DateOfBirth,
    /// The sex is neither `Nam` nor `Nữ`.
    #[error("the sex (field 5) is neither 'Nam' nor 'Nữ'")]
    Sex,
    /// The address is too long or holds control characters.
    #[error(
        "the address (field 6) is over {MAX_ADDRESS_CHARS} characters or has control characters"
    )]
    Address,
    /// The issue date is not a real `ddmmyyyy` date, or is before the date of birth.
    #[error("the issue date (field 7) is not a real ddmmyyyy date on or after the date of birth")]
    IssueDate,
}

impl CccdQr {
    /// Parses a CCCD QR payload. Text is normalised to NFC (cards and phones may hold
    /// decomposed tone marks); surrounding white space of each field is ignored, as is a
    /// trailing CR/LF a scanner may add.
    ///
    /// # Errors
    ///
    /// [`CccdError`] naming the first wrong field.
    pub fn parse(text: &str) -> Result<Self, CccdError> {
        let text = text.trim_end_matches(['\r', '\n']);
        let fields: Vec<&str> = text.split('|').map(str::trim).collect();
        if fields.len() < 6 {
            return Err(CccdError::TooFewFields(fields.len()));
        }
        let id = fields[0];
        if !is_digits(id, 12) {
            return Err(CccdError::IdNumber);
        }
        let old = fields[1];
        if !old.is_empty() && !is_digits(old, 9) {
            return Err(CccdError::OldIdNumber);
        }
        let name: String = fields[2].nfc().collect();
        if !is_text(&name, MAX_NAME_CHARS) || name.is_empty() {
            return Err(CccdError::Name);
        }
        let dob = CivilDate::parse_ddmmyyyy(fields[3]).ok_or(CccdError::DateOfBirth)?;
        let sex_word: String = fields[4].nfc().collect::<String>().to_lowercase();
        let sex = match sex_word.as_str() {
            "nam" => Sex::Male,
            "nữ" => Sex::Female,
            _ => return Err(CccdError::Sex),
        };
        let address: String = fields[5].nfc().collect();
        if !is_text(&address, MAX_ADDRESS_CHARS) {
            return Err(CccdError::Address);
        }
        let issue_date = match fields.get(6).copied() {
            None | Some("") => None,
            Some(s) => {
                let d = CivilDate::parse_ddmmyyyy(s).ok_or(CccdError::IssueDate)?;
                if d < dob {
                    return Err(CccdError::IssueDate);
                }
                Some(Personal::new(d))
            }
        };
        Ok(Self {
            id_number: Personal::new(id.to_owned()),
            old_id_number: (!old.is_empty()).then(|| Personal::new(old.to_owned())),
            full_name: Personal::new(name),
            date_of_birth: Personal::new(dob),
            sex: Personal::new(sex),
            address: (!address.is_empty()).then(|| Personal::new(address)),
            issue_date,
            extra_fields: fields.len().saturating_sub(7),
        })
    }

    /// The 12-digit ID number.
    pub fn id_number(&self) -> &Personal<String> {
        &self.id_number
    }

    /// The old 9-digit CMND number, when the card carries one.
    pub fn old_id_number(&self) -> Option<&Personal<String>> {
        self.old_id_number.as_ref()
    }

    /// Full name, NFC.
    pub fn full_name(&self) -> &Personal<String> {
        &self.full_name
    }

    /// Date of birth.
    pub fn date_of_birth(&self) -> &Personal<CivilDate> {
        &self.date_of_birth
    }

    /// Sex.
    pub fn sex(&self) -> &Personal<Sex> {
        &self.sex
    }

    /// Address (place of residence), NFC, when not empty.
    pub fn address(&self) -> Option<&Personal<String>> {
        self.address.as_ref()
    }

    /// Issue date; `None` for six-field codes or an empty seventh field.
    pub fn issue_date(&self) -> Option<&Personal<CivilDate>> {
        self.issue_date.as_ref()
    }

    /// Fields after the seventh, which this parser does not understand (a newer layout).
    pub fn extra_fields(&self) -> usize {
        self.extra_fields
    }

    /// What the chip needs to open, derived from the code.
    pub fn chip_access(&self) -> ChipAccess {
        let id = self.id_number.expose();
        // `parse` checked 12 ASCII digits, so these byte ranges are in bounds and on char
        // boundaries.
        let dob = *self.date_of_birth.expose();
        let issue = self.issue_date.as_ref().map(|d| *d.expose());
        ChipAccess {
            can: Personal::new(id[6..].to_owned()),
            document_number: Personal::new(id[3..].to_owned()),
            date_of_birth: Personal::new(dob.yymmdd()),
            expiry: expiry_candidates(dob, issue),
        }
    }
}

/// The inputs for PACE-CAN and BAC, derived from the ID number, birth and issue dates.
#[derive(Debug, Clone, PartialEq)]
pub struct ChipAccess {
    /// PACE CAN: the last 6 digits of the ID number (the card prints no separate CAN).
    pub can: Personal<String>,
    /// BAC document number: the last 9 digits of the ID number (TD1 MRZ line 1).
    pub document_number: Personal<String>,
    /// Date of birth, `YYMMDD`.
    pub date_of_birth: Personal<String>,
    /// Expiry dates to try for BAC, most likely first; see [`expiry_candidates`].
    pub expiry: ExpiryCandidates,
}

/// The card's expiry as far as the CCCD rule tells it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ExpiryCandidates {
    /// Dates to try for BAC (`YYMMDD`), most likely first.
    Dates(Personal<Vec<String>>),
    /// The card was issued at 58 or later and does not expire. What its MRZ carries is not
    /// confirmed: open it with PACE-CAN, or try the MRZ read from the card.
    NoExpiry,
}

/// The ages at which a CCCD expires (on the holder's birthday).
pub const EXPIRY_AGES: [u16; 3] = [25, 40, 60];

/// Expiry candidates after the CCCD rule: the card expires on the holder's birthday in the
/// year they turn 25, 40 or 60, the first of those more than 2 years after the issue date;
/// with no such age left (issued at 58 or later) it does not expire.
///
/// With the issue date known, the rule's date comes first, followed by the other ages' dates
/// still ahead of the issue (in case the "more than 2 years" boundary is applied differently);
/// without it (six-field codes), every age's date. A 29 February birthday in a common year
/// gives 28 February first, then 1 March, as the MRZ's choice is not confirmed.
pub fn expiry_candidates(dob: CivilDate, issue: Option<CivilDate>) -> ExpiryCandidates {
    let birthdays: Vec<CivilDate> = EXPIRY_AGES
        .iter()
        .filter_map(|&age| dob.add_years(age))
        .collect();
    let ordered: Vec<CivilDate> = match issue {
        Some(issued) => {
            let Some(limit) = issued.add_years(2) else {
                return ExpiryCandidates::NoExpiry;
            };
            let Some(first) = birthdays.iter().position(|&b| b > limit) else {
                return ExpiryCandidates::NoExpiry;
            };
            let mut v = vec![birthdays[first]];
            // The neighbours that are still after the issue date.
            v.extend(
                birthdays
                    .iter()
                    .enumerate()
                    .filter(|&(i, &b)| i != first && b > issued)
                    .map(|(_, &b)| b),
            );
            v
        }
        None => birthdays,
    };
    let mut dates = Vec::new();
    for d in ordered {
        dates.push(d.yymmdd());
        let leap_day = dob.month() == 2 && dob.day() == 29;
        if leap_day && d.day() == 28 {
            if let Some(march) = CivilDate::new(d.year(), 3, 1) {
                dates.push(march.yymmdd());
            }
        }
    }
    ExpiryCandidates::Dates(Personal::new(dates))
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// At most `max` characters and no control characters.
fn is_text(s: &str, max: usize) -> bool {
    s.chars().count() <= max && !s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str =
        "001090123456||Nguyễn Văn An|01011990|Nam|Số 1 Phố Giả Định, Hà Nội|01012021";

    #[test]
    fn brief_vector() {
        let q = CccdQr::parse(DEMO).expect("parses");
        let a = q.chip_access();
        assert_eq!(a.can.expose(), "123456");
        assert_eq!(a.document_number.expose(), "090123456");
        assert_eq!(a.date_of_birth.expose(), "900101");
        match &a.expiry {
            ExpiryCandidates::Dates(d) => {
                assert_eq!(d.expose().first().map(String::as_str), Some("300101"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(q.sex().expose(), &Sex::Male);
        assert_eq!(q.old_id_number(), None);
        assert_eq!(q.extra_fields(), 0);
        let dbg = format!("{q:?}{a:?}");
        assert!(!dbg.contains("123456") && !dbg.contains("Nguy"), "{dbg}");
    }

    fn check(text: &str, want: Result<(), CccdError>) {
        assert_eq!(CccdQr::parse(text).map(|_| ()), want, "{text}");
    }

    #[test]
    fn fields() {
        check("001090123456|123456789|A|01011990|Nữ|x|01012021", Ok(()));
        check("001090123456||A|01011990|NAM|x", Ok(()));
        check(
            "001090123456||A|01011990|Nam|x|01012021|extra|more\r\n",
            Ok(()),
        );
        check("001090123456||A|01011990|Nam|x|", Ok(()));
        check("001090123456||A|01011990|Nam|", Ok(()));
        check("hello", Err(CccdError::TooFewFields(1)));
        check(
            "001090123456||A|01011990|Nam",
            Err(CccdError::TooFewFields(5)),
        );
        check(
            "0010901234567||A|01011990|Nam|x|01012021",
            Err(CccdError::IdNumber),
        );
        check(
            "00109012345a||A|01011990|Nam|x|01012021",
            Err(CccdError::IdNumber),
        );
        check(
            "001090123456|12345|A|01011990|Nam|x|01012021",
            Err(CccdError::OldIdNumber),
        );
        check(
            "001090123456|| |01011990|Nam|x|01012021",
            Err(CccdError::Name),
        );
        check(
            "001090123456||A\u{7}B|01011990|Nam|x|01012021",
            Err(CccdError::Name),
        );
        check(
            "001090123456||A|31021990|Nam|x|01012021",
            Err(CccdError::DateOfBirth),
        );
        check(
            "001090123456||A|01011990|Male|x|01012021",
            Err(CccdError::Sex),
        );
        check(
            "001090123456||A|01011990|Nam|x|01011980",
            Err(CccdError::IssueDate),
        );
        check(
            "001090123456||A|01011990|Nam|x|32012021",
            Err(CccdError::IssueDate),
        );
        let long = "x".repeat(MAX_ADDRESS_CHARS + 1);
        check(
            &format!("001090123456||A|01011990|Nam|{long}|01012021"),
            Err(CccdError::Address),
        );
    }

    #[test]
    fn nfd_input_comes_out_nfc() {
        let nfd: String = "Nguyễn Thị Hồng Nhung".nfd().collect();
        let sex: String = "Nữ".nfd().collect();
        let q = CccdQr::parse(&format!(
            "001190123456||{nfd}|29021992|{sex}|Hà Nội|01012021"
        ))
        .expect("parses");
        assert_eq!(q.full_name().expose(), "Nguyễn Thị Hồng Nhung");
        assert_eq!(q.sex().expose(), &Sex::Female);
    }

    fn dates(dob: (u16, u8, u8), issue: Option<(u16, u8, u8)>) -> Option<Vec<String>> {
        let d = |(y, m, dd)| CivilDate::new(y, m, dd).expect("valid");
        match expiry_candidates(d(dob), issue.map(d)) {
            ExpiryCandidates::Dates(v) => Some(v.expose().clone()),
            _ => None,
        }
    }

    #[test]
    fn expiry_rule() {
        // Issued at 31: expires at 40.
        assert_eq!(
            dates((1990, 1, 1), Some((2021, 1, 1))),
            Some(vec!["300101".into(), "500101".into()])
        );
        // Issued at 23 and a half: 25 is less than 2 years away, so 40.
        assert_eq!(
            dates((2000, 1, 1), Some((2023, 6, 1))).map(|v| v[0].clone()),
            Some("400101".into())
        );
        // Issued at 14: 25.
        assert_eq!(
            dates((2010, 5, 6), Some((2024, 5, 6))).map(|v| v[0].clone()),
            Some("350506".into())
        );
        // Exactly 2 years before 60 is not "more than 2 years": no expiry.
        assert_eq!(dates((1960, 3, 1), Some((2018, 3, 1))), None);
        assert_eq!(dates((1950, 3, 1), Some((2021, 3, 1))), None);
        // No issue date: every age.
        assert_eq!(
            dates((1990, 1, 1), None),
            Some(vec!["150101".into(), "300101".into(), "500101".into()])
        );
        // 29 February in a common year: 28 February, then 1 March.
        assert_eq!(
            dates((1992, 2, 29), Some((2010, 1, 1))).map(|v| v[..2].to_vec()),
            Some(vec!["170228".into(), "170301".into()])
        );
    }
}
