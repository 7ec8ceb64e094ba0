//! The card profile file (TOML): who the card belongs to, how the chip behaves, and which faults
//! to inject. The format is documented in `hw/vcard/README.md`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A card profile, as read from TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The card holder.
    pub holder: Holder,
    /// Chip behaviour.
    #[serde(default)]
    pub chip: Chip,
    /// The test PKI's algorithms.
    #[serde(default)]
    pub pki: Pki,
    /// Fault switches.
    #[serde(default)]
    pub faults: Faults,
    /// What a reader must conclude about this card (for tests and demonstrations; the card
    /// itself ignores it).
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// The verdict a correct reader reaches on a profile's card.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `"verified"` (a genuine card) or `"refused"` (a forgery or a clone).
    pub outcome: String,
    /// For `"refused"`: the verdict code that refuses it, as `kioskctl card read --json`
    /// names it (e.g. `"hash_mismatch"`, `"csca_unknown"`, `"aa_failed"`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The card holder (synthetic data only).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    /// 12-digit ID number; the CAN is its last 6 digits, the MRZ document number its last 9.
    pub id_number: String,
    /// MRZ surname (A-Z, spaces).
    pub surname: String,
    /// MRZ given names (A-Z, spaces).
    pub given_names: String,
    /// Full name with diacritics (DG13 field 2).
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// `M` or `F`.
    pub sex: String,
    /// `YYYY-MM-DD`, or empty for "no expiry".
    #[serde(default)]
    pub expiry_date: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    /// DG13 fields 5-10.
    #[serde(default = "default_nationality")]
    pub nationality: String,
    /// Ethnicity.
    #[serde(default)]
    pub ethnicity: String,
    /// Religion.
    #[serde(default)]
    pub religion: String,
    /// Place of origin.
    #[serde(default)]
    pub place_of_origin: String,
    /// Place of residence.
    #[serde(default)]
    pub place_of_residence: String,
    /// Identifying marks.
    #[serde(default)]
    pub identifying_marks: String,
    /// Father's name.
    #[serde(default)]
    pub father: String,
    /// Mother's name.
    #[serde(default)]
    pub mother: String,
    /// Spouse's name; absent when unmarried (DG13 field 14 is then left out).
    #[serde(default)]
    pub spouse: Option<String>,
    /// Old (CMND) document number, DG13 field 15.
    #[serde(default)]
    pub old_id_number: Option<String>,
    /// Portrait image (JPEG or JPEG 2000), relative to the profile file.
    pub portrait: PathBuf,
}

impl std::fmt::Debug for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Holder(<redacted>)")
    }
}

fn default_nationality() -> String {
    "Việt Nam".into()
}

/// Chip behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Chip {
    /// Largest plaintext block one short READ BINARY returns.
    pub max_read: usize,
    /// Whether extended-length READ BINARY is accepted.
    pub extended_length: bool,
    /// Where a card that accepts extended length says so: `"ef.atr/info"` (EF.ATR/INFO with
    /// card capabilities and `7F66`), `"atr"` (the card capabilities in the ATR's historical
    /// bytes), `"both"`, or `"none"` (it works, but the card does not tell).
    pub extended_length_info: String,
    /// How the chip answers a protected command it cannot carry out because of the APDU's form
    /// (an extended Le it does not support): `"plain"` (ICAO 9303-11: a plain `6700`, secure
    /// messaging ended) or `"protected"` (a protected `6700`, the session kept).
    pub wrong_length_answer: String,
    /// Delay before every response, in milliseconds (a real reader's round trip is 15-30 ms).
    pub apdu_delay_ms: u64,
    /// `brainpoolP256r1` (CCCD) or `P-256`, for PACE, the PKI and Active Authentication.
    pub curve: String,
    /// Whether PACE is offered (EF.CardAccess present).
    pub pace: bool,
    /// Whether BAC is accepted.
    pub bac: bool,
    /// Whether the chip offers Chip Authentication (DG14 with ChipAuthenticationInfo
    /// id-CA-ECDH-AES-CBC-CMAC-128 and its public key on `curve`), as CCCD chips do.
    pub chip_authentication: bool,
    /// The Chip Authentication cipher DG14 names: `aes128` (CCCD), `aes192`, `aes256` or
    /// `3des` (MSE:Set KAT instead of GENERAL AUTHENTICATE).
    pub chip_auth_cipher: String,
    /// The Active Authentication key: `ecdsa` (on `curve`, SHA-256) or `ecdsa-HASH`, `rsa-BITS`
    /// (ISO/IEC 9796-2 with SHA-1, trailer `BC`) or `rsa-BITS-HASH` (trailer `xxCC`), BITS 2048,
    /// 3072 or 4096; `none` for a chip without DG15. HASH: `sha1`, `sha224`, `sha256`,
    /// `sha384`, `sha512`. An ECDSA key's hash is named in DG14 (ActiveAuthenticationInfo).
    pub aa: String,
}

impl Default for Chip {
    fn default() -> Self {
        Self {
            max_read: 223,
            extended_length: false,
            extended_length_info: "ef.atr/info".into(),
            wrong_length_answer: "plain".into(),
            apdu_delay_ms: 0,
            curve: "brainpoolP256r1".into(),
            pace: true,
            bac: true,
            chip_authentication: true,
            chip_auth_cipher: "aes128".into(),
            aa: "ecdsa".into(),
        }
    }
}

/// The test PKI: which key and signature algorithm the CSCA (for its own and the DS
/// certificate) and the Document Signer (for the SOD) use. Names as
/// `kiosk_icao9303::issue::key_and_algorithm`: `ecdsa-CURVE-HASH` (CURVE `p256`, `p384`, `p521`,
/// `bp256`, `bp384`, `bp512`) or `rsa-BITS-SCHEME-HASH` (BITS 2048/3072/4096, SCHEME `pkcs1` or
/// `pss`); HASH `sha224`, `sha256`, `sha384`, `sha512` (`sha1` only for weak-PKI tests).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pki {
    /// The CSCA's algorithm; empty: ECDSA on `chip.curve` with SHA-256.
    pub csca: String,
    /// The Document Signer's algorithm; empty: ECDSA on `chip.curve` with SHA-256.
    pub ds: String,
}

/// Fault switches.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Change one byte of DG2 after signing: passive authentication must say hash mismatch.
    pub tamper_dg2: bool,
    /// Sign with a DS whose CSCA is not the one exported as trusted.
    pub unknown_csca: bool,
    /// Pull the card away after this many APDUs (0: never).
    pub remove_after_apdu: u32,
    /// Stop answering after this many APDUs, staying in the field (0: never): a chip that
    /// hangs. The reader must give up on its own deadline.
    pub mute_after_apdu: u32,
    /// A cloned chip: DG15 holds one key, the chip signs with another (ECDSA, or RSA-2048
    /// with a second fixed test key) -> clone verdict `aa_failed`.
    pub aa_key_mismatch: bool,
    /// The SOD lists DG15 but the chip answers `6A82` for it (a clone hiding its missing
    /// key) -> `dg_missing`.
    pub hide_dg15: bool,
    /// The chip answers INTERNAL AUTHENTICATE with `6D00` -> `aa_refused`.
    pub aa_refused: bool,
    /// A cloned chip: DG14's Chip Authentication key is not the chip's -> `ca_failed`.
    pub ca_key_mismatch: bool,
    /// The chip answers Chip Authentication's MSE:Set AT with `6A80` under secure messaging
    /// (the session survives) -> `ca_refused`.
    pub ca_refused: bool,
    /// The CSCA certificate expired (2025-01-01) -> `csca_expired`.
    pub csca_expired: bool,
    /// The CSCA certificate is not a CA (no basicConstraints, keyUsage digitalSignature)
    /// -> `csca_not_ca`.
    pub csca_not_ca: bool,
    /// The SOD's SignerInfo declares an RSA-PSS salt of 2^64-1 bytes (needs a PSS `pki.ds`)
    /// -> `signature_invalid`, never a panic.
    pub pss_huge_salt: bool,
    /// The SOD (data group hashes and signature) uses SHA-1 -> `weak_algorithm`.
    pub sod_sha1: bool,
    /// The SOD's eContentType is id-data instead of the LDS security object
    /// -> `econtent_type_wrong`.
    pub econtent_type_wrong: bool,
    /// The DS certificate's keyUsage lacks digitalSignature -> `ds_key_usage`.
    pub ds_key_usage_wrong: bool,
    /// The DS certificate's inner signature algorithm field differs from the outer one
    /// -> `algorithm_mismatch`.
    pub ds_algorithm_mismatch: bool,
    /// The card claims extended length (in EF.ATR/INFO and the ATR) although it refuses it.
    pub claims_extended_length: bool,
}

/// `over`'s keys replace `base`'s, table by table.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// A profile failed to load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is invalid.
    #[error("{path}: {source}")]
    Toml {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// A value is invalid.
    #[error("{0}")]
    Invalid(String),
}

impl Profile {
    /// Reads a profile; the portrait path is resolved relative to the profile's folder.
    ///
    /// # Errors
    ///
    /// [`ProfileError`] naming the file and the problem.
    ///
    /// A profile may start from another one: `extends = "demo.toml"` (relative to the profile's
    /// folder) takes every table of that file, and this file's keys replace its keys one by
    /// one. Chains are followed up to 8 files deep.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let value = Self::load_table(path, 0)?;
        value.try_into().map_err(|source| ProfileError::Toml {
            path: path.to_owned(),
            source,
        })
    }

    /// The profile's TOML table with `extends` resolved and the portrait path made relative to
    /// the file that names it.
    fn load_table(path: &Path, depth: u8) -> Result<toml::Table, ProfileError> {
        if depth > 8 {
            return Err(ProfileError::Invalid(format!(
                "{}: `extends` chain deeper than 8 files (a loop?)",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|source| ProfileError::Toml {
                path: path.to_owned(),
                source,
            })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        if let Some(toml::Value::String(portrait)) =
            table.get_mut("holder").and_then(|h| h.get_mut("portrait"))
        {
            if Path::new(portrait.as_str()).is_relative() {
                *portrait = dir.join(portrait.as_str()).to_string_lossy().into_owned();
            }
        }
        match table.remove("extends") {
            None => Ok(table),
            Some(toml::Value::String(base)) => {
                let mut merged = Self::load_table(&dir.join(base), depth + 1)?;
                merge(&mut merged, table);
                Ok(merged)
            }
            Some(_) => Err(ProfileError::Invalid(format!(
                "{}: `extends` must be a file name",
                path.display()
            ))),
        }
    }

    /// The synthetic demo citizen of the test suite with the bundled portrait.
    pub fn demo(portrait: PathBuf) -> Self {
        Self {
            holder: Holder {
                id_number: "001090123456".into(),
                surname: "NGUYEN".into(),
                given_names: "VAN AN".into(),
                full_name: "Nguyễn Văn An".into(),
                date_of_birth: "1990-01-01".into(),
                sex: "M".into(),
                expiry_date: "2030-01-01".into(),
                issue_date: "2021-04-15".into(),
                nationality: default_nationality(),
                ethnicity: "Kinh".into(),
                religion: "Không".into(),
                place_of_origin: "Xã Thử Nghiệm, Huyện Mẫu, Tỉnh Giả Định".into(),
                place_of_residence: "Số 1 Đường Thử, Phường Mẫu, Quận Giả, Hà Nội".into(),
                identifying_marks: "Nốt ruồi C:1cm trên sau đầu mày phải".into(),
                father: "Nguyễn Văn Bình".into(),
                mother: "Trần Thị Cúc".into(),
                spouse: None,
                old_id_number: Some("012345678".into()),
                portrait,
            },
            chip: Chip::default(),
            pki: Pki::default(),
            faults: Faults::default(),
            expect: None,
        }
    }
}
