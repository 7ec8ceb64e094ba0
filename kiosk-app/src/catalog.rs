//! The service catalogue: what a citizen can choose at `ChooseService`.
//!
//! In one-stop-shop mode the entries are administrative procedures (TTHC) identified by their
//! `MaTTHC` code; in hospital mode they are clinic departments. Built-in defaults cover the
//! demo; a deployment replaces them with a TOML file that is parsed as strictly as the kiosk
//! configuration (unknown keys are errors, see [`crate::config`]).
//!
//! Only `1.004194` (temporary residence registration) is a procedure code known from public
//! sources (the project brief); no other `MaTTHC` could be verified offline, so the other
//! built-in procedures carry no code of their own: their `code` is the kiosk-local id (e.g.
//! `permanent-residence`) with `code_verified = false`, which the gateway maps and the screen
//! never shows as a procedure code. A deployment's catalogue file sets the real codes.
//!
//! Each entry also carries what the list shows: its field (`field`, a slug translated as
//! `field-<slug>`; the list is grouped and filtered by it), a one-line description, the fee
//! and the processing time (texts per language, as the provincial catalogue words them) and a
//! pictogram (`icon`). The built-in fees and times are the ones set by national rules
//! (Law on Residence 2020, Law on Civil Status 2014, Circular 75/2022/TT-BTC, Circular
//! 244/2016/TT-BTC) and are indicative: provinces set reductions, so a deployment's file is
//! the reference. "Essential" (`essential`) marks the 25 essential services of Đề án 06 only.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::config::{self, ConfigError, Mode};

/// The language every title must exist in, and the fallback for missing translations.
pub const FALLBACK_LANGUAGE: &str = "vi";

/// Identifies a catalogue entry inside this kiosk (stable across languages and releases).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(String);

impl ServiceId {
    /// Wraps an id. Ids are plain ASCII slugs such as `temporary-residence`.
    #[must_use]
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Titles keyed by language code; `vi` is always present (checked on load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Titles(BTreeMap<String, String>);

impl Titles {
    fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(l, t)| ((*l).to_owned(), (*t).to_owned()))
                .collect(),
        )
    }

    /// The title in `lang`, falling back to Vietnamese: the catalogue is authored in
    /// Vietnamese first and translations may lag behind.
    #[must_use]
    pub fn get(&self, lang: &str) -> &str {
        self.0
            .get(lang)
            .or_else(|| self.0.get(FALLBACK_LANGUAGE))
            .map_or("", String::as_str)
    }
}

/// One component of a dossier (thành phần hồ sơ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierComponent {
    /// Component code (`MaThanhPhanHoSo`) when known.
    pub code: Option<String>,
    /// What the component is.
    pub titles: Titles,
    /// True when verified identity data (chip + face) replaces the paper copy, as the
    /// "paperless services" plans ask; false when the citizen must still bring it.
    pub satisfied_by_identity: bool,
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// An administrative procedure (TTHC).
    Procedure {
        /// `MaTTHC` code, e.g. `1.004194`.
        code: String,
        /// False while the code is a placeholder not yet checked against the official list.
        code_verified: bool,
        /// Tagged as one of the 53 essential services.
        essential: bool,
        /// Dossier components.
        components: Vec<DossierComponent>,
    },
    /// A clinic department (khoa khám) in hospital mode.
    Department {
        /// The hospital's department code, sent to the HIS.
        code: String,
    },
}

/// One choice on the `ChooseService` screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// Kiosk-local id.
    pub id: ServiceId,
    /// Titles per language.
    pub titles: Titles,
    /// Procedure or department details.
    pub kind: EntryKind,
    /// What the list shows besides the title.
    pub info: EntryInfo,
}

/// The list's details of an entry; every part optional (a catalogue file may omit them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryInfo {
    /// Field (lĩnh vực) slug, e.g. `residence`; shown as `field-<slug>`.
    pub field: Option<String>,
    /// One-line description.
    pub summary: Option<Titles>,
    /// Fee, as worded by the catalogue (e.g. "15.000 đồng").
    pub fee: Option<Titles>,
    /// Processing time (e.g. "3 ngày làm việc").
    pub processing: Option<Titles>,
    /// Pictogram name (see `ui/ui/widgets/pictogram.slint`); the field's when absent.
    pub icon: Option<String>,
}

impl CatalogEntry {
    /// The title in `lang`, falling back to Vietnamese.
    #[must_use]
    pub fn title(&self, lang: &str) -> &str {
        self.titles.get(lang)
    }
}

/// The list of entries for one kiosk mode, in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    mode: Mode,
    entries: Vec<CatalogEntry>,
}

fn comp(code: Option<&str>, vi: &str, en: &str, by_identity: bool) -> DossierComponent {
    DossierComponent {
        code: code.map(str::to_owned),
        titles: Titles::from_pairs(&[("vi", vi), ("en", en)]),
        satisfied_by_identity: by_identity,
    }
}

fn identity_component() -> DossierComponent {
    comp(
        None,
        "Thông tin nhân thân (xác thực từ CCCD gắn chip)",
        "Personal details (verified from the chip ID card)",
        true,
    )
}

/// Texts of a built-in procedure: (vi, en) pairs.
struct Texts {
    title: (&'static str, &'static str),
    summary: (&'static str, &'static str),
    fee: (&'static str, &'static str),
    processing: (&'static str, &'static str),
}

fn pair(p: (&str, &str)) -> Titles {
    Titles::from_pairs(&[("vi", p.0), ("en", p.1)])
}

/// A built-in procedure. `code` is `None` when no `MaTTHC` could be verified: the kiosk id
/// then stands in (see the module docs).
fn procedure(
    id: &str,
    code: Option<&str>,
    field: &str,
    essential: bool,
    t: &Texts,
    mut extra: Vec<DossierComponent>,
) -> CatalogEntry {
    let mut components = vec![identity_component()];
    components.append(&mut extra);
    CatalogEntry {
        id: ServiceId::new(id),
        titles: pair(t.title),
        kind: EntryKind::Procedure {
            code: code.unwrap_or(id).to_owned(),
            code_verified: code.is_some(),
            essential,
            components,
        },
        info: EntryInfo {
            field: Some(field.to_owned()),
            summary: Some(pair(t.summary)),
            fee: Some(pair(t.fee)),
            processing: Some(pair(t.processing)),
            icon: Some(id.to_owned()),
        },
    }
}

fn department(id: &str, code: &str, vi: &str, en: &str) -> CatalogEntry {
    CatalogEntry {
        id: ServiceId::new(id),
        titles: Titles::from_pairs(&[("vi", vi), ("en", en)]),
        kind: EntryKind::Department {
            code: code.to_owned(),
        },
        info: EntryInfo {
            icon: Some(id.to_owned()),
            ..EntryInfo::default()
        },
    }
}

fn proof_of_residence() -> DossierComponent {
    comp(
        None,
        "Giấy tờ, tài liệu chứng minh chỗ ở hợp pháp",
        "Proof of lawful accommodation",
        false,
    )
}

const FREE: (&str, &str) = ("Miễn phí", "Free of charge");

impl Catalog {
    /// The built-in catalogue for `mode`.
    #[must_use]
    pub fn builtin(mode: Mode) -> Self {
        let entries = match mode {
            Mode::OneStopShop => vec![
                procedure(
                    "temporary-residence",
                    Some("1.004194"),
                    "residence",
                    true,
                    &Texts {
                        title: ("Đăng ký tạm trú", "Temporary residence registration"),
                        summary: (
                            "Khi ở từ 30 ngày trở lên ngoài nơi thường trú",
                            "When you stay 30 days or more away from your permanent residence",
                        ),
                        fee: ("15.000 đồng", "15,000 VND"),
                        processing: ("3 ngày làm việc", "3 working days"),
                    },
                    vec![proof_of_residence()],
                ),
                procedure(
                    "permanent-residence",
                    None,
                    "residence",
                    true,
                    &Texts {
                        title: ("Đăng ký thường trú", "Permanent residence registration"),
                        summary: (
                            "Khi chuyển đến nơi ở mới lâu dài",
                            "When you move to a new permanent home",
                        ),
                        fee: ("20.000 đồng", "20,000 VND"),
                        processing: ("7 ngày làm việc", "7 working days"),
                    },
                    vec![proof_of_residence()],
                ),
                procedure(
                    "temporary-absence",
                    None,
                    "residence",
                    true,
                    &Texts {
                        title: ("Khai báo tạm vắng", "Temporary absence declaration"),
                        summary: (
                            "Khi vắng mặt dài ngày khỏi nơi cư trú",
                            "When you will be away from your residence for a long time",
                        ),
                        fee: FREE,
                        processing: ("1 ngày làm việc", "1 working day"),
                    },
                    vec![],
                ),
                procedure(
                    "notice-of-stay",
                    None,
                    "residence",
                    true,
                    &Texts {
                        title: ("Thông báo lưu trú", "Notice of stay"),
                        summary: (
                            "Báo có người đến ở lại qua đêm",
                            "Report a guest staying overnight",
                        ),
                        fee: FREE,
                        processing: ("Ngay khi tiếp nhận", "On receipt"),
                    },
                    vec![],
                ),
                procedure(
                    "birth-registration",
                    None,
                    "civil-status",
                    true,
                    &Texts {
                        title: ("Đăng ký khai sinh", "Birth registration"),
                        summary: ("Cho trẻ mới sinh", "For a newborn child"),
                        fee: FREE,
                        processing: ("Trong ngày", "The same day"),
                    },
                    vec![comp(
                        None,
                        "Giấy chứng sinh",
                        "Birth certificate from the hospital",
                        false,
                    )],
                ),
                procedure(
                    "marriage-registration",
                    None,
                    "civil-status",
                    true,
                    &Texts {
                        title: ("Đăng ký kết hôn", "Marriage registration"),
                        summary: (
                            "Hai bên nam, nữ cùng có mặt khi nhận kết quả",
                            "Both partners come to receive the certificate",
                        ),
                        fee: FREE,
                        processing: ("Trong ngày", "The same day"),
                    },
                    vec![comp(
                        None,
                        "Tờ khai đăng ký kết hôn",
                        "Marriage registration form",
                        false,
                    )],
                ),
                procedure(
                    "death-registration",
                    None,
                    "civil-status",
                    true,
                    &Texts {
                        title: ("Đăng ký khai tử", "Death registration"),
                        summary: ("Cho người thân đã mất", "For a family member who has died"),
                        fee: FREE,
                        processing: ("Trong ngày", "The same day"),
                    },
                    vec![comp(None, "Giấy báo tử", "Death notice", false)],
                ),
                procedure(
                    "certified-copy",
                    None,
                    "civil-status",
                    false,
                    &Texts {
                        title: (
                            "Chứng thực bản sao từ bản chính",
                            "Certified copy of an original",
                        ),
                        summary: (
                            "Mang theo bản chính giấy tờ cần sao",
                            "Bring the original document",
                        ),
                        fee: ("2.000 đồng/trang", "2,000 VND per page"),
                        processing: ("Trong ngày", "The same day"),
                    },
                    vec![comp(
                        None,
                        "Bản chính giấy tờ",
                        "The original document",
                        false,
                    )],
                ),
                procedure(
                    "criminal-record",
                    None,
                    "justice",
                    true,
                    &Texts {
                        title: ("Cấp Phiếu lý lịch tư pháp", "Criminal record certificate"),
                        summary: (
                            "Để xin việc, học tập, định cư",
                            "For a job, studies or emigration",
                        ),
                        fee: ("200.000 đồng", "200,000 VND"),
                        processing: ("10 ngày", "10 days"),
                    },
                    vec![],
                ),
                procedure(
                    "confirm-old-id",
                    None,
                    "id-card",
                    true,
                    &Texts {
                        title: (
                            "Xác nhận số Chứng minh nhân dân",
                            "Confirmation of the old ID (CMND) number",
                        ),
                        summary: (
                            "Khi giấy tờ cũ còn ghi số CMND 9 số",
                            "When old papers still show the 9-digit number",
                        ),
                        fee: FREE,
                        processing: ("3 ngày làm việc", "3 working days"),
                    },
                    vec![],
                ),
            ],
            Mode::Hospital => vec![
                department("internal", "KHAM-NOI", "Khám Nội", "Internal medicine"),
                department("surgery", "KHAM-NGOAI", "Khám Ngoại", "Surgery"),
                department("paediatrics", "NHI", "Nhi", "Paediatrics"),
                department("obstetrics", "SAN", "Sản", "Obstetrics"),
                department("ophthalmology", "MAT", "Mắt", "Ophthalmology"),
                department("ent", "TMH", "Tai Mũi Họng", "Ear, nose and throat"),
                department("dental", "RHM", "Răng Hàm Mặt", "Odonto-stomatology"),
            ],
        };
        Self { mode, entries }
    }

    /// The mode this catalogue is for.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Entries in display order.
    #[must_use]
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// The entry with `id`.
    #[must_use]
    pub fn get(&self, id: &ServiceId) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| &e.id == id)
    }

    /// Loads a catalogue file for `mode`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, the key path and the fix, as for the kiosk config.
    pub fn load(path: &Path, mode: Mode) -> Result<Self, ConfigError> {
        let text = config::read_file(path)?;
        Self::from_toml(path, &text, mode)
    }

    /// Parses catalogue text; `path` is only used in error messages.
    ///
    /// # Errors
    /// As [`Catalog::load`].
    pub fn from_toml(path: &Path, text: &str, mode: Mode) -> Result<Self, ConfigError> {
        let raw: RawCatalog = config::parse_strict(path, text)?;
        let (list, table) = match mode {
            Mode::OneStopShop => (&raw.procedure, "procedure"),
            Mode::Hospital => (&raw.department, "department"),
        };
        Self::from_raw(mode, list, table).map_err(|(key, problem, fix)| {
            config::invalid(path, text, &key, problem, fix.to_owned())
        })
    }

    /// Parses the catalogue the gateway serves (`GET /v1/catalog`, JSON with the portal's
    /// field names: see [`GatewayCatalog`]), checked as strictly as a catalogue file.
    ///
    /// # Errors
    /// A message naming the entry and field at fault (`entries[2].TenTTHC: ...`).
    pub fn from_gateway_json(bytes: &[u8], mode: Mode) -> Result<(Self, String), String> {
        let doc: GatewayCatalog = serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "the catalogue is not the documented JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            )
        })?;
        let list: Vec<RawEntry> = doc
            .entries
            .into_iter()
            .map(|e| RawEntry {
                // Entries without a kiosk id get one from their code: `1.004194` -> `1-004194`.
                id: e.id.unwrap_or_else(|| {
                    e.code
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() {
                                c.to_ascii_lowercase()
                            } else {
                                '-'
                            }
                        })
                        .collect()
                }),
                code: e.code,
                code_verified: e.code_verified,
                essential: e.essential,
                title: e.title,
                component: e
                    .components
                    .into_iter()
                    .map(|c| RawComponent {
                        code: c.code,
                        title: c.title,
                        satisfied_by_identity: c.satisfied_by_identity,
                    })
                    .collect(),
                field: e.field,
                summary: e.summary,
                fee: e.fee,
                processing: e.processing,
                icon: e.icon,
            })
            .collect();
        let catalog = Self::from_raw(mode, &list, "entries").map_err(|(key, problem, fix)| {
            // The gateway's names for the fields.
            let key = key
                .replace(".title", ".TenTTHC")
                .replace(".code", ".MaTTHC")
                .replace(".component", ".ThanhPhanHoSo");
            format!("{key}: {problem} ({fix})")
        })?;
        Ok((catalog, doc.version))
    }

    /// This catalogue in the gateway's JSON form, with `version` (what the demo gateway serves).
    #[must_use]
    pub fn to_gateway_json(&self, version: &str) -> serde_json::Value {
        let entries: Vec<GatewayEntry> = self
            .entries
            .iter()
            .map(|e| {
                let (code, code_verified, essential, components) = match &e.kind {
                    EntryKind::Procedure {
                        code,
                        code_verified,
                        essential,
                        components,
                    } => (
                        code.clone(),
                        *code_verified,
                        *essential,
                        components.as_slice(),
                    ),
                    EntryKind::Department { code } => (code.clone(), true, false, &[][..]),
                };
                let titles = |t: &Option<Titles>| t.as_ref().map(|t| t.0.clone());
                GatewayEntry {
                    field: e.info.field.clone(),
                    summary: titles(&e.info.summary),
                    fee: titles(&e.info.fee),
                    processing: titles(&e.info.processing),
                    icon: e.info.icon.clone(),
                    id: Some(e.id.as_str().to_owned()),
                    code,
                    title: e.titles.0.clone(),
                    code_verified,
                    essential,
                    components: components
                        .iter()
                        .map(|c| GatewayComponent {
                            code: c.code.clone(),
                            title: c.titles.0.clone(),
                            satisfied_by_identity: c.satisfied_by_identity,
                        })
                        .collect(),
                }
            })
            .collect();
        serde_json::json!({ "version": version, "entries": entries })
    }

    /// Checks raw entries; the error is (key path, problem, fix).
    fn from_raw(
        mode: Mode,
        list: &[RawEntry],
        table: &str,
    ) -> Result<Self, (String, String, &'static str)> {
        let invalid = |key: String, problem: String, fix: &'static str| Err((key, problem, fix));
        if list.is_empty() {
            return invalid(
                table.to_owned(),
                format!("no {table} entries for mode {mode}"),
                "add at least one entry, or remove the catalogue file to use the built-in list",
            );
        }
        let mut entries = Vec::with_capacity(list.len());
        for (i, e) in list.iter().enumerate() {
            let key = |k: &str| format!("{table}[{i}].{k}");
            if e.id.is_empty() || !e.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return invalid(
                    key("id"),
                    format!("id {:?} is not a slug", e.id),
                    "use lowercase letters, digits and `-`, e.g. \"temporary-residence\"",
                );
            }
            if entries.iter().any(|x: &CatalogEntry| x.id.as_str() == e.id) {
                return invalid(
                    key("id"),
                    format!("duplicate id {:?}", e.id),
                    "give every entry its own id",
                );
            }
            if !e.title.contains_key(FALLBACK_LANGUAGE) {
                return invalid(
                    key("title"),
                    "no Vietnamese title".to_owned(),
                    "add `vi = \"...\"` to the title table: Vietnamese is the fallback language",
                );
            }
            if e.code.trim().is_empty() {
                return invalid(
                    key("code"),
                    "empty code".to_owned(),
                    "set the procedure or department code",
                );
            }
            let titles = Titles(e.title.clone());
            let kind = match mode {
                Mode::OneStopShop => {
                    let mut components = Vec::with_capacity(e.component.len());
                    for (j, c) in e.component.iter().enumerate() {
                        if !c.title.contains_key(FALLBACK_LANGUAGE) {
                            return invalid(
                                format!("{table}[{i}].component[{j}].title"),
                                "no Vietnamese title".to_owned(),
                                "add `vi = \"...\"` to the title table",
                            );
                        }
                        components.push(DossierComponent {
                            code: c.code.clone(),
                            titles: Titles(c.title.clone()),
                            satisfied_by_identity: c.satisfied_by_identity,
                        });
                    }
                    EntryKind::Procedure {
                        code: e.code.clone(),
                        code_verified: e.code_verified,
                        essential: e.essential,
                        components,
                    }
                }
                Mode::Hospital => EntryKind::Department {
                    code: e.code.clone(),
                },
            };
            let mut optional = Vec::with_capacity(3);
            for (k, t) in [
                ("summary", &e.summary),
                ("fee", &e.fee),
                ("processing", &e.processing),
            ] {
                match t {
                    Some(t) if !t.contains_key(FALLBACK_LANGUAGE) => {
                        return invalid(
                            key(k),
                            "no Vietnamese text".to_owned(),
                            "add `vi = \"...\"` to the table",
                        );
                    }
                    t => optional.push(t.clone().map(Titles)),
                }
            }
            let processing = optional.pop().flatten();
            let fee = optional.pop().flatten();
            let summary = optional.pop().flatten();
            entries.push(CatalogEntry {
                id: ServiceId::new(e.id.clone()),
                titles,
                kind,
                info: EntryInfo {
                    field: e.field.clone(),
                    summary,
                    fee,
                    processing,
                    icon: e.icon.clone(),
                },
            });
        }
        Ok(Self { mode, entries })
    }
}

/// `GET /v1/catalog`: the gateway's catalogue (see `gateway/wire/openapi/kiosk-gateway.yaml`).
#[derive(Debug, Deserialize)]
pub struct GatewayCatalog {
    /// Changes whenever the content does; also the ETag.
    pub version: String,
    entries: Vec<GatewayEntry>,
}

#[derive(Debug, serde::Serialize, Deserialize)]
struct GatewayEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(rename = "MaTTHC")]
    code: String,
    #[serde(rename = "TenTTHC")]
    title: BTreeMap<String, String>,
    #[serde(rename = "codeVerified", default)]
    code_verified: bool,
    #[serde(default)]
    essential: bool,
    #[serde(
        rename = "ThanhPhanHoSo",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    components: Vec<GatewayComponent>,
    /// `field`: the kiosk's field slug (the portal's `MaLinhVuc` differs per province).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fee: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    processing: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    icon: Option<String>,
}

#[derive(Debug, serde::Serialize, Deserialize)]
struct GatewayComponent {
    #[serde(
        rename = "MaThanhPhanHoSo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    code: Option<String>,
    #[serde(rename = "TenThanhPhanHoSo")]
    title: BTreeMap<String, String>,
    #[serde(rename = "satisfiedByIdentity", default)]
    satisfied_by_identity: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    procedure: Vec<RawEntry>,
    #[serde(default)]
    department: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    code: String,
    #[serde(default)]
    code_verified: bool,
    #[serde(default)]
    essential: bool,
    title: BTreeMap<String, String>,
    #[serde(default)]
    component: Vec<RawComponent>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    summary: Option<BTreeMap<String, String>>,
    #[serde(default)]
    fee: Option<BTreeMap<String, String>>,
    #[serde(default)]
    processing: Option<BTreeMap<String, String>>,
    #[serde(default)]
    icon: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    #[serde(default)]
    code: Option<String>,
    title: BTreeMap<String, String>,
    #[serde(default)]
    satisfied_by_identity: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_one_stop_shop() {
        let c = Catalog::builtin(Mode::OneStopShop);
        assert_eq!(c.entries().len(), 10);
        let tr = c
            .get(&ServiceId::new("temporary-residence"))
            .expect("present");
        assert_eq!(tr.title("vi"), "Đăng ký tạm trú");
        assert_eq!(tr.title("en"), "Temporary residence registration");
        assert_eq!(tr.title("hmn"), "Đăng ký tạm trú", "falls back to vi");
        match &tr.kind {
            EntryKind::Procedure {
                code,
                code_verified,
                essential,
                components,
            } => {
                assert_eq!(code, "1.004194");
                assert!(*code_verified && *essential);
                assert!(components.iter().any(|c| c.satisfied_by_identity));
            }
            EntryKind::Department { .. } => panic!("procedure expected"),
        }
        // Honest tags: not every entry is one of the 25 essential services.
        let essential = |e: &&CatalogEntry| {
            matches!(
                e.kind,
                EntryKind::Procedure {
                    essential: true,
                    ..
                }
            )
        };
        assert!(c.entries().iter().any(|e| !essential(&e)));
        // Every entry has a field, a description, a fee, a time and its own pictogram.
        let mut icons: Vec<_> = c
            .entries()
            .iter()
            .filter_map(|e| e.info.icon.clone())
            .collect();
        icons.dedup();
        assert_eq!(icons.len(), c.entries().len());
        assert!(c.entries().iter().all(|e| e.info.field.is_some()
            && e.info.summary.is_some()
            && e.info.fee.is_some()
            && e.info.processing.is_some()));
        // No placeholder codes: an unverified entry's code is its kiosk id, never a made-up
        // `MaTTHC`.
        for e in c.entries() {
            if let EntryKind::Procedure {
                code,
                code_verified: false,
                ..
            } = &e.kind
            {
                assert_eq!(code, e.id.as_str());
            }
        }
        // Only the one publicly known code is marked verified.
        let verified = c
            .entries()
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EntryKind::Procedure {
                        code_verified: true,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(verified, 1);
    }

    #[test]
    fn builtin_hospital() {
        let c = Catalog::builtin(Mode::Hospital);
        let titles: Vec<_> = c.entries().iter().map(|e| e.title("vi")).collect();
        assert_eq!(
            titles,
            [
                "Khám Nội",
                "Khám Ngoại",
                "Nhi",
                "Sản",
                "Mắt",
                "Tai Mũi Họng",
                "Răng Hàm Mặt"
            ]
        );
    }

    #[test]
    fn load_from_toml() {
        let text = r#"
[[procedure]]
id = "temporary-residence"
code = "1.004194"
code_verified = true
essential = true
title = { vi = "Đăng ký tạm trú" }
[[procedure.component]]
title = { vi = "Thông tin nhân thân", en = "Personal details" }
satisfied_by_identity = true
"#;
        let c = Catalog::from_toml(Path::new("c.toml"), text, Mode::OneStopShop).expect("valid");
        assert_eq!(c.entries()[0].title("en"), "Đăng ký tạm trú");
    }

    #[test]
    fn bad_catalogues() {
        let check = |text: &str, mode: Mode, needles: &[&str]| {
            let err = Catalog::from_toml(Path::new("c.toml"), text, mode)
                .expect_err("must be refused")
                .to_string();
            for n in needles {
                assert!(err.contains(n), "{err:?} lacks {n:?}");
            }
        };
        check(
            "[[procedure]]\nid='a'\ncode='1'\ntitel={vi='x'}\n",
            Mode::OneStopShop,
            &["c.toml", "titel", "did you mean `title`"],
        );
        check(
            "[[procedure]]\nid='a'\ncode='1'\ntitle={en='x'}\n",
            Mode::OneStopShop,
            &["procedure[0].title", "vi ="],
        );
        check(
            "[[procedure]]\nid='a'\ncode='1'\ntitle={vi='x'}\n",
            Mode::Hospital,
            &["department", "at least one"],
        );
        check(
            "[[department]]\nid='A B'\ncode='1'\ntitle={vi='x'}\n",
            Mode::Hospital,
            &["department[0].id", "slug"],
        );
    }

    #[test]
    fn the_gateway_form_round_trips_and_is_checked_like_a_file() {
        for mode in [Mode::OneStopShop, Mode::Hospital] {
            let c = Catalog::builtin(mode);
            let json = serde_json::to_vec(&c.to_gateway_json("v7")).expect("json");
            let (back, version) = Catalog::from_gateway_json(&json, mode).expect("valid");
            assert_eq!(back, c);
            assert_eq!(version, "v7");
        }
        let ok = r#"{"version":"1","entries":[{"MaTTHC":"1.004194","TenTTHC":{"vi":"Đăng ký tạm trú"}}]}"#;
        let (c, _) = Catalog::from_gateway_json(ok.as_bytes(), Mode::OneStopShop).expect("minimal");
        assert_eq!(
            c.entries()[0].id.as_str(),
            "1-004194",
            "id made from the code"
        );
        let err = |body: &[u8], mode| Catalog::from_gateway_json(body, mode).expect_err("refused");
        let no_vi = br#"{"version":"1","entries":[{"MaTTHC":"K1","TenTTHC":{"en":"x"}}]}"#;
        let e = err(no_vi, Mode::Hospital);
        assert!(e.contains("entries[0].TenTTHC") && e.contains("vi"), "{e}");
        let e = err(br#"{"version":"1","entries":[]}"#, Mode::Hospital);
        assert!(e.contains("at least one"), "{e}");
        let e = err(b"<html>", Mode::Hospital);
        assert!(e.contains("not the documented JSON"), "{e}");
    }
}
