//! [`CivilDate`]: the calendar dates a QR code carries, without any clock or time zone.

use std::fmt;

use zeroize::Zeroize;

/// A proleptic Gregorian calendar date, years 1900..=2100 (what an identity document can
/// carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Zeroize)]
pub struct CivilDate {
    // Field order matters: the derived `Ord` compares year, then month, then day.
    year: u16,
    month: u8,
    day: u8,
}

/// Years a document date may carry.
pub const YEARS: std::ops::RangeInclusive<u16> = 1900..=2100;

impl CivilDate {
    /// The date, if it exists in the calendar and its year is in [`YEARS`].
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        if !YEARS.contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        (1..=days_in_month(year, month))
            .contains(&day)
            .then_some(Self { year, month, day })
    }

    /// Parses `ddmmyyyy` (the QR's form): exactly 8 ASCII digits naming a real date.
    pub fn parse_ddmmyyyy(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| {
            b[r].iter()
                .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'))
        };
        // Two-digit values fit u8.
        Self::new(num(4..8), num(2..4) as u8, num(0..2) as u8)
    }

    /// Year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// Month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// Day of the month.
    pub fn day(self) -> u8 {
        self.day
    }

    /// `YYMMDD`, as in the MRZ and the BAC key seed.
    pub fn yymmdd(self) -> String {
        format!("{:02}{:02}{:02}", self.year % 100, self.month, self.day)
    }

    /// The same day and month `years` later; 29 February becomes 28 February in a common
    /// year (`None` past 2100).
    pub fn add_years(self, years: u16) -> Option<Self> {
        let year = self.year.checked_add(years)?;
        let day = self.day.min(days_in_month(year, self.month));
        Self::new(year, self.month, day)
    }
}

impl fmt::Display for CivilDate {
    /// `dd/mm/yyyy`, the Vietnamese form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }
}

fn is_leap(year: u16) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let check = |s: &str, want: Option<(u16, u8, u8)>| {
            let got = CivilDate::parse_ddmmyyyy(s).map(|d| (d.year(), d.month(), d.day()));
            assert_eq!(got, want, "{s}");
        };
        check("01011990", Some((1990, 1, 1)));
        check("29022000", Some((2000, 2, 29)));
        check("29021900", None);
        check("31021990", None);
        check("31041990", None);
        check("00011990", None);
        check("01131990", None);
        check("01011899", None);
        check("0101199", None);
        check("0101199x", None);
        check("０1011990", None);
    }

    #[test]
    fn arithmetic_and_text() {
        let d = CivilDate::new(1992, 2, 29).expect("leap day");
        assert_eq!(
            d.add_years(25).map(|d| d.to_string()),
            Some("28/02/2017".into())
        );
        assert_eq!(d.add_years(28).map(|d| d.yymmdd()), Some("200229".into()));
        assert_eq!(d.add_years(200), None);
        assert!(CivilDate::new(1990, 1, 2) > CivilDate::new(1989, 12, 31));
    }
}
