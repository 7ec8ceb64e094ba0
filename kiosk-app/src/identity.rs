//! Turning what a reader hands us into a [`Citizen`]: the CCCD chip, opened with the ID
//! number, and the QR code printed on the card, which supplies that number.
//!
//! [`read_chip`] is the whole chip read of the identify step: PACE with the CAN (the last 6
//! digits of the 12-digit ID number; BAC with the QR code's date of birth and the CCCD expiry
//! rule when the card offers no PACE), the SOD, DG1, DG2, DG13 and DG15 over
//! `kiosk_icao9303::reader`, then passive authentication against the deployment's CSCA
//! certificates ([`CscaTrust`]) and Active Authentication when the card has DG15. Only a
//! verified chip becomes a [`Citizen`]. Everything here is pure apart from the APDU exchange,
//! which goes through the [`CardReader`] trait; time and randomness are passed in.
//!
//! One read has an overall deadline ([`READ_DEADLINE`] in the kiosk): the reader's per-APDU
//! timeout bounds one exchange, but a chip that answers every APDU slowly would otherwise hold
//! the kiosk for as long as it likes. `kiosk_icao9303` has no clock by design, so the deadline
//! is checked here, at the edge, before each APDU goes out.

use std::path::Path;
use std::time::{Duration, Instant};

use kiosk_hw::card::{CardError, CardErrorKind, CardReader};
use kiosk_hw::personal::Personal;
use kiosk_icao9303::auth::PassiveVerdict;
use kiosk_icao9303::lds::{self, dg13, File};
use kiosk_icao9303::pace::Password;
use kiosk_icao9303::policy::CloneVerdict;
use kiosk_icao9303::reader::{self, Access, LinkError, ReadError, ReadOptions};
use kiosk_icao9303::{bac, Error as ProtoError};
use zeroize::Zeroizing;

use crate::session::{Citizen, CitizenDetails, IdentifyFailure, IdentitySource};

/// What opens one chip: the 12-digit ID number (PACE-CAN) and, when the card's QR code gave
/// the date of birth, a BAC key for cards without PACE. Debug output is redacted.
#[derive(Clone)]
pub struct ChipKey {
    id_number: Personal<String>,
    bac: Option<Zeroizing<[u8; 16]>>,
}

impl std::fmt::Debug for ChipKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipKey")
            .field("bac", &self.bac.is_some())
            .finish_non_exhaustive()
    }
}

impl ChipKey {
    /// The key of a typed or scanned ID number; `None` unless it is 12 ASCII digits.
    #[must_use]
    pub fn from_id(id_number: &Personal<String>) -> Option<Self> {
        Password::can_from_id(id_number.expose()).ok()?;
        Some(Self {
            id_number: id_number.clone(),
            bac: None,
        })
    }

    /// Adds the BAC fallback derived from the card's QR code (document number = last 9 digits
    /// of the ID number, date of birth, and the most likely expiry of the CCCD rule). Nothing
    /// is added when the code names another ID number or the card has no expiry (what its MRZ
    /// then holds is not confirmed: PACE-CAN only).
    #[must_use]
    pub fn with_qr(mut self, qr: &kiosk_qr::CccdQr) -> Self {
        if qr.id_number() != &self.id_number {
            return self;
        }
        let access = qr.chip_access();
        let expiry = match &access.expiry {
            kiosk_qr::ExpiryCandidates::Dates(d) => d.expose().first().cloned(),
            _ => None,
        };
        self.bac = expiry.and_then(|exp| {
            let info = bac::mrz_information(
                access.document_number.expose(),
                access.date_of_birth.expose(),
                &exp,
            )
            .ok()?;
            Some(bac::key_seed(&info))
        });
        self
    }

    /// The ID number this key was made from.
    #[must_use]
    pub fn id_number(&self) -> &Personal<String> {
        &self.id_number
    }

    fn access(&self) -> Result<Access, IdentifyFailure> {
        let password = Password::can_from_id(self.id_number.expose())
            .map_err(|_| IdentifyFailure::WrongIdNumber)?;
        Ok(Access::Pace {
            password,
            bac_fallback: self.bac.clone(),
        })
    }
}

/// The trust anchors of passive authentication: the deployment's CSCA certificates (DER).
#[derive(Clone, Default)]
pub struct CscaTrust {
    certificates: Vec<Vec<u8>>,
    allow_unknown_csca: bool,
}

impl std::fmt::Debug for CscaTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CscaTrust")
            .field("certificates", &self.certificates.len())
            .field("allow_unknown_csca", &self.allow_unknown_csca)
            .finish()
    }
}

/// A CSCA folder could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The folder or a file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Which path.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The folder holds no certificate.
    #[error("{0} holds no certificate (DER, or PEM CERTIFICATE blocks, one or more per file)")]
    Empty(std::path::PathBuf),
}

impl CscaTrust {
    /// Trusts `certificates` (DER). `allow_unknown_csca` accepts a chip whose SOD signature,
    /// Document Signer certificate and data group hashes verify but whose CSCA is not among
    /// them (demonstrations with real cards, whose CSCA is not public); configuration allows
    /// it only with `demo = true`.
    #[must_use]
    pub fn new(certificates: Vec<Vec<u8>>, allow_unknown_csca: bool) -> Self {
        Self {
            certificates,
            allow_unknown_csca,
        }
    }

    /// Adds one certificate (DER), e.g. the demo card's generated test CSCA.
    pub fn add(&mut self, der: Vec<u8>) {
        self.certificates.push(der);
    }

    /// How many certificates are trusted.
    #[must_use]
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// No certificate is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }

    /// Reads every certificate in `dir`: DER files, or PEM files with one or more
    /// `CERTIFICATE` blocks. Sub-folders are skipped.
    ///
    /// # Errors
    /// [`TrustError::Io`] when the folder or a file cannot be read, [`TrustError::Empty`]
    /// when no certificate was found.
    pub fn load_dir(dir: &Path) -> Result<Vec<Vec<u8>>, TrustError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| TrustError::Io { path, source }
        };
        let mut out = Vec::new();
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            if path.is_file() {
                paths.push(path);
            }
        }
        // A stable order, so that logs and tests do not depend on the file system.
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            if bytes.starts_with(b"-----BEGIN") {
                out.extend(pem_certificates(&String::from_utf8_lossy(&bytes)));
            } else if !bytes.is_empty() {
                out.push(bytes);
            }
        }
        if out.is_empty() {
            return Err(TrustError::Empty(dir.to_owned()));
        }
        Ok(out)
    }
}

/// The DER of every `CERTIFICATE` block of a PEM text (blocks that do not decode are skipped).
#[must_use]
pub fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    text.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .filter_map(|block| {
            let b64: String = block
                .split("-----END")
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            base64_decode(&b64)
        })
        .collect()
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let n = chunk.len().saturating_sub(1);
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

/// How long one chip read may take in all (PACE, every data group, Active Authentication),
/// retry included. A CCCD reads in 2-4 s on a real reader; past this the citizen is asked to
/// place the card again ([`IdentifyFailure::ReadTimedOut`]).
pub const READ_DEADLINE: Duration = Duration::from_secs(15);

/// The transport error of an APDU that was not sent because the read's deadline had passed.
#[derive(Debug, thiserror::Error)]
#[error("the chip read passed its overall deadline")]
struct DeadlinePassed;

/// `YYYYMMDDHHMMSS` (UTC), the clock passive authentication checks certificates against.
#[must_use]
pub fn pa_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    crate::gateway::codes::format_portal_time(time::PrimitiveDateTime::new(t.date(), t.time()))
}

/// Reads and verifies the chip on `reader` with `key` and builds the citizen: PACE-CAN (or
/// BAC), the SOD and data groups, passive authentication against `trust` at `now`
/// (`YYYYMMDDHHMMSS`, UTC) and the clone checks (Chip Authentication when DG14 offers it,
/// Active Authentication when the SOD lists DG15; `kiosk_icao9303::policy`). `rand` fills
/// random bytes (ephemeral keys, challenges). `atr` is the card's answer to reset as the reader
/// reported it: extended-length reads are used only when it or EF.ATR/INFO says the card
/// supports them. No APDU is sent after `deadline` (the kiosk passes
/// [`READ_DEADLINE`] from the start of the read). Logs name verdicts and sizes, never a
/// personal field.
///
/// # Errors
/// An [`IdentifyFailure`] the session can explain: [`IdentifyFailure::WrongIdNumber`] when
/// the chip refuses the CAN, [`IdentifyFailure::NotAuthentic`] when a verification fails,
/// [`IdentifyFailure::CardRemovedDuringRead`] / [`IdentifyFailure::ReaderMissing`] for the
/// reader's errors, [`IdentifyFailure::ReadTimedOut`] past the deadline,
/// [`IdentifyFailure::Unreadable`] for anything else.
pub fn read_chip(
    reader: &mut dyn CardReader,
    key: &ChipKey,
    trust: &CscaTrust,
    now: &str,
    rand: &mut dyn FnMut(&mut [u8]),
    atr: Option<&[u8]>,
    deadline: Instant,
) -> Result<Citizen, IdentifyFailure> {
    let access = key.access()?;
    // DG1 (MRZ), DG2 (portrait), DG13 (Vietnamese fields), DG14 (Chip Authentication and the
    // Active Authentication hash) and DG15 (Active Authentication key): the clone checks of
    // `chip_verdict` need DG14 and DG15 whenever the SOD lists them.
    let opts = ReadOptions {
        atr: atr.map(<[u8]>::to_vec),
        ..ReadOptions::default()
    };
    let mut transport = |apdu: &[u8]| -> Result<Vec<u8>, LinkError> {
        if Instant::now() >= deadline {
            return Err(Box::new(DeadlinePassed));
        }
        reader.transmit(apdu).map_err(|e| Box::new(e) as LinkError)
    };
    let mut result = reader::read_chip(&mut transport, &access, &opts, rand);
    // A card that was just put down can fail its first exchange while the field settles (seen
    // with PC/SC readers): one more try before asking the citizen to tap again.
    if let Err(e) = &result {
        if link_kind(e) == Some(CardErrorKind::Transport) {
            std::thread::sleep(std::time::Duration::from_millis(300));
            result = reader::read_chip(&mut transport, &access, &opts, rand);
        }
    }
    let read = result.map_err(|e| {
        let f = read_failure(&e);
        tracing::info!(error = %e, failure = ?f, "chip read failed");
        f
    })?;
    let verdict = read.chip_verdict(&trust.certificates, now);
    tracing::info!(
        access = ?read.access,
        apdus = read.apdus,
        sm_restarts = read.sm_restarts,
        extended_length = read.extended_length_used,
        passive = verdict.passive.code(),
        active = verdict.active.code(),
        clone_checks = verdict.clone.code(),
        "chip verified"
    );
    for note in &verdict.notes {
        tracing::info!(note, "chip verdict");
    }
    match &verdict.passive {
        PassiveVerdict::Verified => {}
        PassiveVerdict::CscaUnknown if trust.allow_unknown_csca => {
            tracing::warn!("chip signed by a CSCA outside the trust store: accepted (demo)");
        }
        // Not the citizen's fault: the technician must update the kiosk. Still refused.
        PassiveVerdict::UnsupportedAlgorithm(what) => {
            tracing::error!(
                what = %what,
                "passive authentication not possible: this kiosk build does not implement \
                 the card's signature algorithm (update the kiosk software)"
            );
            return Err(IdentifyFailure::NotAuthentic);
        }
        PassiveVerdict::WeakAlgorithm(what) => {
            tracing::warn!(what = %what, "chip refused: SHA-1 or a short RSA key in its PKI");
            return Err(IdentifyFailure::NotAuthentic);
        }
        _ => return Err(IdentifyFailure::NotAuthentic),
    }
    // Passive authentication proves the data, not the chip: a copy of the files on another
    // chip is refused here (Chip Authentication or Active Authentication failed, refused or
    // avoided by hiding DG14/DG15).
    if let CloneVerdict::PossiblyCloned(why) = &verdict.clone {
        tracing::warn!(reason = why.code(), detail = %why, "chip refused: possibly cloned");
        return Err(IdentifyFailure::NotAuthentic);
    }
    citizen_from_chip(&read, now)
}

fn link_kind(e: &ReadError) -> Option<CardErrorKind> {
    match e {
        ReadError::Link(l) => l.downcast_ref::<CardError>().map(CardError::kind),
        _ => None,
    }
}

/// What the citizen is told about a failed read.
fn read_failure(e: &ReadError) -> IdentifyFailure {
    match e {
        ReadError::Link(l) if l.is::<DeadlinePassed>() => IdentifyFailure::ReadTimedOut,
        ReadError::Link(_) => link_kind(e).map_or(IdentifyFailure::Unreadable, card_failure),
        ReadError::Protocol(ProtoError::AccessDenied(_)) => IdentifyFailure::WrongIdNumber,
        // A truncated answer: seen when the card leaves the field mid-exchange.
        ReadError::Protocol(ProtoError::Transport(_)) => IdentifyFailure::CardRemovedDuringRead,
        _ => IdentifyFailure::Unreadable,
    }
}

/// The citizen from verified chip files: DG13 for the Vietnamese text (name with diacritics,
/// dates as `dd/mm/yyyy`, sex as `Nam`/`Nữ`, addresses), DG1 for the ID number and as the
/// fallback, DG2 for the portrait.
fn citizen_from_chip(
    read: &kiosk_icao9303::reader::ChipRead,
    now: &str,
) -> Result<Citizen, IdentifyFailure> {
    let unreadable = |what: &'static str| {
        move |e: ProtoError| {
            tracing::warn!(error = %e, "{what} did not parse");
            IdentifyFailure::Unreadable
        }
    };
    let dg1 = read
        .files
        .get(&File::Dg(1))
        .ok_or(IdentifyFailure::Unreadable)?;
    let mrz = lds::parse_dg1(dg1).map_err(unreadable("DG1"))?;
    let d13 = match read.files.get(&File::Dg(13)) {
        Some(raw) => Some(lds::parse_dg13(raw).map_err(unreadable("DG13"))?),
        None => None,
    };
    let text = |n: u32| -> Option<Personal<String>> {
        d13.as_ref()
            .and_then(|d| d.text(n))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Personal::new(t.to_owned()))
    };
    let listed = |n: u32, i: usize| -> Option<Personal<String>> {
        d13.as_ref()
            .and_then(|d| d.list(n))
            .and_then(|l| l.get(i))
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .map(|t| Personal::new(t.to_owned()))
    };
    let id = mrz
        .cccd_id_number()
        .map(|s| Personal::new(s.to_owned()))
        .or_else(|| text(dg13::ID_NUMBER))
        .ok_or(IdentifyFailure::Unreadable)?;
    let name = text(dg13::FULL_NAME).unwrap_or_else(|| {
        Personal::new(
            format!("{} {}", mrz.surname, mrz.given_names)
                .trim()
                .to_owned(),
        )
    });
    let this_year = now
        .get(2..4)
        .and_then(|y| y.parse::<u8>().ok())
        .unwrap_or(0);
    let dob = text(dg13::DATE_OF_BIRTH)
        .or_else(|| mrz_date(&mrz.date_of_birth, this_year).map(Personal::new))
        .unwrap_or_else(|| Personal::new(String::new()));
    let sex = text(dg13::SEX).unwrap_or_else(|| {
        Personal::new(
            match mrz.sex {
                'M' => "Nam",
                'F' => "Nữ",
                _ => "",
            }
            .to_owned(),
        )
    });
    let portrait = match read.files.get(&File::Dg(2)).map(|raw| lds::parse_dg2(raw)) {
        Some(Ok(face)) => Some(Personal::new(face.data.to_vec())),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "DG2 did not parse: no portrait");
            None
        }
        None => {
            tracing::warn!("the chip holds no DG2: no portrait");
            None
        }
    };
    let details = CitizenDetails {
        nationality: text(dg13::NATIONALITY),
        ethnicity: text(dg13::ETHNICITY),
        religion: text(dg13::RELIGION),
        place_of_origin: text(dg13::PLACE_OF_ORIGIN),
        issue_date: text(dg13::ISSUE_DATE),
        expiry_date: text(dg13::EXPIRY_DATE),
        father: listed(dg13::PARENTS, 0),
        mother: listed(dg13::PARENTS, 1),
        spouse: listed(dg13::SPOUSE, 0),
        old_id_number: text(dg13::OLD_DOCUMENT_NUMBER),
    };
    let citizen = Citizen::new(
        IdentitySource::Chip,
        id,
        name,
        dob,
        sex,
        text(dg13::PLACE_OF_RESIDENCE),
    )
    .map_err(|e| {
        tracing::warn!(error = %e, "chip identity refused");
        IdentifyFailure::Unreadable
    })?
    .with_details(details);
    Ok(match portrait {
        Some(p) => citizen.with_portrait(p),
        None => citizen,
    })
}

/// MRZ `YYMMDD` as `dd/mm/yyyy`; a two-digit year above `this_year` is in the 1900s.
fn mrz_date(yymmdd: &str, this_year: u8) -> Option<String> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: u16 = yymmdd[0..2].parse().ok()?;
    let century = if yy > u16::from(this_year) {
        1900
    } else {
        2000
    };
    Some(format!(
        "{}/{}/{}",
        &yymmdd[4..6],
        &yymmdd[2..4],
        century + yy
    ))
}

/// Maps a reader error to what the citizen is told.
#[must_use]
pub fn card_failure(kind: CardErrorKind) -> IdentifyFailure {
    match kind {
        CardErrorKind::CardRemoved | CardErrorKind::NoCard => {
            IdentifyFailure::CardRemovedDuringRead
        }
        CardErrorKind::NoReader | CardErrorKind::ServiceUnavailable => {
            IdentifyFailure::ReaderMissing
        }
        _ => IdentifyFailure::Unreadable,
    }
}

/// Why a scanned QR did not give an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrIdentityError {
    /// Fewer than the 6 `|`-separated fields a CCCD QR has.
    #[error("not a CCCD QR code (expected at least 6 fields separated by '|')")]
    NotCccd,
    /// The ID number is not 12 digits.
    #[error("the ID number in the QR code is not 12 digits")]
    IdNumber,
    /// The date of birth is not a real `ddmmyyyy` date.
    #[error("the date of birth in the QR code is not a valid ddmmyyyy date")]
    DateOfBirth,
    /// The name is empty.
    #[error("the name in the QR code is empty")]
    Name,
    /// Another field is wrong (old ID number, sex, address, issue date).
    #[error(transparent)]
    Field(kiosk_qr::CccdError),
}

impl From<kiosk_qr::CccdError> for QrIdentityError {
    fn from(e: kiosk_qr::CccdError) -> Self {
        use kiosk_qr::CccdError as E;
        match e {
            E::TooFewFields(_) => Self::NotCccd,
            E::IdNumber => Self::IdNumber,
            E::DateOfBirth => Self::DateOfBirth,
            E::Name => Self::Name,
            other => Self::Field(other),
        }
    }
}

/// Parses the QR printed on a CCCD: `ID12|old CMND|NAME|ddmmyyyy|sex|address|issue date`,
/// with `kiosk_qr::CccdQr` (6+ fields, NFC, real dates, `Nam`/`Nữ`).
///
/// # Errors
/// [`QrIdentityError`] naming the field that is wrong.
pub fn citizen_from_cccd_qr(text: &str) -> Result<Citizen, QrIdentityError> {
    citizen_from_parsed(&kiosk_qr::CccdQr::parse(text)?)
}

/// What the identify worker makes of any scanned code: the card's QR code (its ID number is
/// the key to the chip, see [`ChipKey::with_qr`]), or the failure the citizen is told. A code
/// of another kind (a receipt, a VNeID app code, a web link) is
/// [`IdentifyFailure::QrNotCard`]; a CCCD code with a wrong field is
/// [`IdentifyFailure::Unreadable`]. Logs name the kind or field, never the content.
///
/// # Errors
/// As above.
pub fn card_qr_from_scan(text: &str) -> Result<kiosk_qr::CccdQr, IdentifyFailure> {
    match kiosk_qr::classify(text) {
        Ok(kiosk_qr::Payload::Cccd(q)) => Ok(q),
        Err(kiosk_qr::ClassifyError::Cccd(e)) => {
            tracing::info!(error = %e, "CCCD QR code with a wrong field");
            Err(IdentifyFailure::Unreadable)
        }
        Ok(other) => {
            tracing::info!(kind = other.kind_name(), "QR code is not a CCCD card QR");
            Err(IdentifyFailure::QrNotCard)
        }
        Err(e) => {
            tracing::info!(error = %e, "QR code is not a CCCD card QR");
            Err(IdentifyFailure::QrNotCard)
        }
    }
}

fn citizen_from_parsed(q: &kiosk_qr::CccdQr) -> Result<Citizen, QrIdentityError> {
    Citizen::new(
        IdentitySource::Qr,
        q.id_number().clone(),
        q.full_name().clone(),
        // `dd/mm/yyyy`, as the chip path and the gateway use.
        q.date_of_birth().map(ToString::to_string),
        q.sex().map(|s| s.as_vietnamese().to_owned()),
        q.address().cloned(),
    )
    .map_err(|_| QrIdentityError::IdNumber)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hw::card::SimCardReader;
    use kiosk_vcard::{Profile, VirtualCccd};
    use unicode_normalization::UnicodeNormalization as _;

    const NOW: &str = "20260601000000";
    const ID: &str = "001090123456";

    fn rand_fill() -> impl FnMut(&mut [u8]) {
        let mut rng = rand::rng();
        move |b: &mut [u8]| rand::Rng::fill_bytes(&mut rng, b)
    }

    /// A reader with the demo profile's virtual CCCD (changed by `edit`) and its trust.
    fn reader_with(edit: impl FnOnce(&mut Profile)) -> (SimCardReader, CscaTrust) {
        let mut p = Profile::demo("portrait.jpg".into());
        edit(&mut p);
        let (card, trust) =
            VirtualCccd::from_profile_with_portrait(&p, kiosk_vcard::DEMO_PORTRAIT).expect("card");
        let mut reader = SimCardReader::new("sim");
        reader.control().insert(Box::new(card));
        reader
            .wait_for_change(std::time::Duration::ZERO)
            .expect("presence");
        (reader, CscaTrust::new(vec![trust.csca_der], false))
    }

    /// The kiosk's deadline from now: far beyond what a virtual card needs.
    fn soon() -> Instant {
        Instant::now() + READ_DEADLINE
    }

    fn key(id: &str) -> ChipKey {
        ChipKey::from_id(&Personal::new(id.to_owned())).expect("12 digits")
    }

    #[test]
    fn the_virtual_cccd_gives_the_verified_citizen_with_portrait_and_dg13() {
        let (mut reader, trust) = reader_with(|_| {});
        let c = read_chip(
            &mut reader,
            &key(ID),
            &trust,
            NOW,
            &mut rand_fill(),
            None,
            soon(),
        )
        .expect("verified");
        assert_eq!(c.source(), IdentitySource::Chip);
        assert_eq!(c.id_number().expose(), ID);
        assert_eq!(c.full_name().expose(), "Nguyễn Văn An");
        assert_eq!(c.date_of_birth().expose(), "01/01/1990");
        assert_eq!(c.sex().expose(), "Nam");
        assert!(c.place_of_residence().is_some());
        let portrait = c.portrait().expect("DG2 portrait");
        assert_eq!(portrait.expose().as_slice(), kiosk_vcard::DEMO_PORTRAIT);
        let d = c.details();
        assert_eq!(
            d.father.as_ref().map(|f| f.expose().as_str()),
            Some("Nguyễn Văn Bình")
        );
        assert_eq!(
            d.mother.as_ref().map(|f| f.expose().as_str()),
            Some("Trần Thị Cúc")
        );
        assert_eq!(d.spouse, None);
        assert_eq!(
            d.old_id_number.as_ref().map(|f| f.expose().as_str()),
            Some("012345678")
        );
        assert_eq!(
            d.issue_date.as_ref().map(|f| f.expose().as_str()),
            Some("15/04/2021")
        );
    }

    #[test]
    fn a_wrong_number_is_refused_by_the_chip() {
        let (mut reader, trust) = reader_with(|_| {});
        // Same first six digits, another CAN.
        let got = read_chip(
            &mut reader,
            &key("001090654321"),
            &trust,
            NOW,
            &mut rand_fill(),
            None,
            soon(),
        );
        assert_eq!(got.err(), Some(IdentifyFailure::WrongIdNumber));
    }

    #[test]
    fn verification_failures_are_not_authentic() {
        let (mut reader, _) = reader_with(|_| {});
        let empty = CscaTrust::default();
        assert_eq!(
            read_chip(
                &mut reader,
                &key(ID),
                &empty,
                NOW,
                &mut rand_fill(),
                None,
                soon()
            )
            .err(),
            Some(IdentifyFailure::NotAuthentic),
            "no CSCA trusted"
        );
        // The demo switch accepts an unknown CSCA, but nothing else.
        let lenient = CscaTrust::new(Vec::new(), true);
        assert!(read_chip(
            &mut reader,
            &key(ID),
            &lenient,
            NOW,
            &mut rand_fill(),
            None,
            soon()
        )
        .is_ok());
        let (mut reader, trust) = reader_with(|p| p.faults.tamper_dg2 = true);
        assert_eq!(
            read_chip(
                &mut reader,
                &key(ID),
                &trust,
                NOW,
                &mut rand_fill(),
                None,
                soon()
            )
            .err(),
            Some(IdentifyFailure::NotAuthentic),
            "tampered DG2"
        );
        let (mut reader, _) = reader_with(|p| p.faults.tamper_dg2 = true);
        assert_eq!(
            read_chip(
                &mut reader,
                &key(ID),
                &lenient,
                NOW,
                &mut rand_fill(),
                None,
                soon()
            )
            .err(),
            Some(IdentifyFailure::NotAuthentic),
            "a hash mismatch is never allowed"
        );
        let (mut reader, trust) = reader_with(|p| p.faults.aa_key_mismatch = true);
        assert_eq!(
            read_chip(
                &mut reader,
                &key(ID),
                &trust,
                NOW,
                &mut rand_fill(),
                None,
                soon()
            )
            .err(),
            Some(IdentifyFailure::NotAuthentic),
            "cloned chip (Active Authentication)"
        );
    }

    #[test]
    fn bac_from_the_qr_opens_a_card_without_pace() {
        let (mut reader, trust) = reader_with(|p| p.chip.pace = false);
        assert_eq!(
            read_chip(
                &mut reader,
                &key(ID),
                &trust,
                NOW,
                &mut rand_fill(),
                None,
                soon()
            )
            .err(),
            Some(IdentifyFailure::Unreadable),
            "typed number only: no BAC data"
        );
        // The demo QR's issue date (2021) and birth date (1990) give the 2030 expiry (age 40).
        let qr = card_qr_from_scan(kiosk_hw::sim::DEMO_QR).expect("card QR");
        let k = key(ID).with_qr(&qr);
        let c =
            read_chip(&mut reader, &k, &trust, NOW, &mut rand_fill(), None, soon()).expect("BAC");
        assert_eq!(c.id_number().expose(), ID);
    }

    #[test]
    fn card_pulled_mid_read_is_reported_as_such() {
        let (mut reader, trust) = reader_with(|_| {});
        reader.control().remove_after_apdus(5);
        assert_eq!(
            read_chip(
                &mut reader,
                &key(ID),
                &trust,
                NOW,
                &mut rand_fill(),
                None,
                soon()
            )
            .err(),
            Some(IdentifyFailure::CardRemovedDuringRead)
        );
    }

    /// A reader that takes `delay` over every APDU: a chip that answers, slowly, forever.
    struct Slow {
        inner: SimCardReader,
        delay: std::time::Duration,
        apdus: u32,
    }

    impl CardReader for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        fn wait_for_change(
            &mut self,
            timeout: std::time::Duration,
        ) -> Result<kiosk_hw::card::CardPresence, CardError> {
            self.inner.wait_for_change(timeout)
        }
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
            self.apdus += 1;
            std::thread::sleep(self.delay);
            self.inner.transmit(apdu)
        }
    }

    #[test]
    fn a_chip_slower_than_the_deadline_times_out_with_its_own_failure() {
        let (inner, trust) = reader_with(|_| {});
        let mut reader = Slow {
            inner,
            delay: std::time::Duration::from_millis(20),
            apdus: 0,
        };
        // A whole read is about 85 APDUs: at 20 ms each it cannot fit in 100 ms.
        let deadline = Instant::now() + std::time::Duration::from_millis(100);
        let got = read_chip(
            &mut reader,
            &key(ID),
            &trust,
            NOW,
            &mut rand_fill(),
            None,
            deadline,
        );
        assert_eq!(got.err(), Some(IdentifyFailure::ReadTimedOut));
        // APDU n goes out no earlier than 20 * (n - 1) ms: at most 5 fit before the deadline.
        assert!(
            reader.apdus <= 5,
            "{} APDUs after the deadline",
            reader.apdus
        );
        // A deadline already passed sends nothing at all.
        reader.apdus = 0;
        let got = read_chip(
            &mut reader,
            &key(ID),
            &trust,
            NOW,
            &mut rand_fill(),
            None,
            Instant::now(),
        );
        assert_eq!(got.err(), Some(IdentifyFailure::ReadTimedOut));
        assert_eq!(reader.apdus, 0);
    }

    #[test]
    fn no_card_no_identity() {
        let mut reader = SimCardReader::new("sim");
        assert!(read_chip(
            &mut reader,
            &key(ID),
            &CscaTrust::default(),
            NOW,
            &mut rand_fill(),
            None,
            soon()
        )
        .is_err());
        assert!(ChipKey::from_id(&Personal::new("12345".into())).is_none());
    }

    #[test]
    fn trust_folders_read_der_and_pem() {
        let (_, trust) = reader_with(|_| {});
        let der = trust.certificates[0].clone();
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            CscaTrust::load_dir(dir.path()),
            Err(TrustError::Empty(_))
        ));
        std::fs::write(dir.path().join("a.der"), &der).expect("write");
        let b64 = {
            const T: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut s = String::new();
            for c in der.chunks(3) {
                let n = c
                    .iter()
                    .enumerate()
                    .fold(0u32, |a, (i, b)| a | u32::from(*b) << (16 - 8 * i));
                for i in 0..=c.len() {
                    s.push(char::from(T[(n >> (18 - 6 * i) & 63) as usize]));
                }
                s.push_str(&"=".repeat(3 - c.len()));
            }
            s
        };
        std::fs::write(
            dir.path().join("b.pem"),
            format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n"),
        )
        .expect("write");
        let loaded = CscaTrust::load_dir(dir.path()).expect("loads");
        assert_eq!(loaded, vec![der.clone(), der]);
        assert!(CscaTrust::load_dir(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn pa_time_is_utc_digits() {
        let t = time::macros::datetime!(2026-01-02 03:04:05 +7);
        assert_eq!(pa_time(t), "20260101200405");
        assert_eq!(mrz_date("900101", 26).as_deref(), Some("01/01/1990"));
        assert_eq!(mrz_date("100101", 26).as_deref(), Some("01/01/2010"));
    }

    #[test]
    fn cccd_qr_parses_and_normalises() {
        // Decomposed tone marks (NFD) must come out composed (NFC).
        let nfd: String = "Nguyễn Văn An".nfd().collect();
        let text = format!("001090123456||{nfd}|01011990|Nam|Hà Nội|01012021");
        let c = citizen_from_cccd_qr(&text).expect("parses");
        assert_eq!(c.full_name().expose(), "Nguyễn Văn An");
        assert_eq!(c.date_of_birth().expose(), "01/01/1990");
        assert_eq!(c.source(), IdentitySource::Qr);
        assert!(citizen_from_cccd_qr(kiosk_hw::sim::DEMO_QR).is_ok());
    }

    #[test]
    fn cccd_qr_errors_name_the_field() {
        let cases = [
            ("hello", QrIdentityError::NotCccd),
            (
                "0010901234567||A|01011990|Nam|x|01012021",
                QrIdentityError::IdNumber,
            ),
            (
                "001090123456||A|31021990|Nam|x|01012021",
                QrIdentityError::DateOfBirth,
            ),
            (
                "001090123456|| |01011990|Nam|x|01012021",
                QrIdentityError::Name,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(citizen_from_cccd_qr(text).err(), Some(want), "{text}");
        }
    }

    #[test]
    fn scans_of_other_codes_say_so() {
        let q = card_qr_from_scan(kiosk_hw::sim::DEMO_QR).expect("the demo card's QR");
        assert_eq!(q.id_number().expose(), ID);
        let cases = [
            (
                "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P",
                IdentifyFailure::QrNotCard,
            ),
            ("https://vneid.gov.vn/x", IdentifyFailure::QrNotCard),
            ("not a cccd", IdentifyFailure::QrNotCard),
            (
                "001090123456||A|01011990|Male|x|01012021",
                IdentifyFailure::Unreadable,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(card_qr_from_scan(text).err(), Some(want), "{text}");
        }
    }
}
