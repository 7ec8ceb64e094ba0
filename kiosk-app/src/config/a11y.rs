//! `[audio]`, `[help]` and `[accessibility]`: spoken prompts, the help panel and assisted
//! mode, touch target size (issue 14, journeys 5 and 6). Parsed strictly like the rest of the
//! file; every error names the key and the fix.

use std::path::{Path, PathBuf};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::Deserialize;

use super::{invalid, ConfigError};

/// Where spoken prompts and chimes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AudioOutput {
    /// espeak-ng through the player command (`kiosk_hw::audio::EspeakSpeaker`).
    #[default]
    Espeak,
    /// The silent simulator (demo, tests).
    Sim,
    /// No audio at all.
    Off,
}

/// `[audio]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSettings {
    /// Which speaker.
    pub output: AudioOutput,
    /// Start muted (staff can still see calls on screen).
    pub muted: bool,
    /// Volume in percent, 0..=100.
    pub volume: u8,
    /// The player command reading WAV on standard input.
    pub player: Vec<String>,
    /// Speaking rate, words per minute (80..=300).
    pub words_per_minute: u16,
}

impl Default for AudioSettings {
    fn default() -> Self {
        Self {
            output: AudioOutput::Espeak,
            muted: false,
            volume: 80,
            player: vec!["aplay".into(), "-q".into(), "-".into()],
            words_per_minute: 140,
        }
    }
}

/// The volunteer PIN of assisted mode, as an Argon2id PHC string (`$argon2id$v=19$...`).
/// The PIN itself is never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffPinHash(String);

impl std::fmt::Debug for StaffPinHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffPinHash(<argon2id>)")
    }
}

impl StaffPinHash {
    /// Checks the PHC string: an Argon2 hash with its salt and output.
    ///
    /// # Errors
    /// A sentence saying what is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        let h = PasswordHash::new(s).map_err(|e| format!("not a PHC hash string ({e})"))?;
        if !h.algorithm.as_str().starts_with("argon2") {
            return Err(format!(
                "algorithm `{}` is not Argon2",
                h.algorithm.as_str()
            ));
        }
        if h.salt.is_none() || h.hash.is_none() {
            return Err("the hash string has no salt or no output".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// Hashes `pin` with Argon2id (default parameters) and a 16-byte `salt` from the caller's
    /// random source (`kioskctl config hash-pin`).
    ///
    /// # Errors
    /// When Argon2 refuses the input (an empty PIN, a short salt).
    pub fn create(pin: &str, salt: &[u8; 16]) -> Result<Self, String> {
        if !is_pin(pin) {
            return Err("a PIN is 4 to 12 digits".into());
        }
        let h = Argon2::default()
            .hash_password_with_salt(pin.as_bytes(), salt)
            .map_err(|e| e.to_string())?;
        Ok(Self(h.to_string()))
    }

    /// Whether `pin` matches. The comparison of the outputs is constant-time (the `phc`
    /// crate's `Output` equality); a malformed hash never matches.
    #[must_use]
    pub fn verify(&self, pin: &str) -> bool {
        let Ok(h) = PasswordHash::new(&self.0) else {
            return false;
        };
        Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok()
    }

    /// The PHC string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PIN as typed on the keypad: 4 to 12 digits.
#[must_use]
pub fn is_pin(pin: &str) -> bool {
    (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// `[help]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpSettings {
    /// The hotline shown in the help panel (digits, spaces, `+`, `-`, `.`), if any.
    pub hotline: Option<String>,
    /// Where staff are: the counter named in the help panel ("Quầy 1"), if any.
    pub staff_desk: Option<String>,
    /// The volunteer PIN of assisted mode; `None` disables assisted mode.
    pub staff_pin_hash: Option<StaffPinHash>,
    /// Assisted mode multiplies every inactivity timeout by this (2..=6).
    pub assisted_timeout_factor: u8,
    /// Folder of attract images (PNG/JPEG) shown in turn; unreadable files are skipped.
    pub attract_dir: Option<PathBuf>,
    /// Seconds each attract image stays (3..=600).
    pub attract_seconds: u64,
}

impl Default for HelpSettings {
    fn default() -> Self {
        Self {
            hotline: None,
            staff_desk: None,
            staff_pin_hash: None,
            assisted_timeout_factor: 3,
            attract_dir: None,
            attract_seconds: 8,
        }
    }
}

/// `[accessibility]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessibilitySettings {
    /// The screen's pixel density (dots per inch, at the scale the UI is drawn).
    pub dpi: f32,
    /// The smallest touch target, in millimetres (at least 15).
    pub min_target_mm: f32,
}

impl Default for AccessibilitySettings {
    fn default() -> Self {
        // A 21.5-inch 1080x1920 panel.
        Self {
            dpi: 102.0,
            min_target_mm: 15.0,
        }
    }
}

impl AccessibilitySettings {
    /// The smallest touch target in pixels at the configured density, rounded up.
    #[must_use]
    pub fn min_target_px(&self) -> f32 {
        (self.min_target_mm * self.dpi / 25.4).ceil()
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudio {
    output: Option<AudioOutput>,
    #[serde(default)]
    muted: bool,
    volume: Option<u8>,
    player: Option<Vec<String>>,
    words_per_minute: Option<u16>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHelp {
    hotline: Option<String>,
    staff_desk: Option<String>,
    staff_pin_hash: Option<String>,
    assisted_timeout_factor: Option<u8>,
    attract_dir: Option<PathBuf>,
    attract_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccessibility {
    dpi: Option<f32>,
    min_target_mm: Option<f32>,
}

type Checked<T> = Result<T, ConfigError>;

pub(super) fn validate_audio(
    path: &Path,
    text: &str,
    raw: RawAudio,
    demo: bool,
) -> Checked<AudioSettings> {
    let d = AudioSettings::default();
    let volume = raw.volume.unwrap_or(d.volume);
    if volume > 100 {
        return Err(invalid(
            path,
            text,
            "audio.volume",
            format!("volume = {volume} is out of range"),
            "use 0 to 100 (percent), e.g. 80".into(),
        ));
    }
    let player = raw.player.unwrap_or(d.player);
    if player.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(invalid(
            path,
            text,
            "audio.player",
            "the player command is empty".into(),
            "name a command reading WAV on standard input, e.g. [\"aplay\", \"-q\", \"-\"] \
             (ALSA) or [\"pw-play\", \"-\"] (PipeWire)"
                .into(),
        ));
    }
    let words_per_minute = raw.words_per_minute.unwrap_or(d.words_per_minute);
    if !(80..=300).contains(&words_per_minute) {
        return Err(invalid(
            path,
            text,
            "audio.words_per_minute",
            format!("words_per_minute = {words_per_minute} is out of range"),
            "use 80 to 300, e.g. 140 (slower than espeak-ng's 175: many users are elderly)".into(),
        ));
    }
    // A demo has no loudspeaker to rely on: silent simulator unless asked.
    let output = raw
        .output
        .unwrap_or(if demo { AudioOutput::Sim } else { d.output });
    if output == AudioOutput::Sim && !demo {
        return Err(invalid(
            path,
            text,
            "audio.output",
            "output = \"sim\" is only for demos".into(),
            "use \"espeak\", or \"off\" for a kiosk without a loudspeaker".into(),
        ));
    }
    Ok(AudioSettings {
        output,
        muted: raw.muted,
        volume,
        player,
        words_per_minute,
    })
}

pub(super) fn validate_help(path: &Path, text: &str, raw: RawHelp) -> Checked<HelpSettings> {
    let d = HelpSettings::default();
    let bad = |key: &str, problem: String, fix: &str| {
        Err(invalid(path, text, key, problem, fix.to_owned()))
    };
    if let Some(h) = &raw.hotline {
        let digits = h.bytes().filter(u8::is_ascii_digit).count();
        if !(3..=15).contains(&digits)
            || !h
                .bytes()
                .all(|b| b.is_ascii_digit() || b" +-.()".contains(&b))
        {
            return bad(
                "help.hotline",
                format!("hotline {h:?} is not a phone number"),
                "use digits with spaces, `+`, `-`, `.`, e.g. \"1900 1234\" or \"0214 3820 000\"",
            );
        }
    }
    if let Some(desk) = &raw.staff_desk {
        if desk.trim().is_empty() || desk.chars().count() > 40 {
            return bad(
                "help.staff_desk",
                "staff_desk is empty or longer than 40 characters".into(),
                "name the counter briefly, e.g. \"Quầy 1\", or remove the key",
            );
        }
    }
    let staff_pin_hash = match raw.staff_pin_hash.as_deref().map(StaffPinHash::parse) {
        None => None,
        Some(Ok(h)) => Some(h),
        Some(Err(problem)) => {
            return bad(
                "help.staff_pin_hash",
                problem,
                "paste the line printed by `kioskctl config hash-pin` (an Argon2id hash; the \
                 PIN itself is never written in the file), or remove the key to disable \
                 assisted mode",
            )
        }
    };
    let factor = raw
        .assisted_timeout_factor
        .unwrap_or(d.assisted_timeout_factor);
    if !(2..=6).contains(&factor) {
        return bad(
            "help.assisted_timeout_factor",
            format!("assisted_timeout_factor = {factor} is out of range"),
            "use 2 to 6, e.g. 3 (assisted mode triples every inactivity timeout)",
        );
    }
    let attract_seconds = raw.attract_seconds.unwrap_or(d.attract_seconds);
    if !(3..=600).contains(&attract_seconds) {
        return bad(
            "help.attract_seconds",
            format!("attract_seconds = {attract_seconds} is out of range"),
            "use 3 to 600, e.g. 8",
        );
    }
    Ok(HelpSettings {
        hotline: raw.hotline,
        staff_desk: raw.staff_desk,
        staff_pin_hash,
        assisted_timeout_factor: factor,
        attract_dir: raw.attract_dir,
        attract_seconds,
    })
}

pub(super) fn validate_accessibility(
    path: &Path,
    text: &str,
    raw: RawAccessibility,
) -> Checked<AccessibilitySettings> {
    let d = AccessibilitySettings::default();
    let dpi = raw.dpi.unwrap_or(d.dpi);
    if !(50.0..=600.0).contains(&dpi) {
        return Err(invalid(
            path,
            text,
            "accessibility.dpi",
            format!("dpi = {dpi} is out of range"),
            "use the panel's density, 50 to 600 (a 21.5-inch 1080x1920 panel is about 102)".into(),
        ));
    }
    let min_target_mm = raw.min_target_mm.unwrap_or(d.min_target_mm);
    if !(15.0..=40.0).contains(&min_target_mm) {
        return Err(invalid(
            path,
            text,
            "accessibility.min_target_mm",
            format!("min_target_mm = {min_target_mm} is out of range"),
            "use 15 to 40 (15 mm is the smallest target an elderly citizen hits reliably)".into(),
        ));
    }
    Ok(AccessibilitySettings { dpi, min_target_mm })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_hash_verifies_only_its_pin() {
        let h = StaffPinHash::create("2468", &[7; 16]).expect("hash");
        assert!(h.as_str().starts_with("$argon2id$"));
        assert!(!h.as_str().contains("2468"));
        let parsed = StaffPinHash::parse(h.as_str()).expect("parses");
        assert!(parsed.verify("2468"));
        assert!(!parsed.verify("2469"));
        assert!(!parsed.verify(""));
        assert!(StaffPinHash::create("12", &[7; 16]).is_err());
        assert!(StaffPinHash::parse("2468").is_err());
        assert!(StaffPinHash::parse("$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2g").is_err());
        assert!(!format!("{parsed:?}").contains("argon2id$v"));
    }

    #[test]
    fn target_size_follows_the_density() {
        let a = AccessibilitySettings::default();
        assert_eq!(a.min_target_px(), 61.0); // 15 mm at 102 dpi
        let dense = AccessibilitySettings {
            dpi: 300.0,
            min_target_mm: 15.0,
        };
        assert_eq!(dense.min_target_px(), 178.0);
    }
}
