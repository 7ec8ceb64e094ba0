//! Transition tests: the whole Step x Event table as data, timeouts, wipes.

use super::*;

fn p(s: &str) -> Personal<String> {
    Personal::new(s.to_owned())
}

/// The synthetic citizen's ID number (cccd.md's vector: CAN 123456).
const ID: &str = "001090123456";

/// Device results in these tests are written for "the current arming": [`Driver::ev`] gives
/// them the session's generation as it feeds them, as a worker armed by the last command
/// would.
const CUR: Generation = Generation(u64::MAX);
/// A generation no session in these tests reaches: a result from some earlier arming.
const OLD: Generation = Generation(u64::MAX - 1);

/// `e` with [`CUR`] replaced by `g`.
fn stamp(e: Event, g: Generation) -> Event {
    let s = |x: Generation| if x == CUR { g } else { x };
    match e {
        Event::CardInserted(x) => Event::CardInserted(s(x)),
        Event::IdNumberScanned(x, id) => Event::IdNumberScanned(s(x), id),
        Event::IdentityRead(x, c) => Event::IdentityRead(s(x), c),
        Event::IdentityFailed(x, f) => Event::IdentityFailed(s(x), f),
        Event::FaceResult(x, o) => Event::FaceResult(s(x), o),
        Event::FaceFailed(x) => Event::FaceFailed(s(x)),
        Event::CameraUnavailable(x, p) => Event::CameraUnavailable(s(x), p),
        other => other,
    }
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
        applicant_id_masked: p("0010•••••456"),
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
        ("CardInserted", Event::CardInserted(CUR)),
        ("Digit(7)", Event::KeypadDigit(7)),
        ("Digit(10)", Event::KeypadDigit(10)),
        ("Erase", Event::KeypadErase),
        ("Submit", Event::KeypadSubmit),
        ("Scanned", Event::IdNumberScanned(CUR, p(ID))),
        ("Scanned(short)", Event::IdNumberScanned(CUR, p("12345"))),
        (
            "IdentityRead",
            Event::IdentityRead(CUR, citizen(IdentitySource::Chip)),
        ),
        (
            "IdentityRead(Qr)",
            Event::IdentityRead(CUR, citizen(IdentitySource::Qr)),
        ),
        (
            "Fail(Removed)",
            Event::IdentityFailed(CUR, IdentifyFailure::CardRemovedDuringRead),
        ),
        (
            "Fail(Unreadable)",
            Event::IdentityFailed(CUR, IdentifyFailure::Unreadable),
        ),
        (
            "Fail(QrNotCard)",
            Event::IdentityFailed(CUR, IdentifyFailure::QrNotCard),
        ),
        (
            "Fail(WrongId)",
            Event::IdentityFailed(CUR, IdentifyFailure::WrongIdNumber),
        ),
        (
            "Fail(NotAuthentic)",
            Event::IdentityFailed(CUR, IdentifyFailure::NotAuthentic),
        ),
        (
            "Fail(NoReader)",
            Event::IdentityFailed(CUR, IdentifyFailure::ReaderMissing),
        ),
        (
            "Fail(TimedOut)",
            Event::IdentityFailed(CUR, IdentifyFailure::ReadTimedOut),
        ),
        (
            "Fail(Internal)",
            Event::IdentityFailed(CUR, IdentifyFailure::Internal),
        ),
        // Results of an earlier arming: never looked at.
        ("CardInserted(old)", Event::CardInserted(OLD)),
        ("Scanned(old)", Event::IdNumberScanned(OLD, p(ID))),
        (
            "IdentityRead(old)",
            Event::IdentityRead(OLD, citizen(IdentitySource::Chip)),
        ),
        (
            "Fail(WrongId,old)",
            Event::IdentityFailed(OLD, IdentifyFailure::WrongIdNumber),
        ),
        ("CardRemoved", Event::CardRemoved),
        ("ConsentGiven", Event::ConsentGiven),
        ("ConsentDeclined", Event::ConsentDeclined),
        ("Face(match)", Event::FaceResult(CUR, MATCH)),
        ("Face(nomatch)", Event::FaceResult(CUR, NO_MATCH)),
        ("Face(notlive)", Event::FaceResult(CUR, NOT_LIVE)),
        ("FaceFailed", Event::FaceFailed(CUR)),
        ("Face(match,old)", Event::FaceResult(OLD, MATCH)),
        ("FaceFailed(old)", Event::FaceFailed(OLD)),
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
        (
            "PrinterFailed",
            Event::PrinterFailed(PrinterFault::PaperOut),
        ),
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
        let e = stamp(e, self.s.generation());
        self.s.handle(e, Millis(self.t))
    }

    /// Drives a fresh session to the named setup.
    pub(super) fn at(setup: &str) -> Self {
        let mut d = Self::new();
        let path: &[Event] = &[];
        let chip = || Event::IdentityRead(CUR, citizen(IdentitySource::Chip));
        let to_lang = [Event::Start];
        let to_identify = [Event::Start, Event::LanguageChosen("vi".into())];
        let typed = |digits: &str| -> Vec<Event> {
            let mut v = to_identify.to_vec();
            v.extend(digits.bytes().map(|b| Event::KeypadDigit(b - b'0')));
            v
        };
        let to_card = [&to_identify[..], &[Event::IdNumberScanned(CUR, p(ID))]].concat();
        let prefix: Vec<Event> = match setup {
            "Attract" => path.to_vec(),
            "Language" => to_lang.to_vec(),
            "Identify" => to_identify.to_vec(),
            "IdentifyTyped" => typed("00109"),
            "IdentifyTyped12" => typed(ID),
            "IdentifyAwaitCard" => to_card.clone(),
            "IdentifyReading" => [&to_card[..], &[Event::CardInserted(CUR)]].concat(),
            "Consent" => [&to_card[..], &[Event::CardInserted(CUR), chip()]].concat(),
            "VerifyFace" => [&to_identify[..], &[chip(), Event::ConsentGiven]].concat(),
            "FaceRetry" => [
                &to_identify[..],
                &[
                    chip(),
                    Event::ConsentGiven,
                    Event::FaceResult(CUR, NO_MATCH),
                ],
            ]
            .concat(),
            "ChooseService" => [
                &to_identify[..],
                &[chip(), Event::ConsentGiven, Event::FaceResult(CUR, MATCH)],
            ]
            .concat(),
            // On the review page, the form filled in.
            "Confirm" => Self::confirm_path(),
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
            Event::IdentityRead(CUR, citizen(IdentitySource::Chip)),
            Event::ConsentGiven,
            Event::FaceResult(CUR, MATCH),
            Event::ServiceChosen(ServiceId::new("temporary-residence")),
        ]
        .into_iter()
        .chain(form_to_review())
        .collect()
    }
}

const SETUPS: [&str; 16] = [
    "Attract",
    "Language",
    "Identify",
    "IdentifyTyped",
    "IdentifyTyped12",
    "IdentifyAwaitCard",
    "IdentifyReading",
    "Consent",
    "VerifyFace",
    "FaceRetry",
    "ChooseService",
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
            Command::StartIdentify(_) => "start-identify".to_owned(),
            Command::StopIdentify => "stop-identify".to_owned(),
            Command::StartLookupScan(_) => "start-lookup-scan".to_owned(),
            Command::StopLookupScan => "stop-lookup-scan".to_owned(),
            Command::LookupStatus(_, c) => format!("lookup-status({})", c.dossier_code),
            // The number itself is personal: the table shows its length only.
            Command::UseIdNumber(id) => format!("use-id({})", id.expose().len()),
            Command::ForgetIdNumber => "forget-id".to_owned(),
            Command::StartFaceCapture(..) => "start-face".to_owned(),
            Command::StopFaceCapture => "stop-face".to_owned(),
            Command::Submit(d) => format!("submit({})", d.service()),
            Command::PrintReceipt(r) => format!("print({})", r.lookup_code),
            Command::Wipe(r) => format!("wipe:{r:?}"),
            Command::Announce(k) => format!("say:{k}"),
            Command::ShowNotice(k) => format!("notice:{k}"),
            Command::Chime(c) => format!("chime:{c:?}"),
            Command::CallStaff(step) => format!("call-staff:{step:?}"),
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
    format!("{} | {}", shown(&d.s.view()), render(&cmds))
}

/// The step, and at `Identify` its phase and how many digits are on screen:
/// `Identify(AwaitingCard:12)`.
fn shown(v: &SessionView) -> String {
    match v.identify {
        Some(phase) => format!(
            "{:?}({phase:?}:{})",
            v.step,
            v.id_entry.as_ref().map_or(0, |e| e.expose().len())
        ),
        None => format!("{:?}", v.step),
    }
}

/// The transition table: `setup | event | resulting step | commands`. Every setup x event
/// pair appears exactly once (checked). `-` means no command.
const TABLE: &str = "
Attract | Touch | Attract | -
Attract | Start | Language | say:choose-language
Attract | Lang(en) | Attract | -
Attract | Lang(fr) | Attract | -
Attract | CardInserted | Attract | -
Attract | Digit(7) | Attract | -
Attract | Digit(10) | Attract | -
Attract | Erase | Attract | -
Attract | Submit | Attract | -
Attract | Scanned | Attract | -
Attract | Scanned(short) | Attract | -
Attract | IdentityRead | Attract | -
Attract | IdentityRead(Qr) | Attract | -
Attract | Fail(Removed) | Attract | -
Attract | Fail(Unreadable) | Attract | -
Attract | Fail(QrNotCard) | Attract | -
Attract | Fail(WrongId) | Attract | -
Attract | Fail(NotAuthentic) | Attract | -
Attract | Fail(NoReader) | Attract | -
Attract | Fail(TimedOut) | Attract | -
Attract | Fail(Internal) | Attract | -
Attract | CardInserted(old) | Attract | -
Attract | Scanned(old) | Attract | -
Attract | IdentityRead(old) | Attract | -
Attract | Fail(WrongId,old) | Attract | -
Attract | CardRemoved | Attract | -
Attract | ConsentGiven | Attract | -
Attract | ConsentDeclined | Attract | -
Attract | Face(match) | Attract | -
Attract | Face(nomatch) | Attract | -
Attract | Face(notlive) | Attract | -
Attract | FaceFailed | Attract | -
Attract | Face(match,old) | Attract | -
Attract | FaceFailed(old) | Attract | -
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
Language | Lang(en) | Identify(AwaitingId:0) | start-identify say:id-prompt
Language | Lang(fr) | Language | -
Language | CardInserted | Language | -
Language | Digit(7) | Language | -
Language | Digit(10) | Language | -
Language | Erase | Language | -
Language | Submit | Language | -
Language | Scanned | Language | -
Language | Scanned(short) | Language | -
Language | IdentityRead | Language | -
Language | IdentityRead(Qr) | Language | -
Language | Fail(Removed) | Language | -
Language | Fail(Unreadable) | Language | -
Language | Fail(QrNotCard) | Language | -
Language | Fail(WrongId) | Language | -
Language | Fail(NotAuthentic) | Language | -
Language | Fail(NoReader) | Language | -
Language | Fail(TimedOut) | Language | -
Language | Fail(Internal) | Language | -
Language | CardInserted(old) | Language | -
Language | Scanned(old) | Language | -
Language | IdentityRead(old) | Language | -
Language | Fail(WrongId,old) | Language | -
Language | CardRemoved | Language | -
Language | ConsentGiven | Language | -
Language | ConsentDeclined | Language | -
Language | Face(match) | Language | -
Language | Face(nomatch) | Language | -
Language | Face(notlive) | Language | -
Language | FaceFailed | Language | -
Language | Face(match,old) | Language | -
Language | FaceFailed(old) | Language | -
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
Identify | Touch | Identify(AwaitingId:0) | -
Identify | Start | Identify(AwaitingId:0) | -
Identify | Lang(en) | Identify(AwaitingId:0) | -
Identify | Lang(fr) | Identify(AwaitingId:0) | -
Identify | CardInserted | Identify(AwaitingId:0) | notice:id-needed-first say:id-needed-first
Identify | Digit(7) | Identify(AwaitingId:1) | -
Identify | Digit(10) | Identify(AwaitingId:0) | -
Identify | Erase | Identify(AwaitingId:0) | -
Identify | Submit | Identify(AwaitingId:0) | notice:id-incomplete say:id-incomplete
Identify | Scanned | Identify(AwaitingCard:12) | use-id(12) say:place-card
Identify | Scanned(short) | Identify(AwaitingId:0) | -
Identify | IdentityRead | Consent | stop-identify say:consent-prompt
Identify | IdentityRead(Qr) | Identify(AwaitingId:0) | -
Identify | Fail(Removed) | Identify(AwaitingId:0) | notice:card-removed-during-read say:card-removed-during-read
Identify | Fail(Unreadable) | Identify(AwaitingId:0) | notice:card-unreadable say:card-unreadable
Identify | Fail(QrNotCard) | Identify(AwaitingId:0) | notice:qr-not-card say:qr-not-card
Identify | Fail(WrongId) | Identify(AwaitingId:0) | forget-id notice:wrong-id say:wrong-id
Identify | Fail(NotAuthentic) | Notice | stop-identify wipe:Error notice:card-not-authentic say:card-not-authentic
Identify | Fail(NoReader) | Notice | stop-identify wipe:Error notice:reader-unavailable say:reader-unavailable
Identify | Fail(TimedOut) | Identify(AwaitingId:0) | notice:card-too-slow say:card-too-slow
Identify | Fail(Internal) | Identify(AwaitingId:0) | notice:read-try-again say:read-try-again
Identify | CardInserted(old) | Identify(AwaitingId:0) | -
Identify | Scanned(old) | Identify(AwaitingId:0) | -
Identify | IdentityRead(old) | Identify(AwaitingId:0) | -
Identify | Fail(WrongId,old) | Identify(AwaitingId:0) | -
Identify | CardRemoved | Identify(AwaitingId:0) | -
Identify | ConsentGiven | Identify(AwaitingId:0) | -
Identify | ConsentDeclined | Identify(AwaitingId:0) | -
Identify | Face(match) | Identify(AwaitingId:0) | -
Identify | Face(nomatch) | Identify(AwaitingId:0) | -
Identify | Face(notlive) | Identify(AwaitingId:0) | -
Identify | FaceFailed | Identify(AwaitingId:0) | -
Identify | Face(match,old) | Identify(AwaitingId:0) | -
Identify | FaceFailed(old) | Identify(AwaitingId:0) | -
Identify | ServiceChosen | Identify(AwaitingId:0) | -
Identify | Back | Language | stop-identify say:choose-language
Identify | Confirmed | Identify(AwaitingId:0) | -
Identify | Retry | Identify(AwaitingId:0) | -
Identify | SubmitDone | Identify(AwaitingId:0) | -
Identify | SubmitFailed(Rejected) | Identify(AwaitingId:0) | -
Identify | SubmitFailed(Storage) | Identify(AwaitingId:0) | -
Identify | ReceiptDone | Identify(AwaitingId:0) | -
Identify | PrinterFailed | Identify(AwaitingId:0) | -
Identify | Cancel | Attract | stop-identify wipe:Cancelled
Identify | Tick | Identify(AwaitingId:0) | -
IdentifyTyped | Touch | Identify(AwaitingId:5) | -
IdentifyTyped | Start | Identify(AwaitingId:5) | -
IdentifyTyped | Lang(en) | Identify(AwaitingId:5) | -
IdentifyTyped | Lang(fr) | Identify(AwaitingId:5) | -
IdentifyTyped | CardInserted | Identify(AwaitingId:5) | notice:id-needed-first say:id-needed-first
IdentifyTyped | Digit(7) | Identify(AwaitingId:6) | -
IdentifyTyped | Digit(10) | Identify(AwaitingId:5) | -
IdentifyTyped | Erase | Identify(AwaitingId:4) | -
IdentifyTyped | Submit | Identify(AwaitingId:5) | notice:id-incomplete say:id-incomplete
IdentifyTyped | Scanned | Identify(AwaitingCard:12) | use-id(12) say:place-card
IdentifyTyped | Scanned(short) | Identify(AwaitingId:5) | -
IdentifyTyped | IdentityRead | Consent | stop-identify say:consent-prompt
IdentifyTyped | IdentityRead(Qr) | Identify(AwaitingId:5) | -
IdentifyTyped | Fail(Removed) | Identify(AwaitingId:5) | notice:card-removed-during-read say:card-removed-during-read
IdentifyTyped | Fail(Unreadable) | Identify(AwaitingId:5) | notice:card-unreadable say:card-unreadable
IdentifyTyped | Fail(QrNotCard) | Identify(AwaitingId:5) | notice:qr-not-card say:qr-not-card
IdentifyTyped | Fail(WrongId) | Identify(AwaitingId:5) | forget-id notice:wrong-id say:wrong-id
IdentifyTyped | Fail(NotAuthentic) | Notice | stop-identify wipe:Error notice:card-not-authentic say:card-not-authentic
IdentifyTyped | Fail(NoReader) | Notice | stop-identify wipe:Error notice:reader-unavailable say:reader-unavailable
IdentifyTyped | Fail(TimedOut) | Identify(AwaitingId:5) | notice:card-too-slow say:card-too-slow
IdentifyTyped | Fail(Internal) | Identify(AwaitingId:5) | notice:read-try-again say:read-try-again
IdentifyTyped | CardInserted(old) | Identify(AwaitingId:5) | -
IdentifyTyped | Scanned(old) | Identify(AwaitingId:5) | -
IdentifyTyped | IdentityRead(old) | Identify(AwaitingId:5) | -
IdentifyTyped | Fail(WrongId,old) | Identify(AwaitingId:5) | -
IdentifyTyped | CardRemoved | Identify(AwaitingId:5) | -
IdentifyTyped | ConsentGiven | Identify(AwaitingId:5) | -
IdentifyTyped | ConsentDeclined | Identify(AwaitingId:5) | -
IdentifyTyped | Face(match) | Identify(AwaitingId:5) | -
IdentifyTyped | Face(nomatch) | Identify(AwaitingId:5) | -
IdentifyTyped | Face(notlive) | Identify(AwaitingId:5) | -
IdentifyTyped | FaceFailed | Identify(AwaitingId:5) | -
IdentifyTyped | Face(match,old) | Identify(AwaitingId:5) | -
IdentifyTyped | FaceFailed(old) | Identify(AwaitingId:5) | -
IdentifyTyped | ServiceChosen | Identify(AwaitingId:5) | -
IdentifyTyped | Back | Language | stop-identify say:choose-language
IdentifyTyped | Confirmed | Identify(AwaitingId:5) | -
IdentifyTyped | Retry | Identify(AwaitingId:5) | -
IdentifyTyped | SubmitDone | Identify(AwaitingId:5) | -
IdentifyTyped | SubmitFailed(Rejected) | Identify(AwaitingId:5) | -
IdentifyTyped | SubmitFailed(Storage) | Identify(AwaitingId:5) | -
IdentifyTyped | ReceiptDone | Identify(AwaitingId:5) | -
IdentifyTyped | PrinterFailed | Identify(AwaitingId:5) | -
IdentifyTyped | Cancel | Attract | stop-identify wipe:Cancelled
IdentifyTyped | Tick | Identify(AwaitingId:5) | -
IdentifyTyped12 | Touch | Identify(AwaitingId:12) | -
IdentifyTyped12 | Start | Identify(AwaitingId:12) | -
IdentifyTyped12 | Lang(en) | Identify(AwaitingId:12) | -
IdentifyTyped12 | Lang(fr) | Identify(AwaitingId:12) | -
IdentifyTyped12 | CardInserted | Identify(AwaitingId:12) | notice:id-needed-first say:id-needed-first
IdentifyTyped12 | Digit(7) | Identify(AwaitingId:12) | -
IdentifyTyped12 | Digit(10) | Identify(AwaitingId:12) | -
IdentifyTyped12 | Erase | Identify(AwaitingId:11) | -
IdentifyTyped12 | Submit | Identify(AwaitingCard:12) | use-id(12) say:place-card
IdentifyTyped12 | Scanned | Identify(AwaitingCard:12) | use-id(12) say:place-card
IdentifyTyped12 | Scanned(short) | Identify(AwaitingId:12) | -
IdentifyTyped12 | IdentityRead | Consent | stop-identify say:consent-prompt
IdentifyTyped12 | IdentityRead(Qr) | Identify(AwaitingId:12) | -
IdentifyTyped12 | Fail(Removed) | Identify(AwaitingId:12) | notice:card-removed-during-read say:card-removed-during-read
IdentifyTyped12 | Fail(Unreadable) | Identify(AwaitingId:12) | notice:card-unreadable say:card-unreadable
IdentifyTyped12 | Fail(QrNotCard) | Identify(AwaitingId:12) | notice:qr-not-card say:qr-not-card
IdentifyTyped12 | Fail(WrongId) | Identify(AwaitingId:12) | forget-id notice:wrong-id say:wrong-id
IdentifyTyped12 | Fail(NotAuthentic) | Notice | stop-identify wipe:Error notice:card-not-authentic say:card-not-authentic
IdentifyTyped12 | Fail(NoReader) | Notice | stop-identify wipe:Error notice:reader-unavailable say:reader-unavailable
IdentifyTyped12 | Fail(TimedOut) | Identify(AwaitingId:12) | notice:card-too-slow say:card-too-slow
IdentifyTyped12 | Fail(Internal) | Identify(AwaitingId:12) | notice:read-try-again say:read-try-again
IdentifyTyped12 | CardInserted(old) | Identify(AwaitingId:12) | -
IdentifyTyped12 | Scanned(old) | Identify(AwaitingId:12) | -
IdentifyTyped12 | IdentityRead(old) | Identify(AwaitingId:12) | -
IdentifyTyped12 | Fail(WrongId,old) | Identify(AwaitingId:12) | -
IdentifyTyped12 | CardRemoved | Identify(AwaitingId:12) | -
IdentifyTyped12 | ConsentGiven | Identify(AwaitingId:12) | -
IdentifyTyped12 | ConsentDeclined | Identify(AwaitingId:12) | -
IdentifyTyped12 | Face(match) | Identify(AwaitingId:12) | -
IdentifyTyped12 | Face(nomatch) | Identify(AwaitingId:12) | -
IdentifyTyped12 | Face(notlive) | Identify(AwaitingId:12) | -
IdentifyTyped12 | FaceFailed | Identify(AwaitingId:12) | -
IdentifyTyped12 | Face(match,old) | Identify(AwaitingId:12) | -
IdentifyTyped12 | FaceFailed(old) | Identify(AwaitingId:12) | -
IdentifyTyped12 | ServiceChosen | Identify(AwaitingId:12) | -
IdentifyTyped12 | Back | Language | stop-identify say:choose-language
IdentifyTyped12 | Confirmed | Identify(AwaitingId:12) | -
IdentifyTyped12 | Retry | Identify(AwaitingId:12) | -
IdentifyTyped12 | SubmitDone | Identify(AwaitingId:12) | -
IdentifyTyped12 | SubmitFailed(Rejected) | Identify(AwaitingId:12) | -
IdentifyTyped12 | SubmitFailed(Storage) | Identify(AwaitingId:12) | -
IdentifyTyped12 | ReceiptDone | Identify(AwaitingId:12) | -
IdentifyTyped12 | PrinterFailed | Identify(AwaitingId:12) | -
IdentifyTyped12 | Cancel | Attract | stop-identify wipe:Cancelled
IdentifyTyped12 | Tick | Identify(AwaitingId:12) | -
IdentifyAwaitCard | Touch | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Start | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Lang(en) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Lang(fr) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | CardInserted | Identify(Reading:12) | -
IdentifyAwaitCard | Digit(7) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Digit(10) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Erase | Identify(AwaitingId:11) | forget-id
IdentifyAwaitCard | Submit | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Scanned | Identify(AwaitingCard:12) | use-id(12) say:place-card
IdentifyAwaitCard | Scanned(short) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | IdentityRead | Consent | stop-identify say:consent-prompt
IdentifyAwaitCard | IdentityRead(Qr) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Fail(Removed) | Identify(AwaitingCard:12) | notice:card-removed-during-read say:card-removed-during-read
IdentifyAwaitCard | Fail(Unreadable) | Identify(AwaitingCard:12) | notice:card-unreadable say:card-unreadable
IdentifyAwaitCard | Fail(QrNotCard) | Identify(AwaitingCard:12) | notice:qr-not-card say:qr-not-card
IdentifyAwaitCard | Fail(WrongId) | Identify(AwaitingId:12) | forget-id notice:wrong-id say:wrong-id
IdentifyAwaitCard | Fail(NotAuthentic) | Notice | stop-identify wipe:Error notice:card-not-authentic say:card-not-authentic
IdentifyAwaitCard | Fail(NoReader) | Notice | stop-identify wipe:Error notice:reader-unavailable say:reader-unavailable
IdentifyAwaitCard | Fail(TimedOut) | Identify(AwaitingCard:12) | notice:card-too-slow say:card-too-slow
IdentifyAwaitCard | Fail(Internal) | Identify(AwaitingCard:12) | notice:read-try-again say:read-try-again
IdentifyAwaitCard | CardInserted(old) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Scanned(old) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | IdentityRead(old) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Fail(WrongId,old) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | CardRemoved | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | ConsentGiven | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | ConsentDeclined | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Face(match) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Face(nomatch) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Face(notlive) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | FaceFailed | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Face(match,old) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | FaceFailed(old) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | ServiceChosen | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Back | Identify(AwaitingId:12) | forget-id say:id-prompt
IdentifyAwaitCard | Confirmed | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Retry | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | SubmitDone | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | SubmitFailed(Rejected) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | SubmitFailed(Storage) | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | ReceiptDone | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | PrinterFailed | Identify(AwaitingCard:12) | -
IdentifyAwaitCard | Cancel | Attract | stop-identify wipe:Cancelled
IdentifyAwaitCard | Tick | Identify(AwaitingCard:12) | -
IdentifyReading | Touch | Identify(Reading:12) | -
IdentifyReading | Start | Identify(Reading:12) | -
IdentifyReading | Lang(en) | Identify(Reading:12) | -
IdentifyReading | Lang(fr) | Identify(Reading:12) | -
IdentifyReading | CardInserted | Identify(Reading:12) | -
IdentifyReading | Digit(7) | Identify(Reading:12) | -
IdentifyReading | Digit(10) | Identify(Reading:12) | -
IdentifyReading | Erase | Identify(Reading:12) | -
IdentifyReading | Submit | Identify(Reading:12) | -
IdentifyReading | Scanned | Identify(Reading:12) | -
IdentifyReading | Scanned(short) | Identify(Reading:12) | -
IdentifyReading | IdentityRead | Consent | stop-identify say:consent-prompt
IdentifyReading | IdentityRead(Qr) | Identify(Reading:12) | -
IdentifyReading | Fail(Removed) | Identify(AwaitingCard:12) | notice:card-removed-during-read say:card-removed-during-read
IdentifyReading | Fail(Unreadable) | Identify(AwaitingCard:12) | notice:card-unreadable say:card-unreadable
IdentifyReading | Fail(QrNotCard) | Identify(AwaitingCard:12) | notice:qr-not-card say:qr-not-card
IdentifyReading | Fail(WrongId) | Identify(AwaitingId:12) | forget-id notice:wrong-id say:wrong-id
IdentifyReading | Fail(NotAuthentic) | Notice | stop-identify wipe:Error notice:card-not-authentic say:card-not-authentic
IdentifyReading | Fail(NoReader) | Notice | stop-identify wipe:Error notice:reader-unavailable say:reader-unavailable
IdentifyReading | Fail(TimedOut) | Identify(AwaitingCard:12) | notice:card-too-slow say:card-too-slow
IdentifyReading | Fail(Internal) | Identify(AwaitingCard:12) | notice:read-try-again say:read-try-again
IdentifyReading | CardInserted(old) | Identify(Reading:12) | -
IdentifyReading | Scanned(old) | Identify(Reading:12) | -
IdentifyReading | IdentityRead(old) | Identify(Reading:12) | -
IdentifyReading | Fail(WrongId,old) | Identify(Reading:12) | -
IdentifyReading | CardRemoved | Identify(AwaitingCard:12) | -
IdentifyReading | ConsentGiven | Identify(Reading:12) | -
IdentifyReading | ConsentDeclined | Identify(Reading:12) | -
IdentifyReading | Face(match) | Identify(Reading:12) | -
IdentifyReading | Face(nomatch) | Identify(Reading:12) | -
IdentifyReading | Face(notlive) | Identify(Reading:12) | -
IdentifyReading | FaceFailed | Identify(Reading:12) | -
IdentifyReading | Face(match,old) | Identify(Reading:12) | -
IdentifyReading | FaceFailed(old) | Identify(Reading:12) | -
IdentifyReading | ServiceChosen | Identify(Reading:12) | -
IdentifyReading | Back | Identify(Reading:12) | -
IdentifyReading | Confirmed | Identify(Reading:12) | -
IdentifyReading | Retry | Identify(Reading:12) | -
IdentifyReading | SubmitDone | Identify(Reading:12) | -
IdentifyReading | SubmitFailed(Rejected) | Identify(Reading:12) | -
IdentifyReading | SubmitFailed(Storage) | Identify(Reading:12) | -
IdentifyReading | ReceiptDone | Identify(Reading:12) | -
IdentifyReading | PrinterFailed | Identify(Reading:12) | -
IdentifyReading | Cancel | Attract | stop-identify wipe:Cancelled
IdentifyReading | Tick | Identify(Reading:12) | -
Consent | Touch | Consent | -
Consent | Start | Consent | -
Consent | Lang(en) | Consent | -
Consent | Lang(fr) | Consent | -
Consent | CardInserted | Consent | -
Consent | Digit(7) | Consent | -
Consent | Digit(10) | Consent | -
Consent | Erase | Consent | -
Consent | Submit | Consent | -
Consent | Scanned | Consent | -
Consent | Scanned(short) | Consent | -
Consent | IdentityRead | Consent | -
Consent | IdentityRead(Qr) | Consent | -
Consent | Fail(Removed) | Consent | -
Consent | Fail(Unreadable) | Consent | -
Consent | Fail(QrNotCard) | Consent | -
Consent | Fail(WrongId) | Consent | -
Consent | Fail(NotAuthentic) | Consent | -
Consent | Fail(NoReader) | Consent | -
Consent | Fail(TimedOut) | Consent | -
Consent | Fail(Internal) | Consent | -
Consent | CardInserted(old) | Consent | -
Consent | Scanned(old) | Consent | -
Consent | IdentityRead(old) | Consent | -
Consent | Fail(WrongId,old) | Consent | -
Consent | CardRemoved | Notice | wipe:CardRemoved notice:card-removed say:card-removed
Consent | ConsentGiven | VerifyFace | start-face say:face-prompt
Consent | ConsentDeclined | Notice | wipe:ConsentDeclined notice:consent-declined say:consent-declined
Consent | Face(match) | Consent | -
Consent | Face(nomatch) | Consent | -
Consent | Face(notlive) | Consent | -
Consent | FaceFailed | Consent | -
Consent | Face(match,old) | Consent | -
Consent | FaceFailed(old) | Consent | -
Consent | ServiceChosen | Consent | -
Consent | Back | Identify(AwaitingId:0) | wipe:Cancelled start-identify say:id-prompt
Consent | Confirmed | Consent | -
Consent | Retry | Consent | -
Consent | SubmitDone | Consent | -
Consent | SubmitFailed(Rejected) | Consent | -
Consent | SubmitFailed(Storage) | Consent | -
Consent | ReceiptDone | Consent | -
Consent | PrinterFailed | Consent | -
Consent | Cancel | Attract | wipe:Cancelled
Consent | Tick | Consent | -
VerifyFace | Touch | VerifyFace | -
VerifyFace | Start | VerifyFace | -
VerifyFace | Lang(en) | VerifyFace | -
VerifyFace | Lang(fr) | VerifyFace | -
VerifyFace | CardInserted | VerifyFace | -
VerifyFace | Digit(7) | VerifyFace | -
VerifyFace | Digit(10) | VerifyFace | -
VerifyFace | Erase | VerifyFace | -
VerifyFace | Submit | VerifyFace | -
VerifyFace | Scanned | VerifyFace | -
VerifyFace | Scanned(short) | VerifyFace | -
VerifyFace | IdentityRead | VerifyFace | -
VerifyFace | IdentityRead(Qr) | VerifyFace | -
VerifyFace | Fail(Removed) | VerifyFace | -
VerifyFace | Fail(Unreadable) | VerifyFace | -
VerifyFace | Fail(QrNotCard) | VerifyFace | -
VerifyFace | Fail(WrongId) | VerifyFace | -
VerifyFace | Fail(NotAuthentic) | VerifyFace | -
VerifyFace | Fail(NoReader) | VerifyFace | -
VerifyFace | Fail(TimedOut) | VerifyFace | -
VerifyFace | Fail(Internal) | VerifyFace | -
VerifyFace | CardInserted(old) | VerifyFace | -
VerifyFace | Scanned(old) | VerifyFace | -
VerifyFace | IdentityRead(old) | VerifyFace | -
VerifyFace | Fail(WrongId,old) | VerifyFace | -
VerifyFace | CardRemoved | Notice | stop-face wipe:CardRemoved notice:card-removed say:card-removed
VerifyFace | ConsentGiven | VerifyFace | -
VerifyFace | ConsentDeclined | VerifyFace | -
VerifyFace | Face(match) | ChooseService | stop-face say:choose-service
VerifyFace | Face(nomatch) | Notice | stop-face notice:face-not-matched say:face-not-matched
VerifyFace | Face(notlive) | Notice | stop-face notice:face-not-live say:face-not-live
VerifyFace | FaceFailed | Notice | stop-face notice:face-try-again say:face-try-again
VerifyFace | Face(match,old) | VerifyFace | -
VerifyFace | FaceFailed(old) | VerifyFace | -
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
FaceRetry | Digit(7) | Notice | -
FaceRetry | Digit(10) | Notice | -
FaceRetry | Erase | Notice | -
FaceRetry | Submit | Notice | -
FaceRetry | Scanned | Notice | -
FaceRetry | Scanned(short) | Notice | -
FaceRetry | IdentityRead | Notice | -
FaceRetry | IdentityRead(Qr) | Notice | -
FaceRetry | Fail(Removed) | Notice | -
FaceRetry | Fail(Unreadable) | Notice | -
FaceRetry | Fail(QrNotCard) | Notice | -
FaceRetry | Fail(WrongId) | Notice | -
FaceRetry | Fail(NotAuthentic) | Notice | -
FaceRetry | Fail(NoReader) | Notice | -
FaceRetry | Fail(TimedOut) | Notice | -
FaceRetry | Fail(Internal) | Notice | -
FaceRetry | CardInserted(old) | Notice | -
FaceRetry | Scanned(old) | Notice | -
FaceRetry | IdentityRead(old) | Notice | -
FaceRetry | Fail(WrongId,old) | Notice | -
FaceRetry | CardRemoved | Notice | wipe:CardRemoved notice:card-removed say:card-removed
FaceRetry | ConsentGiven | Notice | -
FaceRetry | ConsentDeclined | Notice | -
FaceRetry | Face(match) | Notice | -
FaceRetry | Face(nomatch) | Notice | -
FaceRetry | Face(notlive) | Notice | -
FaceRetry | FaceFailed | Notice | -
FaceRetry | Face(match,old) | Notice | -
FaceRetry | FaceFailed(old) | Notice | -
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
ChooseService | Digit(7) | ChooseService | -
ChooseService | Digit(10) | ChooseService | -
ChooseService | Erase | ChooseService | -
ChooseService | Submit | ChooseService | -
ChooseService | Scanned | ChooseService | -
ChooseService | Scanned(short) | ChooseService | -
ChooseService | IdentityRead | ChooseService | -
ChooseService | IdentityRead(Qr) | ChooseService | -
ChooseService | Fail(Removed) | ChooseService | -
ChooseService | Fail(Unreadable) | ChooseService | -
ChooseService | Fail(QrNotCard) | ChooseService | -
ChooseService | Fail(WrongId) | ChooseService | -
ChooseService | Fail(NotAuthentic) | ChooseService | -
ChooseService | Fail(NoReader) | ChooseService | -
ChooseService | Fail(TimedOut) | ChooseService | -
ChooseService | Fail(Internal) | ChooseService | -
ChooseService | CardInserted(old) | ChooseService | -
ChooseService | Scanned(old) | ChooseService | -
ChooseService | IdentityRead(old) | ChooseService | -
ChooseService | Fail(WrongId,old) | ChooseService | -
ChooseService | CardRemoved | Notice | wipe:CardRemoved notice:card-removed say:card-removed
ChooseService | ConsentGiven | ChooseService | -
ChooseService | ConsentDeclined | ChooseService | -
ChooseService | Face(match) | ChooseService | -
ChooseService | Face(nomatch) | ChooseService | -
ChooseService | Face(notlive) | ChooseService | -
ChooseService | FaceFailed | ChooseService | -
ChooseService | Face(match,old) | ChooseService | -
ChooseService | FaceFailed(old) | ChooseService | -
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
Confirm | Touch | Confirm | -
Confirm | Start | Confirm | -
Confirm | Lang(en) | Confirm | -
Confirm | Lang(fr) | Confirm | -
Confirm | CardInserted | Confirm | -
Confirm | Digit(7) | Confirm | -
Confirm | Digit(10) | Confirm | -
Confirm | Erase | Confirm | -
Confirm | Submit | Confirm | -
Confirm | Scanned | Confirm | -
Confirm | Scanned(short) | Confirm | -
Confirm | IdentityRead | Confirm | -
Confirm | IdentityRead(Qr) | Confirm | -
Confirm | Fail(Removed) | Confirm | -
Confirm | Fail(Unreadable) | Confirm | -
Confirm | Fail(QrNotCard) | Confirm | -
Confirm | Fail(WrongId) | Confirm | -
Confirm | Fail(NotAuthentic) | Confirm | -
Confirm | Fail(NoReader) | Confirm | -
Confirm | Fail(TimedOut) | Confirm | -
Confirm | Fail(Internal) | Confirm | -
Confirm | CardInserted(old) | Confirm | -
Confirm | Scanned(old) | Confirm | -
Confirm | IdentityRead(old) | Confirm | -
Confirm | Fail(WrongId,old) | Confirm | -
Confirm | CardRemoved | Notice | wipe:CardRemoved notice:card-removed say:card-removed
Confirm | ConsentGiven | Confirm | -
Confirm | ConsentDeclined | Confirm | -
Confirm | Face(match) | Confirm | -
Confirm | Face(nomatch) | Confirm | -
Confirm | Face(notlive) | Confirm | -
Confirm | FaceFailed | Confirm | -
Confirm | Face(match,old) | Confirm | -
Confirm | FaceFailed(old) | Confirm | -
Confirm | ServiceChosen | Confirm | -
Confirm | Back | Confirm | -
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
Submitting | Digit(7) | Submitting | -
Submitting | Digit(10) | Submitting | -
Submitting | Erase | Submitting | -
Submitting | Submit | Submitting | -
Submitting | Scanned | Submitting | -
Submitting | Scanned(short) | Submitting | -
Submitting | IdentityRead | Submitting | -
Submitting | IdentityRead(Qr) | Submitting | -
Submitting | Fail(Removed) | Submitting | -
Submitting | Fail(Unreadable) | Submitting | -
Submitting | Fail(QrNotCard) | Submitting | -
Submitting | Fail(WrongId) | Submitting | -
Submitting | Fail(NotAuthentic) | Submitting | -
Submitting | Fail(NoReader) | Submitting | -
Submitting | Fail(TimedOut) | Submitting | -
Submitting | Fail(Internal) | Submitting | -
Submitting | CardInserted(old) | Submitting | -
Submitting | Scanned(old) | Submitting | -
Submitting | IdentityRead(old) | Submitting | -
Submitting | Fail(WrongId,old) | Submitting | -
Submitting | CardRemoved | Submitting | -
Submitting | ConsentGiven | Submitting | -
Submitting | ConsentDeclined | Submitting | -
Submitting | Face(match) | Submitting | -
Submitting | Face(nomatch) | Submitting | -
Submitting | Face(notlive) | Submitting | -
Submitting | FaceFailed | Submitting | -
Submitting | Face(match,old) | Submitting | -
Submitting | FaceFailed(old) | Submitting | -
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
Receipt | Digit(7) | Receipt | -
Receipt | Digit(10) | Receipt | -
Receipt | Erase | Receipt | -
Receipt | Submit | Receipt | -
Receipt | Scanned | Receipt | -
Receipt | Scanned(short) | Receipt | -
Receipt | IdentityRead | Receipt | -
Receipt | IdentityRead(Qr) | Receipt | -
Receipt | Fail(Removed) | Receipt | -
Receipt | Fail(Unreadable) | Receipt | -
Receipt | Fail(QrNotCard) | Receipt | -
Receipt | Fail(WrongId) | Receipt | -
Receipt | Fail(NotAuthentic) | Receipt | -
Receipt | Fail(NoReader) | Receipt | -
Receipt | Fail(TimedOut) | Receipt | -
Receipt | Fail(Internal) | Receipt | -
Receipt | CardInserted(old) | Receipt | -
Receipt | Scanned(old) | Receipt | -
Receipt | IdentityRead(old) | Receipt | -
Receipt | Fail(WrongId,old) | Receipt | -
Receipt | CardRemoved | Receipt | -
Receipt | ConsentGiven | Receipt | -
Receipt | ConsentDeclined | Receipt | -
Receipt | Face(match) | Receipt | -
Receipt | Face(nomatch) | Receipt | -
Receipt | Face(notlive) | Receipt | -
Receipt | FaceFailed | Receipt | -
Receipt | Face(match,old) | Receipt | -
Receipt | FaceFailed(old) | Receipt | -
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
Notice | Digit(7) | Notice | -
Notice | Digit(10) | Notice | -
Notice | Erase | Notice | -
Notice | Submit | Notice | -
Notice | Scanned | Notice | -
Notice | Scanned(short) | Notice | -
Notice | IdentityRead | Notice | -
Notice | IdentityRead(Qr) | Notice | -
Notice | Fail(Removed) | Notice | -
Notice | Fail(Unreadable) | Notice | -
Notice | Fail(QrNotCard) | Notice | -
Notice | Fail(WrongId) | Notice | -
Notice | Fail(NotAuthentic) | Notice | -
Notice | Fail(NoReader) | Notice | -
Notice | Fail(TimedOut) | Notice | -
Notice | Fail(Internal) | Notice | -
Notice | CardInserted(old) | Notice | -
Notice | Scanned(old) | Notice | -
Notice | IdentityRead(old) | Notice | -
Notice | Fail(WrongId,old) | Notice | -
Notice | CardRemoved | Notice | -
Notice | ConsentGiven | Notice | -
Notice | ConsentDeclined | Notice | -
Notice | Face(match) | Notice | -
Notice | Face(nomatch) | Notice | -
Notice | Face(notlive) | Notice | -
Notice | FaceFailed | Notice | -
Notice | Face(match,old) | Notice | -
Notice | FaceFailed(old) | Notice | -
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
AttractAgain | Digit(7) | Attract | -
AttractAgain | Digit(10) | Attract | -
AttractAgain | Erase | Attract | -
AttractAgain | Submit | Attract | -
AttractAgain | Scanned | Attract | -
AttractAgain | Scanned(short) | Attract | -
AttractAgain | IdentityRead | Attract | -
AttractAgain | IdentityRead(Qr) | Attract | -
AttractAgain | Fail(Removed) | Attract | -
AttractAgain | Fail(Unreadable) | Attract | -
AttractAgain | Fail(QrNotCard) | Attract | -
AttractAgain | Fail(WrongId) | Attract | -
AttractAgain | Fail(NotAuthentic) | Attract | -
AttractAgain | Fail(NoReader) | Attract | -
AttractAgain | Fail(TimedOut) | Attract | -
AttractAgain | Fail(Internal) | Attract | -
AttractAgain | CardInserted(old) | Attract | -
AttractAgain | Scanned(old) | Attract | -
AttractAgain | IdentityRead(old) | Attract | -
AttractAgain | Fail(WrongId,old) | Attract | -
AttractAgain | CardRemoved | Attract | -
AttractAgain | ConsentGiven | Attract | -
AttractAgain | ConsentDeclined | Attract | -
AttractAgain | Face(match) | Attract | -
AttractAgain | Face(nomatch) | Attract | -
AttractAgain | Face(notlive) | Attract | -
AttractAgain | FaceFailed | Attract | -
AttractAgain | Face(match,old) | Attract | -
AttractAgain | FaceFailed(old) | Attract | -
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
        "IdentifyTyped",
        60_000,
        "Attract | stop-identify wipe:Timeout",
    ),
    (
        "IdentifyAwaitCard",
        60_000,
        "Attract | stop-identify wipe:Timeout",
    ),
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
    ("Receipt", 30_000, "Attract | wipe:Completed"),
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
    // Not yet: the warning comes 20 s before the wipe (WCAG 2.2.1), no earlier.
    assert!(d.s.handle(Event::Tick, Millis(entered + 99_999)).is_empty());
    assert!(!d.s.view().warn_timeout);
    // Inside the warning window: one announcement (the sound cue), then silence.
    let cmds = d.s.handle(Event::Tick, Millis(entered + 100_000));
    assert_eq!(render(&cmds), "chime:Warning say:still-there");
    assert!(d.s.view().warn_timeout);
    assert_eq!(d.s.view().seconds_left, Some(20));
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
fn every_inactivity_timeout_is_announced_at_least_20_s_before_the_wipe() {
    for &(setup, timeout, _) in TIMEOUTS {
        let mut d = Driver::at(setup);
        if !matches!(d.s.step(), Step::Submitting | Step::Notice) {
            let entered = d.t;
            let cmds = d.s.handle(Event::Tick, Millis(entered + timeout - 20_000));
            assert_eq!(render(&cmds), "chime:Warning say:still-there", "{setup}");
            assert!(d.s.view().warn_timeout, "{setup}");
            assert_eq!(d.s.view().seconds_left, Some(20), "{setup}");
        }
    }
    assert!(SessionConfig::default().warn_before_ms >= 20_000);
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
        d.ev(Event::FaceResult(CUR, NO_MATCH));
        let v = d.s.view();
        assert_eq!(
            (v.step, v.can_retry, v.face_attempts_left),
            (Step::Notice, true, Some(left))
        );
        assert!(d.s.holds_personal_data(), "kept for the retry");
        assert_eq!(render(&d.ev(Event::Retry)), "start-face say:face-prompt");
    }
    let cmds = d.ev(Event::FaceResult(CUR, NOT_LIVE));
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
    let mut d = Driver::at("IdentifyAwaitCard");
    d.ev(Event::CardInserted(CUR));
    assert!(d.s.view().card_reading);
    d.ev(Event::IdentityFailed(
        CUR,
        IdentifyFailure::CardRemovedDuringRead,
    ));
    let v = d.s.view();
    assert!(!v.card_reading);
    assert_eq!(v.notice.as_deref(), Some(keys::CARD_REMOVED_DURING_READ));
    d.ev(Event::CardInserted(CUR));
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
            Event::IdentityFailed(CUR, IdentifyFailure::QrNotCard)
        ),
        "Identify(AwaitingId:0) | notice:qr-not-card say:qr-not-card"
    );
    let mut d = Driver::at("Identify");
    d.ev(Event::IdentityFailed(CUR, IdentifyFailure::QrNotCard));
    assert_eq!(d.s.view().notice.as_deref(), Some(keys::QR_NOT_CARD));
}

#[test]
fn receipt_survives_printer_failure_and_card_removal() {
    let mut d = Driver::at("Receipt");
    d.ev(Event::PrinterFailed(PrinterFault::PaperOutMidJob));
    d.ev(Event::CardRemoved);
    let v = d.s.view();
    assert_eq!(v.step, Step::Receipt);
    assert!(v.printer_failed);
    assert_eq!(v.printer_fault, Some(PrinterFault::PaperOutMidJob));
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

/// Runs `events` from `setup` and returns, per event, what [`run`] shows.
fn script(setup: &str, events: Vec<Event>) -> Vec<String> {
    let mut d = Driver::at(setup);
    events
        .into_iter()
        .map(|e| {
            let cmds = d.ev(e);
            format!("{} | {}", shown(&d.s.view()), render(&cmds))
        })
        .collect()
}

#[test]
fn typed_number_then_card_then_wrong_number_then_corrected() {
    let digits =
        |id: &str| -> Vec<Event> { id.bytes().map(|b| Event::KeypadDigit(b - b'0')).collect() };
    let mut events = digits("001090123457");
    events.extend([
        Event::KeypadSubmit,
        Event::CardInserted(CUR),
        Event::IdentityFailed(CUR, IdentifyFailure::WrongIdNumber),
        // The number tried is still on the keypad: one digit to correct, not twelve.
        Event::KeypadErase,
        Event::KeypadDigit(6),
        Event::KeypadSubmit,
        // The card stayed on the reader: the worker reads again with the new number.
        Event::CardInserted(CUR),
        Event::IdentityRead(CUR, citizen(IdentitySource::Chip)),
    ]);
    let got = script("Identify", events);
    assert_eq!(got[11], "Identify(AwaitingId:12) | -");
    assert_eq!(
        got[12],
        "Identify(AwaitingCard:12) | use-id(12) say:place-card"
    );
    assert_eq!(got[13], "Identify(Reading:12) | -");
    assert_eq!(
        got[14],
        "Identify(AwaitingId:12) | forget-id notice:wrong-id say:wrong-id"
    );
    assert_eq!(got[15], "Identify(AwaitingId:11) | -");
    assert_eq!(got[16], "Identify(AwaitingId:12) | -");
    assert_eq!(
        got[17],
        "Identify(AwaitingCard:12) | use-id(12) say:place-card"
    );
    assert_eq!(got[18], "Identify(Reading:12) | -");
    assert_eq!(got[19], "Consent | stop-identify say:consent-prompt");
}

#[test]
fn a_refused_number_stays_on_the_keypad_with_the_card_named() {
    let mut d = Driver::at("IdentifyTyped12");
    d.ev(Event::KeypadSubmit);
    d.ev(Event::CardInserted(CUR));
    d.ev(Event::IdentityFailed(CUR, IdentifyFailure::WrongIdNumber));
    let v = d.s.view();
    assert_eq!(v.identify, Some(IdentifyPhase::AwaitingId));
    assert_eq!(
        v.id_entry.as_ref().map(|e| e.expose().as_str()),
        Some(ID),
        "the number that was tried stays, to be corrected"
    );
    assert_eq!(v.notice.as_deref(), Some(keys::WRONG_ID));
    assert!(v.card_on_reader, "the card stays on the reader");
    // The same number again (the citizen checked it; maybe another card now): OK reads again.
    assert_eq!(
        render(&d.ev(Event::KeypadSubmit)),
        "use-id(12) say:place-card"
    );
    // A refused QR-scanned number stays too.
    let mut d = Driver::at("IdentifyReading");
    d.ev(Event::IdentityFailed(CUR, IdentifyFailure::WrongIdNumber));
    assert_eq!(shown(&d.s.view()), "Identify(AwaitingId:12)");
    // And it is wiped like typed digits when the session ends.
    d.ev(Event::Cancel);
    assert!(!d.s.holds_personal_data());
    assert!(d.s.view().id_entry.is_none());
}

#[test]
fn the_number_handed_to_the_reader_is_the_one_typed() {
    let mut d = Driver::at("IdentifyTyped12");
    let cmds = d.ev(Event::KeypadSubmit);
    let Some(Command::UseIdNumber(id)) = cmds.first() else {
        panic!("use-id expected: {cmds:?}")
    };
    assert_eq!(id.expose(), ID);
    assert_eq!(
        d.s.view().id_entry.as_ref().map(|e| e.expose().as_str()),
        Some(ID)
    );
    // Erasing a digit takes the number back from the reader and reopens the keypad.
    assert_eq!(render(&d.ev(Event::KeypadErase)), "forget-id");
    assert_eq!(
        d.s.view().id_entry.as_ref().map(|e| e.expose().as_str()),
        Some("00109012345")
    );
    assert_eq!(d.s.view().identify, Some(IdentifyPhase::AwaitingId));
}

#[test]
fn a_card_tapped_before_the_number_is_asked_for_it_then_read() {
    let got = script(
        "Identify",
        vec![
            Event::CardInserted(CUR),
            Event::IdNumberScanned(CUR, p(ID)),
            // The worker starts reading the card that stayed on the reader.
            Event::CardInserted(CUR),
        ],
    );
    assert_eq!(
        got,
        [
            "Identify(AwaitingId:0) | notice:id-needed-first say:id-needed-first",
            "Identify(AwaitingCard:12) | use-id(12) say:place-card",
            "Identify(Reading:12) | -",
        ]
    );
}

#[test]
fn a_card_placed_first_stays_known_while_the_number_is_typed() {
    let mut d = Driver::at("Identify");
    assert!(!d.s.view().card_on_reader);
    d.ev(Event::CardInserted(CUR));
    let v = d.s.view();
    assert!(v.card_on_reader);
    assert_eq!(v.notice.as_deref(), Some(keys::ID_NEEDED_FIRST));
    // Typing clears the banner, but the screen still knows the card is there.
    for b in ID.bytes() {
        d.ev(Event::KeypadDigit(b - b'0'));
    }
    let v = d.s.view();
    assert_eq!(v.notice, None);
    assert!(v.card_on_reader, "the card is still on the reader");
    assert_eq!(
        render(&d.ev(Event::KeypadSubmit)),
        "use-id(12) say:place-card"
    );
    assert!(d.s.view().card_on_reader);
    // The card lifted: the screen asks for it again.
    d.ev(Event::CardRemoved);
    assert!(!d.s.view().card_on_reader);
    assert_eq!(d.s.view().identify, Some(IdentifyPhase::AwaitingCard));
    // A card on the reader is forgotten with the session.
    d.ev(Event::CardInserted(CUR));
    d.ev(Event::Cancel);
    assert!(!d.s.view().card_on_reader);
    d.ev(Event::Start);
    d.ev(Event::LanguageChosen("vi".into()));
    assert!(!d.s.view().card_on_reader);
}

#[test]
fn the_cards_qr_alone_is_not_an_identity() {
    for setup in [
        "Identify",
        "IdentifyTyped12",
        "IdentifyAwaitCard",
        "IdentifyReading",
    ] {
        let mut d = Driver::at(setup);
        let before = shown(&d.s.view());
        assert!(d
            .ev(Event::IdentityRead(CUR, citizen(IdentitySource::Qr)))
            .is_empty());
        assert_eq!(shown(&d.s.view()), before, "{setup}");
        assert!(d.s.view().citizen.is_none(), "{setup}");
    }
}

#[test]
fn typed_digits_are_personal_and_wiped() {
    let mut d = Driver::at("IdentifyTyped");
    assert!(d.s.holds_personal_data());
    assert!(d.s.view().has_personal_data());
    assert!(!format!("{:?}", d.s.view()).contains("00109"));
    d.ev(Event::Cancel);
    assert!(!d.s.holds_personal_data());
    assert!(d.s.view().id_entry.is_none());
}

#[test]
fn the_chip_portrait_and_dg13_details_travel_with_the_citizen() {
    let c = citizen(IdentitySource::Chip)
        .with_portrait(Personal::new(vec![0xFF, 0xD8, 0xFF, 0xE0]))
        .with_details(CitizenDetails {
            place_of_origin: Some(p("Hà Nội")),
            ..CitizenDetails::default()
        });
    assert_eq!(
        c.portrait().map(|i| i.expose().as_slice()),
        Some(&[0xFF, 0xD8, 0xFF, 0xE0][..])
    );
    assert!(citizen(IdentitySource::Chip).portrait().is_none());
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("255") && !dbg.contains("Hà Nội"), "{dbg}");
}

/// Citizen B's session at the identify step after citizen A's ended by `how`; returns the
/// driver and A's generation.
fn next_citizen_after(how: &str) -> (Driver, Generation) {
    let mut d = Driver::at("IdentifyReading");
    let a = d.s.generation();
    match how {
        "cancel" => {
            d.ev(Event::Cancel);
        }
        "timeout" => {
            d.t += StepTimeouts::default().identify_ms;
            d.ev(Event::Tick);
        }
        "card removed" => {
            // A lifts the card mid-read and walks away: the step times out.
            d.ev(Event::CardRemoved);
            d.t += StepTimeouts::default().identify_ms;
            d.ev(Event::Tick);
        }
        other => panic!("unknown ending {other}"),
    }
    assert_eq!(d.s.step(), Step::Attract, "{how}");
    d.ev(Event::Start);
    d.ev(Event::LanguageChosen("vi".into()));
    assert_eq!(d.s.step(), Step::Identify, "{how}");
    (d, a)
}

#[test]
fn a_stale_identity_is_refused_after_cancel_timeout_or_card_removal() {
    for how in ["cancel", "timeout", "card removed"] {
        let (mut d, a) = next_citizen_after(how);
        assert_ne!(d.s.generation(), a, "{how}");
        for stale in [
            Event::CardInserted(a),
            Event::IdentityRead(a, citizen(IdentitySource::Chip)),
            Event::IdentityFailed(a, IdentifyFailure::WrongIdNumber),
            Event::IdNumberScanned(a, p(ID)),
        ] {
            let cmds = d.ev(stale);
            assert_eq!(render(&cmds), "-", "{how}");
            assert_eq!(shown(&d.s.view()), "Identify(AwaitingId:0)", "{how}");
            assert!(!d.s.holds_personal_data(), "{how}");
        }
        // B's own read is accepted.
        let b = d.s.generation();
        let cmds = d.ev(Event::IdentityRead(b, citizen(IdentitySource::Chip)));
        assert_eq!(
            format!("{} | {}", shown(&d.s.view()), render(&cmds)),
            "Consent | stop-identify say:consent-prompt",
            "{how}"
        );
    }
}

#[test]
fn every_arming_has_a_new_generation_and_results_are_matched_to_it() {
    let mut d = Driver::at("Language");
    let cmds = d.ev(Event::LanguageChosen("vi".into()));
    let Some(Command::StartIdentify(first)) = cmds.first() else {
        panic!("start-identify expected: {cmds:?}")
    };
    assert_eq!(*first, d.s.generation());
    let first = *first;
    // Identity read, then Back: the identify step is re-entered under a new generation, and a
    // second copy of the first read is not accepted.
    d.ev(Event::IdentityRead(first, citizen(IdentitySource::Chip)));
    let cmds = d.ev(Event::Back);
    let again = cmds
        .iter()
        .find_map(|c| match c {
            Command::StartIdentify(g) => Some(*g),
            _ => None,
        })
        .expect("re-armed");
    assert_ne!(again, first);
    assert!(d
        .ev(Event::IdentityRead(first, citizen(IdentitySource::Chip)))
        .is_empty());
    assert_eq!(d.s.step(), Step::Identify);
    // Face: Back from the capture and a new start; the first capture's verdict is stale.
    d.ev(Event::IdentityRead(again, citizen(IdentitySource::Chip)));
    let cmds = d.ev(Event::ConsentGiven);
    let Some(Command::StartFaceCapture(face1, _)) = cmds.first() else {
        panic!("start-face expected: {cmds:?}")
    };
    let face1 = *face1;
    d.ev(Event::Back);
    let cmds = d.ev(Event::ConsentGiven);
    let Some(Command::StartFaceCapture(face2, _)) = cmds.first() else {
        panic!("start-face expected: {cmds:?}")
    };
    let face2 = *face2;
    assert_ne!(face1, face2);
    assert!(d.ev(Event::FaceResult(face1, MATCH)).is_empty());
    assert!(d.ev(Event::FaceFailed(face1)).is_empty());
    assert_eq!(d.s.step(), Step::VerifyFace);
    d.ev(Event::FaceResult(face2, MATCH));
    assert_eq!(d.s.step(), Step::ChooseService);
}

#[test]
fn a_face_worker_fault_offers_a_retry_without_counting_an_attempt() {
    let mut d = Driver::at("VerifyFace");
    let before = d.s.view().face_attempts_left;
    assert_eq!(
        render(&d.ev(Event::FaceFailed(CUR))),
        "stop-face notice:face-try-again say:face-try-again"
    );
    let v = d.s.view();
    assert!(v.can_retry);
    assert_eq!(v.face_attempts_left, before);
    assert_eq!(
        render(&d.ev(Event::Retry)),
        "start-face say:face-prompt",
        "the retry starts a new capture"
    );
}

#[test]
fn the_new_messages_exist_in_vi_and_en() {
    let cat = crate::i18n::Catalog::embedded().expect("locales");
    for key in [
        keys::CARD_TOO_SLOW,
        keys::READ_TRY_AGAIN,
        keys::FACE_TRY_AGAIN,
        keys::CAMERA_UNAVAILABLE,
        keys::CAMERA_UNUSABLE,
    ] {
        for lang in ["vi", "en"] {
            for prefix in ["notice", "say"] {
                let id = format!("{prefix}-{key}");
                assert!(cat.has(lang, &id), "{lang}: {id}");
            }
        }
    }
}

#[test]
fn a_camera_that_goes_away_offers_a_retry_and_keeps_the_identity() {
    for (problem, key) in [
        (CameraProblem::Unavailable, "camera-unavailable"),
        (CameraProblem::WrongFormat, "camera-unusable"),
    ] {
        let mut d = Driver::at("VerifyFace");
        let before = d.s.view().face_attempts_left;
        // A report of an earlier arming changes nothing.
        assert!(d.ev(Event::CameraUnavailable(OLD, problem)).is_empty());
        assert_eq!(d.s.step(), Step::VerifyFace);
        assert_eq!(
            render(&d.ev(Event::CameraUnavailable(CUR, problem))),
            format!("stop-face notice:{key} say:{key}")
        );
        let v = d.s.view();
        assert!(v.can_retry, "{problem:?}");
        assert_eq!(v.face_attempts_left, before, "no attempt counted");
        // No wipe: the verified identity is still there for the retry.
        assert_eq!(
            render(&d.ev(Event::Retry)),
            "start-face say:face-prompt",
            "the retry starts a new capture on the reopened camera"
        );
        assert_eq!(d.s.step(), Step::VerifyFace);
    }
}

/// The one-stop-shop form, filled to its review page.
fn form_to_review() -> Vec<Event> {
    use dossier::Delivery;
    let mut v: Vec<Event> = "0912345678"
        .bytes()
        .map(|b| Event::Form(FormEvent::PhoneDigit(b - b'0')))
        .collect();
    v.extend([
        Event::Form(FormEvent::Next),
        Event::Form(FormEvent::Province(12)),
        Event::Form(FormEvent::Ward(3380)),
        Event::Form(FormEvent::Key(crate::vnkey::KeyInput::Char('7'))),
        Event::Form(FormEvent::Next),
        Event::Form(FormEvent::Delivery(Delivery::Post)),
    ]);
    v
}

#[test]
fn the_form_must_reach_review_before_submitting() {
    let mut d = Driver::at("ChooseService");
    d.ev(Event::ServiceChosen(ServiceId::new("temporary-residence")));
    let v = d.s.view();
    assert_eq!(v.form.as_ref().map(|f| f.0), Some(FormPage::Phone));
    assert!(v.has_personal_data());
    // Confirming before the review page does nothing.
    assert!(d.ev(Event::Confirmed).is_empty());
    assert_eq!(d.s.step(), Step::Confirm);
    // An invalid phone number is said, and stays.
    for b in "012".bytes() {
        d.ev(Event::Form(FormEvent::PhoneDigit(b - b'0')));
    }
    assert_eq!(
        render(&d.ev(Event::Form(FormEvent::Next))),
        "notice:phone-invalid say:phone-invalid"
    );
    assert_eq!(d.s.view().notice.as_deref(), Some("phone-invalid"));
    // Typing clears the message.
    d.ev(Event::Form(FormEvent::PhoneErase));
    assert_eq!(d.s.view().notice, None);
    // Back on the first page of the form leaves it for the list.
    assert_eq!(render(&d.ev(Event::Back)), "say:choose-service");
    assert_eq!(d.s.step(), Step::ChooseService);
}

#[test]
fn the_dossier_carries_the_form_and_the_wipe_takes_it() {
    let mut d = Driver::at("Confirm");
    let (page, data) = d.s.view().form.expect("form at Confirm");
    assert_eq!(page, FormPage::Review);
    assert_eq!(data.phone.expose(), "0912345678");
    // "Change" on the phone row, then back to review with the edit.
    d.ev(Event::Form(FormEvent::Change(FormPage::Phone)));
    assert_eq!(d.s.view().form.map(|f| f.0), Some(FormPage::Phone));
    d.ev(Event::Form(FormEvent::PhoneErase));
    d.ev(Event::Form(FormEvent::PhoneDigit(9)));
    d.ev(Event::Form(FormEvent::Next));
    assert_eq!(d.s.view().form.map(|f| f.0), Some(FormPage::Review));
    let cmds = d.ev(Event::Confirmed);
    let Some(Command::Submit(dossier)) = cmds.first() else {
        panic!("submit expected: {cmds:?}")
    };
    let f = dossier.form();
    assert_eq!(f.phone.expose(), "0912345679");
    assert_eq!((f.province, f.ward), (Some(12), Some(3380)));
    assert_eq!(f.delivery, Some(dossier::Delivery::Post));
    assert_eq!(
        f.street.expose(),
        "7",
        "the street line typed on the keyboard"
    );
    assert!(!format!("{cmds:?}").contains("0912345679"), "redacted");
    // On the wire, the street line opens the contact address (`DiaChiLienHe`).
    let units = crate::admin_units::AdminUnits::sample();
    let mut form = f.clone();
    form.ward = Some(3388);
    let catalog = crate::catalog::Catalog::builtin(crate::config::Mode::OneStopShop);
    let entry = catalog
        .get(&ServiceId::new("temporary-residence"))
        .expect("entry");
    let mut dossier = (**dossier).clone();
    dossier.form = form;
    let details = crate::submit::dossier_details(&dossier, entry, &units);
    assert_eq!(
        details.contact_address.expose(),
        &units.address_words(12, 3388, "7")
    );
    assert!(details.contact_address.expose().starts_with("7, Phường "));
    assert!(d.s.view().form.is_none());
    // Cancel and timeout from the form leave nothing.
    for end in [Event::Cancel, Event::CardRemoved] {
        let mut d = Driver::at("Confirm");
        d.ev(end);
        assert!(!d.s.holds_personal_data());
        assert!(!d.s.view().has_personal_data());
    }
}

#[test]
fn a_hospital_session_asks_only_the_optional_reason() {
    let cfg = SessionConfig {
        form: FormKind::Clinic,
        ..SessionConfig::default()
    };
    let mut d = Driver {
        s: Session::new(cfg, 7),
        t: 1_000_000,
    };
    for e in [
        Event::Start,
        Event::LanguageChosen("en".into()),
        Event::IdentityRead(CUR, citizen(IdentitySource::Chip)),
        Event::ConsentGiven,
        Event::FaceResult(CUR, MATCH),
        Event::ServiceChosen(ServiceId::new("internal")),
    ] {
        d.ev(e);
    }
    assert_eq!(d.s.view().form.map(|f| f.0), Some(FormPage::Reason));
    d.ev(Event::Form(FormEvent::Reason("fever".into())));
    d.ev(Event::Form(FormEvent::Next));
    let cmds = d.ev(Event::Confirmed);
    let Some(Command::Submit(dossier)) = cmds.first() else {
        panic!("submit expected: {cmds:?}")
    };
    assert_eq!(dossier.form().reason.as_deref(), Some("fever"));
    assert!(dossier.form().phone.expose().is_empty());
}
