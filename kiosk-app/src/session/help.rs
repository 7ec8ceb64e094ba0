//! Help everywhere, staff calls, assisted mode, display switches and changing language
//! mid-session (issue 14, journeys 5 to 7). Pure, like the rest of the session.
//!
//! - **Help** opens on any step, `Attract` included, and on every dead end (a refused number, an
//!   unreadable card, a face not verified, consent declined: all notices and banners of the
//!   identify and face steps). Opening it counts as activity; on a plain notice, which activity
//!   does not extend, it holds the notice for at least [`HELP_HOLD_MS`].
//! - **Call staff** ([`Event::CallStaff`]) raises the call ([`Assistance::staff_called`]),
//!   emits [`Command::CallStaff`] with the step (the shell logs it: never personal data) and a
//!   [`Chime::StaffCall`]; from then on the timeouts are stretched as in assisted mode, so the
//!   citizen is not wiped while waiting. The call ends with [`Event::CancelStaffCall`], with
//!   assisted mode switched on (the volunteer has arrived), or when the session ends.
//! - **Assisted mode** ([`Event::AssistedMode`]; the shell checks the volunteer's PIN first)
//!   multiplies every inactivity timeout and the notice time by
//!   [`SessionConfig::assisted_timeout_factor`] (not the submission watchdog), shows a badge,
//!   closes the help panel and ends a pending staff call. Nothing else changes: the flow, the
//!   consent and the face check are the citizen's own. It ends with the session: the next
//!   citizen never inherits it.
//! - **Large text and high contrast** are per-session switches. Tapped on `Attract` they
//!   also start the session (one tap from the first screen).
//! - **A language change** ([`Event::LanguageChosen`]) is accepted at any step after the
//!   language screen and keeps the session: the step, the typed digits, the identity.
//!
//! Everything here is reset when the session returns to `Attract`.

use std::ops::ControlFlow;

use super::{keys, Chime, Command, Event, Next, Session, State, Step};

/// How long a plain notice stays while help is open or staff have been called, at least.
pub const HELP_HOLD_MS: u64 = 120_000;

/// What the citizen, or a volunteer, has switched on in this session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Assistance {
    /// The help panel is open.
    pub help_open: bool,
    /// Staff have been called and have not answered yet.
    pub staff_called: bool,
    /// A volunteer unlocked assisted mode.
    pub assisted: bool,
    /// Larger type.
    pub large_text: bool,
    /// High-contrast colours.
    pub high_contrast: bool,
}

impl Session {
    /// The events of this module, at any step: `Break` with where they lead, or `Continue`
    /// handing the state back to the step rules.
    pub(super) fn assistance_event(
        &mut self,
        state: State,
        ev: &Event,
        out: &mut Vec<Command>,
    ) -> ControlFlow<Next, State> {
        match ev {
            Event::OpenHelp => {
                self.assist.help_open = true;
                Self::say(out, keys::HELP);
                self.extend(&state);
            }
            Event::CloseHelp => {
                self.assist.help_open = false;
                self.extend(&state);
            }
            Event::CallStaff => {
                if !self.assist.staff_called {
                    self.assist.staff_called = true;
                    out.push(Command::CallStaff(state.step()));
                    out.push(Command::Chime(Chime::StaffCall));
                    Self::say(out, keys::STAFF_CALLED);
                }
                self.extend(&state);
            }
            Event::CancelStaffCall => {
                self.assist.staff_called = false;
                self.extend(&state);
            }
            Event::AssistedMode(on) => {
                self.assist.assisted = *on;
                if *on {
                    self.assist.help_open = false;
                    self.assist.staff_called = false;
                }
                self.extend(&state);
            }
            Event::ToggleLargeText | Event::ToggleHighContrast => {
                let next = if matches!(state, State::Attract) {
                    // One tap from the first screen: the switch also starts the session.
                    self.transition(State::Attract, Event::Start, out)
                } else {
                    self.extend(&state);
                    Next::Stay(state)
                };
                if matches!(ev, Event::ToggleLargeText) {
                    self.assist.large_text = !self.assist.large_text;
                } else {
                    self.assist.high_contrast = !self.assist.high_contrast;
                }
                return ControlFlow::Break(next);
            }
            Event::LanguageChosen(lang)
                if !matches!(state, State::Attract | State::Language)
                    && self.cfg.languages.contains(lang) =>
            {
                // Mid-session: only the words change. The shell says the current prompt again
                // in the new language.
                self.language.clone_from(lang);
                self.extend(&state);
            }
            _ => return ControlFlow::Continue(state),
        }
        ControlFlow::Break(Next::Stay(state))
    }

    /// Restarts the timer after an action of this module: as a touch where touches count,
    /// and on a plain notice by holding it (never shortening it).
    fn extend(&mut self, state: &State) {
        if state.activity_extends() {
            self.touch(state);
        } else if matches!(state, State::Notice { .. }) {
            if let Some(t) = self.timeout_ms(state) {
                let until = self.now.saturating_add(t);
                self.deadline = Some(self.deadline.map_or(until, |d| d.max(until)));
            }
        }
    }

    /// The timer of `state` given the assistance switched on (see the module docs).
    pub(super) fn stretch(&self, state: &State, ms: u64) -> u64 {
        if matches!(state, State::Submitting { .. }) {
            return ms; // the watchdog bounds the wait for the outbox, not the citizen
        }
        let mut ms = ms;
        if self.assist.assisted || self.assist.staff_called {
            ms = ms.saturating_mul(u64::from(self.cfg.assisted_timeout_factor.max(1)));
        }
        if state.step() == Step::Notice && (self.assist.help_open || self.assist.staff_called) {
            ms = ms.max(HELP_HOLD_MS);
        }
        ms
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{citizen, render, Driver};
    use super::super::{IdentifyFailure, IdentitySource, Millis, SessionConfig};
    use super::*;

    fn secs_left(d: &Driver) -> u64 {
        d.s.view().seconds_left.unwrap_or(0)
    }

    #[test]
    fn help_opens_on_every_step_and_on_attract() {
        for setup in [
            "Attract",
            "Language",
            "Identify",
            "IdentifyAwaitCard",
            "Consent",
            "VerifyFace",
            "FaceRetry",
            "ChooseService",
            "Confirm",
            "Submitting",
            "Receipt",
            "Notice",
        ] {
            let mut d = Driver::at(setup);
            let step = d.s.step();
            let cmds = d.ev(Event::OpenHelp);
            assert_eq!(render(&cmds), "say:help", "{setup}");
            assert_eq!(d.s.step(), step, "{setup}: help keeps the step");
            assert!(d.s.view().assistance.help_open, "{setup}");
            d.ev(Event::CloseHelp);
            assert!(!d.s.view().assistance.help_open, "{setup}");
        }
    }

    #[test]
    fn dead_ends_offer_help_and_a_staff_call_that_holds_the_notice() {
        // Consent declined: a plain notice of a few seconds.
        let mut d = Driver::at("Notice");
        assert!(secs_left(&d) <= 8);
        d.ev(Event::OpenHelp);
        assert!(
            secs_left(&d) >= HELP_HOLD_MS / 1000 - 1,
            "help holds the notice"
        );
        let cmds = d.ev(Event::CallStaff);
        assert_eq!(
            render(&cmds),
            "call-staff:Notice chime:StaffCall say:staff-called"
        );
        assert!(d.s.view().assistance.staff_called);
        // A second tap does not call twice.
        assert_eq!(render(&d.ev(Event::CallStaff)), "-");
        // The notice still ends, wiping the call with it.
        d.t += HELP_HOLD_MS + 1000;
        d.ev(Event::Tick);
        assert_eq!(d.s.step(), Step::Attract);
        assert_eq!(d.s.view().assistance, Assistance::default());

        // A refused number: a banner on the identify step, the typed digits kept.
        let mut d = Driver::at("IdentifyAwaitCard");
        d.ev(Event::IdentityFailed(
            super::super::Generation(u64::MAX),
            IdentifyFailure::WrongIdNumber,
        ));
        assert_eq!(d.s.view().notice.as_deref(), Some(keys::WRONG_ID));
        let cmds = d.ev(Event::CallStaff);
        assert!(render(&cmds).starts_with("call-staff:Identify"));
        assert_eq!(d.s.view().notice.as_deref(), Some(keys::WRONG_ID));
        assert_eq!(
            d.s.view().id_entry.map(|e| e.expose().len()),
            Some(12),
            "the digits stay"
        );
        // Cancel still ends the session and the call.
        d.ev(Event::Cancel);
        assert_eq!(d.s.view().assistance, Assistance::default());
    }

    #[test]
    fn a_staff_call_and_assisted_mode_stretch_the_timeouts() {
        let cfg = SessionConfig::default();
        let identify = cfg.timeouts.identify_ms / 1000;
        let mut d = Driver::at("Identify");
        assert_eq!(secs_left(&d), identify);
        d.ev(Event::CallStaff);
        assert_eq!(secs_left(&d), identify * 3);
        d.ev(Event::AssistedMode(true));
        let v = d.s.view();
        assert!(v.assistance.assisted);
        assert!(
            !v.assistance.staff_called,
            "the volunteer answered the call"
        );
        assert_eq!(secs_left(&d), identify * 3);
        // Every later step keeps the factor, the submission watchdog excepted.
        d.ev(Event::IdentityRead(
            super::super::Generation(u64::MAX),
            citizen(IdentitySource::Chip),
        ));
        // (The driver stamps the current generation.)
        assert_eq!(d.s.step(), Step::Consent);
        assert_eq!(secs_left(&d), cfg.timeouts.consent_ms / 1000 * 3);
        // The warning comes 20 s before the stretched deadline, with its sound.
        d.t += cfg.timeouts.consent_ms * 3 - cfg.warn_before_ms + 1000;
        let cmds = d.s.handle(Event::Tick, Millis(d.t));
        assert_eq!(render(&cmds), "chime:Warning say:still-there");
        d.ev(Event::AssistedMode(false));
        assert_eq!(secs_left(&d), cfg.timeouts.consent_ms / 1000);
    }

    #[test]
    fn assisted_mode_ends_with_the_session() {
        let mut d = Driver::at("Identify");
        d.ev(Event::AssistedMode(true));
        d.ev(Event::Cancel);
        assert_eq!(d.s.step(), Step::Attract);
        assert!(!d.s.view().assistance.assisted);
        d.ev(Event::Start);
        assert!(!d.s.view().assistance.assisted, "not inherited");
    }

    #[test]
    fn display_switches_start_from_attract_and_reset_after() {
        let mut d = Driver::at("Attract");
        let cmds = d.ev(Event::ToggleLargeText);
        assert_eq!(d.s.step(), Step::Language, "one tap starts");
        assert_eq!(render(&cmds), "say:choose-language");
        assert!(d.s.session_id().is_some());
        d.ev(Event::ToggleHighContrast);
        let a = d.s.view().assistance;
        assert!(a.large_text && a.high_contrast);
        d.ev(Event::ToggleLargeText);
        assert!(!d.s.view().assistance.large_text);
        d.ev(Event::Cancel);
        assert_eq!(d.s.view().assistance, Assistance::default());
    }

    #[test]
    fn switching_language_at_any_step_keeps_the_session() {
        for setup in [
            "IdentifyTyped",
            "IdentifyAwaitCard",
            "Consent",
            "VerifyFace",
            "FaceRetry",
            "ChooseService",
            "Confirm",
            "Receipt",
            "Notice",
        ] {
            let mut d = Driver::at(setup);
            let before = d.s.view();
            let id = d.s.session_id();
            let generation = d.s.generation();
            let cmds = d.ev(Event::LanguageChosen("en".into()));
            assert_eq!(render(&cmds), "-", "{setup}");
            let after = d.s.view();
            assert_eq!(after.language, "en", "{setup}");
            assert_eq!(after.step, before.step, "{setup}");
            assert_eq!(after.identify, before.identify, "{setup}");
            assert_eq!(after.id_entry, before.id_entry, "{setup}");
            assert_eq!(after.citizen, before.citizen, "{setup}");
            assert_eq!(after.receipt, before.receipt, "{setup}");
            assert_eq!(d.s.session_id(), id, "{setup}");
            assert_eq!(d.s.generation(), generation, "{setup}: devices stay armed");
            // A language the kiosk does not offer is ignored.
            d.ev(Event::LanguageChosen("fr".into()));
            assert_eq!(d.s.view().language, "en", "{setup}");
        }
        // Attract has no session to keep: its language stays the default.
        let mut d = Driver::at("Attract");
        d.ev(Event::LanguageChosen("en".into()));
        assert_eq!(d.s.view().language, "vi");
    }
}
