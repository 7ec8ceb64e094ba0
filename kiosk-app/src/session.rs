//! The citizen session as a pure state machine.
//!
//! This module does no I/O and reads no clock, like rustls: the shell feeds [`Event`]s with
//! the current monotonic time ([`Millis`]) into [`Session::handle`] and carries out the
//! [`Command`]s it returns (arm the card reader, start the camera, submit, print, wipe...).
//! The UI renders [`Session::view`]. Randomness (the session id seed) is passed in too, so every
//! test is deterministic.
//!
//! # Flow
//!
//! `Attract -> Language -> Identify -> Consent -> VerifyFace -> ChooseService -> Confirm ->
//! Submitting -> Receipt -> Attract`, plus `Notice`, a message shown for a few seconds before
//! `Attract` (or, after a face mismatch with attempts left, a notice offering [`Event::Retry`]).
//! From `Attract` the status lookup of an earlier dossier is a separate short flow,
//! `Attract -> Lookup -> Attract` (see [`lookup`]).
//!
//! # Invariants
//!
//! - Personal data (the [`Citizen`], the face outcome, the [`ReceiptInfo`]) exists only between
//!   identification and the next wipe. Every path back to `Attract` drops it (the
//!   [`Personal`] wrapper zeroizes on drop) and emits [`Command::Wipe`] so the shell clears its
//!   own copies. [`Session::holds_personal_data`] lets tests check this.
//! - Face capture starts only after explicit consent (Law 91/2025: biometrics are sensitive),
//!   enforced by types: the `VerifyFace` state holds a `ConsentGiven` token that only the
//!   `Consent` step creates, and a [`Dossier`] can only be built from a `FaceVerified` token
//!   that only a matched, live [`FaceOutcome`] creates.
//! - After the dossier is handed over (`Submitting`), the session keeps no personal data: the
//!   shell's outbox owns the submission from then on.
//!
//! # Decisions
//!
//! - Removing a chip card after `Confirm` does not cancel the submission: the dossier was
//!   already handed to the outbox, which persists it before acknowledging, and the card is not
//!   needed to deliver it. Cancelling would either lose a request the citizen confirmed or leave
//!   a dossier with no receipt. The citizen still gets the receipt.
//! - For the same reason [`Event::Cancel`] is ignored while `Submitting`; the watchdog bounds
//!   the wait.
//! - The `Submitting` watchdog ends in the notice `submit-pending` ("we saved your request;
//!   staff will help") after a wipe: the outbox either holds the dossier (delivered later,
//!   exactly once, keyed by the session id) or never acknowledged it; either way staff can
//!   look it up. A late [`Event::SubmitDone`] is ignored: the outbox issue decides how such a
//!   receipt reaches the citizen.
//! - At `Receipt` the card leaving is normal; the receipt stays on screen until
//!   [`Event::ReceiptDone`] or the timeout, both of which wipe with [`WipeReason::Completed`].
//! - `Back` at `ChooseService` is ignored: the previous step is the face capture, and going
//!   back to it would only capture the face again. `Cancel` is the way out.
//! - Card removal wipes only when the identity came from the chip: a citizen identified by
//!   the card's QR never had the card on the reader.
//!
//! # The identify step
//!
//! The chip opens only with PACE, whose password on a CCCD is the CAN: the last 6 digits of
//! the 12-digit ID number (the card prints no separate CAN). So `Identify` has three phases
//! ([`IdentifyPhase`]): *awaiting the ID number* (typed on the keypad, [`Event::KeypadDigit`]
//! .. [`Event::KeypadSubmit`], or read from the card's QR code, [`Event::IdNumberScanned`]),
//! *awaiting the card* (the session hands the number to the reader with
//! [`Command::UseIdNumber`]) and *reading* (PACE, DG1/DG2/DG13/SOD, passive authentication).
//! Only a chip identity ([`IdentitySource::Chip`]) ends the step: the QR code is printed on
//! the card and trivially copied, so it is a key to the chip, never an identity by itself.
//! A card tapped before the number is known is not an error: the citizen is asked for the
//! number and the card can stay where it is ([`SessionView::card_on_reader`]); OK then reads
//! it. A number the chip refuses ([`IdentifyFailure::WrongIdNumber`]) sends the citizen back
//! to the keypad with the number still typed, to correct a digit rather than type twelve.
//!
//! # Generations
//!
//! A chip read can outlive the session that asked for it (a slow card, a citizen who cancels
//! mid-read). So every arming of a device carries a [`Generation`] chosen here
//! ([`Command::StartIdentify`], [`Command::StartFaceCapture`]) and every result the workers
//! send back carries it again ([`Event::generation`]). The counter moves whenever the identify
//! step is (re-)entered, a face capture starts, or the session returns to `Attract` (ended,
//! cancelled, timed out). A result whose generation is not the current one is dropped before
//! any transition; dropping it zeroizes its personal fields ([`Personal`]), and only the fact
//! is logged.

use std::fmt;

use kiosk_hw::audio::Chime;
use kiosk_hw::personal::Personal;

use crate::catalog::ServiceId;

mod help;
pub use help::{Assistance, HELP_HOLD_MS};
pub mod dossier;
pub mod lookup;

use lookup::{Lookup, LookupCodes, LookupEvent, LookupView};

use dossier::{DossierForm, FormData, FormEvent, FormKind, FormOutcome, FormPage};

/// Monotonic time in milliseconds, from an arbitrary origin chosen by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Millis(pub u64);

/// The screen the citizen is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Idle screen, waiting for someone.
    Attract,
    /// Choose a language.
    Language,
    /// Tap the chip card or show the card's QR.
    Identify,
    /// Explicit consent before face capture.
    Consent,
    /// Look at the camera.
    VerifyFace,
    /// Pick the procedure or department.
    ChooseService,
    /// Check the pre-filled dossier and confirm.
    Confirm,
    /// Handing the dossier over.
    Submitting,
    /// The receipt is shown and printed.
    Receipt,
    /// A message (see [`SessionView::notice`]) for a few seconds.
    Notice,
    /// Where an earlier dossier stands, from its receipt's QR code (see [`lookup`]).
    Lookup,
}

impl Step {
    /// Every step, in flow order.
    pub const ALL: [Step; 11] = [
        Step::Attract,
        Step::Language,
        Step::Identify,
        Step::Consent,
        Step::VerifyFace,
        Step::ChooseService,
        Step::Confirm,
        Step::Submitting,
        Step::Receipt,
        Step::Notice,
        Step::Lookup,
    ];
}

/// Per-step timeouts in milliseconds. `Submitting` is a watchdog (activity does not extend
/// it); `Notice` is how long a message stays; the others are inactivity timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the names say it
pub struct StepTimeouts {
    pub language_ms: u64,
    pub identify_ms: u64,
    pub consent_ms: u64,
    pub verify_face_ms: u64,
    pub choose_service_ms: u64,
    pub confirm_ms: u64,
    pub submitting_ms: u64,
    pub receipt_ms: u64,
    pub notice_ms: u64,
}

impl Default for StepTimeouts {
    fn default() -> Self {
        Self {
            language_ms: 60_000,
            identify_ms: 60_000,
            consent_ms: 60_000,
            verify_face_ms: 45_000,
            choose_service_ms: 90_000,
            confirm_ms: 120_000,
            submitting_ms: 30_000,
            receipt_ms: 30_000,
            notice_ms: 8_000,
        }
    }
}

impl StepTimeouts {
    /// The timeout of `step`; `None` for `Attract`, which waits forever.
    #[must_use]
    pub fn for_step(&self, step: Step) -> Option<u64> {
        Some(match step {
            Step::Attract => return None,
            Step::Language => self.language_ms,
            // Scanning a receipt and reading the answer: as long as identifying.
            Step::Identify | Step::Lookup => self.identify_ms,
            Step::Consent => self.consent_ms,
            Step::VerifyFace => self.verify_face_ms,
            Step::ChooseService => self.choose_service_ms,
            Step::Confirm => self.confirm_ms,
            Step::Submitting => self.submitting_ms,
            Step::Receipt => self.receipt_ms,
            Step::Notice => self.notice_ms,
        })
    }

    /// The shortest timeout that counts citizen inactivity (the warning must fit inside it).
    #[must_use]
    pub fn shortest_inactivity_ms(&self) -> u64 {
        [
            self.language_ms,
            self.identify_ms,
            self.consent_ms,
            self.verify_face_ms,
            self.choose_service_ms,
            self.confirm_ms,
            self.receipt_ms,
        ]
        .into_iter()
        .min()
        .unwrap_or(0)
    }
}

/// The shortest "still there?" warning: WCAG 2.2.1 (Timing Adjustable) asks that a citizen
/// be warned and given at least 20 seconds to ask for more time with a simple action (one
/// touch) before the session is wiped.
pub const MIN_WARN_BEFORE_MS: u64 = 20_000;

/// Session settings (built from `[timeouts]`, `[session]` and `[ui]` by [`crate::config`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Per-step timeouts.
    pub timeouts: StepTimeouts,
    /// How long before an inactivity timeout the "still there?" countdown shows (and is
    /// announced): at least [`MIN_WARN_BEFORE_MS`].
    pub warn_before_ms: u64,
    /// Face captures allowed before the session ends (at least 1).
    pub max_face_attempts: u8,
    /// Languages offered; [`Event::LanguageChosen`] with another code is ignored.
    pub languages: Vec<String>,
    /// Language of the attract screen and of a fresh session.
    pub default_language: String,
    /// Assisted mode (and a staff call) multiplies the inactivity timeouts by this.
    pub assisted_timeout_factor: u8,
    /// The dossier form of the `Confirm` step (one-stop shop or hospital).
    pub form: FormKind,
    /// The status-lookup link template printed in receipt QR codes (`site.lookup_url`): a
    /// scanned link of this shape is read by the status lookup.
    pub lookup_url: Option<crate::receipt::LookupUrl>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            timeouts: StepTimeouts::default(),
            warn_before_ms: MIN_WARN_BEFORE_MS,
            max_face_attempts: 3,
            languages: vec!["vi".to_owned(), "en".to_owned()],
            default_language: "vi".to_owned(),
            assisted_timeout_factor: 3,
            form: FormKind::Office,
            lookup_url: None,
        }
    }
}

/// Which arming of a device a result belongs to: see the module docs' "Generations". Chosen
/// by the session, carried by the arming command and by every result the workers send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Generation(pub u64);

/// Identifies one citizen session (also the idempotency anchor of its submission).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub u128);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Where the identity was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// The CCCD chip (passively authenticated by the reader code).
    Chip,
    /// The QR printed on the card ([`crate::identity::citizen_from_cccd_qr`]). The identify
    /// step does not accept it as an identity: the code only supplies the ID number, the key to
    /// the chip (see the module docs).
    Qr,
}

/// Why a [`Citizen`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CitizenError {
    /// The ID number is not 12 ASCII digits.
    #[error("ID number is not 12 digits")]
    IdNumber,
    /// The name is empty.
    #[error("full name is empty")]
    FullName,
}

/// The identified citizen. Every field is [`Personal`]: it prints `<redacted>` and zeroizes on
/// drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen {
    source: IdentitySource,
    id_number: Personal<String>,
    full_name: Personal<String>,
    date_of_birth: Personal<String>,
    sex: Personal<String>,
    place_of_residence: Option<Personal<String>>,
    portrait: Option<Personal<Vec<u8>>>,
    // Boxed: most sessions never look at it, and events carrying a citizen stay small.
    details: Box<CitizenDetails>,
}

/// The further DG13 fields the chip carries, for the dossier. Every field is [`Personal`] and
/// optional: cards differ, and a field the chip does not hold stays `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // the names are DG13's (see the brief's table)
pub struct CitizenDetails {
    pub nationality: Option<Personal<String>>,
    pub ethnicity: Option<Personal<String>>,
    pub religion: Option<Personal<String>>,
    pub place_of_origin: Option<Personal<String>>,
    /// `dd/mm/yyyy`, as the chip writes it.
    pub issue_date: Option<Personal<String>>,
    /// `dd/mm/yyyy`, or the chip's text for "no expiry".
    pub expiry_date: Option<Personal<String>>,
    pub father: Option<Personal<String>>,
    pub mother: Option<Personal<String>>,
    pub spouse: Option<Personal<String>>,
    /// The old 9-digit CMND number.
    pub old_id_number: Option<Personal<String>>,
}

impl Citizen {
    /// Builds a citizen from chip or QR data. `date_of_birth` and `sex` are display text
    /// already formatted by the reader code.
    ///
    /// # Errors
    /// [`CitizenError`] when the ID number is not 12 digits or the name is empty.
    pub fn new(
        source: IdentitySource,
        id_number: Personal<String>,
        full_name: Personal<String>,
        date_of_birth: Personal<String>,
        sex: Personal<String>,
        place_of_residence: Option<Personal<String>>,
    ) -> Result<Self, CitizenError> {
        let id = id_number.expose();
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CitizenError::IdNumber);
        }
        if full_name.expose().trim().is_empty() {
            return Err(CitizenError::FullName);
        }
        Ok(Self {
            source,
            id_number,
            full_name,
            date_of_birth,
            sex,
            place_of_residence,
            portrait: None,
            details: Box::default(),
        })
    }

    /// Adds the chip portrait: the DG2 image bytes as read (JPEG or JPEG 2000), for the face
    /// step to compare with the camera.
    #[must_use]
    pub fn with_portrait(mut self, image: Personal<Vec<u8>>) -> Self {
        self.portrait = Some(image);
        self
    }

    /// Adds the further DG13 fields.
    #[must_use]
    pub fn with_details(mut self, details: CitizenDetails) -> Self {
        self.details = Box::new(details);
        self
    }

    /// The chip portrait as read from DG2 (JPEG or JPEG 2000); `None` when the identity did not
    /// come from a chip or the chip holds no face image.
    #[must_use]
    pub fn portrait(&self) -> Option<&Personal<Vec<u8>>> {
        self.portrait.as_ref()
    }

    /// The further DG13 fields.
    #[must_use]
    pub fn details(&self) -> &CitizenDetails {
        &self.details
    }

    /// Chip or QR.
    #[must_use]
    pub fn source(&self) -> IdentitySource {
        self.source
    }
    /// The 12-digit personal ID number.
    #[must_use]
    pub fn id_number(&self) -> &Personal<String> {
        &self.id_number
    }
    /// Full name.
    #[must_use]
    pub fn full_name(&self) -> &Personal<String> {
        &self.full_name
    }
    /// Date of birth, display text.
    #[must_use]
    pub fn date_of_birth(&self) -> &Personal<String> {
        &self.date_of_birth
    }
    /// Sex, display text.
    #[must_use]
    pub fn sex(&self) -> &Personal<String> {
        &self.sex
    }
    /// Place of residence when the source carries it.
    #[must_use]
    pub fn place_of_residence(&self) -> Option<&Personal<String>> {
        self.place_of_residence.as_ref()
    }
}

/// Why identification failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentifyFailure {
    /// The card left the reader mid-read: tap again.
    CardRemovedDuringRead,
    /// Neither chip nor QR could be read: try again.
    Unreadable,
    /// The chip failed passive authentication: the session ends.
    NotAuthentic,
    /// No reader is available: the session ends, staff must look.
    ReaderMissing,
    /// The QR code shown is not the one printed on a CCCD (a receipt, a VNeID app code, a web
    /// link, ...): show the card's QR or tap the card.
    QrNotCard,
    /// The chip refused the CAN derived from the ID number given (PACE failed: a mistyped
    /// number, or another person's QR code): type the number again.
    WrongIdNumber,
    /// The chip did not finish within the overall read deadline (it answers, but too slowly):
    /// lift it, place it flat again, or ask staff.
    ReadTimedOut,
    /// The kiosk's own reading code failed (a panic caught by the identify worker's
    /// supervisor; only the worker and the code location are logged): try again.
    Internal,
    /// The kiosk's clock is before its own build date (`crate::clock`): no card can be checked
    /// until a technician sets the time. The session ends with "ask staff"; the card is not
    /// blamed.
    ClockWrong,
}

/// Where the identify step is; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifyPhase {
    /// Waiting for the 12-digit ID number (keypad or the card's QR code).
    AwaitingId,
    /// The number is known: waiting for the card on the reader.
    AwaitingCard,
    /// Reading the chip (PACE, data groups, passive authentication).
    Reading,
}

/// The face matcher's verdict. Carries no image or template: those never leave the matcher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceOutcome {
    /// The face matched the chip photo.
    pub matched: bool,
    /// Similarity score, matcher-specific.
    pub score: f32,
    /// Liveness check passed.
    pub live: bool,
}

/// Why a submission failed before the outbox accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitFailure {
    /// The dossier was refused (invalid for the procedure): staff must help.
    Rejected,
    /// The outbox could not store it (disk, encryption): staff must help.
    Storage,
}

/// What the receipt shows and prints (form 01 of Decree 61/2018 in one-stop-shop mode, a
/// queue ticket in hospital mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptInfo {
    /// Dossier code (`MaHoSo`) or registration id.
    pub dossier_code: String,
    /// The chosen service.
    pub service: ServiceId,
    /// When the dossier was received.
    pub received_at: time::OffsetDateTime,
    /// Appointment date to collect the result.
    pub appointment: Option<time::Date>,
    /// Code to look the dossier up (printed as QR: never personal data).
    pub lookup_code: String,
    /// Queue number in hospital mode.
    pub queue_number: Option<String>,
    /// Applicant name, printed on the receipt.
    pub applicant_name: Personal<String>,
    /// The applicant's ID number masked as on screen (`0010•••••456`), printed on form 01.
    pub applicant_id_masked: Personal<String>,
    /// Stored in the outbox but not yet acknowledged by the gateway: `dossier_code` is then
    /// the kiosk's provisional reference, and the screen says it will be sent automatically.
    pub offline: bool,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Arm the card reader and the QR scanner; their results carry this generation.
    StartIdentify(Generation),
    /// Arm the QR scanner alone for the status lookup ([`LookupEvent::Scanned`]).
    StartLookupScan(Generation),
    /// Stop the status lookup's scanner.
    StopLookupScan,
    /// Ask the gateway where this dossier stands; answer with [`LookupEvent::Answer`].
    LookupStatus(Generation, LookupCodes),
    /// Disarm them.
    StopIdentify,
    /// Open the chip with this 12-digit ID number (PACE-CAN with its last 6 digits) as soon as
    /// a card is on the reader.
    UseIdNumber(Personal<String>),
    /// Drop the ID number handed over with [`Command::UseIdNumber`].
    ForgetIdNumber,
    /// Start the camera and face matcher against this chip portrait (the DG2 image as read;
    /// `None` if the chip had none, which the matcher reports as a failed check). The verdict
    /// carries this generation.
    StartFaceCapture(Generation, Option<Personal<Vec<u8>>>),
    /// Stop them and drop any frame.
    StopFaceCapture,
    /// Hand the dossier to the outbox.
    Submit(Box<Dossier>),
    /// Print the receipt.
    PrintReceipt(Box<ReceiptInfo>),
    /// Clear every copy of personal data the shell holds (reader buffers, frames, UI models).
    Wipe(WipeReason),
    /// Speak the prompt with this message key.
    Announce(String),
    /// Show the message with this key.
    ShowNotice(String),
    /// Play a signal sound (the "still there?" warning, a staff call).
    Chime(Chime),
    /// A citizen called staff at this step: log the event (no personal data) and raise the
    /// call on screen (see [`Assistance::staff_called`]).
    CallStaff(Step),
}

/// Why a session's data was wiped (for the audit log; never personal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WipeReason {
    /// The session ended normally.
    Completed,
    /// The citizen cancelled.
    Cancelled,
    /// Inactivity.
    Timeout,
    /// The chip card left the reader.
    CardRemoved,
    /// The citizen declined face capture.
    ConsentDeclined,
    /// Too many face mismatches.
    FaceRejected,
    /// A device or submission error.
    Error,
}

/// Inputs to the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Any touch: resets the inactivity timer.
    Touch,
    /// The status lookup (see [`lookup`]).
    Lookup(LookupEvent),
    /// The citizen starts on the attract screen.
    Start,
    /// A language code from the language screen.
    LanguageChosen(String),
    /// A card is on the reader: reading starts if the reader has the ID number, else the
    /// citizen is asked for it.
    CardInserted(Generation),
    /// A digit (0-9) pressed on the identify keypad.
    KeypadDigit(u8),
    /// The keypad's erase key (removes the last digit).
    KeypadErase,
    /// The keypad's OK key.
    KeypadSubmit,
    /// The ID number read from the card's QR code.
    IdNumberScanned(Generation, Personal<String>),
    /// Identity read from the chip or the QR.
    IdentityRead(Generation, Citizen),
    /// Identification failed.
    IdentityFailed(Generation, IdentifyFailure),
    /// The card left the reader.
    CardRemoved,
    /// Consent to face capture given.
    ConsentGiven,
    /// Consent declined.
    ConsentDeclined,
    /// The face matcher's verdict.
    FaceResult(Generation, FaceOutcome),
    /// The face check could not decide because the kiosk's own code failed (a panic caught by
    /// the face worker's supervisor): the citizen may try again; no attempt is counted.
    FaceFailed(Generation),
    /// The camera is unplugged, stalled or delivers an unusable format: the face check
    /// stops, the citizen is told (and may try again once it is back: the camera reopens by
    /// itself); no attempt is counted and the verified identity is kept.
    CameraUnavailable(Generation, CameraProblem),
    /// A service picked.
    ServiceChosen(ServiceId),
    /// The back button.
    Back,
    /// The dossier is confirmed.
    Confirmed,
    /// The citizen acts on the dossier form of the `Confirm` step.
    Form(FormEvent),
    /// "Try again" on a retry notice.
    Retry,
    /// The outbox accepted the dossier.
    SubmitDone(ReceiptInfo),
    /// The outbox refused it.
    SubmitFailed(SubmitFailure),
    /// Receipt printed and "Finish" pressed.
    ReceiptDone,
    /// The receipt did not print; the fault says why (for the log and staff: the citizen is
    /// asked to note the code and ask staff, whatever the cause).
    PrinterFailed(PrinterFault),
    /// The cancel button.
    Cancel,
    /// Periodic tick (every few hundred ms): fires timeouts.
    Tick,
    /// The help button: open the help panel (any step, also `Attract`).
    OpenHelp,
    /// Close the help panel.
    CloseHelp,
    /// "Call staff" in the help panel.
    CallStaff,
    /// The call is answered or withdrawn.
    CancelStaffCall,
    /// A volunteer switched assisted mode on (after the shell checked the PIN) or off.
    AssistedMode(bool),
    /// The large-text switch (on `Attract` it also starts the session).
    ToggleLargeText,
    /// The high-contrast switch (on `Attract` it also starts the session).
    ToggleHighContrast,
}

impl Event {
    /// The device arming this event answers (`None` for touches, timers and events that do
    /// not depend on an arming, such as a card leaving the reader).
    #[must_use]
    pub fn generation(&self) -> Option<Generation> {
        match self {
            Self::CardInserted(g)
            | Self::IdNumberScanned(g, _)
            | Self::IdentityRead(g, _)
            | Self::IdentityFailed(g, _)
            | Self::FaceResult(g, _)
            | Self::FaceFailed(g)
            | Self::CameraUnavailable(g, _)
            | Self::Lookup(LookupEvent::Scanned(g, _) | LookupEvent::Answer(g, _)) => Some(*g),
            _ => None,
        }
    }
}

/// Why the camera cannot serve the face check, as the citizen is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraProblem {
    /// Unplugged, stalled or not answering: it usually comes back by itself.
    Unavailable,
    /// It delivers a format the kiosk cannot use: staff must fix it.
    WrongFormat,
}

/// The submission handed to the outbox. Only the session builds one, from a verified face.
#[derive(Debug, Clone, PartialEq)]
pub struct Dossier {
    session_id: SessionId,
    service: ServiceId,
    citizen: Citizen,
    language: String,
    face: FaceOutcome,
    form: FormData,
}

impl Dossier {
    /// What the citizen entered on the form (phone, address, delivery; or the visit reason).
    #[must_use]
    pub fn form(&self) -> &FormData {
        &self.form
    }
    /// The session id: the idempotency key of the submission.
    #[must_use]
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }
    /// The chosen service.
    #[must_use]
    pub fn service(&self) -> &ServiceId {
        &self.service
    }
    /// The identified citizen.
    #[must_use]
    pub fn citizen(&self) -> &Citizen {
        &self.citizen
    }
    /// The session language.
    #[must_use]
    pub fn language(&self) -> &str {
        &self.language
    }
    /// The face verdict (always matched and live).
    #[must_use]
    pub fn face(&self) -> FaceOutcome {
        self.face
    }
}

/// Message keys this module emits (translated by the UI; spoken by the announcer).
pub mod keys {
    #![allow(missing_docs)] // each constant is its own text
    pub const CHOOSE_LANGUAGE: &str = "choose-language";
    pub const IDENTIFY_PROMPT: &str = "identify-prompt";
    pub const CONSENT_PROMPT: &str = "consent-prompt";
    pub const FACE_PROMPT: &str = "face-prompt";
    pub const CHOOSE_SERVICE: &str = "choose-service";
    pub const CONFIRM_PROMPT: &str = "confirm-prompt";
    pub const SUBMITTING: &str = "submitting";
    pub const RECEIPT_READY: &str = "receipt-ready";
    pub const STILL_THERE: &str = "still-there";
    pub const CARD_REMOVED: &str = "card-removed";
    pub const CARD_REMOVED_DURING_READ: &str = "card-removed-during-read";
    pub const CARD_UNREADABLE: &str = "card-unreadable";
    pub const QR_NOT_CARD: &str = "qr-not-card";
    pub const CARD_NOT_AUTHENTIC: &str = "card-not-authentic";
    pub const READER_UNAVAILABLE: &str = "reader-unavailable";
    pub const CONSENT_DECLINED: &str = "consent-declined";
    pub const FACE_NOT_MATCHED: &str = "face-not-matched";
    pub const FACE_NOT_LIVE: &str = "face-not-live";
    pub const FACE_REJECTED: &str = "face-rejected";
    pub const SUBMIT_REJECTED: &str = "submit-rejected";
    pub const SUBMIT_FAILED: &str = "submit-failed";
    pub const SUBMIT_PENDING: &str = "submit-pending";
    pub const PRINTER_FAILED: &str = "printer-failed";
    // The identify step's phases (issue 3).
    pub const ID_PROMPT: &str = "id-prompt";
    pub const PLACE_CARD: &str = "place-card";
    pub const ID_NEEDED_FIRST: &str = "id-needed-first";
    pub const ID_INCOMPLETE: &str = "id-incomplete";
    pub const WRONG_ID: &str = "wrong-id";
    // Session safety and supervised workers (issue 11).
    pub const CARD_TOO_SLOW: &str = "card-too-slow";
    pub const READ_TRY_AGAIN: &str = "read-try-again";
    pub const FACE_TRY_AGAIN: &str = "face-try-again";
    // The camera in the kiosk (issue 12).
    pub const CAMERA_UNAVAILABLE: &str = "camera-unavailable";
    pub const CAMERA_UNUSABLE: &str = "camera-unusable";
    pub const CARD_CHECK_UNAVAILABLE: &str = "card-check-unavailable";
    // Help and staff calls (issue 14).
    pub const HELP: &str = "help";
    pub const STAFF_CALLED: &str = "staff-called";
}

/// Why a receipt did not print, at the granularity a technician acts on. Every fault of the
/// printer driver maps to one of these (`devices` does the mapping); the citizen hears the same
/// "note the code and ask staff" whatever the fault, and the dossier is already in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrinterFault {
    /// The printer is connected but not accepting data.
    Offline,
    /// The paper cover is open.
    CoverOpen,
    /// No paper before the job started: nothing was printed.
    PaperOut,
    /// The paper ran out while the receipt was printing: a partial receipt may hang out.
    PaperOutMidJob,
    /// The autocutter failed (a jam).
    CutterError,
    /// The printer did not answer in time.
    Timeout,
    /// No printer: unplugged, powered off, or not reachable on the network.
    Unplugged,
    /// A hardware fault the printer reports as unrecoverable, or one it is recovering from.
    Hardware,
    /// The kiosk could not compose the receipt, or its own code failed (a bug, not the printer).
    Internal,
}

impl PrinterFault {
    /// A short stable code for logs, `kioskctl` and the staff line (`printer-fault-<code>`).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::CoverOpen => "cover-open",
            Self::PaperOut => "paper-out",
            Self::PaperOutMidJob => "paper-out-mid-job",
            Self::CutterError => "cutter-error",
            Self::Timeout => "timeout",
            Self::Unplugged => "unplugged",
            Self::Hardware => "hardware",
            Self::Internal => "internal",
        }
    }
}

/// Everything the UI needs to draw the current screen.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    /// Current step.
    pub step: Step,
    /// Current language code.
    pub language: String,
    /// Whole seconds before the step times out (`None` at `Attract`).
    pub seconds_left: Option<u64>,
    /// Show the "still there?" countdown.
    pub warn_timeout: bool,
    /// A card is on the reader and being read.
    pub card_reading: bool,
    /// The identify step's phase (`None` on other steps).
    pub identify: Option<IdentifyPhase>,
    /// At the identify step, a card is on the reader (placed before the number was known,
    /// or left there after a refused number): the keypad says "your card is on the reader,
    /// now type the number" rather than "place your card".
    pub card_on_reader: bool,
    /// Digits typed on the identify keypad so far, or the ID number being used (at most 12).
    /// Personal: shown only to the citizen on their own screen.
    pub id_entry: Option<Personal<String>>,
    /// The identified citizen, from `Consent` to `Confirm`.
    pub citizen: Option<Citizen>,
    /// The chosen service, from `Confirm` to `Submitting`.
    pub service: Option<ServiceId>,
    /// At `Confirm`: the form's page and what was entered so far (personal).
    pub form: Option<(FormPage, FormData)>,
    /// Face captures left (at `VerifyFace` and on a retry notice).
    pub face_attempts_left: Option<u8>,
    /// The notice offers "try again" ([`Event::Retry`]).
    pub can_retry: bool,
    /// The receipt, at `Receipt`.
    pub receipt: Option<ReceiptInfo>,
    /// The printer failed: tell the citizen to note the lookup code.
    pub printer_failed: bool,
    /// Why it failed (staff line; the citizen's notice is the same for every fault).
    pub printer_fault: Option<PrinterFault>,
    /// Message key of the `Notice` step, or of a banner on the current step.
    pub notice: Option<String>,
    /// Help panel, staff call, assisted mode, display preferences.
    pub assistance: Assistance,
    /// The status lookup's page, codes and answer (at `Lookup`).
    pub lookup: Option<LookupView>,
}

impl SessionView {
    /// True when any personal field is set.
    #[must_use]
    pub fn has_personal_data(&self) -> bool {
        self.citizen.is_some()
            || self.receipt.is_some()
            || self.id_entry.is_some()
            || self.form.is_some()
    }
}

/// Proof that the citizen consented to face capture; only the `Consent` step makes one.
#[derive(Debug, Clone, Copy)]
struct ConsentGiven(());

/// Proof of a matched, live face; only a passing [`FaceOutcome`] makes one.
#[derive(Debug, Clone, Copy)]
struct FaceVerified(FaceOutcome);

impl FaceVerified {
    fn check(o: FaceOutcome) -> Option<Self> {
        (o.matched && o.live).then_some(Self(o))
    }
}

#[derive(Debug)]
enum State {
    Attract,
    Language,
    Identify(Identify),
    Consent {
        citizen: Citizen,
    },
    VerifyFace {
        citizen: Citizen,
        consent: ConsentGiven,
        failed: u8,
    },
    FaceRetry {
        citizen: Citizen,
        consent: ConsentGiven,
        failed: u8,
        key: &'static str,
    },
    ChooseService {
        citizen: Citizen,
        face: FaceVerified,
    },
    Confirm {
        citizen: Citizen,
        face: FaceVerified,
        service: ServiceId,
        form: DossierForm,
    },
    Submitting {
        service: ServiceId,
    },
    Receipt {
        receipt: ReceiptInfo,
        printer_failed: Option<PrinterFault>,
    },
    Notice {
        key: &'static str,
    },
    Lookup(Lookup),
}

/// The identify step's data by phase: what the citizen typed, then the number in use.
#[derive(Debug)]
enum Identify {
    AwaitingId { typed: Personal<String> },
    AwaitingCard { id: Personal<String> },
    Reading { id: Personal<String> },
}

impl Identify {
    fn start() -> Self {
        Self::AwaitingId {
            typed: Personal::new(String::new()),
        }
    }

    fn phase(&self) -> IdentifyPhase {
        match self {
            Self::AwaitingId { .. } => IdentifyPhase::AwaitingId,
            Self::AwaitingCard { .. } => IdentifyPhase::AwaitingCard,
            Self::Reading { .. } => IdentifyPhase::Reading,
        }
    }

    /// The digits on screen: typed so far, or the number in use.
    fn entry(&self) -> &Personal<String> {
        match self {
            Self::AwaitingId { typed } => typed,
            Self::AwaitingCard { id } | Self::Reading { id } => id,
        }
    }
}

/// A 12-digit ID number, the only shape the CAN can be taken from.
fn is_id_number(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl State {
    fn step(&self) -> Step {
        match self {
            Self::Attract => Step::Attract,
            Self::Language => Step::Language,
            Self::Identify { .. } => Step::Identify,
            Self::Consent { .. } => Step::Consent,
            Self::VerifyFace { .. } => Step::VerifyFace,
            Self::ChooseService { .. } => Step::ChooseService,
            Self::Confirm { .. } => Step::Confirm,
            Self::Submitting { .. } => Step::Submitting,
            Self::Receipt { .. } => Step::Receipt,
            Self::Notice { .. } | Self::FaceRetry { .. } => Step::Notice,
            Self::Lookup(_) => Step::Lookup,
        }
    }

    fn citizen(&self) -> Option<&Citizen> {
        match self {
            Self::Consent { citizen }
            | Self::VerifyFace { citizen, .. }
            | Self::FaceRetry { citizen, .. }
            | Self::ChooseService { citizen, .. }
            | Self::Confirm { citizen, .. } => Some(citizen),
            _ => None,
        }
    }

    /// Whether citizen activity extends the timer. The submission watchdog and a plain
    /// notice run to their end whatever the citizen touches.
    fn activity_extends(&self) -> bool {
        !matches!(
            self,
            Self::Attract | Self::Submitting { .. } | Self::Notice { .. }
        )
    }
}

/// Where a transition leads: stay (timer untouched) or enter a state (timer restarted).
enum Next {
    Stay(State),
    Enter(State),
}

/// The citizen session. See the module docs.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    language: String,
    id: Option<SessionId>,
    id_seed: u128,
    sessions_started: u64,
    generation: Generation,
    deadline: Option<u64>,
    warned: bool,
    now: u64,
    banner: Option<&'static str>,
    /// A card is on the reader at the identify step (reported by the reader, not yet gone).
    card_on_reader: bool,
    /// Help, staff call, assisted mode, display preferences: reset on entering `Attract`.
    assist: Assistance,
}

impl Session {
    /// A session at `Attract`. `id_seed` must come from the OS random generator at start-up:
    /// session ids are derived from it and a counter, so they are unique across restarts
    /// without this module touching a random source.
    #[must_use]
    pub fn new(cfg: SessionConfig, id_seed: u128) -> Self {
        let language = cfg.default_language.clone();
        Self {
            cfg,
            state: State::Attract,
            language,
            id: None,
            id_seed,
            sessions_started: 0,
            generation: Generation(0),
            deadline: None,
            warned: false,
            now: 0,
            banner: None,
            card_on_reader: false,
            assist: Assistance::default(),
        }
    }

    /// The current step.
    #[must_use]
    pub fn step(&self) -> Step {
        self.state.step()
    }

    /// The current session id (`None` at `Attract`).
    #[must_use]
    pub fn session_id(&self) -> Option<SessionId> {
        self.id
    }

    /// The current generation: device results carrying another one are dropped.
    #[must_use]
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// True while the session holds any personal data (citizen, face verdict, receipt).
    #[must_use]
    pub fn holds_personal_data(&self) -> bool {
        match &self.state {
            State::Attract | State::Language => false,
            // The digits typed or the number in use are personal.
            State::Identify(i) => !i.entry().expose().is_empty(),
            // A receipt's codes identify nobody.
            State::Submitting { .. } | State::Notice { .. } | State::Lookup(_) => false,
            State::Consent { .. }
            | State::VerifyFace { .. }
            | State::FaceRetry { .. }
            | State::ChooseService { .. }
            | State::Confirm { .. }
            | State::Receipt { .. } => true,
        }
    }

    /// What the UI shows, as of the time of the last event.
    #[must_use]
    pub fn view(&self) -> SessionView {
        let remaining = self.deadline.map(|d| d.saturating_sub(self.now));
        let (face_attempts_left, can_retry) = match &self.state {
            State::VerifyFace { failed, .. } => (
                Some(self.cfg.max_face_attempts.saturating_sub(*failed)),
                false,
            ),
            State::FaceRetry { failed, .. } => (
                Some(self.cfg.max_face_attempts.saturating_sub(*failed)),
                true,
            ),
            _ => (None, false),
        };
        let (receipt, printer_fault) = match &self.state {
            State::Receipt {
                receipt,
                printer_failed,
            } => (Some(receipt.clone()), *printer_failed),
            _ => (None, None),
        };
        let service = match &self.state {
            State::Confirm { service, .. } | State::Submitting { service } => Some(service.clone()),
            _ => None,
        };
        let notice = match &self.state {
            State::Notice { key } | State::FaceRetry { key, .. } => Some(*key),
            _ => self.banner,
        };
        SessionView {
            step: self.step(),
            language: self.language.clone(),
            seconds_left: remaining.map(|ms| ms.div_ceil(1000)),
            warn_timeout: self.state.activity_extends()
                && remaining.is_some_and(|ms| ms <= self.cfg.warn_before_ms),
            card_reading: matches!(self.state, State::Identify(Identify::Reading { .. })),
            identify: match &self.state {
                State::Identify(i) => Some(i.phase()),
                _ => None,
            },
            card_on_reader: self.card_on_reader && matches!(self.state, State::Identify(_)),
            id_entry: match &self.state {
                State::Identify(i) if !i.entry().expose().is_empty() => Some(i.entry().clone()),
                _ => None,
            },
            citizen: self.state.citizen().cloned(),
            service,
            form: match &self.state {
                State::Confirm { form, .. } => Some((form.page(), form.data())),
                _ => None,
            },
            face_attempts_left,
            can_retry,
            receipt,
            printer_failed: printer_fault.is_some(),
            printer_fault,
            notice: notice.map(str::to_owned),
            assistance: self.assist,
            lookup: match &self.state {
                State::Lookup(l) => Some(l.view()),
                _ => None,
            },
        }
    }

    /// Feeds one event at time `now` and returns what the shell must do, in order.
    /// Events that make no sense at the current step are ignored (no commands), so a late
    /// hardware event cannot derail the flow.
    pub fn handle(&mut self, ev: Event, now: Millis) -> Vec<Command> {
        // Monotonic by contract; a clock that steps back must not revive an expired timer.
        self.now = self.now.max(now.0);
        let mut out = Vec::new();
        let state = std::mem::replace(&mut self.state, State::Attract);
        match self.transition(state, ev, &mut out) {
            Next::Stay(s) => self.state = s,
            Next::Enter(s) => self.enter(s),
        }
        out
    }

    fn enter(&mut self, state: State) {
        if matches!(state, State::Attract) {
            // A fresh start: nothing of the previous citizen survives, not even the language,
            // and no result of a device armed for them is accepted any more.
            self.id = None;
            self.next_generation();
            self.language = self.cfg.default_language.clone();
            self.assist = Assistance::default();
        }
        self.deadline = self.timeout_ms(&state).map(|t| self.now.saturating_add(t));
        self.warned = false;
        self.banner = None;
        if !matches!(state, State::Identify(_)) {
            self.card_on_reader = false;
        }
        self.state = state;
    }

    /// The timer of `state`. A retry notice asks the citizen to decide, so it gets the face
    /// step's inactivity timeout rather than the few seconds of a plain notice.
    fn timeout_ms(&self, state: &State) -> Option<u64> {
        let base = match state {
            State::FaceRetry { .. } => Some(self.cfg.timeouts.verify_face_ms),
            _ => self.cfg.timeouts.for_step(state.step()),
        };
        base.map(|t| self.stretch(state, t))
    }

    fn touch(&mut self, state: &State) {
        if state.activity_extends() {
            if let Some(t) = self.timeout_ms(state) {
                self.deadline = Some(self.now.saturating_add(t));
                self.warned = false;
            }
        }
    }

    /// Moves to a new generation and returns it.
    fn next_generation(&mut self) -> Generation {
        self.generation = Generation(self.generation.0.wrapping_add(1));
        self.generation
    }

    /// Arms the identify worker under a new generation.
    fn start_identify(&mut self, out: &mut Vec<Command>) {
        let g = self.next_generation();
        out.push(Command::StartIdentify(g));
    }

    /// Starts a face capture under a new generation.
    fn start_face(&mut self, citizen: &Citizen, out: &mut Vec<Command>) {
        let g = self.next_generation();
        out.push(Command::StartFaceCapture(g, citizen.portrait().cloned()));
    }

    fn next_id(&mut self) -> SessionId {
        self.sessions_started = self.sessions_started.wrapping_add(1);
        // splitmix64 over each half: distinct counters give distinct, well-spread ids.
        let mix = |mut z: u64| {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        // Truncations below split the u128 seed into its halves on purpose.
        let hi = mix((self.id_seed >> 64) as u64 ^ self.sessions_started);
        let lo = mix(self.id_seed as u64 ^ self.sessions_started.rotate_left(32));
        SessionId((u128::from(hi) << 64) | u128::from(lo))
    }

    fn notice(out: &mut Vec<Command>, key: &'static str) -> State {
        out.push(Command::ShowNotice(key.to_owned()));
        out.push(Command::Announce(key.to_owned()));
        State::Notice { key }
    }

    fn say(out: &mut Vec<Command>, key: &'static str) {
        out.push(Command::Announce(key.to_owned()));
    }

    /// Devices armed in `state` that must stop before leaving it.
    fn stop_devices(state: &State, out: &mut Vec<Command>) {
        match state {
            State::Identify(_) => out.push(Command::StopIdentify),
            State::VerifyFace { .. } => out.push(Command::StopFaceCapture),
            State::Lookup(Lookup::Scanning(_)) => out.push(Command::StopLookupScan),
            _ => {}
        }
    }

    fn transition(&mut self, state: State, ev: Event, out: &mut Vec<Command>) -> Next {
        use Next::{Enter, Stay};

        // A result of an earlier arming (another citizen's slow read, a cancelled capture) is
        // never looked at: dropping it here zeroizes its personal fields.
        if let Some(g) = ev.generation() {
            if g != self.generation {
                tracing::info!(
                    got = g.0,
                    current = self.generation.0,
                    "stale device result dropped"
                );
                drop(ev);
                return Stay(state);
            }
        }

        // Help, staff calls, assisted mode, display switches, a language change mid-session.
        let state = match self.assistance_event(state, &ev, out) {
            std::ops::ControlFlow::Break(next) => return next,
            std::ops::ControlFlow::Continue(state) => state,
        };

        // Rules that apply at every step first.
        match (&state, &ev) {
            (State::Attract, _) => {}
            (State::Submitting { .. }, Event::Cancel) => return Stay(state),
            (_, Event::Cancel) => {
                Self::stop_devices(&state, out);
                out.push(Command::Wipe(WipeReason::Cancelled));
                return Enter(State::Attract);
            }
            (_, Event::Touch) => {
                self.touch(&state);
                return Stay(state);
            }
            (_, Event::Tick) => return self.tick(state, out),
            (_, Event::CardRemoved) => {
                // The reader reports an interrupted read itself (IdentityFailed); the number
                // given stays, so putting the card back reads it again.
                self.card_on_reader = false;
                let state = match state {
                    State::Identify(Identify::Reading { id }) => {
                        return Stay(State::Identify(Identify::AwaitingCard { id }))
                    }
                    State::Identify(i) => return Stay(State::Identify(i)),
                    other => other,
                };
                if state
                    .citizen()
                    .is_some_and(|c| c.source == IdentitySource::Chip)
                {
                    Self::stop_devices(&state, out);
                    out.push(Command::Wipe(WipeReason::CardRemoved));
                    return Enter(Self::notice(out, keys::CARD_REMOVED));
                }
                return Stay(state);
            }
            _ => {}
        }

        match (state, ev) {
            (State::Attract, Event::Lookup(LookupEvent::Open)) => self.open_lookup(out),
            (State::Lookup(l), ev) => self.lookup_event(l, ev, out),
            (State::Attract, Event::Start) => {
                self.id = Some(self.next_id());
                Self::say(out, keys::CHOOSE_LANGUAGE);
                Enter(State::Language)
            }
            (State::Language, Event::LanguageChosen(lang))
                if self.cfg.languages.contains(&lang) =>
            {
                self.language = lang;
                self.start_identify(out);
                Self::say(out, keys::ID_PROMPT);
                Enter(State::Identify(Identify::start()))
            }
            (State::Language, Event::Back) => Enter(State::Attract),

            (State::Identify(i), ev @ (Event::KeypadDigit(_) | Event::KeypadErase)) => {
                self.keypad(i, &ev, out)
            }
            (State::Identify(Identify::AwaitingId { typed }), Event::KeypadSubmit) => {
                if is_id_number(typed.expose()) {
                    Enter(Self::use_id(typed, out))
                } else {
                    let state = State::Identify(Identify::AwaitingId { typed });
                    self.banner(&state, out, keys::ID_INCOMPLETE);
                    Stay(state)
                }
            }
            (
                State::Identify(Identify::AwaitingId { .. } | Identify::AwaitingCard { .. }),
                Event::IdNumberScanned(_, id),
            ) if is_id_number(id.expose()) => Enter(Self::use_id(id, out)),
            (State::Identify(Identify::AwaitingId { typed }), Event::CardInserted(_)) => {
                // Not an error: the card may come first. It stays on the reader while the
                // citizen types the number; OK then reads it.
                self.card_on_reader = true;
                let state = State::Identify(Identify::AwaitingId { typed });
                self.banner(&state, out, keys::ID_NEEDED_FIRST);
                Stay(state)
            }
            (State::Identify(Identify::AwaitingCard { id }), Event::CardInserted(_)) => {
                self.card_on_reader = true;
                let state = State::Identify(Identify::Reading { id });
                self.touch(&state);
                self.banner = None;
                Stay(state)
            }
            (State::Identify(_), Event::IdentityRead(_, citizen))
                if citizen.source == IdentitySource::Chip =>
            {
                // A passively authenticated chip identity, whatever the phase: the number
                // given was only the key to the chip, which is the authority.
                out.push(Command::StopIdentify);
                Self::say(out, keys::CONSENT_PROMPT);
                Enter(State::Consent { citizen })
            }
            (State::Identify(i), Event::IdentityFailed(_, f)) => match f {
                IdentifyFailure::CardRemovedDuringRead
                | IdentifyFailure::Unreadable
                | IdentifyFailure::QrNotCard
                | IdentifyFailure::ReadTimedOut
                | IdentifyFailure::Internal => {
                    // Recoverable: stay, say why, let the citizen tap again.
                    let key = match f {
                        IdentifyFailure::Unreadable => keys::CARD_UNREADABLE,
                        IdentifyFailure::QrNotCard => keys::QR_NOT_CARD,
                        IdentifyFailure::ReadTimedOut => keys::CARD_TOO_SLOW,
                        IdentifyFailure::Internal => keys::READ_TRY_AGAIN,
                        _ => keys::CARD_REMOVED_DURING_READ,
                    };
                    let i = match i {
                        Identify::Reading { id } => Identify::AwaitingCard { id },
                        other => other,
                    };
                    let state = State::Identify(i);
                    self.banner(&state, out, key);
                    Stay(state)
                }
                IdentifyFailure::WrongIdNumber => {
                    // The chip refused the CAN: the number is wrong for this card, or the card
                    // is someone else's. Back to the keypad with the number that was tried
                    // still there, so one mistyped digit is one correction, not twelve; the
                    // card can stay on the reader.
                    out.push(Command::ForgetIdNumber);
                    let typed = match i {
                        Identify::AwaitingId { typed } => typed,
                        Identify::AwaitingCard { id } | Identify::Reading { id } => id,
                    };
                    let state = State::Identify(Identify::AwaitingId { typed });
                    self.banner(&state, out, keys::WRONG_ID);
                    Stay(state)
                }
                IdentifyFailure::NotAuthentic
                | IdentifyFailure::ReaderMissing
                | IdentifyFailure::ClockWrong => {
                    let key = match f {
                        IdentifyFailure::NotAuthentic => keys::CARD_NOT_AUTHENTIC,
                        IdentifyFailure::ClockWrong => keys::CARD_CHECK_UNAVAILABLE,
                        _ => keys::READER_UNAVAILABLE,
                    };
                    out.push(Command::StopIdentify);
                    out.push(Command::Wipe(WipeReason::Error));
                    Enter(Self::notice(out, key))
                }
            },
            (State::Identify(Identify::AwaitingId { .. }), Event::Back) => {
                out.push(Command::StopIdentify);
                Self::say(out, keys::CHOOSE_LANGUAGE);
                Enter(State::Language)
            }
            (State::Identify(Identify::AwaitingCard { id }), Event::Back) => {
                // Back to the keypad with the number still there, to correct it.
                out.push(Command::ForgetIdNumber);
                Self::say(out, keys::ID_PROMPT);
                Enter(State::Identify(Identify::AwaitingId { typed: id }))
            }

            (State::Consent { citizen }, Event::ConsentGiven) => {
                self.start_face(&citizen, out);
                Self::say(out, keys::FACE_PROMPT);
                Enter(State::VerifyFace {
                    citizen,
                    consent: ConsentGiven(()),
                    failed: 0,
                })
            }
            (State::Consent { .. }, Event::ConsentDeclined) => {
                out.push(Command::Wipe(WipeReason::ConsentDeclined));
                Enter(Self::notice(out, keys::CONSENT_DECLINED))
            }
            (State::Consent { .. }, Event::Back) => {
                // Going back to Identify discards the identity read so far.
                out.push(Command::Wipe(WipeReason::Cancelled));
                self.start_identify(out);
                Self::say(out, keys::ID_PROMPT);
                Enter(State::Identify(Identify::start()))
            }

            (
                State::VerifyFace {
                    citizen,
                    consent,
                    failed,
                },
                Event::FaceResult(_, outcome),
            ) => {
                out.push(Command::StopFaceCapture);
                if let Some(face) = FaceVerified::check(outcome) {
                    Self::say(out, keys::CHOOSE_SERVICE);
                    return Enter(State::ChooseService { citizen, face });
                }
                let failed = failed.saturating_add(1);
                if failed >= self.cfg.max_face_attempts {
                    out.push(Command::Wipe(WipeReason::FaceRejected));
                    return Enter(Self::notice(out, keys::FACE_REJECTED));
                }
                let key = if outcome.live {
                    keys::FACE_NOT_MATCHED
                } else {
                    keys::FACE_NOT_LIVE
                };
                Enter(Self::face_retry(citizen, consent, failed, key, out))
            }
            (
                State::VerifyFace {
                    citizen,
                    consent,
                    failed,
                },
                Event::FaceFailed(_),
            ) => {
                // Not the citizen's failure: offer a retry without counting an attempt.
                out.push(Command::StopFaceCapture);
                let key = keys::FACE_TRY_AGAIN;
                Enter(Self::face_retry(citizen, consent, failed, key, out))
            }
            (
                State::VerifyFace {
                    citizen,
                    consent,
                    failed,
                },
                Event::CameraUnavailable(_, problem),
            ) => {
                // Nor is a camera that went away: the identity stays, no attempt is counted,
                // and "try again" starts a new capture on the reopened stream.
                out.push(Command::StopFaceCapture);
                let key = match problem {
                    CameraProblem::Unavailable => keys::CAMERA_UNAVAILABLE,
                    CameraProblem::WrongFormat => keys::CAMERA_UNUSABLE,
                };
                Enter(Self::face_retry(citizen, consent, failed, key, out))
            }
            (State::VerifyFace { citizen, .. }, Event::Back) => {
                out.push(Command::StopFaceCapture);
                Self::say(out, keys::CONSENT_PROMPT);
                Enter(State::Consent { citizen })
            }
            (
                State::FaceRetry {
                    citizen,
                    consent,
                    failed,
                    ..
                },
                Event::Retry,
            ) => {
                self.start_face(&citizen, out);
                Self::say(out, keys::FACE_PROMPT);
                Enter(State::VerifyFace {
                    citizen,
                    consent,
                    failed,
                })
            }

            (State::ChooseService { citizen, face }, Event::ServiceChosen(service)) => {
                Self::say(out, keys::CONFIRM_PROMPT);
                Enter(State::Confirm {
                    citizen,
                    face,
                    service,
                    form: DossierForm::new(self.cfg.form),
                })
            }

            (
                State::Confirm {
                    citizen,
                    face,
                    service,
                    mut form,
                },
                Event::Form(ev),
            ) => {
                let outcome = form.handle(ev);
                let state = State::Confirm {
                    citizen,
                    face,
                    service,
                    form,
                };
                match outcome {
                    FormOutcome::Quiet => {
                        self.touch(&state);
                        self.banner = None;
                    }
                    FormOutcome::Message(key) => self.banner(&state, out, key),
                }
                Stay(state)
            }
            (
                State::Confirm {
                    citizen,
                    face,
                    service,
                    form,
                },
                Event::Confirmed,
            ) if form.ready() => {
                // `id` is set at Start and only cleared on entering Attract, so a session
                // past Start always has one; the fallback keeps this path panic-free.
                let session_id = match self.id {
                    Some(id) => id,
                    None => {
                        let id = self.next_id();
                        self.id = Some(id);
                        id
                    }
                };
                let dossier = Dossier {
                    session_id,
                    service: service.clone(),
                    citizen,
                    language: self.language.clone(),
                    face: face.0,
                    form: form.data(),
                };
                out.push(Command::Submit(Box::new(dossier)));
                Self::say(out, keys::SUBMITTING);
                Enter(State::Submitting { service })
            }
            (
                State::Confirm {
                    citizen,
                    face,
                    service,
                    mut form,
                },
                Event::Back,
            ) => {
                if form.back() {
                    let state = State::Confirm {
                        citizen,
                        face,
                        service,
                        form,
                    };
                    self.touch(&state);
                    self.banner = None;
                    return Stay(state);
                }
                Self::say(out, keys::CHOOSE_SERVICE);
                Enter(State::ChooseService { citizen, face })
            }

            (State::Submitting { .. }, Event::SubmitDone(receipt)) => {
                out.push(Command::PrintReceipt(Box::new(receipt.clone())));
                Self::say(out, keys::RECEIPT_READY);
                Enter(State::Receipt {
                    receipt,
                    printer_failed: None,
                })
            }
            (State::Submitting { .. }, Event::SubmitFailed(f)) => {
                let key = match f {
                    SubmitFailure::Rejected => keys::SUBMIT_REJECTED,
                    SubmitFailure::Storage => keys::SUBMIT_FAILED,
                };
                out.push(Command::Wipe(WipeReason::Error));
                Enter(Self::notice(out, key))
            }

            (State::Receipt { .. }, Event::ReceiptDone) => {
                out.push(Command::Wipe(WipeReason::Completed));
                Enter(State::Attract)
            }
            (State::Receipt { receipt, .. }, Event::PrinterFailed(fault)) => {
                // The dossier is in the outbox already (SubmitDone comes after the durable
                // enqueue): only the paper is missing. The receipt stays on screen.
                tracing::warn!(
                    fault = fault.code(),
                    "receipt not printed: citizen sent to staff"
                );
                out.push(Command::ShowNotice(keys::PRINTER_FAILED.to_owned()));
                Self::say(out, keys::PRINTER_FAILED);
                let state = State::Receipt {
                    receipt,
                    printer_failed: Some(fault),
                };
                self.touch(&state);
                self.banner = Some(keys::PRINTER_FAILED);
                Stay(state)
            }

            (state, _) => Stay(state),
        }
    }

    /// The notice offering another face capture, saying why (`key`).
    fn face_retry(
        citizen: Citizen,
        consent: ConsentGiven,
        failed: u8,
        key: &'static str,
        out: &mut Vec<Command>,
    ) -> State {
        out.push(Command::ShowNotice(key.to_owned()));
        Self::say(out, key);
        State::FaceRetry {
            citizen,
            consent,
            failed,
            key,
        }
    }

    /// Hands a complete ID number to the reader: the "place your card" phase.
    fn use_id(id: Personal<String>, out: &mut Vec<Command>) -> State {
        out.push(Command::UseIdNumber(id.clone()));
        Self::say(out, keys::PLACE_CARD);
        State::Identify(Identify::AwaitingCard { id })
    }

    /// A recoverable message on the current screen: shown, spoken, and the timer restarted.
    fn banner(&mut self, state: &State, out: &mut Vec<Command>, key: &'static str) {
        out.push(Command::ShowNotice(key.to_owned()));
        Self::say(out, key);
        self.touch(state);
        self.banner = Some(key);
    }

    /// A keypad digit or erase. While the card is awaited, editing the number goes back to the
    /// keypad (and takes the number back from the reader); while reading, keys do nothing.
    fn keypad(&mut self, i: Identify, ev: &Event, out: &mut Vec<Command>) -> Next {
        let (typed, was_in_use) = match i {
            Identify::AwaitingId { typed } => (typed, false),
            Identify::AwaitingCard { id } => (id, true),
            reading @ Identify::Reading { .. } => return Next::Stay(State::Identify(reading)),
        };
        let edited = typed.map(|t| {
            let mut t = t.clone();
            match ev {
                Event::KeypadDigit(d) if *d <= 9 && t.len() < 12 => t.push(char::from(b'0' + d)),
                Event::KeypadErase => {
                    t.pop();
                }
                _ => {}
            }
            t
        });
        if was_in_use {
            if edited == typed {
                // A digit past the twelfth: nothing to edit, the number stays in use.
                return Next::Stay(State::Identify(Identify::AwaitingCard { id: typed }));
            }
            out.push(Command::ForgetIdNumber);
        }
        let state = State::Identify(Identify::AwaitingId { typed: edited });
        self.touch(&state);
        self.banner = None;
        Next::Stay(state)
    }

    fn tick(&mut self, state: State, out: &mut Vec<Command>) -> Next {
        let Some(deadline) = self.deadline else {
            return Next::Stay(state);
        };
        if self.now < deadline {
            if state.activity_extends()
                && !self.warned
                && deadline - self.now <= self.cfg.warn_before_ms
            {
                self.warned = true;
                // A sound first: a citizen who looked away hears that time is running out.
                out.push(Command::Chime(Chime::Warning));
                Self::say(out, keys::STILL_THERE);
            }
            return Next::Stay(state);
        }
        let next = match &state {
            State::Attract => return Next::Stay(state),
            State::Notice { .. } => State::Attract,
            State::Submitting { .. } => {
                out.push(Command::Wipe(WipeReason::Timeout));
                Self::notice(out, keys::SUBMIT_PENDING)
            }
            State::Receipt { .. } => {
                out.push(Command::Wipe(WipeReason::Completed));
                State::Attract
            }
            _ => {
                Self::stop_devices(&state, out);
                out.push(Command::Wipe(WipeReason::Timeout));
                State::Attract
            }
        };
        // `state` is dropped here; its personal fields zeroize on drop.
        drop(state);
        Next::Enter(next)
    }
}

#[cfg(test)]
mod tests;
