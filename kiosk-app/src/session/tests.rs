//! Transition tests: the whole Step x Event table as data, timeouts, wipes.

use super::*;

fn p(s: &str) -> Personal<String> {
    Personal::new(s.to_owned())
}

pub(super) fn citizen(source: IdentitySource) -> Citizen {
    Citizen::new(
        source,
        p("001090123456"),
        p("NGUYỄN VĂN AN"),
        p("01/01/1990"),
        p("Nam"),
        Some(p("Hà Nội")),
    )
    .expect("valid citizen")
}

fn receipt() -> ReceiptInfo {
    ReceiptInfo {
        dossier_code: "000.00.01.H29-260101-0001".into(),
        service: ServiceId::new("temporary-residence"),
        received_at: time::macros::datetime!(2026-01-01 09:00 +7),
        appointment: Some(time::macros::date!(2026 - 01 - 05)),
        lookup_code: "ABCD1234".into(),
        queue_number: None,
        applicant_name: p("NGUYỄN VĂN AN"),
        offline: false,
    }
}

const MATCH: FaceOutcome = FaceOutcome {
    matched: true,
    score: 0.92,
    live: true,
};
const NO_MATCH: FaceOutcome = FaceOutcome {
    matched: false,
    score: 0.2,
    live: true,
};
const NOT_LIVE: FaceOutcome = FaceOutcome {
    matched: true,
    score: 0.9,
    live: false,
};

/// Every event the table covers, with a short name used in the table.
fn events() -> Vec<(&'static str, Event)> {
    vec![
        ("Touch", Event::Touch),
        ("Start", Event::Start),
        ("Lang(en)", Event::LanguageChosen("en".into())),
        ("Lang(fr)", Event::LanguageChosen("fr".into())),
        ("CardInserted", Event::CardInserted),
        (
            "IdentityRead",
            Event::IdentityRead(citizen(IdentitySource::Chip)),
        ),
        (
            "Fail(Removed)",
            Event::IdentityFailed(IdentifyFailure::CardRemovedDuringRead),
        ),
        (
            "Fail(Unreadable)",
            Event::IdentityFailed(IdentifyFailure::Unreadable),
        ),
        (
            "Fail(NotAuthentic)",
            Event::IdentityFailed(IdentifyFailure::NotAuthentic),
        ),
        (
            "Fail(NoReader)",
            Event::IdentityFailed(IdentifyFailure::ReaderMissing),
        ),
        ("CardRemoved", Event::CardRemoved),
        ("ConsentGiven", Event::ConsentGiven),
        ("ConsentDeclined", Event::ConsentDeclined),
        ("Face(match)", Event::FaceResult(MATCH)),
        ("Face(nomatch)", Event::FaceResult(NO_MATCH)),
        ("Face(notlive)", Event::FaceResult(NOT_LIVE)),
        (
            "ServiceChosen",
            Event::ServiceChosen(ServiceId::new("temporary-residence")),
        ),
        ("Back", Event::Back),
        ("Confirmed", Event::Confirmed),
        ("Retry", Event::Retry),
        ("SubmitDone", Event::SubmitDone(receipt())),
        (
            "SubmitFailed(Rejected)",
            Event::SubmitFailed(SubmitFailure::Rejected),
        ),
        (
            "SubmitFailed(Storage)",
            Event::SubmitFailed(SubmitFailure::Storage),
        ),
        ("ReceiptDone", Event::ReceiptDone),
        ("PrinterFailed", Event::PrinterFailed),
        ("Cancel", Event::Cancel),
        ("Tick", Event::Tick),
    ]
}

/// Time advances by 1 s per event while setting up, well inside every timeout.
const STEP_MS: u64 = 1000;

pub(super) struct Driver {
    pub(super) s: Session,
    pub(super) t: u64,
}

impl Driver {
    pub(super) fn new() -> Self {
        Self {
            s: Session::new(SessionConfig::default(), 0x1234_5678_9abc_def0),
            t: 1_000_000,
        }
    }

    pub(super) fn ev(&mut self, e: Event) -> Vec<Command> {
        self.t += STEP_MS;
        self.s.handle(e, Millis(self.t))
    }

    /// Drives a fresh session to the named setup.
    pub(super) fn at(setup: &str) -> Self {
        let mut d = Self::new();
        let path: &[Event] = &[];
        let chip = || Event::IdentityRead(citizen(IdentitySource::Chip));
        let qr = || Event::IdentityRead(citizen(IdentitySource::Qr));
        let to_lang = [Event::Start];
        let to_identify = [Event::Start, Event::LanguageChosen("vi".into())];
        let prefix: Vec<Event> = match setup {
            "Attract" => path.to_vec(),
            "Language" => to_lang.to_vec(),
            "Identify" => to_identify.to_vec(),
            "IdentifyReading" => [&to_identify[..], &[Event::CardInserted]].concat(),
            "Consent" => [&to_identify[..], &[chip()]].concat(),
            "ConsentQr" => [&to_identify[..], &[qr()]].concat(),
            "VerifyFace" => [&to_identify[..], &[chip(), Event::ConsentGiven]].concat(),
            "FaceRetry" => [
                &to_identify[..],
                &[chip(), Event::ConsentGiven, Event::FaceResult(NO_MATCH)],
            ]
            .concat(),
            "ChooseService" => [
                &to_identify[..],
                &[chip(), Event::ConsentGiven, Event::FaceResult(MATCH)],
            ]
            .concat(),
            "ChooseServiceQr" => [
                &to_identify[..],
                &[qr(), Event::ConsentGiven, Event::FaceResult(MATCH)],
            ]
            .concat(),
            "Confirm" => [
                &to_identify[..],
                &[
                    chip(),
                    Event::ConsentGiven,
                    Event::FaceResult(MATCH),
                    Event::ServiceChosen(ServiceId::new("temporary-residence")),
                ],
            ]
            .concat(),
            "Submitting" => [&Self::confirm_path()[..], &[Event::Confirmed]].concat(),
            "Receipt" => [
                &Self::confirm_path()[..],
                &[Event::Confirmed, Event::SubmitDone(receipt())],
            ]
            .concat(),
            "AttractAgain" => [
                &Self::confirm_path()[..],
                &[
                    Event::Confirmed,
                    Event::SubmitDone(receipt()),
                    Event::ReceiptDone,
                ],
            ]
            .concat(),
            "Notice" => [&to_identify[..], &[chip(), Event::ConsentDeclined]].concat(),
            other => panic!("unknown setup {other}"),
        };
        for e in prefix {
            d.ev(e);
        }
        d
    }

    fn confirm_path() -> Vec<Event> {
        vec![
            Event::Start,
            Event::LanguageChosen("vi".into()),
            Event::IdentityRead(citizen(IdentitySource::Chip)),
            Event::ConsentGiven,
            Event::FaceResult(MATCH),
            Event::ServiceChosen(ServiceId::new("temporary-residence")),
        ]
    }
}

const SETUPS: [&str; 15] = [
    "Attract",
    "Language",
    "Identify",
    "IdentifyReading",
    "Consent",
    "ConsentQr",
    "VerifyFace",
    "FaceRetry",
    "ChooseService",
    "ChooseServiceQr",
    "Confirm",
    "Submitting",
    "Receipt",
    "Notice",
    // A second lap after a completed session: the machine must behave as when new.
    "AttractAgain",
];

/// Short, stable text for a command list: the table's right-hand side.
pub(super) fn render(cmds: &[Command]) -> String {
    let parts: Vec<String> = cmds
        .iter()
        .map(|c| match c {
            Command::StartIdentify => "start-identify".to_owned(),
            Command::StopIdentify => "stop-identify".to_owned(),
            Command::StartFaceCapture => "start-face".to_owned(),
            Command::StopFaceCapture => "stop-face".to_owned(),
            Command::Submit(d) => format!("submit({})", d.service()),
            Command::PrintReceipt(r) => format!("print({})", r.lookup_code),
            Command::Wipe(r) => format!("wipe:{r:?}"),
            Command::Announce(k) => format!("say:{k}"),
            Command::ShowNotice(k) => format!("notice:{k}"),
        })
        .collect();
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Runs one row and returns `Step | commands`, checking the invariants every row must hold.
fn run(setup: &str, event: Event) -> String {
    let mut d = Driver::at(setup);
    let cmds = d.ev(event);
    let step = d.s.step();
    if cmds.iter().any(|c| matches!(c, Command::Wipe(_))) || step == Step::Attract {
        assert!(
            !d.s.holds_personal_data(),
            "{setup}: personal data after a wipe"
        );
        assert!(
            !d.s.view().has_personal_data(),
            "{setup}: personal data in view after a wipe"
        );
    }
    if step == Step::Attract {
        assert!(
            d.s.session_id().is_none(),
            "{setup}: session id survives Attract"
        );
        assert_eq!(
            d.s.view().language,
            "vi",
            "{setup}: language survives Attract"
        );
    }
    format!("{step:?} | {}", render(&cmds))
}

/// The transition table: `setup | event | resulting step | commands`. Every setup x event
/// pair appears exactly once (checked). `-` means no command.
const TABLE: &str = "
Attract | Touch | Attract | -
Attract | Start | Language | say:choose-language
Attract | Lang(en) | Attract | -
Attract | Lang(fr) | Attract | -
Attract | CardInserted | Attract | -
Attract | IdentityRead | Attract | -
Attract | Fail(Removed) | Attract | -
Attract | Fail(Unreadable) | Attract | -
Attract | Fail(NotAuthentic) | Attract | -
Attract | Fail(NoReader) | Attract | -
Attract | CardRemoved | Attract | -
Attract | ConsentGiven | Attract | -
Attract | ConsentDeclined | Attract | -
Attract | Face(match) | Attract | -
Attract | Face(nomatch) | Attract | -
Attract | Face(notlive) | Attract | -
Attract | ServiceChosen | Attract | -
Attract | Back | Attract | -
Attract | Confirmed | Attract | -
Attract | Retry | Attract | -
Attract | SubmitDone | Attract | -
Attract | SubmitFailed(Rejected) | Attract | -
Attract | SubmitFailed(Storage) | Attract | -
Attract | ReceiptDone | Attract | -
Attract | PrinterFailed | Attract | -
Attract | Cancel | Attract | -
Attract | Tick | Attract | -
Language | Touch | Language | -
Language | Start | Language | -
Language | Lang(en) | Identify | start-identify say:identify-prompt
Language | Lang(fr) | Language | -
Language | CardInserted | Language | -
Language | IdentityRead | Language | -
Language | Fail(Removed) | Language | -
Language | Fail(Unreadable) | Language | -
Language | Fail(NotAuthentic) | Language | -
Language | Fail(NoReader) | Language | -
Language | CardRemoved | Language | -
Language | ConsentGiven | Language | -
Language | ConsentDeclined | Language | -
Language | Face(match) | Language | -
Language | Face(nomatch) | Language | -
Language | Face(notlive) | Language | -
Language | ServiceChosen | Language | -
Language | Back | Attract | -
Language | Confirmed | Language | -
Language | Retry | Language | -
Language | SubmitDone | Language | -
Language | SubmitFailed(Rejected) | Language | -
Language | SubmitFailed(Storage) | Language | -
Language | ReceiptDone | Language | -
Language | PrinterFailed | Language | -
Language | Cancel | Attract | wipe:Cancelled
Language | Tick | Language | -
Identify | Touch | Identify | -
Identify | Start | Identify | -
Identify | Lang(en) | Identify | -
Identify | Lang(fr) | Identify | -
Identify | CardInserted | Identify | -
Identify | IdentityRead | Consent | stop-identify say:consent-prompt
Identify | Fail(Removed) | Identify | notice:card-removed-during-read say:card-removed-during-read
Identify | Fail(Unreadable) | Identify | notice:card-unreadable say:card-unreadable
Identify | Fail(NotAuthentic) | Notice | stop-identify wipe:Error notice:card-not-authentic say:card-not-authentic
Identify | Fail(NoReader) | Notice | stop-identify wipe:Error notice:reader-unavailable say:reader-unavailable
Identify | CardRemoved | Identify | -
Identify | ConsentGiven | Identify | -
Identify | ConsentDeclined | Identify | -
Identify | Face(match) | Identify | -
Identify | Face(nomatch) | Identify | -
Identify | Face(notlive) | Identify | -
Identify | ServiceChosen | Identify | -
Identify | Back | Language | stop-identify say:choose-language
Identify | Confirmed | Identify | -
Identify | Retry | Identify | -
Identify | SubmitDone | Identify | -
Identify | SubmitFailed(Rejected) | Identify | -
Identify | SubmitFailed(Storage) | Identify | -
Identify | ReceiptDone | Identify | -
Identify | PrinterFailed | Identify | -
Identify | Cancel | Attract | stop-identify wipe:Cancelled
Identify | Tick | Identify | -
IdentifyReading | Touch | Identify | -
IdentifyReading | Start | Identify | -
IdentifyReading | Lang(en) | Identify | -
IdentifyReading | Lang(fr) | Identify | -
IdentifyReading | CardInserted | Identify | -
IdentifyReading | IdentityRead | Consent | stop-identify say:consent-prompt
IdentifyReading | Fail(Removed) | Identify | notice:card-removed-during-read say:card-removed-during-read
IdentifyReading | Fail(Unreadable) | Identify | notice:card-unreadable say:card-unreadable
IdentifyReading | Fail(NotAuthentic) | Notice | stop-identify wipe:Error notice:card-not-authentic say:card-not-authentic
IdentifyReading | Fail(NoReader) | Notice | stop-identify wipe:Error notice:reader-unavailable say:reader-unavailable
IdentifyReading | CardRemoved | Identify | -
IdentifyReading | ConsentGiven | Identify | -
IdentifyReading | ConsentDeclined | Identify | -
IdentifyReading | Face(match) | Identify | -
IdentifyReading | Face(nomatch) | Identify | -
IdentifyReading | Face(notlive) | Identify | -
IdentifyReading | ServiceChosen | Identify | -
IdentifyReading | Back | Language | stop-identify say:choose-language
IdentifyReading | Confirmed | Identify | -
IdentifyReading | Retry | Identify | -
IdentifyReading | SubmitDone | Identify | -
IdentifyReading | SubmitFailed(Rejected) | Identify | -
IdentifyReading | SubmitFailed(Storage) | Identify | -
IdentifyReading | ReceiptDone | Identify | -
IdentifyReading | PrinterFailed | Identify | -
IdentifyReading | Cancel | Attract | stop-identify wipe:Cancelled
IdentifyReading | Tick | Identify | -
Consent | Touch | Consent | -
Consent | Start | Consent | -
Consent | Lang(en) | Consent | -
Consent | Lang(fr) | Consent | -
Consent | CardInserted | Consent | -
Consent | IdentityRead | Consent | -
Consent | Fail(Removed) | Consent | -
Consent | Fail(Unreadable) | Consent | -
Consent | Fail(NotAuthentic) | Consent | -
Consent | Fail(NoReader) | Consent | -
Consent | CardRemoved | Notice | wipe:CardRemoved notice:card-removed say:card-removed
Consent | ConsentGiven | VerifyFace | start-face say:face-prompt
Consent | ConsentDeclined | Notice | wipe:ConsentDeclined notice:consent-declined say:consent-declined
Consent | Face(match) | Consent | -
Consent | Face(nomatch) | Consent | -
Consent | Face(notlive) | Consent | -
Consent | ServiceChosen | Consent | -
Consent | Back | Identify | wipe:Cancelled start-identify say:identify-prompt
Consent | Confirmed | Consent | -
Consent | Retry | Consent | -
Consent | SubmitDone | Consent | -
Consent | SubmitFailed(Rejected) | Consent | -
Consent | SubmitFailed(Storage) | Consent | -
Consent | ReceiptDone | Consent | -
Consent | PrinterFailed | Consent | -
Consent | Cancel | Attract | wipe:Cancelled
Consent | Tick | Consent | -
ConsentQr | Touch | Consent | -
ConsentQr | Start | Consent | -
ConsentQr | Lang(en) | Consent | -
ConsentQr | Lang(fr) | Consent | -
ConsentQr | CardInserted | Consent | -
ConsentQr | IdentityRead | Consent | -
ConsentQr | Fail(Removed) | Consent | -
ConsentQr | Fail(Unreadable) | Consent | -
ConsentQr | Fail(NotAuthentic) | Consent | -
ConsentQr | Fail(NoReader) | Consent | -
ConsentQr | CardRemoved | Consent | -
ConsentQr | ConsentGiven | VerifyFace | start-face say:face-prompt
ConsentQr | ConsentDeclined | Notice | wipe:ConsentDeclined notice:consent-declined say:consent-declined
ConsentQr | Face(match) | Consent | -
ConsentQr | Face(nomatch) | Consent | -
ConsentQr | Face(notlive) | Consent | -
ConsentQr | ServiceChosen | Consent | -
ConsentQr | Back | Identify | wipe:Cancelled start-identify say:identify-prompt
ConsentQr | Confirmed | Consent | -
ConsentQr | Retry | Consent | -
ConsentQr | SubmitDone | Consent | -
ConsentQr | SubmitFailed(Rejected) | Consent | -
ConsentQr | SubmitFailed(Storage) | Consent | -
ConsentQr | ReceiptDone | Consent | -
ConsentQr | PrinterFailed | Consent | -
ConsentQr | Cancel | Attract | wipe:Cancelled
ConsentQr | Tick | Consent | -
VerifyFace | Touch | VerifyFace | -
VerifyFace | Start | VerifyFace | -
VerifyFace | Lang(en) | VerifyFace | -
VerifyFace | Lang(fr) | VerifyFace | -
VerifyFace | CardInserted | VerifyFace | -
VerifyFace | IdentityRead | VerifyFace | -
VerifyFace | Fail(Removed) | VerifyFace | -
VerifyFace | Fail(Unreadable) | VerifyFace | -
VerifyFace | Fail(NotAuthentic) | VerifyFace | -
VerifyFace | Fail(NoReader) | VerifyFace | -
VerifyFace | CardRemoved | Notice | stop-face wipe:CardRemoved notice:card-removed say:card-removed
VerifyFace | ConsentGiven | VerifyFace | -
VerifyFace | ConsentDeclined | VerifyFace | -
VerifyFace | Face(match) | ChooseService | stop-face say:choose-service
VerifyFace | Face(nomatch) | Notice | stop-face notice:face-not-matched say:face-not-matched
VerifyFace | Face(notlive) | Notice | stop-face notice:face-not-live say:face-not-live
VerifyFace | ServiceChosen | VerifyFace | -
VerifyFace | Back | Consent | stop-face say:consent-prompt
VerifyFace | Confirmed | VerifyFace | -
VerifyFace | Retry | VerifyFace | -
VerifyFace | SubmitDone | VerifyFace | -
VerifyFace | SubmitFailed(Rejected) | VerifyFace | -
VerifyFace | SubmitFailed(Storage) | VerifyFace | -
VerifyFace | ReceiptDone | VerifyFace | -
VerifyFace | PrinterFailed | VerifyFace | -
VerifyFace | Cancel | Attract | stop-face wipe:Cancelled
VerifyFace | Tick | VerifyFace | -
FaceRetry | Touch | Notice | -
FaceRetry | Start | Notice | -
FaceRetry | Lang(en) | Notice | -
FaceRetry | Lang(fr) | Notice | -
FaceRetry | CardInserted | Notice | -
FaceRetry | IdentityRead | Notice | -
FaceRetry | Fail(Removed) | Notice | -
FaceRetry | Fail(Unreadable) | Notice | -
FaceRetry | Fail(NotAuthentic) | Notice | -
FaceRetry | Fail(NoReader) | Notice | -
FaceRetry | CardRemoved | Notice | wipe:CardRemoved notice:card-removed say:card-removed
FaceRetry | ConsentGiven | Notice | -
FaceRetry | ConsentDeclined | Notice | -
FaceRetry | Face(match) | Notice | -
FaceRetry | Face(nomatch) | Notice | -
FaceRetry | Face(notlive) | Notice | -
FaceRetry | ServiceChosen | Notice | -
FaceRetry | Back | Notice | -
FaceRetry | Confirmed | Notice | -
FaceRetry | Retry | VerifyFace | start-face say:face-prompt
FaceRetry | SubmitDone | Notice | -
FaceRetry | SubmitFailed(Rejected) | Notice | -
FaceRetry | SubmitFailed(Storage) | Notice | -
FaceRetry | ReceiptDone | Notice | -
FaceRetry | PrinterFailed | Notice | -
FaceRetry | Cancel | Attract | wipe:Cancelled
FaceRetry | Tick | Notice | -
ChooseService | Touch | ChooseService | -
ChooseService | Start | ChooseService | -
ChooseService | Lang(en) | ChooseService | -
ChooseService | Lang(fr) | ChooseService | -
ChooseService | CardInserted | ChooseService | -
ChooseService | IdentityRead | ChooseService | -
ChooseService | Fail(Removed) | ChooseService | -
ChooseService | Fail(Unreadable) | ChooseService | -
ChooseService | Fail(NotAuthentic) | ChooseService | -
ChooseService | Fail(NoReader) | ChooseService | -
ChooseService | CardRemoved | Notice | wipe:CardRemoved notice:card-removed say:card-removed
ChooseService | ConsentGiven | ChooseService | -
ChooseService | ConsentDeclined | ChooseService | -
ChooseService | Face(match) | ChooseService | -
ChooseService | Face(nomatch) | ChooseService | -
ChooseService | Face(notlive) | ChooseService | -
ChooseService | ServiceChosen | Confirm | say:confirm-prompt
ChooseService | Back | ChooseService | -
ChooseService | Confirmed | ChooseService | -
ChooseService | Retry | ChooseService | -
ChooseService | SubmitDone | ChooseService | -
ChooseService | SubmitFailed(Rejected) | ChooseService | -
ChooseService | SubmitFailed(Storage) | ChooseService | -
ChooseService | ReceiptDone | ChooseService | -
ChooseService | PrinterFailed | ChooseService | -
ChooseService | Cancel | Attract | wipe:Cancelled
ChooseService | Tick | ChooseService | -
ChooseServiceQr | Touch | ChooseService | -
ChooseServiceQr | Start | ChooseService | -
ChooseServiceQr | Lang(en) | ChooseService | -
ChooseServiceQr | Lang(fr) | ChooseService | -
ChooseServiceQr | CardInserted | ChooseService | -
ChooseServiceQr | IdentityRead | ChooseService | -
ChooseServiceQr | Fail(Removed) | ChooseService | -
ChooseServiceQr | Fail(Unreadable) | ChooseService | -
ChooseServiceQr | Fail(NotAuthentic) | ChooseService | -
ChooseServiceQr | Fail(NoReader) | ChooseService | -
ChooseServiceQr | CardRemoved | ChooseService | -
ChooseServiceQr | ConsentGiven | ChooseService | -
ChooseServiceQr | ConsentDeclined | ChooseService | -
ChooseServiceQr | Face(match) | ChooseService | -
ChooseServiceQr | Face(nomatch) | ChooseService | -
ChooseServiceQr | Face(notlive) | ChooseService | -
ChooseServiceQr | ServiceChosen | Confirm | say:confirm-prompt
ChooseServiceQr | Back | ChooseService | -
ChooseServiceQr | Confirmed | ChooseService | -
ChooseServiceQr | Retry | ChooseService | -
ChooseServiceQr | SubmitDone | ChooseService | -
ChooseServiceQr | SubmitFailed(Rejected) | ChooseService | -
ChooseServiceQr | SubmitFailed(Storage) | ChooseService | -
ChooseServiceQr | ReceiptDone | ChooseService | -
ChooseServiceQr | PrinterFailed | ChooseService | -
ChooseServiceQr | Cancel | Attract | wipe:Cancelled
ChooseServiceQr | Tick | ChooseService | -
Confirm | Touch | Confirm | -
Confirm | Start | Confirm | -
Confirm | Lang(en) | Confirm | -
Confirm | Lang(fr) | Confirm | -
Confirm | CardInserted | Confirm | -
Confirm | IdentityRead | Confirm | -
Confirm | Fail(Removed) | Confirm | -
Confirm | Fail(Unreadable) | Confirm | -
Confirm | Fail(NotAuthentic) | Confirm | -
Confirm | Fail(NoReader) | Confirm | -
Confirm | CardRemoved | Notice | wipe:CardRemoved notice:card-removed say:card-removed
Confirm | ConsentGiven | Confirm | -
Confirm | ConsentDeclined | Confirm | -
Confirm | Face(match) | Confirm | -
Confirm | Face(nomatch) | Confirm | -
Confirm | Face(notlive) | Confirm | -
Confirm | ServiceChosen | Confirm | -
Confirm | Back | ChooseService | say:choose-service
Confirm | Confirmed | Submitting | submit(temporary-residence) say:submitting
Confirm | Retry | Confirm | -
Confirm | SubmitDone | Confirm | -
Confirm | SubmitFailed(Rejected) | Confirm | -
Confirm | SubmitFailed(Storage) | Confirm | -
Confirm | ReceiptDone | Confirm | -
Confirm | PrinterFailed | Confirm | -
Confirm | Cancel | Attract | wipe:Cancelled
Confirm | Tick | Confirm | -
Submitting | Touch | Submitting | -
Submitting | Start | Submitting | -
Submitting | Lang(en) | Submitting | -
Submitting | Lang(fr) | Submitting | -
Submitting | CardInserted | Submitting | -
Submitting | IdentityRead | Submitting | -
Submitting | Fail(Removed) | Submitting | -
Submitting | Fail(Unreadable) | Submitting | -
Submitting | Fail(NotAuthentic) | Submitting | -
Submitting | Fail(NoReader) | Submitting | -
Submitting | CardRemoved | Submitting | -
Submitting | ConsentGiven | Submitting | -
Submitting | ConsentDeclined | Submitting | -
Submitting | Face(match) | Submitting | -
Submitting | Face(nomatch) | Submitting | -
Submitting | Face(notlive) | Submitting | -
Submitting | ServiceChosen | Submitting | -
Submitting | Back | Submitting | -
Submitting | Confirmed | Submitting | -
Submitting | Retry | Submitting | -
Submitting | SubmitDone | Receipt | print(ABCD1234) say:receipt-ready
Submitting | SubmitFailed(Rejected) | Notice | wipe:Error notice:submit-rejected say:submit-rejected
Submitting | SubmitFailed(Storage) | Notice | wipe:Error notice:submit-failed say:submit-failed
Submitting | ReceiptDone | Submitting | -
Submitting | PrinterFailed | Submitting | -
Submitting | Cancel | Submitting | -
Submitting | Tick | Submitting | -
Receipt | Touch | Receipt | -
Receipt | Start | Receipt | -
Receipt | Lang(en) | Receipt | -
Receipt | Lang(fr) | Receipt | -
Receipt | CardInserted | Receipt | -
Receipt | IdentityRead | Receipt | -
Receipt | Fail(Removed) | Receipt | -
Receipt | Fail(Unreadable) | Receipt | -
Receipt | Fail(NotAuthentic) | Receipt | -
Receipt | Fail(NoReader) | Receipt | -
Receipt | CardRemoved | Receipt | -
Receipt | ConsentGiven | Receipt | -
Receipt | ConsentDeclined | Receipt | -
Receipt | Face(match) | Receipt | -
Receipt | Face(nomatch) | Receipt | -
Receipt | Face(notlive) | Receipt | -
Receipt | ServiceChosen | Receipt | -
Receipt | Back | Receipt | -
Receipt | Confirmed | Receipt | -
Receipt | Retry | Receipt | -
Receipt | SubmitDone | Receipt | -
Receipt | SubmitFailed(Rejected) | Receipt | -
Receipt | SubmitFailed(Storage) | Receipt | -
Receipt | ReceiptDone | Attract | wipe:Completed
Receipt | PrinterFailed | Receipt | notice:printer-failed say:printer-failed
Receipt | Cancel | Attract | wipe:Cancelled
Receipt | Tick | Receipt | -
Notice | Touch | Notice | -
Notice | Start | Notice | -
Notice | Lang(en) | Notice | -
Notice | Lang(fr) | Notice | -
Notice | CardInserted | Notice | -
Notice | IdentityRead | Notice | -
Notice | Fail(Removed) | Notice | -
Notice | Fail(Unreadable) | Notice | -
Notice | Fail(NotAuthentic) | Notice | -
Notice | Fail(NoReader) | Notice | -
Notice | CardRemoved | Notice | -
Notice | ConsentGiven | Notice | -
Notice | ConsentDeclined | Notice | -
Notice | Face(match) | Notice | -
Notice | Face(nomatch) | Notice | -
Notice | Face(notlive) | Notice | -
Notice | ServiceChosen | Notice | -
Notice | Back | Notice | -
Notice | Confirmed | Notice | -
Notice | Retry | Notice | -
Notice | SubmitDone | Notice | -
Notice | SubmitFailed(Rejected) | Notice | -
Notice | SubmitFailed(Storage) | Notice | -
Notice | ReceiptDone | Notice | -
Notice | PrinterFailed | Notice | -
Notice | Cancel | Attract | wipe:Cancelled
Notice | Tick | Notice | -
AttractAgain | Touch | Attract | -
AttractAgain | Start | Language | say:choose-language
AttractAgain | Lang(en) | Attract | -
AttractAgain | Lang(fr) | Attract | -
AttractAgain | CardInserted | Attract | -
AttractAgain | IdentityRead | Attract | -
AttractAgain | Fail(Removed) | Attract | -
AttractAgain | Fail(Unreadable) | Attract | -
AttractAgain | Fail(NotAuthentic) | Attract | -
AttractAgain | Fail(NoReader) | Attract | -
AttractAgain | CardRemoved | Attract | -
AttractAgain | ConsentGiven | Attract | -
AttractAgain | ConsentDeclined | Attract | -
AttractAgain | Face(match) | Attract | -
AttractAgain | Face(nomatch) | Attract | -
AttractAgain | Face(notlive) | Attract | -
AttractAgain | ServiceChosen | Attract | -
AttractAgain | Back | Attract | -
AttractAgain | Confirmed | Attract | -
AttractAgain | Retry | Attract | -
AttractAgain | SubmitDone | Attract | -
AttractAgain | SubmitFailed(Rejected) | Attract | -
AttractAgain | SubmitFailed(Storage) | Attract | -
AttractAgain | ReceiptDone | Attract | -
AttractAgain | PrinterFailed | Attract | -
AttractAgain | Cancel | Attract | -
AttractAgain | Tick | Attract | -
";

fn table_rows() -> Vec<(String, String, String)> {
    TABLE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.splitn(3, " | ");
            let setup = it.next().unwrap_or_default().to_owned();
            let event = it.next().unwrap_or_default().to_owned();
            let expect = it.next().unwrap_or_default().to_owned();
            (setup, event, expect)
        })
        .collect()
}

#[test]
#[ignore = "prints the table from the implementation, for review when the flow changes"]
fn print_table() {
    for setup in SETUPS {
        for (name, ev) in events() {
            println!("{setup} | {name} | {}", run(setup, ev));
        }
    }
}

#[test]
fn transition_table() {
    let rows = table_rows();
    let mut expected_pairs = std::collections::BTreeSet::new();
    for setup in SETUPS {
        for (name, _) in events() {
            expected_pairs.insert((setup.to_owned(), name.to_owned()));
        }
    }
    let table_pairs: std::collections::BTreeSet<_> = rows
        .iter()
        .map(|(s, e, _)| (s.clone(), e.clone()))
        .collect();
    assert_eq!(table_pairs.len(), rows.len(), "duplicate rows in TABLE");
    let missing: Vec<_> = expected_pairs.difference(&table_pairs).collect();
    assert!(missing.is_empty(), "TABLE lacks rows: {missing:?}");
    let events = events();
    let mut failures = Vec::new();
    for (setup, name, expect) in &rows {
        let ev = events
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e.clone());
        let Some(ev) = ev else {
            failures.push(format!("unknown event {name}"));
            continue;
        };
        let got = run(setup, ev);
        if &got != expect {
            failures.push(format!(
                "{setup} | {name}\n   expected {expect}\n   got      {got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `setup | timeout ms | step after the deadline | commands at the deadline`.
const TIMEOUTS: &[(&str, u64, &str)] = &[
    ("Language", 60_000, "Attract | wipe:Timeout"),
    ("Identify", 60_000, "Attract | stop-identify wipe:Timeout"),
    (
        "IdentifyReading",
        60_000,
        "Attract | stop-identify wipe:Timeout",
    ),
    ("Consent", 60_000, "Attract | wipe:Timeout"),
    ("VerifyFace", 45_000, "Attract | stop-face wipe:Timeout"),
    ("FaceRetry", 45_000, "Attract | wipe:Timeout"),
    ("ChooseService", 90_000, "Attract | wipe:Timeout"),
    ("Confirm", 120_000, "Attract | wipe:Timeout"),
    (
        "Submitting",
        30_000,
        "Notice | wipe:Timeout notice:submit-pending say:submit-pending",
    ),
    ("Receipt", 20_000, "Attract | wipe:Completed"),
    ("Notice", 8_000, "Attract | -"),
];

#[test]
fn timeouts_fire_exactly_at_the_deadline() {
    for &(setup, timeout, expect) in TIMEOUTS {
        let mut d = Driver::at(setup);
        let entered = d.t;
        let before = d.s.step();
        let cmds = d.s.handle(Event::Tick, Millis(entered + timeout - 1));
        assert_eq!(
            d.s.step(),
            before,
            "{setup}: left the step before the deadline"
        );
        assert!(
            !cmds.iter().any(|c| matches!(c, Command::Wipe(_))),
            "{setup}: early wipe"
        );
        let cmds = d.s.handle(Event::Tick, Millis(entered + timeout));
        assert_eq!(
            format!("{:?} | {}", d.s.step(), render(&cmds)),
            expect,
            "{setup}"
        );
        assert!(!d.s.holds_personal_data(), "{setup}");
        assert!(!d.s.view().has_personal_data(), "{setup}");
    }
    // Attract never times out.
    let mut d = Driver::at("Attract");
    assert!(d.s.handle(Event::Tick, Millis(u64::MAX)).is_empty());
    assert_eq!(d.s.step(), Step::Attract);
}

#[test]
fn warning_countdown_and_touch() {
    let mut d = Driver::at("Confirm");
    let entered = d.t;
    let v = d.s.view();
    assert_eq!(v.seconds_left, Some(120));
    assert!(!v.warn_timeout);
    // Inside the warning window: one announcement, then silence.
    let cmds = d.s.handle(Event::Tick, Millis(entered + 110_000));
    assert_eq!(render(&cmds), "say:still-there");
    assert!(d.s.view().warn_timeout);
    assert_eq!(d.s.view().seconds_left, Some(10));
    assert!(d
        .s
        .handle(Event::Tick, Millis(entered + 111_000))
        .is_empty());
    // A touch restarts the full timeout and clears the warning.
    assert!(d
        .s
        .handle(Event::Touch, Millis(entered + 115_000))
        .is_empty());
    assert!(!d.s.view().warn_timeout);
    assert!(d
        .s
        .handle(Event::Tick, Millis(entered + 200_000))
        .is_empty());
    assert_eq!(d.s.step(), Step::Confirm);
    d.s.handle(Event::Tick, Millis(entered + 235_000));
    assert_eq!(d.s.step(), Step::Attract);
}

#[test]
fn watchdog_and_notice_ignore_touch() {
    for (setup, timeout) in [("Submitting", 30_000), ("Notice", 8_000)] {
        let mut d = Driver::at(setup);
        let entered = d.t;
        d.s.handle(Event::Touch, Millis(entered + timeout - 100));
        assert!(
            !d.s.view().warn_timeout,
            "{setup}: no countdown on a watchdog"
        );
        d.s.handle(Event::Tick, Millis(entered + timeout));
        assert_ne!(
            d.s.step(),
            Step::from_setup(setup),
            "{setup}: touch extended the timer"
        );
    }
}

impl Step {
    fn from_setup(setup: &str) -> Step {
        match setup {
            "Submitting" => Step::Submitting,
            _ => Step::Notice,
        }
    }
}

#[test]
fn card_removal_at_every_step() {
    for setup in SETUPS {
        let mut d = Driver::at(setup);
        let before = d.s.step();
        let chip =
            d.s.view()
                .citizen
                .is_some_and(|c| c.source() == IdentitySource::Chip);
        let cmds = d.ev(Event::CardRemoved);
        if chip {
            assert_eq!(d.s.step(), Step::Notice, "{setup}");
            assert!(
                cmds.contains(&Command::Wipe(WipeReason::CardRemoved)),
                "{setup}"
            );
            assert_eq!(d.s.view().notice.as_deref(), Some(keys::CARD_REMOVED));
            assert!(!d.s.holds_personal_data(), "{setup}");
        } else {
            // Before identification, with a QR identity, while submitting and at the receipt,
            // taking the card is harmless.
            assert_eq!(d.s.step(), before, "{setup}");
            assert!(cmds.is_empty(), "{setup}");
        }
    }
}

#[test]
fn cancel_at_every_step() {
    for setup in SETUPS {
        let mut d = Driver::at(setup);
        let before = d.s.step();
        let cmds = d.ev(Event::Cancel);
        match before {
            Step::Attract => assert!(cmds.is_empty()),
            // Decision (module docs): a handed-over submission cannot be cancelled.
            Step::Submitting => {
                assert!(cmds.is_empty());
                assert_eq!(d.s.step(), Step::Submitting);
            }
            _ => {
                assert_eq!(d.s.step(), Step::Attract, "{setup}");
                assert!(
                    cmds.contains(&Command::Wipe(WipeReason::Cancelled)),
                    "{setup}"
                );
                assert!(!d.s.holds_personal_data(), "{setup}");
                assert!(!d.s.view().has_personal_data(), "{setup}");
            }
        }
    }
}

#[test]
fn face_attempts_are_bounded() {
    let mut d = Driver::at("VerifyFace");
    assert_eq!(d.s.view().face_attempts_left, Some(3));
    for left in [2u8, 1] {
        d.ev(Event::FaceResult(NO_MATCH));
        let v = d.s.view();
        assert_eq!(
            (v.step, v.can_retry, v.face_attempts_left),
            (Step::Notice, true, Some(left))
        );
        assert!(d.s.holds_personal_data(), "kept for the retry");
        assert_eq!(render(&d.ev(Event::Retry)), "start-face say:face-prompt");
    }
    let cmds = d.ev(Event::FaceResult(NOT_LIVE));
    assert_eq!(
        render(&cmds),
        "stop-face wipe:FaceRejected notice:face-rejected say:face-rejected"
    );
    assert!(!d.s.holds_personal_data());
    assert!(!d.s.view().can_retry);
}

#[test]
fn dossier_carries_the_session() {
    let mut d = Driver::at("Confirm");
    let id = d.s.session_id().expect("id after Start");
    let v = d.s.view();
    assert_eq!(v.service, Some(ServiceId::new("temporary-residence")));
    assert_eq!(
        v.citizen.as_ref().map(|c| c.id_number().expose().as_str()),
        Some("001090123456")
    );
    let cmds = d.ev(Event::Confirmed);
    let Some(Command::Submit(dossier)) = cmds.first() else {
        panic!("submit expected: {cmds:?}")
    };
    assert_eq!(dossier.session_id(), id);
    assert_eq!(dossier.language(), "vi");
    assert!(dossier.face().matched && dossier.face().live);
    assert_eq!(dossier.citizen().full_name().expose(), "NGUYỄN VĂN AN");
    // Handed over: the session itself keeps nothing personal while submitting.
    assert!(!d.s.holds_personal_data());
    // Debug output of anything in flight stays redacted.
    let dbg = format!("{cmds:?}");
    assert!(
        !dbg.contains("001090123456") && !dbg.contains("NGUYỄN"),
        "{dbg}"
    );
}

#[test]
fn session_ids_are_fresh_and_reset_on_attract() {
    let mut d = Driver::new();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        d.ev(Event::Start);
        let id = d.s.session_id().expect("id");
        assert!(seen.insert(id), "repeated id");
        d.ev(Event::Cancel);
        assert_eq!(d.s.session_id(), None);
    }
    // Another kiosk (another seed) produces other ids.
    let mut other = Session::new(SessionConfig::default(), 42);
    other.handle(Event::Start, Millis(0));
    assert!(!seen.contains(&other.session_id().expect("id")));
}

#[test]
fn language_choice_is_kept_for_the_session_only() {
    let mut d = Driver::at("Language");
    d.ev(Event::LanguageChosen("en".into()));
    assert_eq!(d.s.view().language, "en");
    d.ev(Event::Cancel);
    assert_eq!(d.s.view().language, "vi");
}

#[test]
fn identify_banner_and_reading_flag() {
    let mut d = Driver::at("Identify");
    d.ev(Event::CardInserted);
    assert!(d.s.view().card_reading);
    d.ev(Event::IdentityFailed(
        IdentifyFailure::CardRemovedDuringRead,
    ));
    let v = d.s.view();
    assert!(!v.card_reading);
    assert_eq!(v.notice.as_deref(), Some(keys::CARD_REMOVED_DURING_READ));
    d.ev(Event::CardInserted);
    assert_eq!(
        d.s.view().notice,
        None,
        "banner cleared by the next attempt"
    );
}

#[test]
fn a_qr_that_is_not_the_cards_says_so_and_stays() {
    assert_eq!(
        run(
            "Identify",
            Event::IdentityFailed(IdentifyFailure::QrNotCard)
        ),
        "Identify | notice:qr-not-card say:qr-not-card"
    );
    let mut d = Driver::at("Identify");
    d.ev(Event::IdentityFailed(IdentifyFailure::QrNotCard));
    assert_eq!(d.s.view().notice.as_deref(), Some(keys::QR_NOT_CARD));
}

#[test]
fn receipt_survives_printer_failure_and_card_removal() {
    let mut d = Driver::at("Receipt");
    d.ev(Event::PrinterFailed);
    d.ev(Event::CardRemoved);
    let v = d.s.view();
    assert_eq!(v.step, Step::Receipt);
    assert!(v.printer_failed);
    assert_eq!(
        v.receipt.as_ref().map(|r| r.lookup_code.as_str()),
        Some("ABCD1234")
    );
    assert_eq!(render(&d.ev(Event::ReceiptDone)), "wipe:Completed");
    assert!(!d.s.view().has_personal_data());
}

#[test]
fn citizen_validation() {
    let mk = |id: &str, name: &str| {
        Citizen::new(
            IdentitySource::Qr,
            p(id),
            p(name),
            p("01/01/1990"),
            p("Nam"),
            None,
        )
    };
    assert_eq!(mk("00109012345", "A").err(), Some(CitizenError::IdNumber));
    assert_eq!(mk("00109012345x", "A").err(), Some(CitizenError::IdNumber));
    assert_eq!(mk("001090123456", " ").err(), Some(CitizenError::FullName));
    assert!(mk("001090123456", "A").is_ok());
}

#[test]
fn time_going_backwards_does_not_revive_timers() {
    let mut d = Driver::at("Consent");
    let entered = d.t;
    d.s.handle(Event::Tick, Millis(entered + 60_000));
    assert_eq!(d.s.step(), Step::Attract);
    d.s.handle(Event::Tick, Millis(0));
    assert_eq!(d.s.step(), Step::Attract);
}
