//! Synthetic citizens: plausible, valid CCCD QR payloads for people who do not exist.
//!
//! Tests, the demo, the frame generator and the benchmark use these, never a real card. The
//! ID numbers follow the CCCD structure (province code, century-and-sex digit, two-digit birth
//! year, six digits) so the derived CAN, document number and dates are consistent; names and
//! addresses are drawn from short fixed lists, with streets that say "Giả Định" (made up).
//! Deterministic per seed.

use crate::date::CivilDate;

/// The brief's test vector: ID `001090123456` (CAN `123456`, document number `090123456`),
/// born 01/01/1990, issued 01/01/2021 (so expiring 01/01/2030). Same person as the demo card.
pub const DEMO_QR: &str =
    "001090123456||Nguyễn Văn An|01011990|Nam|Số 1 Phố Giả Định, Hà Nội|01012021";

const SURNAMES: [&str; 8] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Vũ", "Đặng",
];
const MIDDLE_M: [&str; 4] = ["Văn", "Đức", "Minh", "Quốc"];
const MIDDLE_F: [&str; 4] = ["Thị", "Ngọc", "Thu", "Mỹ"];
const GIVEN_M: [&str; 6] = ["An", "Bình", "Cường", "Dũng", "Hải", "Tuấn"];
const GIVEN_F: [&str; 6] = ["Hoa", "Lan", "Hương", "Nhung", "Trang", "Yến"];
const CITIES: [(&str, &str); 5] = [
    ("001", "Hà Nội"),
    ("079", "Thành phố Hồ Chí Minh"),
    ("048", "Đà Nẵng"),
    ("031", "Hải Phòng"),
    ("092", "Cần Thơ"),
];

/// One synthetic citizen and the values a parser must derive from their QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticCitizen {
    /// 12-digit ID number.
    pub id_number: String,
    /// Old 9-digit CMND number, or empty.
    pub old_id_number: String,
    /// Full name (NFC).
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: CivilDate,
    /// `true` for `Nữ`.
    pub female: bool,
    /// Address (NFC).
    pub address: String,
    /// Issue date.
    pub issue_date: CivilDate,
}

impl SyntheticCitizen {
    /// The citizen for `seed`: born 1940..=2011, card issued 2016..=2025 at 14 or older.
    pub fn generate(seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let female = rng.below(2) == 1;
        let year = 1940 + rng.below(72) as u16;
        let month = 1 + rng.below(12) as u8;
        let day = 1 + rng.below(28) as u8;
        let dob = CivilDate::new(year, month, day).unwrap_or_else(|| unreachable!("day <= 28"));
        let first_issue = (year + 14).max(2016);
        let issue_year = first_issue + rng.below(u64::from(2026 - first_issue.min(2025))) as u16;
        let issue_date = CivilDate::new(
            issue_year.min(2025),
            1 + rng.below(12) as u8,
            1 + rng.below(28) as u8,
        )
        .unwrap_or_else(|| unreachable!("day <= 28"));
        let (province, city) = CITIES[rng.below(CITIES.len() as u64) as usize];
        // Century-and-sex digit: 0/1 for the 1900s, 2/3 for the 2000s; odd is female.
        let century = if year >= 2000 { 2 } else { 0 } + u8::from(female);
        let id_number = format!(
            "{province}{century}{:02}{:06}",
            year % 100,
            rng.below(1_000_000)
        );
        let old_id_number = if rng.below(2) == 0 {
            String::new()
        } else {
            format!("{:09}", rng.below(1_000_000_000))
        };
        let pick =
            |rng: &mut SplitMix, list: &[&'static str]| list[rng.below(list.len() as u64) as usize];
        let (middle, given) = if female {
            (&MIDDLE_F, &GIVEN_F)
        } else {
            (&MIDDLE_M, &GIVEN_M)
        };
        let full_name = format!(
            "{} {} {}",
            pick(&mut rng, &SURNAMES),
            pick(&mut rng, middle),
            pick(&mut rng, given)
        );
        let address = format!("Số {} Phố Giả Định, {city}", 1 + rng.below(200));
        Self {
            id_number,
            old_id_number,
            full_name,
            date_of_birth: dob,
            female,
            address,
            issue_date,
        }
    }

    /// The QR payload printed on this citizen's card.
    pub fn qr_text(&self) -> String {
        let d = |d: CivilDate| format!("{:02}{:02}{:04}", d.day(), d.month(), d.year());
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.id_number,
            self.old_id_number,
            self.full_name,
            d(self.date_of_birth),
            if self.female { "Nữ" } else { "Nam" },
            self.address,
            d(self.issue_date)
        )
    }

    /// The PACE CAN the chip expects: the last 6 digits of the ID number.
    pub fn can(&self) -> &str {
        &self.id_number[6..]
    }
}

/// SplitMix64, the same small generator the camera scenes use; reproducibility is the point.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{classify, Payload};

    #[test]
    fn synthetic_citizens_parse_back() {
        for seed in 0..500 {
            let c = SyntheticCitizen::generate(seed);
            let text = c.qr_text();
            let Ok(Payload::Cccd(q)) = classify(&text) else {
                panic!("seed {seed} does not parse");
            };
            assert_eq!(q.id_number().expose(), &c.id_number);
            assert_eq!(q.chip_access().can.expose(), c.can());
            assert_eq!(*q.date_of_birth().expose(), c.date_of_birth);
        }
        assert!(matches!(classify(DEMO_QR), Ok(Payload::Cccd(_))));
        assert_eq!(DEMO_QR, kiosk_hw::sim::DEMO_QR);
    }
}
