//! The status lookup from the attract screen (issue 14, journey 4). Pure, like the rest of
//! the session.
//!
//! `Attract --LookupEvent::Open--> Lookup(Scanning)`: the camera's QR scanner is armed alone
//! ([`Command::StartLookupScan`], no card reading). A scanned code
//! ([`LookupEvent::Scanned`]) is read by [`codes_from_qr`]: the kiosk's own `VNKIOSK1|R|...`
//! payload or a link made from the configured status-lookup template
//! ([`super::SessionConfig::lookup_url`]). Anything else keeps the scanner running with the
//! banner `lookup-bad-qr`. Good codes stop the scanner and ask the gateway
//! ([`Command::LookupStatus`], answered by [`LookupEvent::Answer`]) at `Checking`; the answer
//! shows at `Result` until `Finish` ([`Event::ReceiptDone`]), another scan
//! ([`LookupEvent::ScanAgain`]), cancel or the inactivity timeout (the identify step's).
//! Every way out wipes: the codes live only in this state, and nothing of them is personal,
//! but they are dropped anyway when the session returns to `Attract`.
//!
//! The codes can also be typed ([`LookupEvent::Type`] shows the on-screen keyboard in its code
//! layout, while the scanner stays armed): the dossier code, then the lookup code, upper-cased,
//! never transformed ([`crate::vnkey::Mode::Plain`]); "Done" on the second checks both with
//! `kiosk_wire::codes` and asks the gateway like a scan.

use kiosk_hw::personal::Personal;

use super::{Command, Event, Generation, Next, Session, State, WipeReason};
use crate::gateway::codes::{is_dossier_code, is_lookup_code, LOOKUP_LEN};
use crate::gateway::lookup::StatusLookup;
use crate::receipt::{parse_lookup_url, parse_receipt_qr, LookupUrl};
use crate::vnkey::{self, KeyInput};

/// Where the lookup stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupPhase {
    /// Waiting for the receipt's QR code in front of the camera.
    Scanning,
    /// The gateway is being asked.
    Checking,
    /// The answer is shown.
    Result,
}

/// The two codes of a receipt, checked to be well-formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupCodes {
    /// `MaHoSo`.
    pub dossier_code: String,
    /// `MaTraCuu`.
    pub lookup_code: String,
}

/// The lookup's events ([`Event::Lookup`]).
#[derive(Debug, Clone, PartialEq)]
pub enum LookupEvent {
    /// "Check a dossier" on the attract screen.
    Open,
    /// The QR scanner read a code (personal if it is a card's QR: zeroized on drop).
    Scanned(Generation, Personal<String>),
    /// The gateway's answer to [`Command::LookupStatus`].
    Answer(Generation, StatusLookup),
    /// "Check another" on the result page.
    ScanAgain,
    /// "Type the code": the keyboard opens on the dossier code (scanning goes on).
    Type,
    /// A tap on one of the two typed fields.
    Focus(CodeField),
    /// A key of the on-screen keyboard, into the focused field.
    Key(KeyInput),
    /// The keyboard's "Done": from the dossier code to the lookup code, then look it up.
    Done,
}

/// The two typed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CodeField {
    /// `MaHoSo`, e.g. `000.00.01.H29-260105-0001`.
    #[default]
    Dossier,
    /// `MaTraCuu`, 8 characters.
    Lookup,
}

/// The most characters of a typed dossier code (agency 32, `-YYMMDD-`, 6 digits).
const DOSSIER_MAX_CHARS: usize = 46;

/// The codes being typed on the scan page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypedCodes {
    /// The dossier code typed so far.
    pub dossier: String,
    /// The lookup code typed so far.
    pub lookup: String,
    /// The field the keys go into.
    pub focus: CodeField,
}

impl TypedCodes {
    /// One key into the focused field: letters upper-cased; the dossier code takes
    /// `A-Z 0-9 . -`, the lookup code `A-Z 0-9`; other characters are refused.
    fn key(&mut self, key: KeyInput) {
        let (text, max, extra): (&mut String, usize, &[char]) = match self.focus {
            CodeField::Dossier => (&mut self.dossier, DOSSIER_MAX_CHARS, &['.', '-']),
            CodeField::Lookup => (&mut self.lookup, LOOKUP_LEN, &[]),
        };
        let key = match key {
            KeyInput::Char(c) if c.is_ascii_alphanumeric() || extra.contains(&c) => {
                KeyInput::Char(c.to_ascii_uppercase())
            }
            KeyInput::Char(_) | KeyInput::Tone(_) => return,
            k => k,
        };
        let field = vnkey::Field {
            mode: vnkey::Mode::Plain,
            max_chars: max,
        };
        *text = vnkey::apply(text, key, field);
    }
}

/// What the lookup pages show ([`super::SessionView::lookup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupView {
    /// The page.
    pub phase: LookupPhase,
    /// The dossier code being checked (at `Checking` and `Result`).
    pub dossier_code: Option<String>,
    /// The answer, at `Result`.
    pub answer: Option<StatusLookup>,
    /// The codes being typed (at `Scanning`, once "Type the code" was tapped).
    pub typed: Option<TypedCodes>,
}

/// The lookup state's data.
#[derive(Debug)]
pub(super) enum Lookup {
    /// Scanning; the keyboard's codes once it was opened.
    Scanning(Option<TypedCodes>),
    Checking(LookupCodes),
    Result(LookupCodes, StatusLookup),
}

impl Lookup {
    pub(super) fn view(&self) -> LookupView {
        match self {
            Self::Scanning(typed) => LookupView {
                phase: LookupPhase::Scanning,
                dossier_code: None,
                answer: None,
                typed: typed.clone(),
            },
            Self::Checking(c) => LookupView {
                phase: LookupPhase::Checking,
                dossier_code: Some(c.dossier_code.clone()),
                answer: None,
                typed: None,
            },
            Self::Result(c, a) => LookupView {
                phase: LookupPhase::Result,
                dossier_code: Some(c.dossier_code.clone()),
                answer: Some(a.clone()),
                typed: None,
            },
        }
    }
}

/// The codes of a scanned receipt QR: the kiosk's `VNKIOSK1|R|...` payload, or a link built
/// from `template` (`site.lookup_url`, whose `{dossier}` and `{lookup}` the receipt filled).
/// `None` for any other code.
#[must_use]
pub fn codes_from_qr(text: &str, template: Option<&LookupUrl>) -> Option<LookupCodes> {
    if let Ok(qr) = parse_receipt_qr(text) {
        return Some(LookupCodes {
            dossier_code: qr.dossier_code().to_owned(),
            lookup_code: qr.lookup_code().to_owned(),
        });
    }
    let (dossier_code, lookup_code) = parse_lookup_url(template?, text)?;
    Some(LookupCodes {
        dossier_code,
        lookup_code,
    })
}

/// Message keys of the lookup.
pub mod lookup_keys {
    #![allow(missing_docs)] // each constant is its own text
    pub const SCAN: &str = "lookup-scan";
    pub const BAD_QR: &str = "lookup-bad-qr";
    pub const RESULT: &str = "lookup-result";
    pub const TYPED_DOSSIER_INVALID: &str = "lookup-typed-dossier-invalid";
    pub const TYPED_CODE_INVALID: &str = "lookup-typed-code-invalid";
}

impl Session {
    /// Opens the lookup from `Attract` (the session id is not taken: nobody is identified).
    pub(super) fn open_lookup(&mut self, out: &mut Vec<Command>) -> Next {
        let g = self.next_generation();
        out.push(Command::StartLookupScan(g));
        Self::say(out, lookup_keys::SCAN);
        Next::Enter(State::Lookup(Lookup::Scanning(None)))
    }

    /// The good codes of a scan or of the keyboard: stop the scanner, ask the gateway.
    fn check_codes(&mut self, codes: LookupCodes, out: &mut Vec<Command>) -> Next {
        out.push(Command::StopLookupScan);
        out.push(Command::LookupStatus(self.generation, codes.clone()));
        self.banner = None;
        let state = State::Lookup(Lookup::Checking(codes));
        self.touch(&state);
        Next::Stay(state)
    }

    /// A keyboard event on the scan page.
    fn typed_event(
        &mut self,
        typed: Option<TypedCodes>,
        ev: LookupEvent,
        out: &mut Vec<Command>,
    ) -> Next {
        let mut t = typed.unwrap_or_default();
        match ev {
            LookupEvent::Focus(f) => t.focus = f,
            LookupEvent::Key(k) => t.key(k),
            LookupEvent::Done if t.focus == CodeField::Dossier => {
                if !is_dossier_code(&t.dossier) {
                    let state = State::Lookup(Lookup::Scanning(Some(t)));
                    self.banner(&state, out, lookup_keys::TYPED_DOSSIER_INVALID);
                    return Next::Stay(state);
                }
                t.focus = CodeField::Lookup;
            }
            LookupEvent::Done => {
                let problem = if !is_dossier_code(&t.dossier) {
                    t.focus = CodeField::Dossier;
                    Some(lookup_keys::TYPED_DOSSIER_INVALID)
                } else if !is_lookup_code(&t.lookup) {
                    Some(lookup_keys::TYPED_CODE_INVALID)
                } else {
                    None
                };
                if let Some(key) = problem {
                    let state = State::Lookup(Lookup::Scanning(Some(t)));
                    self.banner(&state, out, key);
                    return Next::Stay(state);
                }
                return self.check_codes(
                    LookupCodes {
                        dossier_code: t.dossier,
                        lookup_code: t.lookup,
                    },
                    out,
                );
            }
            _ => {}
        }
        let state = State::Lookup(Lookup::Scanning(Some(t)));
        self.banner = None;
        self.touch(&state);
        Next::Stay(state)
    }

    /// A lookup event or a button (Finish, Back) at the lookup step.
    pub(super) fn lookup_event(&mut self, l: Lookup, ev: Event, out: &mut Vec<Command>) -> Next {
        use Next::{Enter, Stay};
        match (l, ev) {
            (Lookup::Scanning(typed), Event::Lookup(LookupEvent::Scanned(_, text))) => {
                match codes_from_qr(text.expose(), self.cfg.lookup_url.as_ref()) {
                    Some(codes) => self.check_codes(codes, out),
                    None => {
                        let state = State::Lookup(Lookup::Scanning(typed));
                        self.banner(&state, out, lookup_keys::BAD_QR);
                        Stay(state)
                    }
                }
            }
            (
                Lookup::Scanning(typed),
                Event::Lookup(
                    ev @ (LookupEvent::Type
                    | LookupEvent::Focus(_)
                    | LookupEvent::Key(_)
                    | LookupEvent::Done),
                ),
            ) => self.typed_event(typed, ev, out),
            (Lookup::Checking(codes), Event::Lookup(LookupEvent::Answer(_, answer))) => {
                Self::say(out, lookup_keys::RESULT);
                Enter(State::Lookup(Lookup::Result(codes, answer)))
            }
            (Lookup::Result(..), Event::Lookup(LookupEvent::ScanAgain)) => {
                let g = self.next_generation();
                out.push(Command::StartLookupScan(g));
                Self::say(out, lookup_keys::SCAN);
                Enter(State::Lookup(Lookup::Scanning(None)))
            }
            (l, Event::ReceiptDone | Event::Back) => {
                if matches!(l, Lookup::Scanning(_)) {
                    out.push(Command::StopLookupScan);
                }
                out.push(Command::Wipe(WipeReason::Completed));
                Enter(State::Attract)
            }
            (l, _) => Stay(State::Lookup(l)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::dto::SubmissionStatus;
    use crate::session::{Millis, SessionConfig, Step};

    const DOSSIER: &str = "000.00.01.H29-260105-0001";
    const CODE: &str = "7KQ2MZ4P";

    fn qr(text: &str, g: Generation) -> Event {
        Event::Lookup(LookupEvent::Scanned(g, Personal::new(text.to_owned())))
    }

    fn status(code: &str) -> StatusLookup {
        StatusLookup::Found(SubmissionStatus {
            dossier_code: DOSSIER.into(),
            status: code.into(),
            procedure_name: "Đăng ký khai sinh".into(),
            received_at: "20260105090000".into(),
            appointment: "20260108090000".into(),
            queue_number: None,
            collect_place: None,
            collect_at: None,
        })
    }

    fn codes() -> LookupCodes {
        LookupCodes {
            dossier_code: DOSSIER.into(),
            lookup_code: CODE.into(),
        }
    }

    #[test]
    fn a_receipt_qr_is_looked_up_and_finish_wipes_it() {
        let mut s = Session::new(SessionConfig::default(), 3);
        let out = s.handle(Event::Lookup(LookupEvent::Open), Millis(1_000));
        let g = s.generation();
        assert_eq!(s.step(), Step::Lookup);
        assert!(out.contains(&Command::StartLookupScan(g)));
        assert_eq!(s.session_id(), None, "nobody is identified");

        // The card's QR (or anything else) is not a receipt: say so, keep scanning.
        let out = s.handle(qr(kiosk_hw::sim::DEMO_QR, g), Millis(2_000));
        assert!(out.contains(&Command::ShowNotice(lookup_keys::BAD_QR.into())));
        let v = s.view();
        assert_eq!(v.notice.as_deref(), Some(lookup_keys::BAD_QR));
        assert_eq!(
            v.lookup.as_ref().map(|l| l.phase),
            Some(LookupPhase::Scanning)
        );

        let out = s.handle(
            qr(&format!("VNKIOSK1|R|{DOSSIER}|{CODE}\r\n"), g),
            Millis(3_000),
        );
        assert_eq!(
            out,
            vec![Command::StopLookupScan, Command::LookupStatus(g, codes())]
        );
        let v = s.view();
        assert_eq!(v.notice, None);
        assert_eq!(
            v.lookup,
            Some(LookupView {
                phase: LookupPhase::Checking,
                dossier_code: Some(DOSSIER.into()),
                answer: None,
                typed: None,
            })
        );

        s.handle(
            Event::Lookup(LookupEvent::Answer(g, status("received"))),
            Millis(4_000),
        );
        let v = s.view();
        assert_eq!(
            v.lookup.as_ref().map(|l| l.phase),
            Some(LookupPhase::Result)
        );
        assert_eq!(
            v.lookup
                .as_ref()
                .and_then(|l| l.answer.as_ref())
                .and_then(StatusLookup::state),
            Some(crate::gateway::dto::DossierState::Received)
        );
        assert!(!v.has_personal_data());

        let out = s.handle(Event::ReceiptDone, Millis(5_000));
        assert_eq!(out, vec![Command::Wipe(WipeReason::Completed)]);
        assert_eq!(s.step(), Step::Attract);
        assert_eq!(s.view().lookup, None);
        // A late answer of that lookup is dropped.
        s.handle(
            Event::Lookup(LookupEvent::Answer(g, status("forwarded"))),
            Millis(6_000),
        );
        assert_eq!(s.step(), Step::Attract);
        assert_eq!(s.view().lookup, None);
    }

    #[test]
    fn a_lookup_link_of_the_configured_template_is_read_too() {
        let url = LookupUrl::new("https://dvc.example.gov.vn/tra-cuu?hs={dossier}&ma={lookup}")
            .expect("valid");
        let link = format!("https://dvc.example.gov.vn/tra-cuu?hs={DOSSIER}&ma={CODE}");
        assert_eq!(codes_from_qr(&link, Some(&url)), Some(codes()));
        assert_eq!(codes_from_qr(&link, None), None, "no template, no link");
        assert_eq!(codes_from_qr(kiosk_hw::sim::DEMO_QR, Some(&url)), None);

        let mut s = Session::new(
            SessionConfig {
                lookup_url: Some(url),
                ..SessionConfig::default()
            },
            3,
        );
        s.handle(Event::Lookup(LookupEvent::Open), Millis(1_000));
        let g = s.generation();
        let out = s.handle(qr(&link, g), Millis(2_000));
        assert!(out.contains(&Command::LookupStatus(g, codes())));
        // Offline: a result too, and "check another" scans again under a new generation.
        s.handle(
            Event::Lookup(LookupEvent::Answer(g, StatusLookup::Offline)),
            Millis(3_000),
        );
        assert_eq!(
            s.view().lookup.and_then(|l| l.answer),
            Some(StatusLookup::Offline)
        );
        let out = s.handle(Event::Lookup(LookupEvent::ScanAgain), Millis(4_000));
        assert_ne!(s.generation(), g);
        assert!(out.contains(&Command::StartLookupScan(s.generation())));
        assert_eq!(
            s.view().lookup.map(|l| l.phase),
            Some(LookupPhase::Scanning)
        );
    }

    #[test]
    fn inactivity_and_cancel_stop_the_scanner_and_wipe() {
        let cfg = SessionConfig::default();
        let limit = cfg.timeouts.identify_ms;
        let mut s = Session::new(cfg, 3);
        s.handle(Event::Lookup(LookupEvent::Open), Millis(0));
        let out = s.handle(Event::Tick, Millis(limit + 1));
        assert!(out.contains(&Command::StopLookupScan));
        assert!(out.contains(&Command::Wipe(WipeReason::Timeout)));
        assert_eq!(s.step(), Step::Attract);

        s.handle(Event::Lookup(LookupEvent::Open), Millis(limit + 2));
        let out = s.handle(Event::Cancel, Millis(limit + 3));
        assert_eq!(
            out,
            vec![
                Command::StopLookupScan,
                Command::Wipe(WipeReason::Cancelled)
            ]
        );
        assert_eq!(s.view().lookup, None);
        // The lookup is opened only from the attract screen.
        s.handle(Event::Start, Millis(limit + 4));
        let out = s.handle(Event::Lookup(LookupEvent::Open), Millis(limit + 5));
        assert!(out.is_empty());
        assert_eq!(s.step(), Step::Language);
    }

    fn key(s: &mut Session, ev: LookupEvent, t: u64) -> Vec<Command> {
        s.handle(Event::Lookup(ev), Millis(t))
    }

    #[test]
    fn typed_codes_are_checked_then_looked_up_while_the_scanner_stays_armed() {
        let mut s = Session::new(SessionConfig::default(), 3);
        s.handle(Event::Lookup(LookupEvent::Open), Millis(0));
        let g = s.generation();
        let out = key(&mut s, LookupEvent::Type, 1);
        assert!(out.is_empty(), "the scanner stays armed");
        let typed = |s: &Session| s.view().lookup.and_then(|l| l.typed);
        assert_eq!(typed(&s), Some(TypedCodes::default()));
        // Lower case is upper-cased; characters outside the code are refused; no Telex.
        for c in "000.00.01.h29-260105-0001 ;".chars() {
            key(&mut s, LookupEvent::Key(KeyInput::Char(c)), 2);
        }
        key(
            &mut s,
            LookupEvent::Key(KeyInput::Tone(vnkey::Tone::Acute)),
            2,
        );
        assert_eq!(typed(&s).map(|t| t.dossier), Some(DOSSIER.to_owned()));
        // A wrong code is said and keeps its field.
        key(&mut s, LookupEvent::Key(KeyInput::Backspace), 3);
        let out = key(&mut s, LookupEvent::Done, 4);
        assert!(out.contains(&Command::ShowNotice(
            lookup_keys::TYPED_DOSSIER_INVALID.into()
        )));
        assert_eq!(typed(&s).map(|t| t.focus), Some(CodeField::Dossier));
        key(&mut s, LookupEvent::Key(KeyInput::Char('1')), 5);
        key(&mut s, LookupEvent::Done, 6);
        assert_eq!(typed(&s).map(|t| t.focus), Some(CodeField::Lookup));
        assert_eq!(s.view().notice, None);
        // The lookup code: 8 characters at most, "ass" stays "ASS" (plain, never Telex).
        for c in "7kq2mz4pxx".chars() {
            key(&mut s, LookupEvent::Key(KeyInput::Char(c)), 7);
        }
        assert_eq!(typed(&s).map(|t| t.lookup), Some(CODE.to_owned()));
        key(&mut s, LookupEvent::Focus(CodeField::Lookup), 8);
        key(&mut s, LookupEvent::Key(KeyInput::Clear), 8);
        for c in "ass".chars() {
            key(&mut s, LookupEvent::Key(KeyInput::Char(c)), 9);
        }
        assert_eq!(typed(&s).map(|t| t.lookup), Some("ASS".to_owned()));
        let out = key(&mut s, LookupEvent::Done, 10);
        assert!(out.contains(&Command::ShowNotice(lookup_keys::TYPED_CODE_INVALID.into())));
        key(&mut s, LookupEvent::Key(KeyInput::Clear), 11);
        for c in CODE.chars() {
            key(&mut s, LookupEvent::Key(KeyInput::Char(c)), 12);
        }
        let out = key(&mut s, LookupEvent::Done, 13);
        assert_eq!(
            out,
            vec![Command::StopLookupScan, Command::LookupStatus(g, codes())]
        );
        assert_eq!(
            s.view().lookup.map(|l| l.phase),
            Some(LookupPhase::Checking)
        );
        // Keys after that change nothing.
        key(&mut s, LookupEvent::Key(KeyInput::Char('A')), 14);
        assert_eq!(s.view().lookup.and_then(|l| l.typed), None);
    }

    #[test]
    fn a_scan_while_typing_wins() {
        let mut s = Session::new(SessionConfig::default(), 3);
        s.handle(Event::Lookup(LookupEvent::Open), Millis(0));
        let g = s.generation();
        key(&mut s, LookupEvent::Type, 1);
        key(&mut s, LookupEvent::Key(KeyInput::Char('0')), 2);
        let out = s.handle(qr(&format!("VNKIOSK1|R|{DOSSIER}|{CODE}"), g), Millis(3));
        assert!(out.contains(&Command::LookupStatus(g, codes())));
    }
}
