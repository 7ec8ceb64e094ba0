//! The kiosk configuration: one TOML file, parsed strictly.
//!
//! Two steps, as ripgrep does it: the file is deserialised into `Raw*` structs that mirror the
//! TOML (every table `deny_unknown_fields`), then [`validate`]d into [`KioskConfig`], whose
//! types say what was checked (a [`GatewayUrl`] is https or a demo loopback address, a
//! [`PrinterSpec`] is one of the three printer kinds...). Code after loading never re-checks.
//!
//! Every [`ConfigError`] names the file, the line and column when known, the key path
//! (`gateway.url`), what is wrong and how to fix it: the reader is a technician in front of a
//! kiosk, not the author of this code.
//!
//! All durations in the file are whole seconds, except where the key names its unit
//! (`queue.max_age_hours`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::session::{SessionConfig, StepTimeouts};

mod a11y;
pub use a11y::{
    is_pin, AccessibilitySettings, AudioOutput, AudioSettings, HelpSettings, StaffPinHash,
};

/// What kind of place the kiosk serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A one-stop-shop office: administrative procedures (TTHC).
    OneStopShop,
    /// A hospital or clinic: examination registration.
    Hospital,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OneStopShop => "one-stop-shop",
            Self::Hospital => "hospital",
        })
    }
}

/// Screen orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Orientation {
    /// Taller than wide (most floor-standing kiosks).
    #[default]
    Portrait,
    /// Wider than tall.
    Landscape,
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default.
    #[default]
    Info,
    /// Developer detail.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The `tracing` directive for this level.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

/// Where logs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// journald when started by systemd (`JOURNAL_STREAM` set), text otherwise.
    #[default]
    Auto,
    /// Always the systemd journal.
    Journald,
    /// Human-readable text on stderr.
    Text,
}

/// Where a problem was found in the file (1-based; the column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// Broad class of a configuration error, for code that reacts differently (tests, kioskctl).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io,
    /// Not valid TOML.
    Syntax,
    /// A key this version does not know.
    UnknownKey,
    /// A required key is absent.
    MissingKey,
    /// A value of the wrong TOML type.
    WrongType,
    /// A value of the right type that is not acceptable.
    InvalidValue,
}

/// A configuration (or catalogue) file problem, ready to show a technician.
///
/// Boxed: errors are rare and `Result<KioskConfig, ConfigError>` should stay small.
#[derive(Debug)]
pub struct ConfigError(Box<Details>);

#[derive(Debug)]
struct Details {
    file: PathBuf,
    kind: ConfigErrorKind,
    key: Option<String>,
    location: Option<Location>,
    problem: String,
    fix: String,
    source: Option<std::io::Error>,
}

impl From<Details> for ConfigError {
    fn from(d: Details) -> Self {
        Self(Box::new(d))
    }
}

impl ConfigError {
    /// The file the problem is in.
    #[must_use]
    pub fn file(&self) -> &Path {
        &self.0.file
    }
    /// The class of problem.
    #[must_use]
    pub fn kind(&self) -> ConfigErrorKind {
        self.0.kind
    }
    /// Dotted key path, e.g. `gateway.url` or `procedure[2].title`.
    #[must_use]
    pub fn key(&self) -> Option<&str> {
        self.0.key.as_deref()
    }
    /// Line and column when known.
    #[must_use]
    pub fn location(&self) -> Option<Location> {
        self.0.location
    }
    /// What is wrong.
    #[must_use]
    pub fn problem(&self) -> &str {
        &self.0.problem
    }
    /// How to fix it.
    #[must_use]
    pub fn fix(&self) -> &str {
        &self.0.fix
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.file.display())?;
        if let Some(l) = self.0.location {
            write!(f, ":{}:{}", l.line, l.column)?;
        }
        if let Some(k) = &self.0.key {
            write!(f, ": `{k}`")?;
        }
        write!(f, ": {}; {}", self.0.problem, self.0.fix)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source.as_ref().map(|e| e as _)
    }
}

// ---------------------------------------------------------------------------------------------
// Validated configuration
// ---------------------------------------------------------------------------------------------

/// The validated kiosk configuration.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KioskConfig {
    /// Where the kiosk stands.
    pub site: Site,
    /// One-stop shop or hospital.
    pub mode: Mode,
    /// The provincial kiosk gateway.
    pub gateway: Gateway,
    /// Which hardware to drive.
    pub devices: Devices,
    /// How chips are verified.
    pub card: CardSettings,
    /// How faces are verified.
    pub face: FaceSettings,
    /// Session timeouts and limits.
    pub session: SessionConfig,
    /// Screen and languages.
    pub ui: Ui,
    /// Logging.
    pub logging: LoggingSettings,
    /// The encrypted submission queue and its retry policy.
    pub queue: QueueSettings,
    /// Demo mode: simulators and a loopback gateway are allowed.
    pub demo: bool,
    /// A catalogue file replacing the built-in one.
    pub catalog_file: Option<PathBuf>,
    /// Spoken prompts and chimes (`[audio]`).
    pub audio: AudioSettings,
    /// The help panel, calling staff, assisted mode, attract images (`[help]`).
    pub help: HelpSettings,
    /// Touch target size (`[accessibility]`).
    pub accessibility: AccessibilitySettings,
    /// Vietnam's administrative units for the address picker (the `vietnam-provinces`
    /// package's `nested-divisions.json`, fetched by `cargo xtask setup`); without it the
    /// kiosk offers the checked-in sample of five provinces ([`crate::admin_units`]).
    pub admin_units_file: Option<PathBuf>,
    /// SHA-256 of the configuration text, 64 lower-case hex digits: the heartbeat reports it
    /// so that a fleet operator sees which kiosks run a changed configuration.
    pub source_sha256: String,
}

/// `[site]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Kiosk site id (ASCII slug), used in logs and dossier metadata.
    pub id: String,
    /// Human name of the place.
    pub name: String,
    /// Two-digit province code (e.g. `01` Hà Nội).
    pub province_code: Option<String>,
    /// The portal's status-lookup page the receipt's QR code links to, with the dossier and
    /// lookup codes filled in (`lookup_url`); without it the QR holds the kiosk's own
    /// `VNKIOSK1` payload.
    pub lookup_url: Option<crate::receipt::LookupUrl>,
    /// Where the citizen collects the result (`result_place`), printed on form 01 under the
    /// appointment, e.g. "Bộ phận Một cửa, 126 Hàng Trống".
    pub result_place: Option<String>,
}

/// A gateway URL checked to be https, or http to loopback in demo mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayUrl(String);

impl GatewayUrl {
    /// The URL text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `[gateway]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// Base URL.
    pub url: GatewayUrl,
    /// The deployment's CA (the only trust root) in PEM.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS; both or neither.
    pub client_identity: Option<(PathBuf, PathBuf)>,
    /// Request timeout in seconds.
    pub timeout_secs: u64,
    /// SHA-256 of the gateway certificate's SubjectPublicKeyInfo (`spki_sha256`, 64 hex
    /// digits), if the deployment pins it.
    pub spki_sha256: Option<[u8; 32]>,
    /// FHIR base URL (`fhir_url`, hospital mode only): clinic registrations go there as FHIR
    /// R4 transaction Bundles instead of to `url`; same scheme, CA and client certificate.
    pub fhir_url: Option<GatewayUrl>,
    /// Download the service catalogue from `GET /v1/catalog` at start-up (`catalog_download`),
    /// keeping the last good copy in `catalog_cache`.
    pub catalog_download: bool,
    /// Where the last good downloaded catalogue is kept (`catalog_cache`).
    pub catalog_cache: PathBuf,
    /// How often the kiosk posts its heartbeat to `POST /v1/heartbeat` over mutual TLS
    /// (`heartbeat_interval_s`, 10 to 3600 seconds, default 60); `None` (`0`): never.
    pub heartbeat_interval: Option<std::time::Duration>,
}

/// Which card reader to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardReaderSpec {
    /// The simulator (demo only).
    Sim,
    /// The first PC/SC reader with contactless support.
    Auto,
    /// A PC/SC reader by name.
    Named(String),
}

/// Which camera to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSpec {
    /// Synthetic frames (demo only).
    Sim,
    /// Frames replayed from a directory or file (demo only).
    Replay(PathBuf),
    /// A V4L2 device such as `/dev/video0`.
    Device(PathBuf),
    /// The first V4L2 capture device offering MJPG or YUYV (`auto`), looked up whenever the
    /// camera is (re)opened.
    Auto,
}

/// Where QR codes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrSpec {
    /// Decoded from the camera.
    Camera,
    /// Simulated (demo only).
    Sim,
}

/// Which receipt printer to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterSpec {
    /// Receipts written as files to a directory (demo only).
    Sim(PathBuf),
    /// The virtual ESC/POS printer on 127.0.0.1, started by the kiosk, writing its receipts to
    /// a directory; the kiosk prints to it through the real TCP driver (demo only).
    Virtual(PathBuf),
    /// A USB line printer device such as `/dev/usb/lp0`.
    Usb(PathBuf),
    /// A network printer (raw port, usually 9100).
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A serial printer such as `/dev/ttyUSB0` at a baud rate.
    Serial {
        /// The serial device.
        path: PathBuf,
        /// Baud rate.
        baud: u32,
    },
}

impl PrinterSpec {
    /// The ESC/POS device of a real printer; `None` for the simulators.
    pub fn device(&self) -> Option<kiosk_hw::printer::PrinterDevice> {
        use kiosk_hw::printer::PrinterDevice;
        match self {
            Self::Sim(_) | Self::Virtual(_) => None,
            Self::Usb(path) => Some(PrinterDevice::Usb(path.clone())),
            Self::Tcp { host, port } => Some(PrinterDevice::Tcp {
                host: host.clone(),
                port: *port,
            }),
            Self::Serial { path, baud } => Some(PrinterDevice::Serial {
                path: path.clone(),
                baud: *baud,
            }),
        }
    }
}

impl std::fmt::Display for PrinterSpec {
    /// The configuration's spelling, e.g. `tcp:192.168.10.50:9100`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self, self.device()) {
            (Self::Sim(dir), _) => write!(f, "sim:{}", dir.display()),
            (Self::Virtual(dir), _) => write!(f, "virtual:{}", dir.display()),
            (_, Some(device)) => device.fmt(f),
            (_, None) => Ok(()),
        }
    }
}

/// `[devices]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Devices {
    /// Card reader.
    pub card_reader: CardReaderSpec,
    /// Camera.
    pub camera: CameraSpec,
    /// A second, infrared camera for liveness checks (`ir_camera`, optional; read by the face
    /// pipeline when it lands).
    pub ir_camera: Option<CameraSpec>,
    /// QR source.
    pub qr: QrSpec,
    /// Receipt printer.
    pub printer: PrinterSpec,
    /// Paper roll width (`printer_width`, "80mm" by default).
    pub printer_width: kiosk_hw::printer::PaperWidth,
    /// Print within 512 dots on 80 mm paper (`printer_safe_area`), for printers that print
    /// less than 576 dots.
    pub printer_safe_area: bool,
}

impl Devices {
    /// Printable width of receipts in dots: 576, 512 (80 mm with the safe area) or 384.
    pub fn printer_dots(&self) -> u32 {
        self.printer_width.dots(self.printer_safe_area)
    }
}

/// `[card]`: how the chip is verified.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardSettings {
    /// Folder of trusted CSCA certificates (DER or PEM, one or more per file) for passive
    /// authentication. Required unless `demo = true` (the demo's virtual card brings its own
    /// generated test CSCA).
    pub trust_dir: Option<PathBuf>,
    /// Demo only: accept a chip whose SOD signature, Document Signer certificate and data
    /// group hashes verify but whose CSCA is not in `trust_dir` (real cards at a
    /// demonstration: Vietnam's CSCA is not public). Hash mismatches and bad signatures are
    /// never accepted.
    pub allow_unknown_csca: bool,
}

/// `[ui]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ui {
    /// Languages in the order the language screen shows them.
    pub languages: Vec<String>,
    /// The language before the citizen chooses; one of `languages`.
    pub default_language: String,
    /// Screen orientation.
    pub orientation: Orientation,
    /// Extra locale folder (minority-language packs).
    pub locales_dir: Option<PathBuf>,
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoggingSettings {
    /// Level, overridden by the `KIOSK_LOG` environment variable.
    pub level: LogLevel,
    /// Sink.
    pub format: LogFormat,
    /// Also write text logs to this file.
    pub file: Option<PathBuf>,
}

/// `[queue]`: the encrypted submission outbox and how its worker retries.
///
/// In demo mode `path` and `key_file` are not used unless `keep_in_demo` is set (the demo's
/// queue is a throw-away folder with its own key); the retry settings are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// The SQLCipher database (`path`); default [`DEFAULT_QUEUE_PATH`].
    pub path: PathBuf,
    /// The queue key, 64 hex digits, mode 0600 (`key_file`); default
    /// [`DEFAULT_QUEUE_KEY_FILE`], written by `kioskctl queue init-key`.
    pub key_file: PathBuf,
    /// First retry ceiling in seconds (`backoff_base_secs`, 1..=300; default 2).
    pub backoff_base_secs: u64,
    /// Largest retry ceiling in seconds (`backoff_cap_secs`, base..=86400; default 900).
    pub backoff_cap_secs: u64,
    /// Undelivered submissions older than this many hours become dead letters with an
    /// operator alert (`max_age_hours`, 1..=720; default 168, a week).
    pub max_age_hours: u64,
    /// The queue database's size limit in MiB (`max_size_mb`, 16..=65536; default 512): a
    /// full queue refuses new submissions (the citizen is sent to the counter) before the
    /// data partition is full. Set it below the partition's free space.
    pub max_size_mb: u32,
    /// A demo kiosk (`demo = true`) keeps its queue at `path` with `key_file` too, instead of
    /// a throw-away one (`keep_in_demo`; default false): a demonstration kiosk enrolled with
    /// a real gateway, such as the image's boot test, whose submissions must survive a reset.
    pub keep_in_demo: bool,
}

/// SQLCipher's page size: 4 KiB, 256 pages to the MiB.
const QUEUE_PAGES_PER_MB: u32 = 256;

/// Where the kiosk keeps its submission queue unless `queue.path` says otherwise.
pub const DEFAULT_QUEUE_PATH: &str = "/var/lib/kiosk/queue.db";
/// Where the queue key is unless `queue.key_file` says otherwise.
pub const DEFAULT_QUEUE_KEY_FILE: &str = "/etc/kiosk/queue.key";

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            path: PathBuf::from(DEFAULT_QUEUE_PATH),
            key_file: PathBuf::from(DEFAULT_QUEUE_KEY_FILE),
            backoff_base_secs: 2,
            backoff_cap_secs: 15 * 60,
            max_age_hours: 7 * 24,
            max_size_mb: 512,
            keep_in_demo: false,
        }
    }
}

impl QueueSettings {
    /// How the kiosk opens its queue: with the `max_size_mb` limit as SQLite's page limit.
    #[must_use]
    pub fn open_options(&self) -> kiosk_outbox::OpenOptions {
        kiosk_outbox::OpenOptions {
            // Validated to 16..=65536 MiB: at most 2^24 pages, so the product fits.
            max_pages: self.max_size_mb.checked_mul(QUEUE_PAGES_PER_MB),
            ..kiosk_outbox::OpenOptions::default()
        }
    }

    /// The outbox worker's settings: these retry bounds and `send_timeout` (the transport's
    /// timeout, `gateway.timeout`, from which the worker derives its lease) over the worker's
    /// defaults for the rest (probe interval, dead-letter retention...).
    #[must_use]
    pub fn worker_config(&self, send_timeout: Duration) -> kiosk_outbox::WorkerConfig {
        kiosk_outbox::WorkerConfig {
            send_timeout,
            backoff: kiosk_outbox::Backoff {
                base: Duration::from_secs(self.backoff_base_secs),
                cap: Duration::from_secs(self.backoff_cap_secs),
            },
            // Validated to at most 720 h; saturating for a hand-built QueueSettings.
            max_age: Duration::from_secs(self.max_age_hours.saturating_mul(3600)),
            clock_floor_ms: crate::clock::floor_secs().saturating_mul(1000),
            ..kiosk_outbox::WorkerConfig::default()
        }
    }
}

/// Which face verifier runs the face step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceVerifierKind {
    /// dlib detection, landmarks and embedding (kiosk-face) with quality gates and the
    /// head-turn liveness challenge.
    Dlib,
    /// Demo only: shows the camera for two seconds and accepts.
    Simulated,
}

/// `[face]`: how the face step decides.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceSettings {
    /// `verifier = "dlib" | "simulated"`; default `dlib`, or `simulated` when `demo = true`.
    pub verifier: FaceVerifierKind,
    /// Folder of the model files (`models_dir`); default /usr/share/cccd-kiosk/face, where the
    /// kiosk image installs them (`cargo xtask setup` fetches them for a checkout).
    pub models_dir: PathBuf,
    /// Largest embedding distance accepted as the same person (0.3..=0.6; default 0.5, from
    /// the evaluation in docs/BENCHMARKS.md).
    pub threshold: f32,
    /// Head turns asked for by the liveness challenge (1..=3; 0 only with `demo = true`).
    pub liveness_turns: usize,
    /// The camera image is mirrored (left and right swapped).
    pub mirrored: bool,
}

/// Where the kiosk image installs the face models.
pub const DEFAULT_FACE_MODELS_DIR: &str = "/usr/share/cccd-kiosk/face";

// ---------------------------------------------------------------------------------------------
// Raw configuration (mirrors the file)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: RawSite,
    mode: Mode,
    gateway: RawGateway,
    devices: RawDevices,
    #[serde(default)]
    card: RawCard,
    #[serde(default)]
    face: RawFace,
    #[serde(default)]
    timeouts: RawTimeouts,
    #[serde(default)]
    session: RawSession,
    #[serde(default)]
    ui: RawUi,
    #[serde(default)]
    logging: RawLogging,
    #[serde(default)]
    queue: RawQueue,
    #[serde(default)]
    demo: bool,
    #[serde(default)]
    catalog_file: Option<PathBuf>,
    #[serde(default)]
    audio: a11y::RawAudio,
    #[serde(default)]
    help: a11y::RawHelp,
    #[serde(default)]
    accessibility: a11y::RawAccessibility,
    admin_units_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    id: String,
    name: String,
    #[serde(default)]
    province_code: Option<String>,
    #[serde(default)]
    lookup_url: Option<String>,
    #[serde(default)]
    result_place: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGateway {
    url: String,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    client_cert: Option<PathBuf>,
    #[serde(default)]
    client_key: Option<PathBuf>,
    #[serde(default = "default_gateway_timeout")]
    timeout: u64,
    #[serde(default)]
    spki_sha256: Option<String>,
    #[serde(default)]
    fhir_url: Option<String>,
    #[serde(default)]
    catalog_download: bool,
    #[serde(default = "default_catalog_cache")]
    catalog_cache: PathBuf,
    #[serde(default = "default_heartbeat_interval")]
    heartbeat_interval_s: u64,
}

fn default_heartbeat_interval() -> u64 {
    60
}

fn default_catalog_cache() -> PathBuf {
    PathBuf::from("/var/lib/kiosk/catalog.json")
}

/// `sim`, `replay:/path`, `/dev/videoN` or `auto`; the error is (problem, fix).
pub(crate) fn parse_camera(value: &str) -> Result<CameraSpec, (String, &'static str)> {
    if value == "sim" {
        return Ok(CameraSpec::Sim);
    }
    if value == "auto" {
        return Ok(CameraSpec::Auto);
    }
    if let Some(p) = value.strip_prefix("replay:") {
        if p.is_empty() {
            return Err((
                "replay: without a path".into(),
                "use \"replay:/path/to/frames\"",
            ));
        }
        return Ok(CameraSpec::Replay(PathBuf::from(p)));
    }
    let is_v4l2 = value
        .strip_prefix("/dev/video")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if is_v4l2 {
        return Ok(CameraSpec::Device(PathBuf::from(value)));
    }
    Err((
        format!("camera = {value:?} is not valid"),
        "use \"auto\", a V4L2 device such as \"/dev/video0\", or in a demo \"sim\" or \"replay:/path\"",
    ))
}

fn default_gateway_timeout() -> u64 {
    15
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevices {
    card_reader: String,
    camera: String,
    #[serde(default)]
    ir_camera: Option<String>,
    qr: String,
    printer: String,
    #[serde(default)]
    printer_width: Option<String>,
    #[serde(default)]
    printer_safe_area: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCard {
    trust_dir: Option<PathBuf>,
    #[serde(default)]
    allow_unknown_csca: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFace {
    verifier: Option<String>,
    models_dir: Option<PathBuf>,
    threshold: Option<f32>,
    liveness_turns: Option<usize>,
    #[serde(default)]
    mirrored: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    language: Option<u64>,
    identify: Option<u64>,
    consent: Option<u64>,
    verify_face: Option<u64>,
    choose_service: Option<u64>,
    confirm: Option<u64>,
    submitting: Option<u64>,
    receipt: Option<u64>,
    notice: Option<u64>,
    warn_before: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSession {
    max_face_attempts: Option<u8>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUi {
    languages: Option<Vec<String>>,
    default_language: Option<String>,
    #[serde(default)]
    orientation: Orientation,
    locales_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLogging {
    #[serde(default)]
    level: LogLevel,
    #[serde(default)]
    format: LogFormat,
    file: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    path: Option<PathBuf>,
    key_file: Option<PathBuf>,
    backoff_base_secs: Option<u64>,
    backoff_cap_secs: Option<u64>,
    max_age_hours: Option<u64>,
    max_size_mb: Option<u32>,
    keep_in_demo: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// Reads, parses and validates the configuration file at `path`.
///
/// # Errors
/// A [`ConfigError`] naming the file, key, location, problem and fix.
pub fn load(path: &Path) -> Result<KioskConfig, ConfigError> {
    let text = read_file(path)?;
    from_toml(path, &text)
}

/// Parses and validates configuration text; `path` is only used in messages.
///
/// # Errors
/// As [`load`].
pub fn from_toml(path: &Path, text: &str) -> Result<KioskConfig, ConfigError> {
    let raw: RawConfig = parse_strict(path, text)?;
    validate(path, text, raw)
}

pub(crate) fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigError::from(Details {
            file: path.to_owned(),
            kind: ConfigErrorKind::Io,
            key: None,
            location: None,
            problem: format!("cannot read the file: {e}"),
            fix: "check the path and that the kiosk user may read it".to_owned(),
            source: Some(e),
        })
    })
}

/// Deserialises `text` and turns serde's messages into technician-grade ones.
pub(crate) fn parse_strict<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    let doc = DeTable::parse(text).map_err(|e| ConfigError::from(Details {
        file: path.to_owned(),
        kind: ConfigErrorKind::Syntax,
        key: None,
        location: e.span().map(|s| location(text, s.start)),
        problem: format!("not valid TOML: {}", e.message().trim()),
        fix: "fix the syntax at that position (quotes around strings, `key = value`, [table] headers)"
            .to_owned(),
        source: None,
    }))?;
    toml::from_str(text).map_err(|e| from_serde(path, text, doc.get_ref(), &e))
}

fn from_serde(path: &Path, text: &str, doc: &DeTable<'_>, e: &toml::de::Error) -> ConfigError {
    let msg = e.message().trim();
    let span = e.span();
    let loc = span.as_ref().map(|s| location(text, s.start));
    let mut segments = span.map(|s| path_at(doc, s.start)).unwrap_or_default();
    let quoted = backticked(msg);
    let err = |kind, key: String, problem: String, fix: String| {
        ConfigError::from(Details {
            file: path.to_owned(),
            kind,
            key: (!key.is_empty()).then_some(key),
            location: loc,
            problem,
            fix,
            source: None,
        })
    };
    if msg.starts_with("unknown field") {
        let unknown = quoted.first().cloned().unwrap_or_default();
        // The span points at the unknown key itself; the table is its parent.
        if segments.last().is_some_and(|s| *s == unknown) {
            segments.pop();
        }
        let table = join(&segments);
        let valid = &quoted[1.min(quoted.len())..];
        let mut fix = match suggest(&unknown, valid) {
            Some(s) => format!("did you mean `{s}`? "),
            None => "remove it or check the spelling; ".to_owned(),
        };
        fix.push_str(&format!("valid keys: {}", list(valid)));
        let place = if table.is_empty() {
            "at the top level".to_owned()
        } else {
            format!("in [{table}]")
        };
        segments.push(unknown.clone());
        return err(
            ConfigErrorKind::UnknownKey,
            join(&segments),
            format!("unknown key `{unknown}` {place}"),
            fix,
        );
    }
    if msg.starts_with("unknown variant") {
        let bad = quoted.first().cloned().unwrap_or_default();
        let valid = &quoted[1.min(quoted.len())..];
        let key = join(&segments);
        let name = segments.last().cloned().unwrap_or_default();
        let choices = valid
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect::<Vec<_>>()
            .join(" or ");
        return err(
            ConfigErrorKind::InvalidValue,
            key,
            format!("{name} = \"{bad}\" is not valid"),
            format!("use {choices}"),
        );
    }
    if msg.starts_with("missing field") {
        let missing = quoted.first().cloned().unwrap_or_default();
        let table = join(&segments);
        let place = if table.is_empty() {
            "at the top level".to_owned()
        } else {
            format!("in [{table}]")
        };
        segments.push(missing.clone());
        return err(
            ConfigErrorKind::MissingKey,
            join(&segments),
            format!("missing key `{missing}` {place}"),
            format!("add `{missing} = ...` (see config/example-one-stop-shop.toml)"),
        );
    }
    err(
        ConfigErrorKind::WrongType,
        join(&segments),
        msg.to_owned(),
        "give the value the type shown in config/example-one-stop-shop.toml".to_owned(),
    )
}

/// Builds an [`ConfigErrorKind::InvalidValue`] error for `key`, locating it in `text`.
/// A key the file must have in this configuration (e.g. `card.trust_dir` when `demo = false`).
/// Located at its table if present, else at `demo` (which makes it required), else line 1.
fn missing(path: &Path, text: &str, key: &str, problem: String, fix: String) -> ConfigError {
    let mut e = invalid(path, text, key, problem, fix);
    e.0.kind = ConfigErrorKind::MissingKey;
    if e.0.location.is_none() {
        let table = key.split('.').next().unwrap_or_default();
        let start = DeTable::parse(text).ok().and_then(|doc| {
            span_of(doc.get_ref(), table).or_else(|| span_of(doc.get_ref(), "demo"))
        });
        e.0.location = Some(location(text, start.unwrap_or(0)));
    }
    e
}

pub(crate) fn invalid(
    path: &Path,
    text: &str,
    key: &str,
    problem: String,
    fix: String,
) -> ConfigError {
    let location = DeTable::parse(text)
        .ok()
        .and_then(|doc| span_of(doc.get_ref(), key))
        .map(|start| location(text, start));
    ConfigError::from(Details {
        file: path.to_owned(),
        kind: ConfigErrorKind::InvalidValue,
        key: Some(key.to_owned()),
        location,
        problem,
        fix,
        source: None,
    })
}

fn location(text: &str, offset: usize) -> Location {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    Location { line, column }
}

/// The key path (`["gateway", "url"]`, `["procedure", "[0]", "id"]`) whose key or value covers
/// byte `offset`.
fn path_at(doc: &DeTable<'_>, offset: usize) -> Vec<String> {
    fn walk_value(v: &Spanned<DeValue<'_>>, offset: usize, out: &mut Vec<String>) {
        match v.get_ref() {
            DeValue::Table(t) => walk_table(t, offset, out),
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    if item.span().contains(&offset) {
                        out.push(format!("[{i}]"));
                        walk_value(item, offset, out);
                        return;
                    }
                }
            }
            _ => {}
        }
    }
    fn walk_table(t: &DeTable<'_>, offset: usize, out: &mut Vec<String>) {
        for (k, v) in t.iter() {
            if k.span().contains(&offset) || v.span().contains(&offset) {
                out.push(k.get_ref().to_string());
                walk_value(v, offset, out);
                return;
            }
        }
    }
    // First look for the key or scalar value the offset points into anywhere in the tree:
    // the items of an array of tables (`[[procedure]]`) have spans that do not cover their
    // keys, so a containment walk alone would stop at the top level.
    fn find(v: &DeValue<'_>, offset: usize, out: &mut Vec<String>) -> bool {
        let hit = |v: &Spanned<DeValue<'_>>| {
            !matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_))
                && v.span().contains(&offset)
        };
        match v {
            DeValue::Table(t) => {
                for (k, item) in t.iter() {
                    out.push(k.get_ref().to_string());
                    if k.span().contains(&offset) || hit(item) || find(item.get_ref(), offset, out)
                    {
                        return true;
                    }
                    out.pop();
                }
                false
            }
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    out.push(format!("[{i}]"));
                    if hit(item) || find(item.get_ref(), offset, out) {
                        return true;
                    }
                    out.pop();
                }
                false
            }
            _ => false,
        }
    }
    let mut out = Vec::new();
    if find(&DeValue::Table(doc.clone()), offset, &mut out) {
        return out;
    }
    out.clear();
    walk_table(doc, offset, &mut out);
    out
}

/// Byte offset of the value at dotted `key` (`a.b`, `a[0].b`).
fn span_of(doc: &DeTable<'_>, key: &str) -> Option<usize> {
    let mut table = doc;
    let mut found: Option<&Spanned<DeValue<'_>>> = None;
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if let Some(prev) = found {
            table = prev.get_ref().as_table()?;
        }
        let mut v = table.get(name)?;
        if let Some(i) = index {
            v = v.get_ref().as_array()?.get(i)?;
        }
        found = Some(v);
    }
    found.map(|v| v.span().start)
}

fn join(segments: &[String]) -> String {
    let mut s = String::new();
    for seg in segments {
        if !s.is_empty() && !seg.starts_with('[') {
            s.push('.');
        }
        s.push_str(seg);
    }
    s
}

fn backticked(msg: &str) -> Vec<String> {
    msg.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment):
/// `titel` is one typo away from `title`, not two. Small inputs only (config keys).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The closest candidate within a third of the word's length (at least 1 edit, at most 3),
/// the same budget rustc uses for "did you mean".
pub(crate) fn suggest<'a>(word: &str, candidates: &'a [String]) -> Option<&'a str> {
    let budget = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const MAX_TIMEOUT_SECS: u64 = 3600;
/// A day: the longest a submission waits between two attempts.
const MAX_BACKOFF_CAP_SECS: u64 = 24 * 3600;

fn validate(path: &Path, text: &str, raw: RawConfig) -> Result<KioskConfig, ConfigError> {
    let bad = |key: &str, problem: String, fix: &str| {
        Err(invalid(path, text, key, problem, fix.to_owned()))
    };
    let demo = raw.demo;

    // [site]
    let site = raw.site;
    if site.id.is_empty()
        || !site
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return bad(
            "site.id",
            format!("site id {:?} is not a slug", site.id),
            "use ASCII letters, digits, `-`, `_` or `.`, e.g. \"hn-bachkhoa-01\"",
        );
    }
    if site.name.trim().is_empty() {
        return bad(
            "site.name",
            "site name is empty".into(),
            "give the place's name, e.g. \"UBND phường Bách Khoa\"",
        );
    }
    if let Some(p) = &site.province_code {
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return bad(
                "site.province_code",
                format!("province_code {p:?} is not two digits"),
                "use the two-digit province code, e.g. \"01\" for Hà Nội, or remove the key",
            );
        }
    }
    let lookup_url = match site
        .lookup_url
        .as_deref()
        .map(crate::receipt::LookupUrl::new)
    {
        None => None,
        Some(Ok(url)) => Some(url),
        Some(Err(e)) => {
            return bad(
                "site.lookup_url",
                e.to_string(),
                "use the portal's https status page with {dossier} (and {lookup}) where the \
                 codes go, e.g. \"https://dichvucong.example.gov.vn/tra-cuu?maHoSo={dossier}&maTraCuu={lookup}\"",
            );
        }
    };

    let result_place = match site.result_place.as_deref().map(str::trim) {
        None => None,
        Some(p) if p.is_empty() || p.chars().count() > 120 || p.chars().any(char::is_control) => {
            return bad(
                "site.result_place",
                format!(
                    "result_place has {} characters or a control character",
                    p.chars().count()
                ),
                "give where citizens collect results in one line of 1 to 120 characters, e.g. \
                 \"Bộ phận Một cửa, 126 Hàng Trống\", or remove the key",
            );
        }
        Some(p) => Some(p.to_owned()),
    };

    // [gateway]
    let g = raw.gateway;
    let url = check_url(&g.url, demo)
        .map_err(|(problem, fix)| invalid(path, text, "gateway.url", problem, fix))?;
    let client_identity = match (g.client_cert, g.client_key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        (Some(_), None) => {
            return bad(
                "gateway.client_cert",
                "client_cert without client_key".into(),
                "add `client_key = \"/path/key.pem\"` or remove client_cert",
            )
        }
        (None, Some(_)) => {
            return bad(
                "gateway.client_key",
                "client_key without client_cert".into(),
                "add `client_cert = \"/path/cert.pem\"` or remove client_key",
            )
        }
    };
    if !(1..=300).contains(&g.timeout) {
        return bad(
            "gateway.timeout",
            format!("timeout = {} is out of range", g.timeout),
            "use 1 to 300 seconds, e.g. 15",
        );
    }
    let spki_sha256 =
        match g.spki_sha256.as_deref() {
            None => None,
            Some(hex) => match parse_sha256_hex(hex) {
                Some(pin) => Some(pin),
                None => return bad(
                    "gateway.spki_sha256",
                    "spki_sha256 is not 64 hexadecimal digits".into(),
                    "give the SHA-256 of the gateway's public key (SubjectPublicKeyInfo), e.g. \
                     from `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | \
                     sha256sum`, or remove the key",
                ),
            },
        };
    if url.as_str().starts_with("https://") && !demo {
        if g.ca_file.is_none() {
            return Err(missing(
                path,
                text,
                "gateway.ca_file",
                "an https gateway is trusted only through the deployment's CA".into(),
                "add `ca_file = \"/etc/kiosk/gateway-ca.pem\"` (from enrolment)".into(),
            ));
        }
        if client_identity.is_none() {
            return Err(missing(
                path,
                text,
                "gateway.client_cert",
                "the gateway requires mutual TLS with the kiosk's client certificate".into(),
                "add `client_cert = \"/etc/kiosk/client.pem\"` and `client_key = \
                 \"/etc/kiosk/client.key\"` (from enrolment)"
                    .into(),
            ));
        }
    }
    let fhir_url = match g.fhir_url.as_deref() {
        None => None,
        Some(f) => {
            let f = check_url(f, demo)
                .map_err(|(problem, fix)| invalid(path, text, "gateway.fhir_url", problem, fix))?;
            if raw.mode != Mode::Hospital {
                return bad(
                    "gateway.fhir_url",
                    "fhir_url is for clinic registrations, and mode is not \"hospital\"".into(),
                    "remove fhir_url, or set `mode = \"hospital\"`",
                );
            }
            let scheme = |u: &GatewayUrl| u.as_str().split("://").next().map(str::to_owned);
            if scheme(&f) != scheme(&url) {
                return bad(
                    "gateway.fhir_url",
                    "fhir_url and url use different schemes".into(),
                    "use https for both (the same CA and client certificate serve both)",
                );
            }
            Some(f)
        }
    };
    if g.catalog_download && raw.catalog_file.is_some() {
        return bad(
            "gateway.catalog_download",
            "catalog_download and catalog_file both name the catalogue".into(),
            "keep one: the gateway's catalogue (catalog_download = true) or a local file",
        );
    }
    let heartbeat_interval = match g.heartbeat_interval_s {
        0 => None,
        s @ 10..=3600 => Some(std::time::Duration::from_secs(s)),
        s => {
            return bad(
                "gateway.heartbeat_interval_s",
                format!("heartbeat_interval_s = {s} is out of range"),
                "use 10 to 3600 seconds (e.g. 60), or 0 to send no heartbeat",
            )
        }
    };
    let gateway = Gateway {
        url,
        ca_file: g.ca_file,
        client_identity,
        timeout_secs: g.timeout,
        spki_sha256,
        fhir_url,
        catalog_download: g.catalog_download,
        catalog_cache: g.catalog_cache,
        heartbeat_interval,
    };

    // [devices]
    let d = raw.devices;
    let demo_only = |key: &str, value: &str| {
        Err(invalid(
            path,
            text,
            key,
            format!("{value:?} is a simulator and demo = false"),
            "set `demo = true` at the top of the file, or name a real device".to_owned(),
        ))
    };
    let card_reader = match d.card_reader.as_str() {
        "sim" => CardReaderSpec::Sim,
        "auto" => CardReaderSpec::Auto,
        "" => {
            return bad(
                "devices.card_reader",
                "empty card_reader".into(),
                "use \"auto\", \"sim\" or a PC/SC reader name",
            )
        }
        name => CardReaderSpec::Named(name.to_owned()),
    };
    if card_reader == CardReaderSpec::Sim && !demo {
        return demo_only("devices.card_reader", &d.card_reader);
    }
    let camera = match parse_camera(&d.camera) {
        Ok(c) => c,
        Err((problem, fix)) => return bad("devices.camera", problem, fix),
    };
    if matches!(camera, CameraSpec::Sim | CameraSpec::Replay(_)) && !demo {
        return demo_only("devices.camera", &d.camera);
    }
    let ir_camera = match d.ir_camera.as_deref().map(parse_camera) {
        None => None,
        Some(Ok(c)) => {
            if matches!(c, CameraSpec::Sim | CameraSpec::Replay(_)) && !demo {
                return demo_only(
                    "devices.ir_camera",
                    d.ir_camera.as_deref().unwrap_or_default(),
                );
            }
            Some(c)
        }
        Some(Err((problem, fix))) => return bad("devices.ir_camera", problem, fix),
    };
    let qr = match d.qr.as_str() {
        "camera" => QrSpec::Camera,
        "sim" => QrSpec::Sim,
        other => {
            return bad(
                "devices.qr",
                format!("qr = {other:?} is not valid"),
                "use \"camera\" or \"sim\"",
            );
        }
    };
    if qr == QrSpec::Sim && !demo {
        return demo_only("devices.qr", &d.qr);
    }
    let printer = parse_printer(&d.printer).map_err(|(problem, fix)| {
        invalid(path, text, "devices.printer", problem, fix.to_owned())
    })?;
    if matches!(printer, PrinterSpec::Sim(_) | PrinterSpec::Virtual(_)) && !demo {
        return demo_only("devices.printer", &d.printer);
    }
    let printer_width = match d.printer_width.as_deref() {
        None | Some("80mm") => kiosk_hw::printer::PaperWidth::Mm80,
        Some("58mm") => kiosk_hw::printer::PaperWidth::Mm58,
        Some(other) => {
            return bad(
                "devices.printer_width",
                format!("printer_width = {other:?} is not valid"),
                "use \"80mm\" or \"58mm\" (the paper roll's width)",
            );
        }
    };
    if d.printer_safe_area && printer_width == kiosk_hw::printer::PaperWidth::Mm58 {
        return bad(
            "devices.printer_safe_area",
            "the 512-dot safe area is for 80 mm paper; 58 mm printers print 384 dots".to_owned(),
            "remove printer_safe_area or set printer_width = \"80mm\"",
        );
    }
    let devices = Devices {
        card_reader,
        camera,
        ir_camera,
        qr,
        printer,
        printer_width,
        printer_safe_area: d.printer_safe_area,
    };

    // [card]
    let c = raw.card;
    if c.trust_dir.is_none() && !demo {
        return Err(missing(
            path,
            text,
            "card.trust_dir",
            "the kiosk cannot verify chips without the CSCA certificates".into(),
            "add a [card] table with `trust_dir = \"/etc/kiosk/csca\"` (a folder of the \
             deployment's CSCA certificates, DER or PEM)"
                .into(),
        ));
    }
    if c.trust_dir
        .as_ref()
        .is_some_and(|d| d.as_os_str().is_empty())
    {
        return bad(
            "card.trust_dir",
            "empty trust_dir".into(),
            "give the folder of CSCA certificates, e.g. \"/etc/kiosk/csca\"",
        );
    }
    if c.allow_unknown_csca && !demo {
        return bad(
            "card.allow_unknown_csca",
            "allow_unknown_csca = true and demo = false".into(),
            "remove it: a real kiosk accepts only chips signed by a CSCA in card.trust_dir",
        );
    }
    let card = CardSettings {
        trust_dir: c.trust_dir,
        allow_unknown_csca: c.allow_unknown_csca,
    };

    // [face]
    let f = raw.face;
    let verifier =
        match f.verifier.as_deref() {
            None if demo => FaceVerifierKind::Simulated,
            None | Some("dlib") => FaceVerifierKind::Dlib,
            Some("simulated") if demo => FaceVerifierKind::Simulated,
            Some("simulated") => return bad(
                "face.verifier",
                "verifier = \"simulated\" and demo = false".into(),
                "use verifier = \"dlib\": a real kiosk must compare the face with the chip photo",
            ),
            Some(other) => {
                return bad(
                    "face.verifier",
                    format!("unknown verifier {other:?}"),
                    "use \"dlib\" (or \"simulated\" in a demo)",
                )
            }
        };
    let threshold = f.threshold.unwrap_or(0.5);
    if !(0.3..=0.6).contains(&threshold) {
        return bad(
            "face.threshold",
            format!("threshold = {threshold} is out of range"),
            "use 0.3 to 0.6 (default 0.5; higher accepts more impostors, see docs/BENCHMARKS.md)",
        );
    }
    let liveness_turns = f.liveness_turns.unwrap_or(2);
    if liveness_turns > 3 || (liveness_turns == 0 && !demo) {
        return bad(
            "face.liveness_turns",
            format!("liveness_turns = {liveness_turns} is out of range"),
            "use 1 to 3 (default 2); 0 (no liveness check) is allowed only in a demo",
        );
    }
    let face = FaceSettings {
        verifier,
        models_dir: f
            .models_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FACE_MODELS_DIR)),
        threshold,
        liveness_turns,
        mirrored: f.mirrored,
    };

    // [timeouts] and [session]
    let t = raw.timeouts;
    let defaults = StepTimeouts::default();
    let secs = |key: &str, v: Option<u64>, default_ms: u64| -> Result<u64, ConfigError> {
        match v {
            None => Ok(default_ms),
            // In range, so the product cannot overflow; checked all the same, like every
            // value from the file that is multiplied.
            Some(s) if (1..=MAX_TIMEOUT_SECS).contains(&s) => {
                s.checked_mul(1000).ok_or_else(|| {
                    invalid(
                        path,
                        text,
                        &format!("timeouts.{key}"),
                        format!("{key} = {s} is too large"),
                        format!("use 1 to {MAX_TIMEOUT_SECS} seconds"),
                    )
                })
            }
            Some(s) => Err(invalid(
                path,
                text,
                &format!("timeouts.{key}"),
                format!("{key} = {s} is out of range"),
                format!("use 1 to {MAX_TIMEOUT_SECS} seconds"),
            )),
        }
    };
    let timeouts = StepTimeouts {
        language_ms: secs("language", t.language, defaults.language_ms)?,
        identify_ms: secs("identify", t.identify, defaults.identify_ms)?,
        consent_ms: secs("consent", t.consent, defaults.consent_ms)?,
        verify_face_ms: secs("verify_face", t.verify_face, defaults.verify_face_ms)?,
        choose_service_ms: secs(
            "choose_service",
            t.choose_service,
            defaults.choose_service_ms,
        )?,
        confirm_ms: secs("confirm", t.confirm, defaults.confirm_ms)?,
        submitting_ms: secs("submitting", t.submitting, defaults.submitting_ms)?,
        receipt_ms: secs("receipt", t.receipt, defaults.receipt_ms)?,
        notice_ms: secs("notice", t.notice, defaults.notice_ms)?,
    };
    let session_defaults = SessionConfig::default();
    let warn_before_ms = match t.warn_before {
        None => session_defaults.warn_before_ms,
        // Unchecked, a huge value wrapped to a few milliseconds in a release build and was
        // accepted (and panicked in a debug build).
        Some(s) => match s.checked_mul(1000) {
            Some(ms) => ms,
            None => {
                return bad(
                    "timeouts.warn_before",
                    format!("warn_before = {s} is too large"),
                    "use 20 to 30 seconds, shorter than the shortest step timeout (e.g. 20)",
                )
            }
        },
    };
    if warn_before_ms < crate::session::MIN_WARN_BEFORE_MS {
        return bad(
            "timeouts.warn_before",
            format!(
                "warn_before = {}s leaves a citizen less than 20s to ask for more time",
                warn_before_ms / 1000
            ),
            "use at least 20 (WCAG 2.2.1), and step timeouts longer than that",
        );
    }
    let shortest = timeouts.shortest_inactivity_ms();
    if warn_before_ms >= shortest {
        return bad(
            "timeouts.warn_before",
            format!(
                "warn_before = {}s is not shorter than the shortest step timeout ({}s)",
                warn_before_ms / 1000,
                shortest / 1000
            ),
            "raise the step timeouts (warn_before is at least 20)",
        );
    }
    let max_face_attempts = raw
        .session
        .max_face_attempts
        .unwrap_or(session_defaults.max_face_attempts);
    if !(1..=10).contains(&max_face_attempts) {
        return bad(
            "session.max_face_attempts",
            format!("max_face_attempts = {max_face_attempts} is out of range"),
            "use 1 to 10, e.g. 3",
        );
    }

    // [ui]
    let u = raw.ui;
    let languages = u
        .languages
        .unwrap_or_else(|| vec!["vi".to_owned(), "en".to_owned()]);
    if languages.is_empty() {
        return bad(
            "ui.languages",
            "no languages".into(),
            "list at least one, e.g. languages = [\"vi\", \"en\"]",
        );
    }
    for (i, l) in languages.iter().enumerate() {
        if !is_language_tag(l) {
            return bad(
                &format!("ui.languages[{i}]"),
                format!("{l:?} is not a language code"),
                "use lowercase codes such as \"vi\", \"en\", \"hmn\"",
            );
        }
        if languages[..i].contains(l) {
            return bad(
                &format!("ui.languages[{i}]"),
                format!("{l:?} is listed twice"),
                "list each language once",
            );
        }
    }
    let default_language = u.default_language.unwrap_or_else(|| languages[0].clone());
    if !languages.contains(&default_language) {
        return bad(
            "ui.default_language",
            format!("default_language {default_language:?} is not in ui.languages"),
            &format!(
                "use one of {}, or add it to ui.languages",
                languages
                    .iter()
                    .map(|l| format!("{l:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let ui = Ui {
        languages: languages.clone(),
        default_language: default_language.clone(),
        orientation: u.orientation,
        locales_dir: u.locales_dir,
    };

    let audio = a11y::validate_audio(path, text, raw.audio, demo)?;
    let help = a11y::validate_help(path, text, raw.help)?;
    let accessibility = a11y::validate_accessibility(path, text, raw.accessibility)?;
    let session = SessionConfig {
        timeouts,
        warn_before_ms,
        max_face_attempts,
        languages,
        default_language,
        assisted_timeout_factor: help.assisted_timeout_factor,
        form: match raw.mode {
            Mode::OneStopShop => crate::session::dossier::FormKind::Office,
            Mode::Hospital => crate::session::dossier::FormKind::Clinic,
        },
        lookup_url: lookup_url.clone(),
    };
    let logging = LoggingSettings {
        level: raw.logging.level,
        format: raw.logging.format,
        file: raw.logging.file,
    };

    let queue = validate_queue(path, text, raw.queue)?;

    let site = Site {
        id: site.id,
        name: site.name,
        province_code: site.province_code,
        lookup_url,
        result_place,
    };
    Ok(KioskConfig {
        site,
        mode: raw.mode,
        gateway,
        devices,
        card,
        face,
        session,
        ui,
        logging,
        queue,
        demo,
        catalog_file: raw.catalog_file,
        audio,
        help,
        accessibility,
        admin_units_file: raw.admin_units_file,
        source_sha256: {
            use sha2::Digest as _;
            sha2::Sha256::digest(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        },
    })
}

/// `[queue]`: every key optional, each bound named in its message.
fn validate_queue(path: &Path, text: &str, q: RawQueue) -> Result<QueueSettings, ConfigError> {
    let defaults = QueueSettings::default();
    let bad = |key: &str, problem: String, fix: String| invalid(path, text, key, problem, fix);
    let file = |key: &str, value: Option<PathBuf>, default: PathBuf, example: &str| match value {
        None => Ok(default),
        Some(p) if p.as_os_str().is_empty() => Err(bad(
            key,
            format!("empty {}", key.trim_start_matches("queue.")),
            format!("give a file path, e.g. \"{example}\", or remove the key for that default"),
        )),
        Some(p) => Ok(p),
    };
    let db = file("queue.path", q.path, defaults.path, DEFAULT_QUEUE_PATH)?;
    let key_file = file(
        "queue.key_file",
        q.key_file,
        defaults.key_file,
        DEFAULT_QUEUE_KEY_FILE,
    )?;
    let base = q.backoff_base_secs.unwrap_or(defaults.backoff_base_secs);
    if !(1..=300).contains(&base) {
        return Err(bad(
            "queue.backoff_base_secs",
            format!("backoff_base_secs = {base} is out of range"),
            "use 1 to 300 seconds (default 2)".to_owned(),
        ));
    }
    let cap = q.backoff_cap_secs.unwrap_or(defaults.backoff_cap_secs);
    if cap < base || cap > MAX_BACKOFF_CAP_SECS {
        return Err(bad(
            "queue.backoff_cap_secs",
            format!("backoff_cap_secs = {cap} is out of range"),
            format!(
                "use backoff_base_secs ({base}) to {MAX_BACKOFF_CAP_SECS} seconds (default 900, \
                 15 minutes)"
            ),
        ));
    }
    let max_age_hours = q.max_age_hours.unwrap_or(defaults.max_age_hours);
    if !(1..=720).contains(&max_age_hours) {
        return Err(bad(
            "queue.max_age_hours",
            format!("max_age_hours = {max_age_hours} is out of range"),
            "use 1 to 720 hours (default 168, a week); older undelivered submissions become \
             dead letters with an operator alert"
                .to_owned(),
        ));
    }
    let max_size_mb = q.max_size_mb.unwrap_or(defaults.max_size_mb);
    if !(16..=65536).contains(&max_size_mb) {
        return Err(bad(
            "queue.max_size_mb",
            format!("max_size_mb = {max_size_mb} is out of range"),
            "use 16 to 65536 MiB (default 512), below the data partition's free space: a \
             full queue refuses new submissions before the disk fills"
                .to_owned(),
        ));
    }
    Ok(QueueSettings {
        path: db,
        key_file,
        backoff_base_secs: base,
        backoff_cap_secs: cap,
        max_age_hours,
        max_size_mb,
        keep_in_demo: q.keep_in_demo.unwrap_or(defaults.keep_in_demo),
    })
}

/// 64 hexadecimal digits (colons allowed between bytes) to 32 bytes.
fn parse_sha256_hex(s: &str) -> Option<[u8; 32]> {
    let digits: Vec<u8> = s.bytes().filter(|&b| b != b':').collect();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let hex = std::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

fn is_language_tag(l: &str) -> bool {
    // BCP 47 primary subtag, optionally with a region (`vi`, `hmn`, `zh-TW`): enough to name
    // a locale folder, without pulling a full tag parser into config loading.
    let mut parts = l.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn check_url(url: &str, demo: bool) -> Result<GatewayUrl, (String, String)> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        (
            format!("url {url:?} has no scheme"),
            "use \"https://gateway.example.vn\"".to_owned(),
        )
    })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err((
            format!("url {url:?} has no host (or carries credentials)"),
            "use \"https://host[:port]/path\"; credentials belong in the client certificate"
                .to_owned(),
        ));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    match scheme {
        "https" => Ok(GatewayUrl(url.to_owned())),
        "http" => {
            let loopback = matches!(host, "127.0.0.1" | "localhost" | "::1");
            if loopback && demo {
                Ok(GatewayUrl(url.to_owned()))
            } else if loopback {
                Err((
                    format!("url {url:?} is plain http and demo = false"),
                    "use https, or set `demo = true` for a local demo gateway".to_owned(),
                ))
            } else {
                Err((
                    format!("url {url:?} is plain http to a non-loopback host"),
                    "use https: personal data never crosses a network unencrypted".to_owned(),
                ))
            }
        }
        other => Err((
            format!("url scheme {other:?} is not supported"),
            "use https".to_owned(),
        )),
    }
}

fn parse_printer(s: &str) -> Result<PrinterSpec, (String, &'static str)> {
    use kiosk_hw::printer::PrinterDevice;
    const FIX: &str =
        "use \"usb:/dev/usb/lp0\", \"tcp:host:9100\", \"serial:/dev/ttyUSB0:19200\", \
                       or in a demo \"virtual:/out/dir\" or \"sim:/out/dir\"";
    let bad = || Err((format!("printer = {s:?} is not valid"), FIX));
    match s.split_once(':') {
        Some(("sim", rest)) if !rest.is_empty() => Ok(PrinterSpec::Sim(PathBuf::from(rest))),
        Some(("virtual", rest)) if !rest.is_empty() => {
            Ok(PrinterSpec::Virtual(PathBuf::from(rest)))
        }
        _ => match s.parse::<PrinterDevice>() {
            Ok(PrinterDevice::Usb(path)) => Ok(PrinterSpec::Usb(path)),
            Ok(PrinterDevice::Tcp { host, port }) => Ok(PrinterSpec::Tcp { host, port }),
            Ok(PrinterDevice::Serial { path, baud }) => Ok(PrinterSpec::Serial { path, baud }),
            Err(_) => bad(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let keys: Vec<String> = ["timeout", "ca_file", "url"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(suggest("timout", &keys), Some("timeout"));
        assert_eq!(suggest("urll", &keys), Some("url"));
        assert_eq!(suggest("colour", &keys), None);
    }

    #[test]
    fn locations() {
        assert_eq!(location("a\nbc = 1\n", 3), Location { line: 2, column: 2 });
        assert_eq!(location("ấb", 3), Location { line: 1, column: 2 });
    }

    #[test]
    fn urls() {
        assert!(check_url("https://gw.example.vn/kiosk", false).is_ok());
        assert!(check_url("http://127.0.0.1:0", true).is_ok());
        assert!(check_url("http://[::1]:8080/", true).is_ok());
        assert!(check_url("http://127.0.0.1:0", false).is_err());
        assert!(check_url("http://gw.example.vn", true).is_err());
        assert!(check_url("https://user:pw@gw", false).is_err());
        assert!(check_url("ftp://gw", true).is_err());
    }

    #[test]
    fn printers() {
        assert_eq!(
            parse_printer("tcp:10.0.0.5:9100"),
            Ok(PrinterSpec::Tcp {
                host: "10.0.0.5".into(),
                port: 9100
            })
        );
        assert_eq!(
            parse_printer("usb:/dev/usb/lp0"),
            Ok(PrinterSpec::Usb("/dev/usb/lp0".into()))
        );
        assert!(parse_printer("tcp:host").is_err());
        assert!(parse_printer("lp0").is_err());
        assert_eq!(
            parse_printer("serial:/dev/ttyUSB0:19200"),
            Ok(PrinterSpec::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 19200
            })
        );
        assert_eq!(
            parse_printer("virtual:/tmp/r"),
            Ok(PrinterSpec::Virtual("/tmp/r".into()))
        );
        assert!(parse_printer("serial:/dev/ttyUSB0").is_err());
        assert!(parse_printer("virtual:").is_err());
        for text in [
            "tcp:10.0.0.5:9100",
            "usb:/dev/usb/lp0",
            "serial:/dev/ttyS0:9600",
            "sim:/tmp/r",
            "virtual:/tmp/r",
        ] {
            let spec = parse_printer(text).expect("valid");
            assert_eq!(spec.to_string(), text);
        }
    }
}
