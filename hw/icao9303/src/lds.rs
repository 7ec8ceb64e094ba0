//! The Logical Data Structure (ICAO 9303-10): file identifiers, EF.COM, DG1 (TD1 MRZ), DG2
//! (face image), DG13 (Vietnamese data), DG14/DG15 (chip and active authentication keys).
//!
//! Parsers take the raw file bytes as read from the chip and borrow or copy out what they need;
//! the raw bytes stay with the caller for passive authentication (hashes are taken over exactly
//! what was read, never over a re-encoding).

use std::collections::BTreeMap;
use std::fmt;

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::tlv::{self, Tlv};
use crate::Error;

/// An elementary file of the eMRTD application (or EF.CardAccess in the master file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum File {
    /// EF.CardAccess (FID 011C, SFI 1C), readable without access control.
    CardAccess,
    /// EF.COM (FID 011E, SFI 1E).
    Com,
    /// EF.SOD (FID 011D, SFI 1D).
    Sod,
    /// Data group 1 to 16 (FID 01nn, SFI nn).
    Dg(u8),
}

impl File {
    /// The file identifier.
    pub fn fid(self) -> [u8; 2] {
        [0x01, self.sfi()]
    }

    /// The short file identifier.
    pub fn sfi(self) -> u8 {
        match self {
            Self::CardAccess => 0x1C,
            Self::Com => 0x1E,
            Self::Sod => 0x1D,
            Self::Dg(n) => n,
        }
    }

    /// The data group of an LDS tag from EF.COM's tag list (`61` = DG1, `75` = DG2, ...).
    pub fn from_dg_tag(tag: u8) -> Option<Self> {
        let n = match tag {
            0x61 => 1,
            0x75 => 2,
            0x63 => 3,
            0x76 => 4,
            0x65..=0x70 => tag - 0x65 + 5,
            _ => return None,
        };
        Some(Self::Dg(n))
    }
}

impl fmt::Display for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CardAccess => f.write_str("EF.CardAccess"),
            Self::Com => f.write_str("EF.COM"),
            Self::Sod => f.write_str("EF.SOD"),
            Self::Dg(n) => write!(f, "DG{n}"),
        }
    }
}

/// EF.COM: LDS version and the data groups present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Com {
    /// LDS version, e.g. `"0107"`.
    pub lds_version: String,
    /// Unicode version, e.g. `"040000"`.
    pub unicode_version: String,
    /// Data group numbers listed, in file order.
    pub data_groups: Vec<u8>,
}

fn utf8(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Parses EF.COM.
///
/// # Errors
///
/// [`Error::Malformed`] if it is not `60 { 5F01, 5F36, 5C }`.
pub fn parse_com(raw: &[u8]) -> Result<Com, Error> {
    let (com, _) = tlv::parse_one(raw)?;
    if com.tag != 0x60 {
        return Err(Error::Malformed("EF.COM tag is not 60"));
    }
    let items = com.children()?;
    let get = |tag| items.iter().find(|t| t.tag == tag).map(|t| t.value);
    Ok(Com {
        lds_version: get(0x5F01).map(utf8).unwrap_or_default(),
        unicode_version: get(0x5F36).map(utf8).unwrap_or_default(),
        data_groups: get(0x5C)
            .ok_or(Error::Malformed("EF.COM has no tag list"))?
            .iter()
            .filter_map(|t| match File::from_dg_tag(*t) {
                Some(File::Dg(n)) => Some(n),
                _ => None,
            })
            .collect(),
    })
}

/// The fields of a TD1 MRZ (ID-card format). Debug output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Mrz {
    /// Document code, e.g. `ID`.
    pub document_code: String,
    /// Issuing state, e.g. `VNM`.
    pub issuing_state: String,
    /// Document number (9 characters on CCCD: the last 9 digits of the ID number).
    pub document_number: String,
    /// Optional data of line 1 (CCCD: the 12-digit ID number first).
    pub optional_data: String,
    /// Date of birth `YYMMDD`.
    pub date_of_birth: String,
    /// `M`, `F` or `<`.
    pub sex: char,
    /// Date of expiry `YYMMDD`.
    pub date_of_expiry: String,
    /// Nationality.
    pub nationality: String,
    /// Primary identifier (surname), fillers replaced by spaces.
    pub surname: String,
    /// Secondary identifier (given names).
    pub given_names: String,
    /// Whether all check digits (document number, dates, composite) match.
    pub check_digits_ok: bool,
}

impl fmt::Debug for Mrz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mrz")
            .field("document_code", &self.document_code)
            .field("issuing_state", &self.issuing_state)
            .field("check_digits_ok", &self.check_digits_ok)
            .finish_non_exhaustive()
    }
}

impl Mrz {
    /// The CCCD's 12-digit ID number from the optional data, if present.
    pub fn cccd_id_number(&self) -> Option<&str> {
        let id = self.optional_data.get(..12)?;
        id.bytes().all(|b| b.is_ascii_digit()).then_some(id)
    }
}

/// Parses DG1 (`61 { 5F1F MRZ }`) holding a TD1 MRZ (90 characters).
///
/// # Errors
///
/// [`Error::Malformed`] if the structure or MRZ length is wrong; [`Error::Unsupported`] for
/// TD2/TD3 documents.
pub fn parse_dg1(raw: &[u8]) -> Result<Mrz, Error> {
    let (dg1, _) = tlv::parse_one(raw)?;
    if dg1.tag != 0x61 {
        return Err(Error::Malformed("DG1 tag is not 61"));
    }
    let mrz = dg1.child(0x5F1F)?.value;
    if !mrz.is_ascii() {
        return Err(Error::Malformed("MRZ is not ASCII"));
    }
    // ASCII checked above, so every index is a char boundary.
    let s = std::str::from_utf8(mrz).map_err(|_| Error::Malformed("MRZ is not ASCII"))?;
    match s.len() {
        90 => {}
        72 | 88 => return Err(Error::Unsupported("TD2/TD3 MRZ (not an ID card)")),
        _ => return Err(Error::Malformed("MRZ length is not 90 (TD1)")),
    }
    let (l1, rest) = s.split_at(30);
    let (l2, l3) = rest.split_at(30);
    let clean = |x: &str| x.trim_end_matches('<').replace('<', " ").trim().to_string();
    let cd = |field: &str, digit: u8| crate::bac::check_digit(field) + b'0' == digit;
    let b1 = l1.as_bytes();
    let b2 = l2.as_bytes();
    let composite = format!("{}{}{}{}", &l1[5..30], &l2[0..7], &l2[8..15], &l2[18..29]);
    let check_digits_ok = cd(&l1[5..14], b1[14])
        && cd(&l2[0..6], b2[6])
        && cd(&l2[8..14], b2[14])
        && cd(&composite, b2[29]);
    let (surname, given) = l3.split_once("<<").unwrap_or((l3, ""));
    Ok(Mrz {
        document_code: clean(&l1[0..2]),
        issuing_state: clean(&l1[2..5]),
        document_number: clean(&l1[5..14]),
        optional_data: clean(&l1[15..30]),
        date_of_birth: l2[0..6].to_string(),
        sex: char::from(b2[7]),
        date_of_expiry: l2[8..14].to_string(),
        nationality: clean(&l2[15..18]),
        surname: clean(surname),
        given_names: clean(given),
        check_digits_ok,
    })
}

/// The encoding of a face image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG (ISO 10918).
    Jpeg,
    /// JPEG 2000 (codestream or JP2 file).
    Jpeg2000,
}

/// The face image of DG2.
#[derive(Clone, PartialEq, Eq)]
pub struct FaceImage {
    /// Encoding of [`FaceImage::data`].
    pub format: ImageFormat,
    /// Width from the ISO 19794-5 header (0 when unknown).
    pub width: u16,
    /// Height from the ISO 19794-5 header (0 when unknown).
    pub height: u16,
    /// The encoded image.
    pub data: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for FaceImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaceImage")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.data.len())
            .finish()
    }
}

fn sniff(data: &[u8]) -> Option<ImageFormat> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if data.starts_with(&[0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20])
        || data.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
    {
        Some(ImageFormat::Jpeg2000)
    } else {
        None
    }
}

/// Parses DG2 (`75 { 7F61 { 02 n, 7F60 { A1 header, 5F2E/7F2E ISO 19794-5 record } } }`) and
/// returns the first face image.
///
/// # Errors
///
/// [`Error::Malformed`] if the structure does not parse or holds no JPEG / JPEG 2000 image.
pub fn parse_dg2(raw: &[u8]) -> Result<FaceImage, Error> {
    let (dg2, _) = tlv::parse_one(raw)?;
    if dg2.tag != 0x75 {
        return Err(Error::Malformed("DG2 tag is not 75"));
    }
    let group = dg2.child(0x7F61)?;
    let bit = group.child(0x7F60)?;
    let block = bit
        .children()?
        .into_iter()
        .find(|t| t.tag == 0x5F2E || t.tag == 0x7F2E)
        .ok_or(Error::Malformed("DG2 has no biometric data block"))?;
    let rec = block.value;
    // ISO 19794-5: "FAC\0" "010\0", length (4), face count (2); then per face: block length (4),
    // feature point count (2), 18 bytes of facial information, 8 bytes per feature point, then
    // 12 bytes of image information (type, data type, width, height, ...) and the image.
    if rec.len() > 14 && rec.starts_with(b"FAC\0") {
        let face = &rec[14..];
        if face.len() >= 20 {
            let points = usize::from(u16::from_be_bytes([face[4], face[5]]));
            let info = 20 + points * 8;
            if let Some(image_info) = face.get(info..info + 12) {
                let width = u16::from_be_bytes([image_info[2], image_info[3]]);
                let height = u16::from_be_bytes([image_info[4], image_info[5]]);
                let data = &face[info + 12..];
                if let Some(format) = sniff(data) {
                    return Ok(FaceImage {
                        format,
                        width,
                        height,
                        data: Zeroizing::new(data.to_vec()),
                    });
                }
            }
        }
    }
    // Tolerate non-conforming headers: look for the image signature.
    for i in 0..rec.len() {
        if let Some(format) = sniff(&rec[i..]) {
            return Ok(FaceImage {
                format,
                width: 0,
                height: 0,
                data: Zeroizing::new(rec[i..].to_vec()),
            });
        }
    }
    Err(Error::Malformed("DG2 holds no JPEG or JPEG 2000 image"))
}

/// A DG13 field value.
#[derive(Clone, PartialEq, Eq)]
pub enum Dg13Value {
    /// A text field, NFC-normalised.
    Text(String),
    /// A sequence of texts (field 13: father, mother; field 14: spouse).
    List(Vec<String>),
    /// Anything else, raw (an unknown encoding is kept, not guessed).
    Raw(Vec<u8>),
}

impl fmt::Debug for Dg13Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(_) => f.write_str("Text(<redacted>)"),
            Self::List(v) => write!(f, "List(<{} redacted>)", v.len()),
            Self::Raw(v) => write!(f, "Raw(<{} bytes>)", v.len()),
        }
    }
}

/// DG13, the Vietnamese data group, by field number (see the brief's table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dg13 {
    /// The version integer.
    pub version: i64,
    /// Every field read, by number; unknown numbers are kept.
    pub fields: BTreeMap<u32, Dg13Value>,
}

/// DG13 field numbers.
pub mod dg13 {
    /// 12-digit ID number.
    pub const ID_NUMBER: u32 = 1;
    /// Full name.
    pub const FULL_NAME: u32 = 2;
    /// Date of birth `dd/mm/yyyy`.
    pub const DATE_OF_BIRTH: u32 = 3;
    /// Sex (`Nam` / `Nữ`).
    pub const SEX: u32 = 4;
    /// Nationality.
    pub const NATIONALITY: u32 = 5;
    /// Ethnicity.
    pub const ETHNICITY: u32 = 6;
    /// Religion.
    pub const RELIGION: u32 = 7;
    /// Place of origin.
    pub const PLACE_OF_ORIGIN: u32 = 8;
    /// Place of residence.
    pub const PLACE_OF_RESIDENCE: u32 = 9;
    /// Identifying marks.
    pub const IDENTIFYING_MARKS: u32 = 10;
    /// Issue date.
    pub const ISSUE_DATE: u32 = 11;
    /// Expiry date or "Không thời hạn".
    pub const EXPIRY_DATE: u32 = 12;
    /// Parents `[father, mother]`.
    pub const PARENTS: u32 = 13;
    /// Spouse `[spouse]`, absent when unmarried.
    pub const SPOUSE: u32 = 14;
    /// Other / old document number.
    pub const OLD_DOCUMENT_NUMBER: u32 = 15;
}

impl Dg13 {
    /// A text field.
    pub fn text(&self, n: u32) -> Option<&str> {
        match self.fields.get(&n)? {
            Dg13Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A list field (parents, spouse).
    pub fn list(&self, n: u32) -> Option<&[String]> {
        match self.fields.get(&n)? {
            Dg13Value::List(v) => Some(v),
            Dg13Value::Text(s) => Some(std::slice::from_ref(s)),
            Dg13Value::Raw(_) => None,
        }
    }
}

fn der_int(t: &Tlv<'_>) -> Option<i64> {
    if t.tag != 0x02 || t.value.is_empty() || t.value.len() > 8 {
        return None;
    }
    let neg = t.value[0] & 0x80 != 0;
    let init: i64 = if neg { -1 } else { 0 };
    Some(t.value.iter().fold(init, |a, b| (a << 8) | i64::from(*b)))
}

fn text_of(t: &Tlv<'_>) -> Option<String> {
    match t.tag {
        // UTF8String, PrintableString, IA5String, T61String, VisibleString.
        0x0C | 0x13 | 0x16 | 0x14 | 0x1A => {
            std::str::from_utf8(t.value).ok().map(|s| s.nfc().collect())
        }
        // BMPString (UTF-16BE).
        0x1E if t.value.len() % 2 == 0 => {
            let units: Vec<u16> = t
                .value
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok().map(|s| s.nfc().collect())
        }
        _ => None,
    }
}

fn value_of(t: &Tlv<'_>) -> Dg13Value {
    if let Some(s) = text_of(t) {
        return Dg13Value::Text(s);
    }
    if t.tag == 0x30 || t.tag == 0x31 {
        if let Ok(children) = t.children() {
            let texts: Option<Vec<String>> = children.iter().map(text_of).collect();
            if let Some(v) = texts {
                return Dg13Value::List(v);
            }
        }
    }
    Dg13Value::Raw(t.raw.to_vec())
}

/// Parses DG13: `6D { 30 { 02 version, 06 OID, 31 { 30 { 02 n, value } ... } } }`. Fields are
/// taken by number wherever they appear, in any order; unknown numbers and encodings are kept.
///
/// # Errors
///
/// [`Error::Malformed`] if the outer structure does not parse.
pub fn parse_dg13(raw: &[u8]) -> Result<Dg13, Error> {
    let (dg13, _) = tlv::parse_one(raw)?;
    if dg13.tag != 0x6D {
        return Err(Error::Malformed("DG13 tag is not 6D"));
    }
    let mut out = Dg13::default();
    // Some chips wrap the content in a SEQUENCE, others put it directly under 6D.
    let outer = dg13.children()?;
    let content = match outer.as_slice() {
        [seq] if seq.tag == 0x30 => seq.children()?,
        _ => outer,
    };
    for item in &content {
        match item.tag {
            0x02 => out.version = der_int(item).unwrap_or(0),
            0x30 | 0x31 => collect_fields(item, &mut out.fields, 0)?,
            _ => {}
        }
    }
    Ok(out)
}

fn collect_fields(t: &Tlv<'_>, out: &mut BTreeMap<u32, Dg13Value>, depth: u8) -> Result<(), Error> {
    if depth > 4 {
        return Err(Error::Malformed("DG13 nested too deeply"));
    }
    for child in t.children()? {
        if child.tag != 0x30 {
            continue;
        }
        let parts = child.children()?;
        match parts.as_slice() {
            [num, values @ ..] if num.tag == 0x02 && !values.is_empty() => {
                let Some(n) = der_int(num).and_then(|n| u32::try_from(n).ok()) else {
                    continue;
                };
                let value = if values.len() == 1 {
                    value_of(&values[0])
                } else {
                    let texts: Option<Vec<String>> = values.iter().map(text_of).collect();
                    texts.map_or_else(|| Dg13Value::Raw(child.raw.to_vec()), Dg13Value::List)
                };
                out.entry(n).or_insert(value);
            }
            _ => collect_fields(&child, out, depth + 1)?,
        }
    }
    Ok(())
}

/// Builds a DG13 file from fields (for the virtual card and tests).
pub fn encode_dg13(fields: &BTreeMap<u32, Dg13Value>) -> Vec<u8> {
    let mut set = Vec::new();
    for (n, v) in fields {
        let num = encode_uint(u64::from(*n));
        let value = match v {
            Dg13Value::Text(s) => tlv::encode(0x0C, s.as_bytes()),
            Dg13Value::List(items) => {
                let parts: Vec<Vec<u8>> = items
                    .iter()
                    .map(|s| tlv::encode(0x0C, s.as_bytes()))
                    .collect();
                tlv::encode(0x30, &parts.concat())
            }
            Dg13Value::Raw(raw) => raw.clone(),
        };
        set.extend_from_slice(&tlv::encode(0x30, &[num, value].concat()));
    }
    let oid = tlv::encode(0x06, &[0x28, 0xCF, 0x06, 0x01, 0x00, 0x08]);
    let seq = tlv::encode(
        0x30,
        &[encode_uint(1), oid, tlv::encode(0x31, &set)].concat(),
    );
    tlv::encode(0x6D, &seq)
}

/// DER INTEGER of an unsigned value.
pub fn encode_uint(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut value = bytes[skip..].to_vec();
    if value[0] & 0x80 != 0 {
        value.insert(0, 0);
    }
    tlv::encode(0x02, &value)
}

/// DG15: the Active Authentication public key (a SubjectPublicKeyInfo, raw DER).
///
/// # Errors
///
/// [`Error::Malformed`] if it is not `6F { 30 SPKI }`.
pub fn parse_dg15(raw: &[u8]) -> Result<Vec<u8>, Error> {
    let (dg15, _) = tlv::parse_one(raw)?;
    if dg15.tag != 0x6F {
        return Err(Error::Malformed("DG15 tag is not 6F"));
    }
    let (spki, _) = tlv::parse_one(dg15.value)?;
    if spki.tag != 0x30 {
        return Err(Error::Malformed("DG15 holds no SubjectPublicKeyInfo"));
    }
    Ok(spki.raw.to_vec())
}

/// The data group tag a DG file starts with.
pub fn dg_tag(n: u8) -> Option<u8> {
    match n {
        1 => Some(0x61),
        2 => Some(0x75),
        3 => Some(0x63),
        4 => Some(0x76),
        5..=16 => Some(0x65 + n - 5),
        _ => None,
    }
}

/// Builds EF.COM listing `dgs` (for the virtual card and tests).
pub fn encode_com(dgs: &[u8]) -> Vec<u8> {
    let tags: Vec<u8> = dgs.iter().filter_map(|n| dg_tag(*n)).collect();
    let inner = [
        tlv::encode(0x5F01, b"0107"),
        tlv::encode(0x5F36, b"040000"),
        tlv::encode(0x5C, &tags),
    ]
    .concat();
    tlv::encode(0x60, &inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_dg13() -> BTreeMap<u32, Dg13Value> {
        let mut f = BTreeMap::new();
        f.insert(dg13::ID_NUMBER, Dg13Value::Text("001090123456".into()));
        // Decomposed tone marks on purpose: the parser must normalise to NFC.
        f.insert(
            dg13::FULL_NAME,
            Dg13Value::Text("Nguye\u{302}\u{303}n Va\u{306}n An".into()),
        );
        f.insert(dg13::DATE_OF_BIRTH, Dg13Value::Text("01/01/1990".into()));
        f.insert(dg13::SEX, Dg13Value::Text("Nam".into()));
        f.insert(
            dg13::PARENTS,
            Dg13Value::List(vec!["Nguyễn Văn Bình".into(), "Trần Thị Cúc".into()]),
        );
        f.insert(16, Dg13Value::Text("0123456789ABCDEF".into()));
        f
    }

    #[test]
    fn dg13_round_trip_by_field_number_with_nfc() {
        let raw = encode_dg13(&demo_dg13());
        let dg = parse_dg13(&raw).expect("parses");
        assert_eq!(dg.version, 1);
        assert_eq!(dg.text(dg13::ID_NUMBER), Some("001090123456"));
        assert_eq!(dg.text(dg13::FULL_NAME), Some("Nguyễn Văn An"));
        assert_eq!(dg.list(dg13::PARENTS).map(<[String]>::len), Some(2));
        assert!(dg.list(dg13::SPOUSE).is_none());
        assert_eq!(dg.text(16), Some("0123456789ABCDEF"));
        assert!(!format!("{dg:?}").contains("Nguy"));
    }

    #[test]
    fn dg13_malformed_is_an_error_not_a_panic() {
        let raw = encode_dg13(&demo_dg13());
        for cut in 0..raw.len() {
            let _ = parse_dg13(&raw[..cut]);
        }
        assert!(parse_dg13(&[0x6D, 0x03, 0x30, 0x01, 0x02]).is_err());
    }

    #[test]
    fn com_lists_data_groups() {
        let com = parse_com(&encode_com(&[1, 2, 3, 13, 14, 15])).expect("parses");
        assert_eq!(com.data_groups, vec![1, 2, 3, 13, 14, 15]);
        assert_eq!(com.lds_version, "0107");
    }

    #[test]
    fn dg1_td1() {
        let mrz = "IDVNM0901234562001090123456<<<9001011M3001019VNM<<<<<<<<<<<3NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<";
        let raw = tlv::encode(0x61, &tlv::encode(0x5F1F, mrz.as_bytes()));
        let m = parse_dg1(&raw).expect("parses");
        assert!(m.check_digits_ok);
        assert_eq!(m.document_number, "090123456");
        assert_eq!(m.cccd_id_number(), Some("001090123456"));
        assert_eq!(m.date_of_birth, "900101");
        assert_eq!(m.date_of_expiry, "300101");
        assert_eq!(m.surname, "NGUYEN");
        assert_eq!(m.given_names, "VAN AN");
        assert_eq!(m.sex, 'M');
    }
}
