//! ICAO 9303 check digits.
//!
//! Pure functions: the MRZ check digit protects the document number, dates and the whole MRZ
//! line, and the BAC key seed is derived from these very fields, so the demo card and the
//! protocol code must agree on them exactly.

/// The ICAO 9303 (part 3, section 4.9) check digit of `field`.
///
/// Each character gets a value (`0`-`9` their digit, `A`-`Z` 10-35, `<` 0), multiplied by the
/// repeating weights 7, 3, 1; the check digit is the sum modulo 10. Characters outside the MRZ
/// alphabet (which a valid MRZ never contains) count as 0 like the filler `<`; validate input
/// before relying on the result.
///
/// ```
/// use kiosk_hw::card::mrz_check_digit;
///
/// assert_eq!(mrz_check_digit("L898902C<"), 3);
/// assert_eq!(mrz_check_digit("090123456"), 2);
/// ```
pub fn mrz_check_digit(field: &str) -> u8 {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let sum: u32 = field
        .bytes()
        .zip(WEIGHTS.iter().cycle())
        .map(|(c, w)| {
            let value = match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A'..=b'Z' => u32::from(c - b'A') + 10,
                _ => 0,
            };
            value * w
        })
        .sum();
    // `sum % 10` is below 10, so it always fits in a u8.
    (sum % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::mrz_check_digit;

    fn check(field: &str, expected: u8) {
        assert_eq!(mrz_check_digit(field), expected, "check digit of {field:?}");
    }

    #[test]
    fn icao_9303_part_11_worked_example() {
        check("L898902C<", 3);
        check("690806", 1);
        check("940623", 6);
    }

    #[test]
    fn cccd_synthetic_vector() {
        check("090123456", 2);
        check("900101", 1);
        // 3*7 + 1*7 + 1*1 = 29: the check digit is 9, as the information string below shows.
        check("300101", 9);
        // The MRZ information string used for the BAC key seed.
        let info = format!(
            "{}{}{}{}{}{}",
            "090123456",
            mrz_check_digit("090123456"),
            "900101",
            mrz_check_digit("900101"),
            "300101",
            mrz_check_digit("300101")
        );
        assert_eq!(info, "090123456290010113001019");
    }

    #[test]
    fn filler_and_empty() {
        check("", 0);
        check("<<<<<<", 0);
        check("A", 0); // 10 * 7 = 70
        check("Z", 5); // 35 * 7 = 245
    }
}
