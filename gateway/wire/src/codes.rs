//! Codes and dates of the gateway protocol: pure functions, time and randomness passed in.
//!
//! - Dossier code (`MaHoSo`): `<agency>-<YYMMDD>-<NNNN>`, e.g. `000.00.01.H29-260105-0001`,
//!   as observed on the national portal.
//! - Lookup code (`MaTraCuu`): 8 characters from [`LOOKUP_ALPHABET`], which leaves out `0 O 1 I`
//!   so a citizen typing it from paper cannot confuse them. 32 symbols, 40 bits: guessing one
//!   for a known dossier code is hopeless, which is what makes the status lookup safe.
//! - Portal times: `yyyyMMddHHmmss` in Asia/Ho_Chi_Minh (UTC+7 all year, no daylight saving).

use rand::{Rng, RngExt};
use time::{Date, Duration, PrimitiveDateTime, Time, UtcOffset, Weekday};

use crate::dto::SubmissionKind;

/// Symbols of a lookup code: digits 2-9 and A-Z without I and O.
pub const LOOKUP_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Length of a lookup code.
pub const LOOKUP_LEN: usize = 8;
/// Vietnam's UTC offset. Hard-coded rather than read from the tz database: the kiosk image
/// may have no tzdata and Vietnam has not changed its offset since 1975.
pub const VIETNAM_OFFSET: UtcOffset = time::macros::offset!(+7);

/// Whether `s` is a well-formed lookup code.
pub fn is_lookup_code(s: &str) -> bool {
    s.len() == LOOKUP_LEN && s.bytes().all(|b| LOOKUP_ALPHABET.contains(&b))
}

/// A fresh random lookup code.
pub fn generate_lookup_code(rng: &mut impl Rng) -> String {
    (0..LOOKUP_LEN)
        .map(|_| char::from(LOOKUP_ALPHABET[rng.random_range(0..LOOKUP_ALPHABET.len())]))
        .collect()
}

/// Whether `s` is a well-formed agency code: 1 to 32 characters of `A-Z 0-9 .`, starting and
/// ending with an alphanumeric (e.g. `000.00.01.H29`). Looser than the observed pattern on
/// purpose: provinces differ, and the code is only ever compared, never interpreted.
pub fn is_agency_code(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=32).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'.')
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// Whether `s` is a well-formed dossier code `<agency>-<YYMMDD>-<NNNN>` (4 to 6 digits of
/// sequence, a real calendar date).
pub fn is_dossier_code(s: &str) -> bool {
    let mut parts = s.rsplitn(3, '-');
    let (Some(seq), Some(day), Some(agency)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    is_agency_code(agency)
        && (4..=6).contains(&seq.len())
        && digits(seq)
        && day.len() == 6
        && digits(day)
        && parse_digits_date(&format!("20{day}")).is_some()
}

/// The dossier code of the `seq`-th dossier (from 1) an agency received on `day`.
pub fn dossier_code(agency: &str, day: Date, seq: u32) -> String {
    format!(
        "{agency}-{:02}{:02}{:02}-{seq:04}",
        day.year().rem_euclid(100),
        u8::from(day.month()),
        day.day()
    )
}

/// When the result of a dossier received at `received` is returned: `working_days` working
/// days later (Saturday and Sunday skipped) for a procedure, at the same time of day; the same
/// moment for a clinic, which serves the citizen today.
///
/// Public holidays are not known to the demo; the real gateway computes the date from the
/// province's calendar and the kiosk only prints what it answers.
pub fn appointment(
    received: PrimitiveDateTime,
    kind: SubmissionKind,
    working_days: u8,
) -> PrimitiveDateTime {
    if kind == SubmissionKind::Clinic {
        return received;
    }
    let mut day = received.date();
    let mut left = working_days;
    while left > 0 {
        day += Duration::days(1);
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    PrimitiveDateTime::new(day, received.time())
}

/// Now, in Vietnam's local time.
pub fn now_vietnam() -> PrimitiveDateTime {
    let now = time::OffsetDateTime::now_utc().to_offset(VIETNAM_OFFSET);
    PrimitiveDateTime::new(now.date(), now.time())
}

/// Formats a time as `yyyyMMddHHmmss`.
pub fn format_portal_time(t: PrimitiveDateTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses `yyyyMMddHHmmss`; `None` unless it is 14 digits naming a real moment.
pub fn parse_portal_time(s: &str) -> Option<PrimitiveDateTime> {
    if s.len() != 14 {
        return None;
    }
    let date = parse_digits_date(s.get(0..8)?)?;
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u8>().ok();
    let time = Time::from_hms(n(8..10)?, n(10..12)?, n(12..14)?).ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// Parses `yyyyMMdd` (digits only).
fn parse_digits_date(s: &str) -> Option<Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = s.get(0..4)?.parse::<i32>().ok()?;
    let month = time::Month::try_from(s.get(4..6)?.parse::<u8>().ok()?).ok()?;
    let day = s.get(6..8)?.parse::<u8>().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use time::macros::datetime;

    #[test]
    fn appointment_skips_weekends() {
        let check = |received: PrimitiveDateTime, expected: PrimitiveDateTime| {
            assert_eq!(
                appointment(received, SubmissionKind::Tthc, 3),
                expected,
                "{received}"
            );
        };
        // 2026-01-05 is a Monday.
        check(datetime!(2026-01-05 09:30), datetime!(2026-01-08 09:30));
        check(datetime!(2026-01-07 09:30), datetime!(2026-01-12 09:30)); // Wed -> Mon
        check(datetime!(2026-01-09 16:00), datetime!(2026-01-14 16:00)); // Fri -> Wed
        check(datetime!(2026-01-10 08:00), datetime!(2026-01-14 08:00)); // Sat -> Wed
        check(datetime!(2026-01-11 08:00), datetime!(2026-01-14 08:00)); // Sun -> Wed
        let t = datetime!(2026-01-10 08:00);
        assert_eq!(appointment(t, SubmissionKind::Clinic, 3), t);
    }

    #[test]
    fn dossier_codes() {
        let code = dossier_code("000.00.01.H29", time::macros::date!(2026 - 01 - 05), 7);
        assert_eq!(code, "000.00.01.H29-260105-0007");
        assert!(is_dossier_code(&code));
        for bad in [
            "",
            "000.00.01.H29-260105",
            "000.00.01.H29-261305-0001",
            "000.00.01.H29-260105-001",
            "000.00.01.h29-260105-0001",
            "-260105-0001",
            "000.00.01.H29-260105-0001|x",
        ] {
            assert!(!is_dossier_code(bad), "{bad}");
        }
    }

    #[test]
    fn lookup_codes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let code = generate_lookup_code(&mut rng);
            assert!(is_lookup_code(&code), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I']));
        }
        assert!(!is_lookup_code("ABCDEFG"));
        assert!(!is_lookup_code("ABCDEFG0"));
        assert!(!is_lookup_code("abcdefgh"));
    }

    #[test]
    fn portal_times() {
        let t = datetime!(2026-01-05 09:03:07);
        assert_eq!(format_portal_time(t), "20260105090307");
        assert_eq!(parse_portal_time("20260105090307"), Some(t));
        for bad in [
            "2026010509030",
            "20260105250000",
            "20260230090000",
            "2026-1-05090307",
        ] {
            assert_eq!(parse_portal_time(bad), None, "{bad}");
        }
    }
}
