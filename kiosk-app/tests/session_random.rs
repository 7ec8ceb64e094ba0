//! Property-style test: random event sequences (seeded) never panic, and whenever the session
//! is back at `Attract`, or has just wiped, no personal data remains.

use kiosk_app::catalog::ServiceId;
use kiosk_app::gateway::lookup::StatusLookup;
use kiosk_app::session::dossier::{Delivery, FormEvent, FormPage};
use kiosk_app::session::lookup::LookupEvent;
use kiosk_app::session::{
    Citizen, Command, Event, FaceOutcome, Generation, IdentifyFailure, IdentitySource, Millis,
    ReceiptInfo, Session, SessionConfig, SessionView, Step, SubmitFailure,
};
use kiosk_hw::personal::Personal;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn p(s: &str) -> Personal<String> {
    Personal::new(s.to_owned())
}

fn citizen(rng: &mut StdRng) -> Citizen {
    citizen_from(if rng.random() {
        IdentitySource::Chip
    } else {
        IdentitySource::Qr
    })
}

fn citizen_from(source: IdentitySource) -> Citizen {
    Citizen::new(
        source,
        p("001090123456"),
        p("NGUYEN VAN AN"),
        p("01/01/1990"),
        p("Nam"),
        None,
    )
    .expect("valid")
}

fn receipt() -> ReceiptInfo {
    ReceiptInfo {
        dossier_code: "X-1".into(),
        service: ServiceId::new("temporary-residence"),
        received_at: time::OffsetDateTime::UNIX_EPOCH,
        appointment: None,
        lookup_code: "L1".into(),
        queue_number: Some("A012".into()),
        applicant_name: p("NGUYEN VAN AN"),
        applicant_id_masked: p("0010•••••456"),
        offline: false,
    }
}

/// The event that takes `step` one step further on the citizen's happy path. Mixed into the
/// random events, it lets the walk reach the deep steps (Confirm, Receipt) in every run
/// rather than by luck of the seeds.
fn forward(session: &Session) -> Event {
    let g = session.generation();
    match session.step() {
        Step::Attract => Event::Start,
        Step::Language => Event::LanguageChosen("en".into()),
        Step::Identify => Event::IdentityRead(g, citizen_from(IdentitySource::Chip)),
        Step::Consent => Event::ConsentGiven,
        Step::VerifyFace => Event::FaceResult(
            g,
            FaceOutcome {
                matched: true,
                score: 0.9,
                live: true,
            },
        ),
        Step::ChooseService => Event::ServiceChosen(ServiceId::new("temporary-residence")),
        // The dossier form, page by page, then the review page's Confirm.
        Step::Confirm => match session.view().form.map(|f| f.0) {
            Some(FormPage::Phone) => {
                let typed = session.view().form.map_or(0, |f| f.1.phone.expose().len());
                match "0912345678".as_bytes().get(typed) {
                    Some(d) => Event::Form(FormEvent::PhoneDigit(d - b'0')),
                    None => Event::Form(FormEvent::Next),
                }
            }
            Some(FormPage::Province) => Event::Form(FormEvent::Province(12)),
            Some(FormPage::Ward) => Event::Form(FormEvent::Ward(3388)),
            Some(FormPage::Street) => Event::Form(FormEvent::Next),
            Some(FormPage::Delivery) => Event::Form(FormEvent::Delivery(Delivery::Post)),
            Some(FormPage::Reason) => Event::Form(FormEvent::Next),
            Some(FormPage::Review) | None => Event::Confirmed,
        },
        Step::Submitting => Event::SubmitDone(receipt()),
        Step::Receipt => Event::ReceiptDone,
        Step::Notice => Event::Retry,
        Step::Lookup => Event::ReceiptDone,
    }
}

/// A random event; device results carry `current` (the session's generation) or, now and
/// then, an earlier one, as a late result of a previous arming would.
fn random_event(rng: &mut StdRng, current: Generation) -> Event {
    let g = if rng.random_bool(0.05) {
        Generation(current.0.wrapping_sub(rng.random_range(1..4)))
    } else {
        current
    };
    match rng.random_range(0..29) {
        0 => Event::Touch,
        1 => Event::Start,
        2 => Event::LanguageChosen(if rng.random() {
            "en".into()
        } else {
            "xx".into()
        }),
        3 => Event::CardInserted(g),
        4 => Event::IdentityRead(g, citizen(rng)),
        5 => Event::IdentityFailed(
            g,
            match rng.random_range(0..6) {
                0 => IdentifyFailure::CardRemovedDuringRead,
                1 => IdentifyFailure::Unreadable,
                2 => IdentifyFailure::NotAuthentic,
                3 => IdentifyFailure::ReadTimedOut,
                4 => IdentifyFailure::Internal,
                _ => IdentifyFailure::ReaderMissing,
            },
        ),
        // Rarer than the others: every identity is a chip's now (the card QR code only gives
        // the number), so a removal ends any session past Identify and would keep the walk
        // from reaching the deep steps.
        6 if rng.random_bool(0.3) => Event::CardRemoved,
        6 => Event::Touch,
        7 => Event::ConsentGiven,
        8 => Event::ConsentDeclined,
        9 => Event::FaceResult(
            g,
            FaceOutcome {
                matched: rng.random_bool(0.6),
                score: rng.random(),
                live: rng.random_bool(0.8),
            },
        ),
        10 => Event::ServiceChosen(ServiceId::new("temporary-residence")),
        11 => Event::Back,
        12 if rng.random_bool(0.5) => Event::Confirmed,
        // The dossier form: any page's event, sometimes out of place or out of range.
        12 => Event::Form(match rng.random_range(0..8) {
            0 => FormEvent::PhoneDigit(rng.random_range(0..=10)),
            1 => FormEvent::PhoneErase,
            2 => FormEvent::Province(rng.random_range(0..40)),
            3 => FormEvent::Ward(rng.random_range(0..4000)),
            4 => FormEvent::Delivery(Delivery::VneId),
            5 => FormEvent::Change(FormPage::Phone),
            6 => FormEvent::Key(kiosk_app::vnkey::KeyInput::Char(
                ['a', 's', '1', ' ', ',', '@'][rng.random_range(0..6)],
            )),
            _ => FormEvent::Next,
        }),
        13 => Event::Retry,
        14 => Event::SubmitDone(receipt()),
        15 => Event::SubmitFailed(if rng.random() {
            SubmitFailure::Rejected
        } else {
            SubmitFailure::Storage
        }),
        16 => Event::ReceiptDone,
        17 => Event::PrinterFailed(kiosk_app::session::PrinterFault::Timeout),
        18 => Event::Cancel,
        // The identify step's ID number: keypad (sometimes a key that is no digit), the card
        // QR code, a number the chip refuses.
        19 => Event::KeypadDigit(rng.random_range(0..=10)),
        20 => Event::KeypadErase,
        21 => Event::KeypadSubmit,
        22 => Event::IdNumberScanned(g, p("001090123456")),
        23 => Event::IdentityFailed(
            g,
            if rng.random() {
                IdentifyFailure::WrongIdNumber
            } else {
                IdentifyFailure::QrNotCard
            },
        ),
        24 if rng.random_bool(0.1) => Event::FaceFailed(g),
        // The status lookup (from Attract, rarely, so that the walk still goes deep): a
        // receipt's code or another, the gateway's answer, another scan.
        25 if rng.random_bool(0.2) => Event::Lookup(LookupEvent::Open),
        26 => Event::Lookup(LookupEvent::Scanned(
            g,
            p(if rng.random() {
                "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P"
            } else {
                "001090123456||A|31021990|Nam|x|01012021"
            }),
        )),
        27 => Event::Lookup(LookupEvent::Answer(
            g,
            if rng.random() {
                StatusLookup::Offline
            } else {
                StatusLookup::NotFound
            },
        )),
        28 => Event::Lookup(LookupEvent::ScanAgain),
        _ => Event::Tick,
    }
}

#[test]
fn random_sequences_never_leave_personal_data() {
    let mut visited = std::collections::HashSet::new();
    for seed in 0..300u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut session = Session::new(SessionConfig::default(), u128::from(seed) << 64 | 7);
        let mut now = 0u64;
        for _ in 0..400 {
            // Mostly small steps, sometimes long enough to fire any timeout.
            now += if rng.random_bool(0.05) {
                rng.random_range(0..200_000)
            } else {
                rng.random_range(0..3_000)
            };
            let ev = if rng.random_bool(0.15) {
                forward(&session)
            } else {
                random_event(&mut rng, session.generation())
            };
            let stale = ev.generation().is_some_and(|g| g != session.generation());
            // What the session shows, but for the countdown (time moves on regardless).
            let shown = |s: &Session| SessionView {
                seconds_left: None,
                warn_timeout: false,
                ..s.view()
            };
            let before = shown(&session);
            let cmds = session.handle(ev, Millis(now));
            if stale {
                // A result of an earlier arming changes nothing.
                assert!(cmds.is_empty(), "seed {seed}: {cmds:?}");
                assert_eq!(shown(&session), before, "seed {seed}");
            }
            visited.insert(session.step());
            let wiped = cmds.iter().any(|c| matches!(c, Command::Wipe(_)));
            if wiped || session.step() == Step::Attract {
                assert!(
                    !session.holds_personal_data(),
                    "seed {seed}: data after wipe"
                );
                assert!(
                    !session.view().has_personal_data(),
                    "seed {seed}: data in view"
                );
            }
            if session.step() == Step::Attract {
                assert!(session.session_id().is_none(), "seed {seed}");
            }
            // Face capture only ever starts after consent: the step must be VerifyFace.
            if cmds
                .iter()
                .any(|c| matches!(c, Command::StartFaceCapture(..)))
            {
                assert_eq!(session.step(), Step::VerifyFace, "seed {seed}");
            }
            let view = session.view();
            assert_eq!(view.step, session.step());
            let dbg = format!("{cmds:?} {view:?}");
            assert!(
                !dbg.contains("001090123456") && !dbg.contains("0912345678"),
                "seed {seed}: personal data in Debug output"
            );
        }
    }
    // The random walk must actually reach the deep steps, or the test proves little.
    for step in Step::ALL {
        assert!(visited.contains(&step), "never reached {step:?}");
    }
}
