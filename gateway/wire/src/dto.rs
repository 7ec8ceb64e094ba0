//! Wire DTOs of the kiosk gateway API, serialised as JSON.
//!
//! Field names on the wire follow the national public-service portal and OpenCPS
//! (`MaHoSo`, `MaTTHC`, `ChuHoSo`, `referenceUid`...), so a provincial gateway can forward a
//! submission with little mapping. Rust field names are English and each documents its wire
//! name. These are edge types: the session's domain types are converted into them at the
//! boundary, never the other way round.
//!
//! Personal fields are [`Personal`], so `{:?}` of a request prints `<redacted>` for them.
//! `Personal` deliberately has no serde support; the [`personal_string`] adapter below is the
//! one visible place where a citizen's data is written to or read from the wire.

use kiosk_personal::Personal;
use serde::{Deserialize, Serialize};

use crate::codes;

/// What a submission is for: selects the gateway's intake path and the appointment rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubmissionKind {
    /// An administrative procedure (thủ tục hành chính) at a one-stop-shop office: the result
    /// is returned some working days later.
    Tthc,
    /// A hospital or clinic examination registration: served the same day, with a queue number.
    Clinic,
}

/// `MaTTHC` of a technician's test submission (`kioskctl queue send-test`, proving the
/// delivery path after an installation): the gateway accepts and records it like any other,
/// with a receipt, and never forwards it to the one-stop system. Not a procedure of the
/// national catalogue (those are `1.004194`-style numbers).
pub const TEST_PROCEDURE_CODE: &str = "KIOSK-TEST";

/// One submission from the kiosk: `POST /v1/submissions`.
///
/// The same value must serialise to the same bytes every time it is sent, because the gateway
/// compares the body of a replay with the first one; serde_json with this fixed field order
/// does that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRequest {
    /// `referenceUid`: the submission's unique id (UUIDv7 text), chosen once by the kiosk and
    /// also sent as the `Idempotency-Key` header. The gateway deduplicates on it.
    #[serde(rename = "referenceUid")]
    pub reference_uid: String,
    /// `kind`: `tthc` or `clinic`.
    pub kind: SubmissionKind,
    /// `MaTTHC`: the procedure code (e.g. `1.004194`), or the department code for a clinic.
    #[serde(rename = "MaTTHC")]
    pub procedure_code: String,
    /// `TenTTHC`: the procedure's (or department's) name, as shown to the citizen.
    #[serde(rename = "TenTTHC")]
    pub procedure_name: String,
    /// `ChuHoSo`: the applicant's full name, as read from the chip.
    #[serde(rename = "ChuHoSo", with = "personal_string")]
    pub applicant_name: Personal<String>,
    /// `SoCCCD`: the 12-digit ID number.
    #[serde(rename = "SoCCCD", with = "personal_string")]
    pub id_number: Personal<String>,
    /// `NgaySinh`: date of birth, `dd/mm/yyyy`.
    #[serde(rename = "NgaySinh", with = "personal_string")]
    pub date_of_birth: Personal<String>,
    /// `faceMatched`: the live face matched the chip photo.
    #[serde(rename = "faceMatched")]
    pub face_matched: bool,
    /// `faceScore`: the matcher's similarity score, 0 to 1.
    #[serde(rename = "faceScore")]
    pub face_score: f32,
    /// `livenessPassed`: the liveness check passed.
    #[serde(rename = "livenessPassed")]
    pub liveness_passed: bool,
    /// `submittedAt`: when the citizen confirmed, `yyyyMMddHHmmss` in Asia/Ho_Chi_Minh. Kept
    /// from the first attempt on every retry, so replays stay byte-identical.
    #[serde(rename = "submittedAt")]
    pub submitted_at: String,
    /// `HoSo`: the dossier form of the kiosk (contact, result delivery, visit reason) and the
    /// chip's further fields. Absent from requests of kiosks before the form existed.
    #[serde(rename = "HoSo", default, skip_serializing_if = "Option::is_none")]
    pub dossier: Option<DossierDetails>,
}

/// `HoSo`: what the dossier form adds to the identity. Personal fields are [`Personal`];
/// an empty string means "not given" (a hospital asks for no phone, a chip may lack a field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DossierDetails {
    /// `GioiTinh`: sex as the chip writes it ("Nam", "Nữ"). Personal.
    #[serde(rename = "GioiTinh", with = "personal_string")]
    pub sex: Personal<String>,
    /// `NoiThuongTru`: place of permanent residence, from the chip. Personal.
    #[serde(rename = "NoiThuongTru", with = "personal_string")]
    pub permanent_address: Personal<String>,
    /// `QueQuan`: place of origin, from the chip. Personal.
    #[serde(rename = "QueQuan", with = "personal_string")]
    pub place_of_origin: Personal<String>,
    /// `SoDienThoai`: a Vietnamese mobile number, 10 digits, or empty. Personal.
    #[serde(rename = "SoDienThoai", with = "personal_string")]
    pub phone: Personal<String>,
    /// `MaTinh`: the contact address's province code (2025 units), or empty. Personal.
    #[serde(rename = "MaTinh", with = "personal_string")]
    pub province_code: Personal<String>,
    /// `MaXa`: the contact address's ward or commune code, or empty. Personal.
    #[serde(rename = "MaXa", with = "personal_string")]
    pub ward_code: Personal<String>,
    /// `DiaChiLienHe`: the contact address in words (the typed house number and street, if
    /// any, then "Phường ..., Tỉnh ..."), or empty. Personal.
    #[serde(rename = "DiaChiLienHe", with = "personal_string")]
    pub contact_address: Personal<String>,
    /// `HinhThucNhanKetQua`: `counter`, `post` or `vneid`; empty for a clinic.
    #[serde(rename = "HinhThucNhanKetQua")]
    pub delivery: String,
    /// `LyDoKham`: a clinic visit's preset reason code (`fever`, ...), or empty.
    #[serde(rename = "LyDoKham")]
    pub visit_reason: String,
    /// `TaiLieuNop`: the dossier's components and how each is provided.
    #[serde(rename = "TaiLieuNop")]
    pub components: Vec<DossierComponent>,
}

/// One entry of `TaiLieuNop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DossierComponent {
    /// `MaThanhPhanHoSo`, when the catalogue knows it.
    #[serde(
        rename = "MaThanhPhanHoSo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub code: Option<String>,
    /// `TenThanhPhanHoSo`, in Vietnamese.
    #[serde(rename = "TenThanhPhanHoSo")]
    pub name: String,
    /// `xacThucTuChip`: true when the verified chip identity stands in for the paper.
    #[serde(rename = "xacThucTuChip")]
    pub from_chip: bool,
}

impl DossierDetails {
    /// The form of the fixtures' synthetic citizen: phone 0912345678, contact address in
    /// Lai Châu, result at the counter.
    #[must_use]
    pub fn synthetic() -> Self {
        Self {
            sex: Personal::new("Nam".to_owned()),
            permanent_address: Personal::new("Phường Tân Phong, Tỉnh Lai Châu".to_owned()),
            place_of_origin: Personal::new("Tỉnh Lai Châu".to_owned()),
            phone: Personal::new("0912345678".to_owned()),
            province_code: Personal::new("12".to_owned()),
            ward_code: Personal::new("3388".to_owned()),
            contact_address: Personal::new("Phường Tân Phong, Tỉnh Lai Châu".to_owned()),
            delivery: "counter".to_owned(),
            visit_reason: String::new(),
            components: vec![DossierComponent {
                code: None,
                name: "Thông tin nhân thân".to_owned(),
                from_chip: true,
            }],
        }
    }

    fn validate(&self) -> Result<(), InvalidField> {
        let bad = |field, rule| Err(InvalidField { field, rule });
        let phone = self.phone.expose();
        let mobile = phone.len() == 10
            && phone.bytes().all(|b| b.is_ascii_digit())
            && phone.starts_with('0');
        if !(phone.is_empty() || mobile) {
            return bad("HoSo.SoDienThoai", "empty or 10 digits starting with 0");
        }
        if !["", "counter", "post", "vneid"].contains(&self.delivery.as_str()) {
            return bad("HoSo.HinhThucNhanKetQua", "counter, post, vneid or empty");
        }
        let codes = [self.province_code.expose(), self.ward_code.expose()];
        if codes
            .iter()
            .any(|c| c.len() > 8 || !c.bytes().all(|b| b.is_ascii_digit()))
        {
            return bad("HoSo.MaTinh", "empty or up to 8 digits (also MaXa)");
        }
        let texts = [
            self.sex.expose(),
            self.permanent_address.expose(),
            self.place_of_origin.expose(),
            self.contact_address.expose(),
            &self.visit_reason,
        ];
        if texts
            .iter()
            .any(|t| t.chars().count() > 512 || t.chars().any(char::is_control))
        {
            return bad(
                "HoSo",
                "texts of at most 512 characters, no control characters",
            );
        }
        if self.components.len() > 64
            || self.components.iter().any(|c| !is_short_text(&c.name, 512))
        {
            return bad("HoSo.TaiLieuNop", "at most 64 named components");
        }
        Ok(())
    }
}

/// A field of [`SubmissionRequest`] that fails validation. Names the field only, never its
/// value, so the message can be logged and returned on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid field {field}: {rule}")]
pub struct InvalidField {
    /// The wire name of the field.
    pub field: &'static str,
    /// What the field must look like.
    pub rule: &'static str,
}

impl SubmissionRequest {
    /// A submission of the fixtures' synthetic citizen (NGUYEN VAN AN, 001090123456, born
    /// 01/01/1990; not a real person), face matched and live, confirmed 05/01/2026 09:30: for
    /// tests, benchmarks and examples. A procedure (`1.004194`, temporary residence) for
    /// [`SubmissionKind::Tthc`], a department (`KHAM-NOI`) for [`SubmissionKind::Clinic`];
    /// change fields with struct update syntax.
    #[must_use]
    pub fn synthetic(reference_uid: &str, kind: SubmissionKind) -> Self {
        let (code, name) = match kind {
            SubmissionKind::Tthc => ("1.004194", "Đăng ký tạm trú"),
            SubmissionKind::Clinic => ("KHAM-NOI", "Khám Nội"),
        };
        Self {
            reference_uid: reference_uid.to_owned(),
            kind,
            procedure_code: code.to_owned(),
            procedure_name: name.to_owned(),
            applicant_name: Personal::new("NGUYEN VAN AN".to_owned()),
            id_number: Personal::new("001090123456".to_owned()),
            date_of_birth: Personal::new("01/01/1990".to_owned()),
            face_matched: true,
            face_score: 0.91,
            liveness_passed: true,
            submitted_at: "20260105093000".to_owned(),
            dossier: Some(DossierDetails::synthetic()),
        }
    }

    /// Checks the shapes the gateway relies on.
    ///
    /// # Errors
    ///
    /// The first [`InvalidField`] found.
    pub fn validate(&self) -> Result<(), InvalidField> {
        let bad = |field, rule| Err(InvalidField { field, rule });
        let uid = &self.reference_uid;
        if uid.is_empty()
            || uid.len() > 64
            || !uid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return bad(
                "referenceUid",
                "1 to 64 characters of A-Z, a-z, 0-9 and '-'",
            );
        }
        if !is_short_text(&self.procedure_code, 32) {
            return bad("MaTTHC", "1 to 32 characters, no control characters");
        }
        if !is_short_text(&self.procedure_name, 512) {
            return bad("TenTTHC", "1 to 512 characters, no control characters");
        }
        if !is_short_text(self.applicant_name.expose(), 128) {
            return bad("ChuHoSo", "1 to 128 characters, no control characters");
        }
        let id = self.id_number.expose();
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return bad("SoCCCD", "12 digits");
        }
        if !is_dd_mm_yyyy(self.date_of_birth.expose()) {
            return bad("NgaySinh", "a date as dd/mm/yyyy");
        }
        if !(0.0..=1.0).contains(&self.face_score) {
            return bad("faceScore", "a number from 0 to 1");
        }
        if codes::parse_portal_time(&self.submitted_at).is_none() {
            return bad("submittedAt", "a time as yyyyMMddHHmmss");
        }
        if let Some(d) = &self.dossier {
            d.validate()?;
        }
        Ok(())
    }
}

fn is_short_text(s: &str, max_chars: usize) -> bool {
    let n = s.chars().count();
    n > 0 && n <= max_chars && !s.chars().any(char::is_control)
}

fn is_dd_mm_yyyy(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[2] != b'/' || b[5] != b'/' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u16>().ok());
    let (Some(d), Some(m), Some(y)) = (num(0..2), num(3..5), num(6..10)) else {
        return false;
    };
    let Ok(month) = time::Month::try_from(u8::try_from(m).unwrap_or(0)) else {
        return false;
    };
    // Some older records only know the year (01/01 is then common); any real calendar date
    // is accepted, the range just rules out typos.
    (1900..=2100).contains(&y)
        && time::Date::from_calendar_date(i32::from(y), month, u8::try_from(d).unwrap_or(0)).is_ok()
}

/// The gateway's answer to an accepted submission: what the receipt prints.
///
/// Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionReceipt {
    /// `MaHoSo`: the dossier code, `<agency>-<YYMMDD>-<NNNN>`.
    #[serde(rename = "MaHoSo")]
    pub dossier_code: String,
    /// `NgayTiepNhan`: when the dossier was received, `yyyyMMddHHmmss`.
    #[serde(rename = "NgayTiepNhan")]
    pub received_at: String,
    /// `NgayHenTra`: the appointment to collect the result, `yyyyMMddHHmmss`; the same day
    /// for a clinic.
    #[serde(rename = "NgayHenTra")]
    pub appointment: String,
    /// `MaTraCuu`: the 8-character lookup code printed with the dossier code.
    #[serde(rename = "MaTraCuu")]
    pub lookup_code: String,
    /// `SoThuTu`: the queue number, clinics only.
    #[serde(rename = "SoThuTu", default, skip_serializing_if = "Option::is_none")]
    pub queue_number: Option<u32>,
}

impl SubmissionReceipt {
    /// Checks that every field has the documented shape.
    ///
    /// # Errors
    ///
    /// The first [`InvalidField`] found.
    pub fn validate(&self) -> Result<(), InvalidField> {
        let bad = |field, rule| Err(InvalidField { field, rule });
        if !codes::is_dossier_code(&self.dossier_code) {
            return bad("MaHoSo", "<agency>-<YYMMDD>-<NNNN>");
        }
        if codes::parse_portal_time(&self.received_at).is_none() {
            return bad("NgayTiepNhan", "a time as yyyyMMddHHmmss");
        }
        if codes::parse_portal_time(&self.appointment).is_none() {
            return bad("NgayHenTra", "a time as yyyyMMddHHmmss");
        }
        if !codes::is_lookup_code(&self.lookup_code) {
            return bad("MaTraCuu", "8 characters of the lookup alphabet");
        }
        Ok(())
    }
}

/// `GET /v1/submissions/{MaHoSo}?code={MaTraCuu}`: where a dossier stands. No personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionStatus {
    /// `MaHoSo`.
    #[serde(rename = "MaHoSo")]
    pub dossier_code: String,
    /// `TrangThaiHoSo`: the status code, one of [`DossierState`]'s codes; kept as text so
    /// that a code a newer gateway adds reads as [`DossierState::Unknown`] instead of failing
    /// the whole answer ([`SubmissionStatus::state`]).
    #[serde(rename = "TrangThaiHoSo")]
    pub status: String,
    /// `TenTTHC`: the procedure's name.
    #[serde(rename = "TenTTHC")]
    pub procedure_name: String,
    /// `NgayTiepNhan`.
    #[serde(rename = "NgayTiepNhan")]
    pub received_at: String,
    /// `NgayHenTra`.
    #[serde(rename = "NgayHenTra")]
    pub appointment: String,
    /// `SoThuTu`, clinics only.
    #[serde(rename = "SoThuTu", default, skip_serializing_if = "Option::is_none")]
    pub queue_number: Option<u32>,
    /// `NoiTraKetQua`: where to collect the result, when the one-stop system says (state
    /// `ready`). An older kiosk ignores it.
    #[serde(
        rename = "NoiTraKetQua",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub collect_place: Option<String>,
    /// `NgayTraKetQua`: from when the result can be collected, `yyyyMMddHHmmss`, when the
    /// one-stop system says.
    #[serde(
        rename = "NgayTraKetQua",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub collect_at: Option<String>,
}

impl SubmissionStatus {
    /// Where the dossier stands, as the kiosk shows it.
    #[must_use]
    pub fn state(&self) -> DossierState {
        DossierState::from_code(&self.status)
    }
}

/// Where a dossier stands (`TrangThaiHoSo`), as far as the gateway knows: it forwards
/// dossiers to the provincial one-stop system and polls that system for their progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DossierState {
    /// `received`: accepted by the gateway, not yet handed to the one-stop system.
    Received,
    /// `forwarded`: the one-stop system took it; it has not reported progress yet.
    Forwarded,
    /// `processing`: the office is working on it.
    Processing,
    /// `ready`: the result is ready to collect (place and date in the status when given).
    Ready,
    /// `returned`: the office needs additional documents (the citizen asks at the counter).
    Returned,
    /// `done`: the result was handed over; the dossier is closed.
    Done,
    /// `forward_failed`: the one-stop system refused it or could not be reached for too long;
    /// an operator is on it (the citizen asks at the counter).
    ForwardFailed,
    /// `unknown`: a code this kiosk does not know (a newer gateway).
    Unknown,
}

impl DossierState {
    /// Every state, in the order a dossier passes through them.
    pub const ALL: [Self; 8] = [
        Self::Received,
        Self::Forwarded,
        Self::Processing,
        Self::Ready,
        Self::Returned,
        Self::Done,
        Self::ForwardFailed,
        Self::Unknown,
    ];

    /// The wire code.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Forwarded => "forwarded",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Returned => "returned",
            Self::Done => "done",
            Self::ForwardFailed => "forward_failed",
            Self::Unknown => "unknown",
        }
    }

    /// The state of a wire code; any other text is [`DossierState::Unknown`].
    #[must_use]
    pub fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or(Self::Unknown)
    }
}

/// `POST /v1/heartbeat`: what a kiosk reports every few minutes (versions, device health as
/// `kioskctl selftest` sees it, its outbox). No personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Heartbeat {
    /// The kiosk software's version, e.g. `0.1.0`.
    pub app_version: String,
    /// The OS image's version.
    #[serde(default)]
    pub os_version: String,
    /// Submissions waiting in the kiosk's outbox.
    pub queue_depth: u32,
    /// Submissions the kiosk's outbox gave up on (an operator must look).
    #[serde(default)]
    pub dead_letters: u32,
    /// Each device's health.
    #[serde(default)]
    pub devices: Vec<DeviceHealth>,
    /// When the kiosk sent it, `yyyyMMddHHmmss` in Asia/Ho_Chi_Minh.
    pub sent_at: String,
    /// SHA-256 (64 lower-case hex digits) of the kiosk's configuration file: tells a fleet
    /// operator which kiosks run a changed configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sha256: Option<String>,
    /// Whole days until the kiosk's client certificate expires (negative: expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_days_left: Option<i32>,
    /// Seconds since the kiosk program started.
    #[serde(default)]
    pub uptime_secs: u64,
}

/// One device in a [`Heartbeat`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceHealth {
    /// `card-reader`, `camera`, `printer`, `touchscreen`, ...
    pub device: String,
    /// `ok`, `degraded` or `failed`.
    pub status: DeviceStatus,
    /// A technician's note (the self-test's message), no personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A device's state in a [`Heartbeat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceStatus {
    /// Working.
    Ok,
    /// Working with a problem (paper low, a retry needed).
    Degraded,
    /// Not working.
    Failed,
}

impl Heartbeat {
    /// Most devices a heartbeat may list.
    pub const MAX_DEVICES: usize = 32;
    /// Largest `certDaysLeft` either way (a hundred years).
    pub const MAX_CERT_DAYS: i32 = 36_500;

    /// Checks the shapes the gateway stores.
    ///
    /// # Errors
    ///
    /// The first [`InvalidField`] found.
    pub fn validate(&self) -> Result<(), InvalidField> {
        let bad = |field, rule| Err(InvalidField { field, rule });
        if !is_short_text(&self.app_version, 64) {
            return bad("appVersion", "1 to 64 characters, no control characters");
        }
        if self.os_version.chars().count() > 64 || self.os_version.chars().any(char::is_control) {
            return bad("osVersion", "up to 64 characters, no control characters");
        }
        if self.devices.len() > Self::MAX_DEVICES {
            return bad("devices", "at most 32 devices");
        }
        for d in &self.devices {
            if !is_short_text(&d.device, 32) {
                return bad(
                    "devices.device",
                    "1 to 32 characters, no control characters",
                );
            }
            if d.detail.as_deref().is_some_and(|t| !is_short_text(t, 256)) {
                return bad(
                    "devices.detail",
                    "1 to 256 characters, no control characters",
                );
            }
        }
        if codes::parse_portal_time(&self.sent_at).is_none() {
            return bad("sentAt", "a time as yyyyMMddHHmmss");
        }
        if self.config_sha256.as_deref().is_some_and(|h| {
            h.len() != 64 || !h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }) {
            return bad("configSha256", "64 lower-case hexadecimal digits");
        }
        if self
            .cert_days_left
            .is_some_and(|d| !(-Self::MAX_CERT_DAYS..=Self::MAX_CERT_DAYS).contains(&d))
        {
            return bad("certDaysLeft", "-36500 to 36500 days");
        }
        Ok(())
    }

    /// Whether any device reports [`DeviceStatus::Failed`].
    #[must_use]
    pub fn has_failed_device(&self) -> bool {
        self.devices
            .iter()
            .any(|d| d.status == DeviceStatus::Failed)
    }
}

/// The body of every error response: a stable machine code and a technician message. Never
/// carries personal data (the gateway names fields, not values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code, e.g. `missing_idempotency_key`.
    pub error: String,
    /// Human-readable detail, English.
    pub message: String,
}

/// serde adapter for `Personal<String>` fields: the one place they meet the wire.
mod personal_string {
    use kiosk_personal::Personal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Personal<String>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.expose())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Personal<String>, D::Error> {
        String::deserialize(deserializer).map(Personal::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dossier_states_read_their_codes_and_nothing_else() {
        for state in DossierState::ALL {
            assert_eq!(DossierState::from_code(state.code()), state);
        }
        for other in ["", "RECEIVED", "archived", "in progress"] {
            assert_eq!(
                DossierState::from_code(other),
                DossierState::Unknown,
                "{other}"
            );
        }
        let status: SubmissionStatus = serde_json::from_str(
            r#"{"MaHoSo":"000.00.01.H29-260101-0001","TrangThaiHoSo":"forward_failed",
               "TenTTHC":"x","NgayTiepNhan":"20260101080000","NgayHenTra":"20260106170000"}"#,
        )
        .expect("parses");
        assert_eq!(status.state(), DossierState::ForwardFailed);
        assert_eq!((status.collect_place, status.collect_at), (None, None));
        let ready: SubmissionStatus = serde_json::from_str(
            r#"{"MaHoSo":"000.00.01.H29-260101-0001","TrangThaiHoSo":"ready",
               "TenTTHC":"x","NgayTiepNhan":"20260101080000","NgayHenTra":"20260106170000",
               "NoiTraKetQua":"Quầy 3","NgayTraKetQua":"20260106080000"}"#,
        )
        .expect("parses");
        assert_eq!(ready.state(), DossierState::Ready);
        assert_eq!(ready.collect_place.as_deref(), Some("Quầy 3"));
        assert_eq!(ready.collect_at.as_deref(), Some("20260106080000"));
    }

    fn demo_request() -> SubmissionRequest {
        SubmissionRequest::synthetic("0190f0a0-0000-7000-8000-000000000001", SubmissionKind::Tthc)
    }

    #[test]
    fn wire_names_and_redaction() {
        let req = demo_request();
        let json = serde_json::to_string(&req).expect("serialises");
        for name in [
            "\"referenceUid\":",
            "\"kind\":\"tthc\"",
            "\"MaTTHC\":",
            "\"TenTTHC\":",
            "\"ChuHoSo\":\"NGUYEN VAN AN\"",
            "\"SoCCCD\":\"001090123456\"",
            "\"NgaySinh\":\"01/01/1990\"",
            "\"faceMatched\":true",
            "\"livenessPassed\":true",
            "\"submittedAt\":\"20260105093000\"",
        ] {
            assert!(json.contains(name), "{name} missing from {json}");
        }
        let back: SubmissionRequest = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, req);
        let dbg = format!("{req:?}");
        assert!(!dbg.contains("001090123456") && !dbg.contains("NGUYEN") && !dbg.contains("1990"));
        assert_eq!(req.validate(), Ok(()));
    }

    #[test]
    fn heartbeats_parse_and_validate() {
        let json = r#"{"appVersion":"0.1.0","queueDepth":3,"sentAt":"20260105093000",
            "devices":[{"device":"printer","status":"degraded","detail":"paper low"}]}"#;
        let h: Heartbeat = serde_json::from_str(json).expect("parses");
        assert_eq!(h.validate(), Ok(()));
        assert_eq!(h.devices[0].status, DeviceStatus::Degraded);
        let bad = Heartbeat {
            sent_at: "yesterday".into(),
            ..h.clone()
        };
        assert_eq!(bad.validate().map_err(|e| e.field), Err("sentAt"));
        assert!(!h.has_failed_device());
        // The newer fields: an older kiosk leaves them out, a newer one is checked.
        assert_eq!(
            (h.config_sha256.as_deref(), h.cert_days_left, h.uptime_secs),
            (None, None, 0)
        );
        let full = Heartbeat {
            config_sha256: Some("ab".repeat(32)),
            cert_days_left: Some(-2),
            uptime_secs: 86_400,
            ..h.clone()
        };
        assert_eq!(full.validate(), Ok(()));
        let back: Heartbeat =
            serde_json::from_str(&serde_json::to_string(&full).expect("json")).expect("parses");
        assert_eq!(back, full);
        for (bad, field) in [
            (
                Heartbeat {
                    config_sha256: Some("AB".repeat(32)),
                    ..h.clone()
                },
                "configSha256",
            ),
            (
                Heartbeat {
                    config_sha256: Some("ab".repeat(31)),
                    ..h.clone()
                },
                "configSha256",
            ),
            (
                Heartbeat {
                    cert_days_left: Some(40_000),
                    ..h.clone()
                },
                "certDaysLeft",
            ),
        ] {
            assert_eq!(bad.validate().map_err(|e| e.field), Err(field));
        }
        assert!(serde_json::from_str::<Heartbeat>(
            r#"{"appVersion":"1","queueDepth":0,"sentAt":"20260105093000","name":"x"}"#
        )
        .is_err());
    }

    #[test]
    fn validation_names_the_field_not_the_value() {
        let check = |f: fn(&mut SubmissionRequest), field| {
            let mut r = demo_request();
            f(&mut r);
            let err = r.validate().expect_err("invalid");
            assert_eq!(err.field, field);
        };
        check(|r| r.reference_uid.clear(), "referenceUid");
        check(|r| r.reference_uid = "a b".into(), "referenceUid");
        check(
            |r| r.id_number = Personal::new("00109012345".into()),
            "SoCCCD",
        );
        check(
            |r| r.id_number = Personal::new("00109012345x".into()),
            "SoCCCD",
        );
        check(
            |r| r.date_of_birth = Personal::new("31/02/1990".into()),
            "NgaySinh",
        );
        check(
            |r| r.date_of_birth = Personal::new("1990-01-01".into()),
            "NgaySinh",
        );
        check(|r| r.face_score = f32::NAN, "faceScore");
        check(|r| r.submitted_at = "2026010509300".into(), "submittedAt");
        check(|r| r.procedure_name = "a\nb".into(), "TenTTHC");
        check(
            |r| r.applicant_name = Personal::new(String::new()),
            "ChuHoSo",
        );
    }

    #[test]
    fn the_dossier_form_on_the_wire() {
        let req = demo_request();
        let json = serde_json::to_string(&req).expect("serialises");
        for name in [
            "\"HoSo\"",
            "\"SoDienThoai\":\"0912345678\"",
            "\"MaTinh\"",
            "\"MaXa\"",
            "\"HinhThucNhanKetQua\":\"counter\"",
            "\"TaiLieuNop\"",
            "\"xacThucTuChip\":true",
        ] {
            assert!(json.contains(name), "{name} in {json}");
        }
        let back: SubmissionRequest = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, req);
        assert!(!format!("{req:?}").contains("0912345678"), "phone redacted");
        // A request without the form (an older kiosk) is still valid.
        let old = SubmissionRequest {
            dossier: None,
            ..demo_request()
        };
        assert_eq!(old.validate(), Ok(()));
        assert!(!serde_json::to_string(&old)
            .expect("json")
            .contains("\"HoSo\""));
        let bad = |f: fn(&mut DossierDetails), field: &str| {
            let mut r = demo_request();
            if let Some(d) = r.dossier.as_mut() {
                f(d);
            }
            assert_eq!(r.validate().map_err(|e| e.field), Err(field));
        };
        bad(
            |d| d.phone = Personal::new("12345".into()),
            "HoSo.SoDienThoai",
        );
        bad(|d| d.delivery = "fax".into(), "HoSo.HinhThucNhanKetQua");
        bad(|d| d.ward_code = Personal::new("12a".into()), "HoSo.MaTinh");
        bad(|d| d.visit_reason = "a\u{7}".into(), "HoSo");
    }
}
