//! First-boot provisioning's progress, as `kioskctl provision` writes it and the kiosk's
//! technician screen reads it (`<state dir>/provision-status.json`).
//!
//! Pure: steps and times (Unix seconds, passed in) in, JSON out, and back. The file holds no
//! secret: no token, no key, no certificate; the kiosk id, the site's name and the gateway's
//! URL only. `kioskctl provision` writes it atomically (temp + fsync + rename) after every
//! change; the kiosk re-reads it about once a second, so either side may start first.
//!
//! Each step's sentence and, on failure, the next step are in Vietnamese and English (the
//! technician at the kiosk reads them); the step's title comes from the kiosk's own language
//! packs (`tech-step-<id>`).

use serde::{Deserialize, Serialize};

/// The file's name inside the state folder.
pub const FILE: &str = "provision-status.json";
/// The lock file beside it: one provisioning run at a time holds it (`flock`), and the
/// technician screen holds it while its camera scans (so that no run's self-test finds the
/// camera busy).
pub const LOCK: &str = "provision.lock";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// A status file larger than this is not read (it is never close to it).
pub const MAX_BYTES: usize = 64 * 1024;

/// The provisioning steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepId {
    /// Read and validate provision.toml (and the enrolment QR).
    File,
    /// Enrol with the gateway: key pair, certificate request, one-time token.
    Enrol,
    /// The queue's encryption key.
    QueueKey,
    /// Write the kiosk configuration.
    Config,
    /// The self-test of every part.
    Selftest,
    /// The `enrolled` marker: provisioning finished.
    Enrolled,
}

impl StepId {
    /// Every step, in the order they run.
    pub const ALL: [Self; 6] = [
        Self::File,
        Self::Enrol,
        Self::QueueKey,
        Self::Config,
        Self::Selftest,
        Self::Enrolled,
    ];

    /// 1..=6, as the console lines count them.
    #[must_use]
    pub fn number(self) -> u8 {
        match self {
            Self::File => 1,
            Self::Enrol => 2,
            Self::QueueKey => 3,
            Self::Config => 4,
            Self::Selftest => 5,
            Self::Enrolled => 6,
        }
    }

    /// The step with this number.
    #[must_use]
    pub fn from_number(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.number() == n)
    }

    /// The id as written in the file (`queue-key`...), also the suffix of its locale key.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Enrol => "enrol",
            Self::QueueKey => "queue-key",
            Self::Config => "config",
            Self::Selftest => "selftest",
            Self::Enrolled => "enrolled",
        }
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    /// Under way.
    Running,
    /// Done.
    Ok,
    /// Stopped provisioning; `next` says what to do.
    Failed,
}

/// One sentence in both languages of the technician.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// Vietnamese.
    pub vi: String,
    /// English.
    pub en: String,
}

impl Text {
    /// A sentence from its two languages.
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// The sentence in `lang` (`en`; anything else reads the Vietnamese).
    #[must_use]
    pub fn in_lang(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.en
        } else {
            &self.vi
        }
    }
}

/// One step as far as it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Which step.
    pub id: StepId,
    /// Running, ok or failed.
    pub state: StepState,
    /// What happened (or what is under way).
    pub text: Text,
    /// What to do next, when the step failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Text>,
    /// When it started (Unix seconds).
    pub started_at: i64,
    /// When it ended (Unix seconds), ok or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
}

/// How provisioning was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `provision.toml` alone.
    File,
    /// An enrolment QR code (gateway and token) with `provision.toml` for the rest.
    Qr,
}

/// Where the whole run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A step is under way.
    Running,
    /// Every step passed: the kiosk is enrolled.
    Enrolled,
    /// A step failed; provisioning runs again (`retry_after_secs`) or waits for the technician.
    Failed,
}

/// The whole status file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// [`VERSION`].
    pub version: u32,
    /// File or QR.
    pub source: Source,
    /// Running, enrolled or failed.
    pub outcome: Outcome,
    /// The kiosk's id (`site.id`), once the file was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk_id: Option<String>,
    /// The site's name (`site.name`), once the file was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The gateway's URL, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Seconds until the service runs provisioning again after a failure (the unit's
    /// `RestartSec`), when it will.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// When this run started (Unix seconds).
    pub started_at: i64,
    /// When this file last changed (Unix seconds).
    pub updated_at: i64,
    /// The steps reached, in order.
    pub steps: Vec<Step>,
}

/// Why a status file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Over [`MAX_BYTES`].
    #[error("provisioning status file larger than {MAX_BYTES} bytes")]
    TooLarge,
    /// Not the JSON this build writes.
    #[error("provisioning status file: {0}")]
    Json(#[from] serde_json::Error),
    /// Another format version.
    #[error("provisioning status file of version {0}; this kiosk reads {VERSION}")]
    Version(u32),
}

impl Status {
    /// A run starting at `now`.
    #[must_use]
    pub fn new(source: Source, retry_after_secs: Option<u64>, now: i64) -> Self {
        Self {
            version: VERSION,
            source,
            outcome: Outcome::Running,
            kiosk_id: None,
            site: None,
            gateway: None,
            retry_after_secs,
            started_at: now,
            updated_at: now,
            steps: Vec::new(),
        }
    }

    /// The kiosk this run provisions, once the file named it.
    pub fn identify(&mut self, kiosk_id: &str, site: &str, gateway: &str) {
        self.kiosk_id = Some(kiosk_id.to_owned());
        self.site = Some(site.to_owned());
        self.gateway = Some(gateway.to_owned());
    }

    fn set(&mut self, id: StepId, state: StepState, text: Text, next: Option<Text>, now: i64) {
        self.updated_at = now;
        let ended_at = (state != StepState::Running).then_some(now);
        if let Some(s) = self.steps.iter_mut().find(|s| s.id == id) {
            s.state = state;
            s.text = text;
            s.next = next;
            s.ended_at = ended_at;
        } else {
            self.steps.push(Step {
                id,
                state,
                text,
                next,
                started_at: now,
                ended_at,
            });
        }
    }

    /// Step `id` starts.
    pub fn begin(&mut self, id: StepId, text: Text, now: i64) {
        self.outcome = Outcome::Running;
        self.set(id, StepState::Running, text, None, now);
    }

    /// Step `id` passed; the last step passing means the kiosk is enrolled.
    pub fn ok(&mut self, id: StepId, text: Text, now: i64) {
        self.set(id, StepState::Ok, text, None, now);
        if id == StepId::Enrolled {
            self.outcome = Outcome::Enrolled;
        }
    }

    /// Step `id` failed: `text` says why, `next` what to do.
    pub fn fail(&mut self, id: StepId, text: Text, next: Text, now: i64) {
        self.set(id, StepState::Failed, text, Some(next), now);
        self.outcome = Outcome::Failed;
    }

    /// The step that failed, if one did.
    #[must_use]
    pub fn failed_step(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.state == StepState::Failed)
    }

    /// The file's bytes (pretty JSON, one trailing newline).
    #[must_use]
    pub fn to_json(&self) -> String {
        // Plain strings, integers and enums: serialising cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a status file's bytes.
    ///
    /// # Errors
    /// [`ReadError`] for a file too large, not this JSON or of another version.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ReadError> {
        if bytes.len() > MAX_BYTES {
            return Err(ReadError::TooLarge);
        }
        let s: Self = serde_json::from_slice(bytes)?;
        if s.version != VERSION {
            return Err(ReadError::Version(s.version));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Text {
        Text::new(format!("{s} (vi)"), s)
    }

    #[test]
    fn a_failed_enrolment_vector() {
        let mut s = Status::new(Source::Qr, Some(30), 1_700_000_000);
        s.begin(StepId::File, t("reading"), 1_700_000_000);
        s.identify("HN-PB-001", "Bộ phận Một cửa", "https://gw.example.vn");
        s.ok(StepId::File, t("file ok"), 1_700_000_001);
        s.begin(StepId::Enrol, t("enrolling"), 1_700_000_001);
        s.fail(
            StepId::Enrol,
            t("no gateway"),
            t("check the cable"),
            1_700_000_021,
        );
        let want = r#"{
  "version": 1,
  "source": "qr",
  "outcome": "failed",
  "kiosk_id": "HN-PB-001",
  "site": "Bộ phận Một cửa",
  "gateway": "https://gw.example.vn",
  "retry_after_secs": 30,
  "started_at": 1700000000,
  "updated_at": 1700000021,
  "steps": [
    {
      "id": "file",
      "state": "ok",
      "text": {
        "vi": "file ok (vi)",
        "en": "file ok"
      },
      "started_at": 1700000000,
      "ended_at": 1700000001
    },
    {
      "id": "enrol",
      "state": "failed",
      "text": {
        "vi": "no gateway (vi)",
        "en": "no gateway"
      },
      "next": {
        "vi": "check the cable (vi)",
        "en": "check the cable"
      },
      "started_at": 1700000001,
      "ended_at": 1700000021
    }
  ]
}
"#;
        assert_eq!(s.to_json(), want);
        let back = Status::from_json(want.as_bytes()).expect("reads back");
        assert_eq!(back, s);
        assert_eq!(back.failed_step().map(|f| f.id), Some(StepId::Enrol));
    }

    #[test]
    fn every_step_ok_is_enrolled() {
        let mut s = Status::new(Source::File, None, 10);
        for (i, id) in StepId::ALL.into_iter().enumerate() {
            let now = 10 + i64::try_from(i).unwrap_or(0);
            s.begin(id, t("go"), now);
            assert_eq!(s.outcome, Outcome::Running);
            s.ok(id, t("done"), now + 1);
        }
        assert_eq!(s.outcome, Outcome::Enrolled);
        assert_eq!(s.steps.len(), 6);
        assert!(s.steps.iter().all(|x| x.state == StepState::Ok));
        let json = s.to_json();
        assert!(json.contains(r#""outcome": "enrolled""#), "{json}");
        assert!(json.contains(r#""id": "queue-key""#), "{json}");
        assert!(!json.contains("retry_after_secs") && !json.contains("kiosk_id"));
    }

    #[test]
    fn hostile_files_are_refused() {
        assert!(matches!(
            Status::from_json(&vec![b' '; MAX_BYTES + 1]),
            Err(ReadError::TooLarge)
        ));
        assert!(Status::from_json(b"{").is_err());
        let v2 = Status::new(Source::File, None, 0)
            .to_json()
            .replace("\"version\": 1", "\"version\": 2");
        assert!(matches!(
            Status::from_json(v2.as_bytes()),
            Err(ReadError::Version(2))
        ));
        let extra = Status::new(Source::File, None, 0)
            .to_json()
            .replace("\"version\": 1", "\"version\": 1, \"token\": \"x\"");
        assert!(Status::from_json(extra.as_bytes()).is_err());
    }

    #[test]
    fn step_numbers_round_trip() {
        for id in StepId::ALL {
            assert_eq!(StepId::from_number(id.number()), Some(id));
        }
        assert_eq!(StepId::from_number(0), None);
        assert_eq!(StepId::from_number(7), None);
    }
}
