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

use kiosk_hw::personal::Personal;

use super::{Command, Event, Generation, Next, Session, State, WipeReason};
use crate::gateway::lookup::StatusLookup;
use crate::receipt::{parse_lookup_url, parse_receipt_qr, LookupUrl};

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
}

/// The lookup state's data.
#[derive(Debug)]
pub(super) enum Lookup {
    Scanning,
    Checking(LookupCodes),
    Result(LookupCodes, StatusLookup),
}

impl Lookup {
    pub(super) fn view(&self) -> LookupView {
        match self {
            Self::Scanning => LookupView {
                phase: LookupPhase::Scanning,
                dossier_code: None,
                answer: None,
            },
            Self::Checking(c) => LookupView {
                phase: LookupPhase::Checking,
                dossier_code: Some(c.dossier_code.clone()),
                answer: None,
            },
            Self::Result(c, a) => LookupView {
                phase: LookupPhase::Result,
                dossier_code: Some(c.dossier_code.clone()),
                answer: Some(a.clone()),
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
}

impl Session {
    /// Opens the lookup from `Attract` (the session id is not taken: nobody is identified).
    pub(super) fn open_lookup(&mut self, out: &mut Vec<Command>) -> Next {
        let g = self.next_generation();
        out.push(Command::StartLookupScan(g));
        Self::say(out, lookup_keys::SCAN);
        Next::Enter(State::Lookup(Lookup::Scanning))
    }

    /// A lookup event or a button (Finish, Back) at the lookup step.
    pub(super) fn lookup_event(&mut self, l: Lookup, ev: Event, out: &mut Vec<Command>) -> Next {
        use Next::{Enter, Stay};
        match (l, ev) {
            (Lookup::Scanning, Event::Lookup(LookupEvent::Scanned(_, text))) => {
                match codes_from_qr(text.expose(), self.cfg.lookup_url.as_ref()) {
                    Some(codes) => {
                        out.push(Command::StopLookupScan);
                        out.push(Command::LookupStatus(self.generation, codes.clone()));
                        self.banner = None;
                        let state = State::Lookup(Lookup::Checking(codes));
                        self.touch(&state);
                        Stay(state)
                    }
                    None => {
                        let state = State::Lookup(Lookup::Scanning);
                        self.banner(&state, out, lookup_keys::BAD_QR);
                        Stay(state)
                    }
                }
            }
            (Lookup::Checking(codes), Event::Lookup(LookupEvent::Answer(_, answer))) => {
                Self::say(out, lookup_keys::RESULT);
                Enter(State::Lookup(Lookup::Result(codes, answer)))
            }
            (Lookup::Result(..), Event::Lookup(LookupEvent::ScanAgain)) => {
                let g = self.next_generation();
                out.push(Command::StartLookupScan(g));
                Self::say(out, lookup_keys::SCAN);
                Enter(State::Lookup(Lookup::Scanning))
            }
            (l, Event::ReceiptDone | Event::Back) => {
                if matches!(l, Lookup::Scanning) {
                    out.push(Command::StopLookupScan);
                }
                out.push(Command::Wipe(WipeReason::Completed));
                Enter(State::Attract)
            }
            (l, _) => Stay(State::Lookup(l)),
        }
    }
}
