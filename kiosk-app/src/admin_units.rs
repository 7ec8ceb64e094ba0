//! Vietnam's administrative units after the 2025 reform: 34 provinces and centrally governed
//! cities, each with its wards and communes (two levels; districts were abolished on
//! 1 July 2025). The address picker of the dossier form chooses from them.
//!
//! The data comes from the PyPI package `vietnam-provinces` (GPL-3.0-or-later), whose
//! `data/nested-divisions.json` `cargo xtask setup` fetches pinned by SHA-256 into
//! `.kiosk-data/admin-units/`; a kiosk points `admin_units_file` at it. Without that file the
//! kiosk uses [`AdminUnits::sample`], a checked-in excerpt of five provinces
//! (`kiosk-app/data/admin-units-sample.json`, labelled as a sample in its `note`).
//!
//! Pure parsing (bytes in, values out) with serde; a hostile file is an error, never a panic.

use std::path::Path;

use serde::Deserialize;

/// A ward (phường) or commune (xã, đặc khu).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ward {
    /// Its code in the national list.
    pub code: u32,
    /// Its name, with its type ("Phường Ba Đình").
    pub name: String,
}

/// A province or centrally governed city.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Province {
    /// Its code in the national list.
    pub code: u32,
    /// Its name, with its type ("Tỉnh Lai Châu").
    pub name: String,
    /// Its wards and communes, in the file's order.
    pub wards: Vec<Ward>,
}

/// The file: the package's bare list, or the sample's `{note, provinces}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum File {
    List(Vec<Province>),
    Labelled {
        #[allow(dead_code)] // read by people, not by the kiosk
        note: String,
        provinces: Vec<Province>,
    },
}

/// The provinces and their wards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUnits {
    provinces: Vec<Province>,
    sample: bool,
}

/// The most provinces and wards a file may hold: a bound on a hostile file, well above the
/// 34 provinces and 3,321 wards of 2025.
const MAX_PROVINCES: usize = 100;
const MAX_WARDS: usize = 20_000;

impl AdminUnits {
    /// Parses the package's JSON (or the sample's).
    ///
    /// # Errors
    /// A sentence naming what is wrong: not the JSON of the package, no provinces, too many,
    /// a province without wards, a duplicate code or an empty name.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let (provinces, sample) = match serde_json::from_slice::<File>(bytes) {
            Ok(File::List(p)) => (p, false),
            Ok(File::Labelled { provinces, .. }) => (provinces, true),
            Err(e) => {
                return Err(format!(
                    "not the administrative-units JSON of the vietnam-provinces package \
                     (line {} column {})",
                    e.line(),
                    e.column()
                ))
            }
        };
        if provinces.is_empty() || provinces.len() > MAX_PROVINCES {
            return Err(format!(
                "{} provinces: expected 1 to {MAX_PROVINCES}",
                provinces.len()
            ));
        }
        let mut wards = 0usize;
        for (i, p) in provinces.iter().enumerate() {
            if p.name.trim().is_empty() || p.wards.is_empty() {
                return Err(format!("province {} has no name or no wards", p.code));
            }
            if provinces[..i].iter().any(|q| q.code == p.code) {
                return Err(format!("province code {} appears twice", p.code));
            }
            if p.wards.iter().any(|w| w.name.trim().is_empty()) {
                return Err(format!("a ward of province {} has no name", p.code));
            }
            wards = wards.saturating_add(p.wards.len());
        }
        if wards > MAX_WARDS {
            return Err(format!("{wards} wards: expected at most {MAX_WARDS}"));
        }
        Ok(Self { provinces, sample })
    }

    /// Loads `path`.
    ///
    /// # Errors
    /// The file cannot be read, or [`AdminUnits::from_json`]'s errors, prefixed with the path.
    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_json(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The checked-in sample: five provinces (Lai Châu, Lào Cai, Bắc Ninh, Ninh Bình,
    /// Thanh Hóa, those of the project's seed documents) with all their wards.
    #[must_use]
    pub fn sample() -> Self {
        // The file is part of the source tree and checked by a test; should it ever be
        // broken, an empty-but-valid picker is better than a kiosk that does not start.
        Self::from_json(include_bytes!("../data/admin-units-sample.json")).unwrap_or(Self {
            provinces: Vec::new(),
            sample: true,
        })
    }

    /// True for the checked-in sample (a `note` labels it).
    #[must_use]
    pub fn is_sample(&self) -> bool {
        self.sample
    }

    /// Every province, in the file's (official) order.
    #[must_use]
    pub fn provinces(&self) -> &[Province] {
        &self.provinces
    }

    /// The province with `code`.
    #[must_use]
    pub fn province(&self, code: u32) -> Option<&Province> {
        self.provinces.iter().find(|p| p.code == code)
    }

    /// The ward `ward` of province `province`.
    #[must_use]
    pub fn ward(&self, province: u32, ward: u32) -> Option<&Ward> {
        self.province(province)?
            .wards
            .iter()
            .find(|w| w.code == ward)
    }

    /// An address in words, as Vietnamese addresses are written (smallest part first):
    /// `street` (the typed house number and street, left out when empty), the ward, the
    /// province: `12 Lê Lợi, Phường Tân Phong, Tỉnh Lai Châu`. Empty when the ward is not
    /// one of the province's.
    #[must_use]
    pub fn address_words(&self, province: u32, ward: u32, street: &str) -> String {
        match (self.province(province), self.ward(province, ward)) {
            (Some(p), Some(w)) => {
                let street = street.trim();
                if street.is_empty() {
                    format!("{}, {}", w.name, p.name)
                } else {
                    format!("{street}, {}, {}", w.name, p.name)
                }
            }
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_smallest_part_first() {
        let u = AdminUnits::sample();
        let p = &u.provinces()[0];
        let w = &p.wards[0];
        let plain = format!("{}, {}", w.name, p.name);
        assert_eq!(u.address_words(p.code, w.code, ""), plain);
        assert_eq!(u.address_words(p.code, w.code, "  "), plain);
        assert_eq!(
            u.address_words(p.code, w.code, " 12 Lê Lợi "),
            format!("12 Lê Lợi, {plain}")
        );
        assert_eq!(u.address_words(p.code, 0, "12 Lê Lợi"), "", "not its ward");
    }

    #[test]
    fn the_sample_holds_five_whole_provinces() {
        let u = AdminUnits::sample();
        assert!(u.is_sample());
        let names: Vec<_> = u.provinces().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Tỉnh Lai Châu",
                "Tỉnh Lào Cai",
                "Tỉnh Bắc Ninh",
                "Tỉnh Ninh Bình",
                "Tỉnh Thanh Hóa"
            ]
        );
        let lai_chau = u.province(12).expect("Lai Châu");
        assert_eq!(lai_chau.wards.len(), 38);
        let first = &lai_chau.wards[0];
        assert_eq!(u.ward(12, first.code), Some(first));
        assert_eq!(
            u.ward(1, first.code),
            None,
            "not in Hà Nội (not in the sample)"
        );
    }

    #[test]
    fn the_package_list_form_and_bad_files() {
        let list = r#"[{"name":"Tỉnh A","code":1,"codename":"a","wards":[{"name":"Xã B","code":2,"codename":"b"}]}]"#;
        let u =
            AdminUnits::from_json(list.as_bytes()).expect("the package's form, extra keys ignored");
        assert!(!u.is_sample());
        assert_eq!(u.ward(1, 2).map(|w| w.name.as_str()), Some("Xã B"));
        for (bad, needle) in [
            (&b"[]"[..], "0 provinces"),
            (b"{", "not the administrative-units JSON"),
            (br#"[{"name":"A","code":1,"wards":[]}]"#, "no wards"),
            (
                br#"[{"name":"A","code":1,"wards":[{"name":"x","code":1}]},{"name":"B","code":1,"wards":[{"name":"y","code":2}]}]"#,
                "twice",
            ),
            (br#"[{"name":"A","code":-1,"wards":[]}]"#, "not the"),
        ] {
            let e = AdminUnits::from_json(bad).expect_err("refused");
            assert!(e.contains(needle), "{e}");
        }
    }
}
