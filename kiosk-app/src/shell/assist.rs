//! The shell's side of help, staff calls, assisted mode, spoken prompts and attract images
//! (issue 14): the `Assist` adapter's callbacks, the volunteer PIN check, the speaker, the
//! attract rotation. The decisions stay in [`crate::session`] (see `session::help`).

use std::cell::RefCell;
use std::rc::Rc;

use kiosk_hw::audio::{AudioWorker, Chime};
use kiosk_ui::{AppWindow, Assist};
use slint::ComponentHandle;
use zeroize::Zeroizing;

use super::Shell;
use crate::attract::AttractRotation;
use crate::config::{is_pin, KioskConfig, StaffPinHash};
use crate::i18n;
use crate::session::{Event, SessionView, Step};

/// Wrong PINs in a row before the PIN pad locks.
pub const PIN_TRIES: u8 = 3;
/// How long it stays locked.
pub const PIN_LOCK_MS: u64 = 60_000;

/// What the shell keeps for this module.
pub(super) struct AssistShell {
    audio: Option<AudioWorker>,
    pin_hash: Option<StaffPinHash>,
    pin: Zeroizing<String>,
    pin_open: bool,
    pin_status: &'static str,
    pin_failures: u8,
    locked_until: Option<u64>,
    /// The last prompt said, to say again after a language change.
    last_prompt: Option<String>,
    attract: AttractRotation,
    hotline: String,
    staff_desk: String,
    min_target_px: f32,
}

impl AssistShell {
    pub(super) fn new(config: &KioskConfig) -> Self {
        let help = &config.help;
        let attract = help
            .attract_dir
            .as_deref()
            .map(|d| AttractRotation::from_dir(d, help.attract_seconds.saturating_mul(1000)))
            .unwrap_or_default();
        Self {
            audio: None,
            pin_hash: help.staff_pin_hash.clone(),
            pin: Zeroizing::new(String::new()),
            pin_open: false,
            pin_status: "",
            pin_failures: 0,
            locked_until: None,
            last_prompt: None,
            attract,
            hotline: help.hotline.clone().unwrap_or_default(),
            staff_desk: help.staff_desk.clone().unwrap_or_default(),
            min_target_px: config.accessibility.min_target_px(),
        }
    }

    pub(super) fn set_audio(&mut self, audio: AudioWorker) {
        self.audio = Some(audio);
    }

    /// Says the prompt `key` in `lang`: `say-<key>`, else the notice's text.
    pub(super) fn announce(&mut self, texts: &i18n::Catalog, lang: &str, key: &str) {
        self.last_prompt = Some(key.to_owned());
        self.say(texts, lang, key);
    }

    fn say(&self, texts: &i18n::Catalog, lang: &str, key: &str) {
        let Some(audio) = &self.audio else {
            tracing::debug!(key, "announce (no speaker)");
            return;
        };
        let text = [format!("say-{key}"), format!("notice-{key}")]
            .into_iter()
            .find(|k| texts.has(lang, k))
            .map(|k| texts.t(lang, &k));
        match text {
            Some(t) => audio.say(&t, lang),
            None => tracing::debug!(key, lang, "no spoken text for this prompt"),
        }
    }

    /// The session's language changed mid-session: the current prompt again, in it.
    pub(super) fn language_changed(&self, texts: &i18n::Catalog, lang: &str) {
        if let Some(key) = &self.last_prompt {
            self.say(texts, lang, key);
        }
    }

    pub(super) fn chime(&self, chime: Chime) {
        if let Some(a) = &self.audio {
            a.chime(chime);
        }
    }

    /// Stops the voice (the session is wiped: nothing of it keeps talking).
    pub(super) fn wiped(&mut self) {
        self.last_prompt = None;
        self.close_pin();
        if let Some(a) = &self.audio {
            a.stop();
        }
    }

    fn close_pin(&mut self) {
        self.pin_open = false;
        self.pin.clear();
        self.pin_status = "";
    }

    /// Mirrors the session's assistance and this module's state into the adapter.
    pub(super) fn render(&self, ui: &AppWindow, view: &SessionView) {
        let a = ui.global::<Assist>();
        let s = view.assistance;
        a.set_help_open(s.help_open);
        a.set_staff_called(s.staff_called);
        a.set_assisted(s.assisted);
        a.set_large_text(s.large_text);
        a.set_high_contrast(s.high_contrast);
        a.set_min_target(self.min_target_px);
        a.set_hotline(self.hotline.as_str().into());
        a.set_staff_desk(self.staff_desk.as_str().into());
        a.set_assisted_available(self.pin_hash.is_some());
        a.set_pin_open(self.pin_open && s.help_open);
        a.set_pin_length(i32::try_from(self.pin.len()).unwrap_or(0));
        a.set_pin_status(self.pin_status.into());
    }

    /// Shows the next attract image when its time has come (at `Attract` only).
    pub(super) fn pump(&mut self, ui: &AppWindow, step: Step, now_ms: u64) {
        if step != Step::Attract || self.attract.is_empty() {
            return;
        }
        if let Some(image) = self
            .attract
            .tick(now_ms, |p| slint::Image::load_from_path(p).ok())
        {
            let a = ui.global::<Assist>();
            a.set_has_attract_image(image.is_some());
            a.set_attract_image(image.unwrap_or_default());
        }
    }

    /// A PIN was submitted at `now_ms`: true when it unlocks assisted mode.
    fn check_pin(&mut self, now_ms: u64) -> bool {
        if self.locked_until.is_some_and(|t| now_ms < t) {
            self.pin.clear();
            self.pin_status = "pin-locked";
            return false;
        }
        let ok = is_pin(&self.pin)
            && self
                .pin_hash
                .as_ref()
                .is_some_and(|h| h.verify(self.pin.as_str()));
        self.pin.clear();
        if ok {
            self.pin_failures = 0;
            self.locked_until = None;
            self.close_pin();
            return true;
        }
        self.pin_failures = self.pin_failures.saturating_add(1);
        tracing::warn!(failures = self.pin_failures, "assisted mode: wrong PIN");
        if self.pin_failures >= PIN_TRIES {
            self.pin_failures = 0;
            self.locked_until = Some(now_ms.saturating_add(PIN_LOCK_MS));
            self.pin_status = "pin-locked";
        } else {
            self.pin_status = "pin-wrong";
        }
        false
    }
}

/// Wires the `Assist` adapter's callbacks to `shell`.
pub(super) fn wire(ui: &AppWindow, shell: &Rc<RefCell<Shell>>) {
    let a = ui.global::<Assist>();
    let on = |ev: fn() -> Event| {
        let s = Rc::downgrade(shell);
        move || {
            if let Some(s) = s.upgrade() {
                s.borrow_mut().dispatch(ev());
            }
        }
    };
    a.on_open_help(on(|| Event::OpenHelp));
    a.on_call_staff(on(|| Event::CallStaff));
    a.on_cancel_staff_call(on(|| Event::CancelStaffCall));
    a.on_toggle_large_text(on(|| Event::ToggleLargeText));
    a.on_toggle_high_contrast(on(|| Event::ToggleHighContrast));
    a.on_end_assisted(on(|| Event::AssistedMode(false)));
    // The PIN pad: its state lives in the shell, only the result reaches the session.
    let with = |f: fn(&mut Shell)| {
        let s = Rc::downgrade(shell);
        move || {
            if let Some(s) = s.upgrade() {
                let mut s = s.borrow_mut();
                f(&mut s);
                s.render();
            }
        }
    };
    a.on_close_help(with(|s| {
        s.assist.close_pin();
        s.dispatch(Event::CloseHelp);
    }));
    a.on_open_pin(with(|s| {
        s.assist.close_pin();
        s.assist.pin_open = true;
        s.dispatch(Event::Touch);
    }));
    a.on_close_pin(with(|s| s.assist.close_pin()));
    a.on_pin_erase(with(|s| {
        s.assist.pin.pop();
        s.dispatch(Event::Touch);
    }));
    a.on_pin_submit(with(|s| {
        let now = (s.clock)().0;
        if s.assist.check_pin(now) {
            tracing::info!(step = ?s.session.step(), "assisted mode on");
            s.dispatch(Event::AssistedMode(true));
        } else {
            s.dispatch(Event::Touch);
        }
    }));
    let s = Rc::downgrade(shell);
    a.on_pin_digit(move |d| {
        let (Some(s), Ok(d)) = (s.upgrade(), u8::try_from(d)) else {
            return;
        };
        let mut s = s.borrow_mut();
        if d <= 9 && s.assist.pin.len() < 12 {
            s.assist.pin.push(char::from(b'0' + d));
            s.assist.pin_status = "";
        }
        s.dispatch(Event::Touch);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell_state(hash: Option<StaffPinHash>) -> AssistShell {
        AssistShell {
            audio: None,
            pin_hash: hash,
            pin: Zeroizing::new(String::new()),
            pin_open: true,
            pin_status: "",
            pin_failures: 0,
            locked_until: None,
            last_prompt: None,
            attract: AttractRotation::default(),
            hotline: String::new(),
            staff_desk: String::new(),
            min_target_px: 0.0,
        }
    }

    #[test]
    fn the_pin_unlocks_and_three_wrong_ones_lock_for_a_minute() {
        let hash = StaffPinHash::create("2468", &[1; 16]).ok();
        let mut a = shell_state(hash);
        for (i, pin) in ["1111", "2222"].iter().enumerate() {
            a.pin.push_str(pin);
            assert!(!a.check_pin(1000 + i as u64));
            assert_eq!(a.pin_status, "pin-wrong");
            assert!(a.pin.is_empty(), "a wrong PIN is cleared");
        }
        a.pin.push_str("3333");
        assert!(!a.check_pin(2000));
        assert_eq!(a.pin_status, "pin-locked");
        // Locked: even the right PIN is refused until the minute is over.
        a.pin.push_str("2468");
        assert!(!a.check_pin(2000 + PIN_LOCK_MS - 1));
        a.pin.push_str("2468");
        assert!(a.check_pin(2000 + PIN_LOCK_MS));
        assert!(!a.pin_open);
        assert_eq!(a.pin_status, "");
    }

    #[test]
    fn without_a_configured_hash_no_pin_unlocks() {
        let mut a = shell_state(None);
        a.pin.push_str("0000");
        assert!(!a.check_pin(0));
    }
}
