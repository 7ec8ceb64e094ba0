//! Spoken prompts and signal sounds.
//!
//! [`Speaker`] is the capability: say a sentence in a language, play a short [`Chime`], stop,
//! set the volume. Two implementations:
//!
//! - [`EspeakSpeaker`]: the real driver. `espeak-ng` (Debian package `espeak-ng`, whose `vi`
//!   voice reads Vietnamese) renders WAV on its standard output, piped straight into a player
//!   command reading WAV on its standard input (`aplay -q -` for ALSA, `pw-play -` for
//!   PipeWire). Chimes are WAV files made here ([`tone_wav`]) and written to the same player.
//!   Every child process is killed when it runs past its time limit, when something new is
//!   said, or on [`Speaker::stop`].
//! - [`SimSpeaker`]: silent; records what it was asked to do ([`SimSpeakerLog`]) for tests
//!   and demos.
//!
//! Speaking spawns processes, so a speaker is driven from its own thread: [`AudioWorker`]
//! owns one, takes requests over a channel (never blocking the caller) and reaps the children.
//! The text said is never logged (a prompt is not personal, but the rule is simpler).

use std::collections::BTreeSet;
use std::fmt;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::hw_error;

/// What went wrong with the audio output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AudioErrorKind {
    /// `espeak-ng` or the player command is not installed.
    NotInstalled,
    /// The speech engine has no voice for the language asked.
    NoVoice,
    /// The engine or the player failed (exit status, broken pipe, no sound device).
    Failed,
    /// The engine or the player did not finish within its time limit and was killed.
    Timeout,
}

impl fmt::Display for AudioErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotInstalled => "speech engine or audio player not installed",
            Self::NoVoice => "no speech voice for this language",
            Self::Failed => "audio output failed",
            Self::Timeout => "audio output did not finish in time",
        })
    }
}

hw_error!(
    /// An audio error: match on [`AudioError::kind`].
    AudioError,
    AudioErrorKind
);

/// A short signal sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chime {
    /// The session is about to be wiped for inactivity ("still there?").
    Warning,
    /// A citizen called staff: two rising tones, repeated by the caller as it sees fit.
    StaffCall,
}

/// Says sentences and plays chimes. Calls return once the sound has *started*; anything
/// already playing is cut off first.
pub trait Speaker: Send {
    /// Says `text` in the language `lang` (a language code such as `vi`).
    ///
    /// # Errors
    /// [`AudioErrorKind::NoVoice`] when the language has no voice; others when the engine or
    /// player cannot start.
    fn speak(&mut self, text: &str, lang: &str) -> Result<(), AudioError>;
    /// Plays `chime`.
    ///
    /// # Errors
    /// When the player cannot start.
    fn chime(&mut self, chime: Chime) -> Result<(), AudioError>;
    /// Stops whatever is playing.
    fn stop(&mut self);
    /// Volume in percent (0..=100; larger values count as 100).
    fn set_volume(&mut self, percent: u8);
    /// Reaps finished sounds and kills overdue ones; true while something plays.
    ///
    /// # Errors
    /// [`AudioErrorKind::Timeout`] when a sound was killed, [`AudioErrorKind::Failed`] when one
    /// ended with a failure status.
    fn poll(&mut self) -> Result<bool, AudioError> {
        Ok(false)
    }
}

// ---------------------------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------------------------

/// A mono 16-bit PCM WAV of `tones` (frequency in Hz, duration in ms) one after the other,
/// at `sample_rate`, scaled by `percent` (0..=100). Each tone fades in and out over 10 ms so
/// it does not click. Hand-written: a WAV header is 44 bytes of fixed layout, not worth a crate.
#[must_use]
pub fn tone_wav(tones: &[(u32, u32)], sample_rate: u32, percent: u8) -> Vec<u8> {
    let amplitude = f32::from(percent.min(100)) / 100.0 * 0.6 * f32::from(i16::MAX);
    let mut samples: Vec<i16> = Vec::new();
    let ramp = (sample_rate / 100).max(1) as usize;
    for &(freq, ms) in tones {
        let n = (u64::from(sample_rate) * u64::from(ms) / 1000) as usize;
        for i in 0..n {
            let t = i as f32 / sample_rate as f32;
            let edge = i.min(n - 1 - i);
            let fade = if edge < ramp {
                edge as f32 / ramp as f32
            } else {
                1.0
            };
            let v = (t * freq as f32 * std::f32::consts::TAU).sin() * amplitude * fade;
            samples.push(v as i16);
        }
    }
    let data_len = u32::try_from(samples.len() * 2).unwrap_or(u32::MAX - 44);
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36u32.saturating_add(data_len)).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&sample_rate.saturating_mul(2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// The tones of a chime.
#[must_use]
pub fn chime_tones(chime: Chime) -> &'static [(u32, u32)] {
    match chime {
        Chime::Warning => &[(880, 180), (660, 260)],
        Chime::StaffCall => &[(523, 160), (659, 160), (784, 300)],
    }
}

/// The language codes in the output of `espeak-ng --voices` (second column), lowercased.
#[must_use]
pub fn parse_voice_list(text: &str) -> BTreeSet<String> {
    text.lines()
        .skip(1) // header: "Pty Language Age/Gender VoiceName File Other Languages"
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The espeak-ng amplitude (`-a`, 0..=200, 100 its default loudness) for a volume in percent:
/// 100 % is the engine's default loudness, so speech never clips.
#[must_use]
pub fn espeak_amplitude(percent: u8) -> u8 {
    percent.min(100)
}

// ---------------------------------------------------------------------------------------------
// Real driver
// ---------------------------------------------------------------------------------------------

/// Settings of [`EspeakSpeaker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspeakSettings {
    /// The engine, normally `espeak-ng`.
    pub engine: String,
    /// The player command reading WAV on standard input, e.g. `["aplay", "-q", "-"]`.
    pub player: Vec<String>,
    /// Words per minute (espeak-ng's `-s`; 80..=450). Slower than the engine's 175 by default:
    /// many users are elderly.
    pub words_per_minute: u16,
    /// Volume in percent.
    pub volume: u8,
    /// Longest a sentence or chime may play before it is killed.
    pub time_limit: Duration,
}

impl Default for EspeakSettings {
    fn default() -> Self {
        Self {
            engine: "espeak-ng".into(),
            player: vec!["aplay".into(), "-q".into(), "-".into()],
            words_per_minute: 140,
            volume: 80,
            time_limit: Duration::from_secs(30),
        }
    }
}

/// The espeak-ng driver; see the module docs.
#[derive(Debug)]
pub struct EspeakSpeaker {
    settings: EspeakSettings,
    voices: BTreeSet<String>,
    playing: Vec<Child>,
    started: Option<Instant>,
}

fn spawn_error(what: &str, e: std::io::Error) -> AudioError {
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        AudioErrorKind::NotInstalled
    } else {
        AudioErrorKind::Failed
    };
    AudioError::with_source(kind, format!("cannot start {what}"), e)
}

/// Runs `cmd` with `input` on its standard input and returns its standard output, killing it
/// after `limit`.
fn run_with_limit(mut cmd: Command, input: &[u8], limit: Duration) -> Result<Vec<u8>, AudioError> {
    let name = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| spawn_error(&name, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // Short prompts fit the pipe buffer; a failed write shows in the exit status.
        let _ = stdin.write_all(input);
    }
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(AudioError::new(
                    AudioErrorKind::Timeout,
                    format!("{name} killed after {} ms", limit.as_millis()),
                ));
            }
            Err(e) => return Err(AudioError::with_source(AudioErrorKind::Failed, name, e)),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(AudioError::new(
            AudioErrorKind::Failed,
            format!("{name} exited with {status}"),
        ));
    }
    Ok(out)
}

impl EspeakSpeaker {
    /// Asks the engine for its voices (`espeak-ng --voices`, within 5 s).
    ///
    /// # Errors
    /// [`AudioErrorKind::NotInstalled`] when the engine is missing; an empty player command is
    /// [`AudioErrorKind::Failed`].
    pub fn new(settings: EspeakSettings) -> Result<Self, AudioError> {
        if settings.player.is_empty() {
            return Err(AudioError::new(
                AudioErrorKind::Failed,
                "the player command is empty",
            ));
        }
        let mut cmd = Command::new(&settings.engine);
        cmd.arg("--voices");
        let out = run_with_limit(cmd, b"", Duration::from_secs(5))?;
        let voices = parse_voice_list(&String::from_utf8_lossy(&out));
        Ok(Self {
            settings,
            voices,
            playing: Vec::new(),
            started: None,
        })
    }

    /// Whether the engine has a voice for `lang`.
    #[must_use]
    pub fn has_voice(&self, lang: &str) -> bool {
        self.voices.contains(&lang.to_ascii_lowercase())
    }

    fn voice_args(&self, lang: &str) -> Result<Vec<String>, AudioError> {
        if !self.has_voice(lang) {
            return Err(AudioError::new(
                AudioErrorKind::NoVoice,
                format!("espeak-ng has no voice `{lang}`"),
            ));
        }
        Ok(vec![
            "-v".into(),
            lang.to_ascii_lowercase(),
            "-s".into(),
            self.settings.words_per_minute.clamp(80, 450).to_string(),
            "-a".into(),
            espeak_amplitude(self.settings.volume).to_string(),
        ])
    }

    /// Renders `text` in `lang` as a WAV file (`espeak-ng --stdout`), within the time limit.
    ///
    /// # Errors
    /// As [`Speaker::speak`], plus [`AudioErrorKind::Timeout`].
    pub fn render_wav(&self, text: &str, lang: &str) -> Result<Vec<u8>, AudioError> {
        let mut cmd = Command::new(&self.settings.engine);
        cmd.args(self.voice_args(lang)?).arg("--stdout");
        run_with_limit(cmd, text.as_bytes(), self.settings.time_limit)
    }

    fn player(&self) -> Command {
        let mut cmd = Command::new(&self.settings.player[0]);
        cmd.args(&self.settings.player[1..]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    }
}

impl Speaker for EspeakSpeaker {
    fn speak(&mut self, text: &str, lang: &str) -> Result<(), AudioError> {
        self.stop();
        let args = self.voice_args(lang)?;
        let mut engine = Command::new(&self.settings.engine)
            .args(args)
            .arg("--stdout")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| spawn_error("espeak-ng", e))?;
        if let Some(mut stdin) = engine.stdin.take() {
            // A prompt is a few hundred bytes: it fits the pipe buffer, so this never waits.
            let _ = stdin.write_all(text.as_bytes());
        }
        let Some(wav) = engine.stdout.take() else {
            let _ = engine.kill();
            let _ = engine.wait();
            return Err(AudioError::new(AudioErrorKind::Failed, "no engine output"));
        };
        let player = self.player().stdin(Stdio::from(wav)).spawn();
        match player {
            Ok(p) => {
                self.playing = vec![engine, p];
                self.started = Some(Instant::now());
                Ok(())
            }
            Err(e) => {
                let _ = engine.kill();
                let _ = engine.wait();
                Err(spawn_error(&self.settings.player[0], e))
            }
        }
    }

    fn chime(&mut self, chime: Chime) -> Result<(), AudioError> {
        self.stop();
        let wav = tone_wav(chime_tones(chime), 16_000, self.settings.volume);
        let mut p = self
            .player()
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error(&self.settings.player[0], e))?;
        if let Some(mut stdin) = p.stdin.take() {
            // About 20 KB: the writer thread keeps a slow player from holding this one.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&wav);
            });
        }
        self.playing = vec![p];
        self.started = Some(Instant::now());
        Ok(())
    }

    fn stop(&mut self) {
        for mut c in self.playing.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.started = None;
    }

    fn set_volume(&mut self, percent: u8) {
        self.settings.volume = percent.min(100);
    }

    fn poll(&mut self) -> Result<bool, AudioError> {
        let Some(started) = self.started else {
            return Ok(false);
        };
        let mut failed = None;
        let mut running = false;
        for c in &mut self.playing {
            match c.try_wait() {
                Ok(Some(s)) if !s.success() => failed = Some(s),
                Ok(Some(_)) => {}
                Ok(None) => running = true,
                Err(_) => {}
            }
        }
        if running && started.elapsed() > self.settings.time_limit {
            self.stop();
            return Err(AudioError::new(
                AudioErrorKind::Timeout,
                "sound killed at its time limit",
            ));
        }
        if !running {
            self.stop();
            if let Some(s) = failed {
                return Err(AudioError::new(
                    AudioErrorKind::Failed,
                    format!("engine or player exited with {s}"),
                ));
            }
        }
        Ok(running)
    }
}

impl Drop for EspeakSpeaker {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------------
// Simulator
// ---------------------------------------------------------------------------------------------

/// One request a [`SimSpeaker`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A sentence and its language.
    Speech {
        /// What was said.
        text: String,
        /// In which language.
        lang: String,
    },
    /// A chime.
    Chime(Chime),
    /// Stop.
    Stop,
}

/// What a [`SimSpeaker`] was asked; clone it before handing the speaker to a worker.
#[derive(Debug, Clone, Default)]
pub struct SimSpeakerLog {
    heard: Arc<Mutex<Vec<Heard>>>,
    volume: Arc<Mutex<Option<u8>>>,
}

impl SimSpeakerLog {
    /// Everything heard so far, in order.
    #[must_use]
    pub fn heard(&self) -> Vec<Heard> {
        self.heard.lock().map(|h| h.clone()).unwrap_or_default()
    }
    /// The sentences heard so far, in order.
    #[must_use]
    pub fn sentences(&self) -> Vec<(String, String)> {
        self.heard()
            .into_iter()
            .filter_map(|h| match h {
                Heard::Speech { text, lang } => Some((text, lang)),
                _ => None,
            })
            .collect()
    }
    /// The last volume set.
    #[must_use]
    pub fn volume(&self) -> Option<u8> {
        self.volume.lock().ok().and_then(|v| *v)
    }
    fn push(&self, h: Heard) {
        if let Ok(mut v) = self.heard.lock() {
            v.push(h);
        }
    }
}

/// The silent speaker: records requests, plays nothing. Languages in `voices` (all when
/// empty) are spoken; others answer [`AudioErrorKind::NoVoice`] like the real driver.
#[derive(Debug, Clone, Default)]
pub struct SimSpeaker {
    log: SimSpeakerLog,
    voices: Vec<String>,
}

impl SimSpeaker {
    /// A speaker with a voice for every language.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// A speaker with voices for these languages only.
    #[must_use]
    pub fn with_voices(voices: &[&str]) -> Self {
        Self {
            log: SimSpeakerLog::default(),
            voices: voices.iter().map(|v| (*v).to_owned()).collect(),
        }
    }
    /// The log of requests (shared with the speaker).
    #[must_use]
    pub fn log(&self) -> SimSpeakerLog {
        self.log.clone()
    }
}

impl Speaker for SimSpeaker {
    fn speak(&mut self, text: &str, lang: &str) -> Result<(), AudioError> {
        if !self.voices.is_empty() && !self.voices.iter().any(|v| v == lang) {
            return Err(AudioError::new(
                AudioErrorKind::NoVoice,
                format!("no voice `{lang}`"),
            ));
        }
        self.log.push(Heard::Speech {
            text: text.to_owned(),
            lang: lang.to_owned(),
        });
        Ok(())
    }
    fn chime(&mut self, chime: Chime) -> Result<(), AudioError> {
        self.log.push(Heard::Chime(chime));
        Ok(())
    }
    fn stop(&mut self) {
        self.log.push(Heard::Stop);
    }
    fn set_volume(&mut self, percent: u8) {
        if let Ok(mut v) = self.log.volume.lock() {
            *v = Some(percent.min(100));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Worker
// ---------------------------------------------------------------------------------------------

enum Request {
    Say(String, String),
    Chime(Chime),
    Stop,
    Volume(u8),
    Muted(bool),
    Flush(Sender<()>),
}

/// A speaker on its own thread: requests never block the caller. While muted, sentences and
/// chimes are dropped (a staff call still shows on screen).
#[derive(Debug)]
pub struct AudioWorker {
    tx: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl AudioWorker {
    /// Starts the thread `kiosk-audio` owning `speaker`.
    ///
    /// # Errors
    /// When the thread cannot start.
    pub fn spawn(mut speaker: Box<dyn Speaker>, muted: bool) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Request>();
        let thread = std::thread::Builder::new()
            .name("kiosk-audio".into())
            .spawn(move || {
                let mut muted = muted;
                let report = |r: Result<(), AudioError>| {
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "audio");
                    }
                };
                loop {
                    match rx.recv_timeout(Duration::from_millis(50)) {
                        Ok(Request::Say(text, lang)) if !muted => {
                            report(speaker.speak(&text, &lang));
                        }
                        Ok(Request::Chime(c)) if !muted => report(speaker.chime(c)),
                        Ok(Request::Say(..) | Request::Chime(_)) => {}
                        Ok(Request::Stop) => speaker.stop(),
                        Ok(Request::Volume(v)) => speaker.set_volume(v),
                        Ok(Request::Muted(m)) => {
                            muted = m;
                            if m {
                                speaker.stop();
                            }
                        }
                        Ok(Request::Flush(done)) => {
                            let _ = done.send(());
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            speaker.stop();
                            return;
                        }
                    }
                    report(speaker.poll().map(|_| ()));
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    fn send(&self, r: Request) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(r);
        }
    }

    /// Says `text` in `lang`, cutting off what was playing.
    pub fn say(&self, text: &str, lang: &str) {
        self.send(Request::Say(text.to_owned(), lang.to_owned()));
    }
    /// Plays `chime`.
    pub fn chime(&self, chime: Chime) {
        self.send(Request::Chime(chime));
    }
    /// Stops the sound.
    pub fn stop(&self) {
        self.send(Request::Stop);
    }
    /// Sets the volume (percent).
    pub fn set_volume(&self, percent: u8) {
        self.send(Request::Volume(percent));
    }
    /// Mutes or unmutes.
    pub fn set_muted(&self, muted: bool) {
        self.send(Request::Muted(muted));
    }
    /// Waits until every request sent so far has been handed to the speaker (tests, and the
    /// tour, which reads a [`SimSpeakerLog`] afterwards).
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        self.send(Request::Flush(done));
        let _ = wait.recv_timeout(Duration::from_secs(10));
    }
}

impl Drop for AudioWorker {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_wav_is_a_well_formed_pcm_file() {
        let wav = tone_wav(&[(440, 100), (880, 50)], 16_000, 50);
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        let data_len = u32::from_le_bytes([wav[40], wav[41], wav[42], wav[43]]) as usize;
        // 150 ms at 16 kHz, 2 bytes a sample.
        assert_eq!(data_len, 2400 * 2);
        assert_eq!(wav.len(), 44 + data_len);
        let riff_len = u32::from_le_bytes([wav[4], wav[5], wav[6], wav[7]]) as usize;
        assert_eq!(riff_len, wav.len() - 8);
        // Volume scales the peak; 0 % is silence.
        let peak = |w: &[u8]| {
            w[44..]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]).unsigned_abs())
                .max()
                .unwrap_or(0)
        };
        assert!(peak(&wav) > 5000);
        assert!(peak(&tone_wav(&[(440, 100)], 16_000, 100)) > peak(&wav));
        assert_eq!(peak(&tone_wav(&[(440, 100)], 16_000, 0)), 0);
    }

    #[test]
    fn voice_list_gives_the_language_column() {
        let text = "Pty Language       Age/Gender VoiceName          File                 Other Languages\n \
                    5  vi              --/M      Vietnamese_(Northern) aav/vi\n \
                    5  en-GB           --/M      English            gmw/en  (en 2)\n";
        let v = parse_voice_list(text);
        assert!(v.contains("vi"));
        assert!(v.contains("en-gb"));
        assert!(!v.contains("Language"));
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn sim_speaker_records_and_refuses_unknown_voices() {
        let mut s = SimSpeaker::with_voices(&["vi", "en"]);
        let log = s.log();
        assert!(s.speak("Xin chào", "vi").is_ok());
        let e = s.speak("Nyob zoo", "hmn").err().map(|e| e.kind());
        assert_eq!(e, Some(AudioErrorKind::NoVoice));
        assert!(s.chime(Chime::Warning).is_ok());
        s.set_volume(250);
        assert_eq!(
            log.heard(),
            vec![
                Heard::Speech {
                    text: "Xin chào".into(),
                    lang: "vi".into()
                },
                Heard::Chime(Chime::Warning)
            ]
        );
        assert_eq!(log.volume(), Some(100));
    }

    #[test]
    fn worker_hands_requests_over_and_drops_them_while_muted() {
        let s = SimSpeaker::new();
        let log = s.log();
        let w = AudioWorker::spawn(Box::new(s), false).expect("thread");
        w.say("một", "vi");
        w.set_muted(true);
        w.say("hai", "vi");
        w.chime(Chime::StaffCall);
        w.set_muted(false);
        w.chime(Chime::Warning);
        w.set_volume(30);
        w.flush();
        assert_eq!(
            log.heard(),
            vec![
                Heard::Speech {
                    text: "một".into(),
                    lang: "vi".into()
                },
                Heard::Stop, // muting stops what plays
                Heard::Chime(Chime::Warning)
            ]
        );
        assert_eq!(log.volume(), Some(30));
    }

    #[test]
    fn a_missing_engine_is_not_installed() {
        let e = EspeakSpeaker::new(EspeakSettings {
            engine: "/nonexistent/espeak-ng".into(),
            ..EspeakSettings::default()
        })
        .err()
        .map(|e| e.kind());
        assert_eq!(e, Some(AudioErrorKind::NotInstalled));
    }
}
