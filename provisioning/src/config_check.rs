//! `kioskctl config check FILE`: validates the configuration with the kiosk's own loader and
//! summarises what the kiosk will use.
//!
//! The summary is built as a small serialisable DTO ([`Summary`]): the configuration types
//! are domain types and do not implement `Serialize`, and the JSON shape should not change
//! when they do.

use std::io::Write;
use std::path::{Path, PathBuf};

use kiosk_app::catalog::Catalog;
use kiosk_app::config::{
    self, CameraSpec, CardReaderSpec, ConfigError, ConfigErrorKind, KioskConfig, Orientation,
    QrSpec,
};
use kiosk_app::i18n;
use kiosk_outbox::{KeyFile, KeySource as _};
use serde::Serialize;

use crate::cli::ConfigCheck;
use crate::{table, Outcome};

pub(crate) fn run(
    args: &ConfigCheck,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let cfg = match config::load(&args.file) {
        Ok(cfg) => cfg,
        Err(e) => return report_error(&e, args.json, out, err),
    };
    let catalog = match catalog_status(&cfg, args.catalog) {
        Ok(c) => c,
        Err(e) => return report_error(&e, args.json, out, err),
    };
    let (card, card_warnings) = card_status(&cfg);
    let mut warnings = language_warnings(&cfg);
    warnings.extend(card_warnings);
    let (face, face_warnings) = face_status(&cfg);
    warnings.extend(face_warnings);
    let (queue, queue_warnings) = queue_status(&cfg);
    warnings.extend(queue_warnings);
    let mut summary = Summary::new(&args.file, &cfg, catalog, card, warnings);
    summary.face = Some(face);
    summary.queue = Some(queue);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &summary)?;
        writeln!(out)?;
    } else {
        summary.print(out)?;
    }
    Ok(Outcome::Ok)
}

/// Prints a configuration or catalogue error: the one-line message on stderr, or a JSON
/// object on stdout when `--json` was given (scripts read stdout).
fn report_error(
    e: &ConfigError,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    if json {
        serde_json::to_writer_pretty(&mut *out, &ErrorReport::new(e))?;
        writeln!(out)?;
    } else {
        writeln!(err, "error: {e}")?;
    }
    Ok(Outcome::Invalid)
}

/// Which catalogue the kiosk will use, and whether it was checked.
#[derive(Debug, Serialize)]
struct CatalogStatus {
    /// `None`: the built-in list for the mode.
    file: Option<PathBuf>,
    /// Whether the file was loaded and validated (always true for the built-in list).
    checked: bool,
    /// Number of entries, when known.
    entries: Option<usize>,
}

fn catalog_status(cfg: &KioskConfig, check: bool) -> Result<CatalogStatus, ConfigError> {
    Ok(match (&cfg.catalog_file, check) {
        (None, _) => CatalogStatus {
            file: None,
            checked: true,
            entries: Some(Catalog::builtin(cfg.mode).entries().len()),
        },
        (Some(path), true) => CatalogStatus {
            file: Some(path.clone()),
            checked: true,
            entries: Some(Catalog::load(path, cfg.mode)?.entries().len()),
        },
        (Some(path), false) => CatalogStatus {
            file: Some(path.clone()),
            checked: false,
            entries: None,
        },
    })
}

/// `[card]`: the CSCA folder and how many certificates it holds on this machine.
#[derive(Debug, Serialize)]
struct CardStatus {
    trust_dir: Option<PathBuf>,
    /// Certificates found in `trust_dir` here (`None`: not readable on this machine).
    certificates: Option<usize>,
    allow_unknown_csca: bool,
}

/// Reads `card.trust_dir` with the kiosk's own loader. A folder that cannot be read is only a
/// warning, as for `ui.locales_dir`: the file may be checked away from the kiosk.
fn card_status(cfg: &KioskConfig) -> (CardStatus, Vec<String>) {
    let mut warnings = Vec::new();
    let certificates =
        cfg.card
            .trust_dir
            .as_ref()
            .and_then(|dir| match kiosk_app::identity::CscaTrust::load_dir(dir) {
                Ok(c) => Some(c.len()),
                Err(e) => {
                    warnings.push(format!(
                    "card.trust_dir: {e}; on the kiosk the CSCA certificates must be there, or \
                     it will not start"
                ));
                    None
                }
            });
    (
        CardStatus {
            trust_dir: cfg.card.trust_dir.clone(),
            certificates,
            allow_unknown_csca: cfg.card.allow_unknown_csca,
        },
        warnings,
    )
}

/// `[face]`: the verifier, its settings, and whether the model files are in place here.
#[derive(Debug, Serialize)]
struct FaceStatus {
    verifier: &'static str,
    models_dir: PathBuf,
    /// The model files are present with their pinned SHA-256 on this machine.
    models_ok: bool,
    threshold: f32,
    liveness_turns: usize,
    mirrored: bool,
}

/// Checks the face model files with the kiosk's own check (SHA-256). Missing models are only
/// a warning: the file may be checked away from the kiosk.
fn face_status(cfg: &KioskConfig) -> (FaceStatus, Vec<String>) {
    let mut warnings = Vec::new();
    let dlib = cfg.face.verifier == kiosk_app::config::FaceVerifierKind::Dlib;
    let models_ok = if dlib {
        match kiosk_face::engine::verify_models(&cfg.face.models_dir) {
            Ok(()) => true,
            Err(e) => {
                warnings.push(format!(
                    "face.models_dir: {e}; on the kiosk the models must be there, or it will \
                     not start"
                ));
                false
            }
        }
    } else {
        false
    };
    (
        FaceStatus {
            verifier: if dlib { "dlib" } else { "simulated" },
            models_dir: cfg.face.models_dir.clone(),
            models_ok,
            threshold: cfg.face.threshold,
            liveness_turns: cfg.face.liveness_turns,
            mirrored: cfg.face.mirrored,
        },
        warnings,
    )
}

/// `[queue]`: where the outbox and its key are, whether they are in place here, and the
/// retry policy.
#[derive(Debug, Serialize)]
struct QueueStatus {
    path: PathBuf,
    /// The database exists on this machine (the kiosk creates it at its first start).
    database_exists: bool,
    key_file: PathBuf,
    /// The key file loads here: present, owner-only (0600 or 0400), 64 hex digits.
    key_ok: bool,
    /// The key file's permission bits in octal (`"600"`), when it exists.
    key_mode: Option<String>,
    backoff_base_secs: u64,
    backoff_cap_secs: u64,
    max_age_hours: u64,
}

/// Checks the queue key with the kiosk's own loader (`KeyFile::load`: presence, mode 0600,
/// format). A missing or loose key is only a warning, as for the CSCA folder: the file may be
/// checked away from the kiosk. A demo kiosk uses a throw-away queue (unless
/// `queue.keep_in_demo`), so nothing is checked.
fn queue_status(cfg: &KioskConfig) -> (QueueStatus, Vec<String>) {
    use std::os::unix::fs::PermissionsExt as _;

    let q = &cfg.queue;
    let mut warnings = Vec::new();
    let key_mode = std::fs::metadata(&q.key_file)
        .ok()
        .map(|m| format!("{:o}", m.permissions().mode() & 0o777));
    let key_ok = if cfg.demo && !q.keep_in_demo {
        false
    } else {
        match KeyFile::new(&q.key_file).load() {
            Ok(_) => true,
            Err(e) => {
                warnings.push(format!(
                    "queue.key_file: {e}; on the kiosk the key must be there, or it will not \
                     start"
                ));
                false
            }
        }
    };
    (
        QueueStatus {
            path: q.path.clone(),
            database_exists: q.path.is_file(),
            key_file: q.key_file.clone(),
            key_ok,
            key_mode,
            backoff_base_secs: q.backoff_base_secs,
            backoff_cap_secs: q.backoff_cap_secs,
            max_age_hours: q.max_age_hours,
        },
        warnings,
    )
}

/// Languages in `[ui]` that the kiosk has no text for: they would show Vietnamese throughout.
///
/// Only warnings: the file may be checked away from the kiosk, where `ui.locales_dir` does not
/// exist, and the kiosk still runs (in Vietnamese) for such a language.
fn language_warnings(cfg: &KioskConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut catalog = match i18n::Catalog::embedded() {
        Ok(c) => c,
        Err(e) => return vec![format!("the built-in languages failed to load: {e}")],
    };
    let mut where_ = "built in".to_owned();
    if let Some(dir) = &cfg.ui.locales_dir {
        if !dir.is_dir() {
            warnings.push(format!(
                "ui.locales_dir {} is not a folder on this machine; if this file is for another \
                 machine, run `kioskctl locales check` on that folder there",
                dir.display()
            ));
        } else if let Err(e) = catalog.load_dir(dir) {
            warnings.push(format!(
                "ui.locales_dir {}: {e}; run `kioskctl locales check {}`",
                dir.display(),
                dir.display()
            ));
        } else {
            where_ = format!("built in or in {}", dir.display());
        }
    }
    let known: Vec<String> = catalog.languages().into_iter().map(|(c, _)| c).collect();
    for lang in &cfg.ui.languages {
        if !known.contains(lang) {
            warnings.push(format!(
                "ui.languages: `{lang}` has no language pack ({where_}: {}), so its screens \
                 would be in Vietnamese; add a `{lang}` folder to ui.locales_dir or remove it",
                known.join(", ")
            ));
        }
    }
    warnings
}

/// What `config check` prints on success.
#[derive(Debug, Serialize)]
struct Summary {
    ok: bool,
    file: PathBuf,
    site: SiteDto,
    mode: String,
    demo: bool,
    gateway: GatewayDto,
    devices: DevicesDto,
    card: CardStatus,
    ui: UiDto,
    assist: AssistDto,
    catalog: CatalogStatus,
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    face: Option<FaceStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue: Option<QueueStatus>,
}

#[derive(Debug, Serialize)]
struct SiteDto {
    id: String,
    name: String,
    province_code: Option<String>,
}

#[derive(Debug, Serialize)]
struct GatewayDto {
    url: String,
    ca_file: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    timeout_secs: u64,
}

/// Devices in the syntax of the file (`auto`, `/dev/video0`, `tcp:host:9100`...), which is
/// what a technician compares against.
#[derive(Debug, Serialize)]
struct DevicesDto {
    card_reader: String,
    camera: String,
    qr: String,
    printer: String,
    /// Printable receipt width in dots (paper width and safe area).
    printer_width_dots: u32,
}

/// `[audio]` and `[help]`: what a citizen hears and the help they get.
#[derive(Debug, Serialize)]
struct AssistDto {
    /// `espeak`, `sim` or `off`.
    speech: &'static str,
    muted: bool,
    volume: u8,
    player: Vec<String>,
    hotline: Option<String>,
    staff_desk: Option<String>,
    /// A volunteer PIN hash is configured.
    assisted_mode: bool,
    assisted_timeout_factor: u8,
    attract_dir: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct UiDto {
    languages: Vec<String>,
    default_language: String,
    orientation: &'static str,
    locales_dir: Option<PathBuf>,
}

impl AssistDto {
    /// One line: speech, hotline, counter, assisted mode, attract images.
    fn line(&self) -> String {
        let speech = match self.speech {
            "espeak" => format!(
                "spoken by espeak-ng through `{}` at {} %{}",
                self.player.join(" "),
                self.volume,
                if self.muted { ", muted" } else { "" }
            ),
            "sim" => "speech recorded, not played (demo)".to_owned(),
            _ => "no speech".to_owned(),
        };
        let mut line = speech;
        match &self.hotline {
            Some(h) => line.push_str(&format!("; hotline {h}")),
            None => line.push_str("; no hotline shown"),
        }
        if let Some(d) = &self.staff_desk {
            line.push_str(&format!("; staff at {d}"));
        }
        if self.assisted_mode {
            line.push_str(&format!(
                "; assisted mode with the volunteer PIN (timeouts x{})",
                self.assisted_timeout_factor
            ));
        } else {
            line.push_str("; no assisted mode (no help.staff_pin_hash)");
        }
        if let Some(a) = &self.attract_dir {
            line.push_str(&format!("; attract images from {}", a.display()));
        }
        line
    }
}

impl Summary {
    fn new(
        file: &Path,
        cfg: &KioskConfig,
        catalog: CatalogStatus,
        card: CardStatus,
        warnings: Vec<String>,
    ) -> Self {
        let (client_cert, client_key) = cfg
            .gateway
            .client_identity
            .clone()
            .map_or((None, None), |(c, k)| (Some(c), Some(k)));
        Self {
            ok: true,
            file: file.to_owned(),
            site: SiteDto {
                id: cfg.site.id.clone(),
                name: cfg.site.name.clone(),
                province_code: cfg.site.province_code.clone(),
            },
            mode: cfg.mode.to_string(),
            demo: cfg.demo,
            gateway: GatewayDto {
                url: cfg.gateway.url.as_str().to_owned(),
                ca_file: cfg.gateway.ca_file.clone(),
                client_cert,
                client_key,
                timeout_secs: cfg.gateway.timeout_secs,
            },
            devices: DevicesDto {
                card_reader: match &cfg.devices.card_reader {
                    CardReaderSpec::Sim => "sim".to_owned(),
                    CardReaderSpec::Auto => "auto".to_owned(),
                    CardReaderSpec::Named(name) => name.clone(),
                },
                camera: match &cfg.devices.camera {
                    CameraSpec::Sim => "sim".to_owned(),
                    CameraSpec::Replay(p) => format!("replay:{}", p.display()),
                    CameraSpec::Device(p) => p.display().to_string(),
                    CameraSpec::Auto => "auto".to_owned(),
                },
                qr: match cfg.devices.qr {
                    QrSpec::Camera => "camera",
                    QrSpec::Sim => "sim",
                }
                .to_owned(),
                printer: cfg.devices.printer.to_string(),
                printer_width_dots: cfg.devices.printer_dots(),
            },
            card,
            ui: UiDto {
                languages: cfg.ui.languages.clone(),
                default_language: cfg.ui.default_language.clone(),
                orientation: match cfg.ui.orientation {
                    Orientation::Portrait => "portrait",
                    Orientation::Landscape => "landscape",
                },
                locales_dir: cfg.ui.locales_dir.clone(),
            },
            assist: AssistDto {
                speech: match cfg.audio.output {
                    kiosk_app::config::AudioOutput::Espeak => "espeak",
                    kiosk_app::config::AudioOutput::Sim => "sim",
                    kiosk_app::config::AudioOutput::Off => "off",
                },
                muted: cfg.audio.muted,
                volume: cfg.audio.volume,
                player: cfg.audio.player.clone(),
                hotline: cfg.help.hotline.clone(),
                staff_desk: cfg.help.staff_desk.clone(),
                assisted_mode: cfg.help.staff_pin_hash.is_some(),
                assisted_timeout_factor: cfg.help.assisted_timeout_factor,
                attract_dir: cfg.help.attract_dir.clone(),
            },
            catalog,
            warnings,
            face: None,
            queue: None,
        }
    }

    fn print(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let opt = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let mut site = format!("{} ({})", self.site.id, self.site.name);
        if let Some(p) = &self.site.province_code {
            site.push_str(&format!(", province {p}"));
        }
        let mut gateway = format!(
            "{} (timeout {} s",
            self.gateway.url, self.gateway.timeout_secs
        );
        if let Some(ca) = opt(&self.gateway.ca_file) {
            gateway.push_str(&format!(", CA {ca}"));
        }
        if let Some(cert) = opt(&self.gateway.client_cert) {
            gateway.push_str(&format!(", client certificate {cert}"));
        }
        gateway.push(')');
        let demo = if self.demo {
            "yes: simulators and a loopback gateway allowed, never for a real site"
        } else {
            "no"
        };
        let mut languages = format!(
            "{} (default {}, {})",
            self.ui.languages.join(", "),
            self.ui.default_language,
            self.ui.orientation
        );
        if let Some(dir) = opt(&self.ui.locales_dir) {
            languages.push_str(&format!(", extra packs in {dir}"));
        }
        let csca = match (&self.card.trust_dir, self.card.certificates) {
            (Some(d), Some(n)) => format!("{} ({n} certificates)", d.display()),
            (Some(d), None) => format!("{} (not readable here)", d.display()),
            (None, _) => "the demo card's generated test CSCA only".to_owned(),
        };
        let csca = if self.card.allow_unknown_csca {
            format!("{csca}; unknown CSCAs accepted (demo)")
        } else {
            csca
        };
        let catalog = match (&self.catalog.file, self.catalog.entries) {
            (None, Some(n)) => format!("built-in ({n} entries)"),
            (Some(f), Some(n)) => format!("{} ({n} entries, checked)", f.display()),
            (Some(f), None) => format!("{} (not checked; add --catalog)", f.display()),
            (None, None) => "built-in".to_owned(),
        };
        let face = match &self.face {
            Some(f) if f.verifier == "dlib" => format!(
                "dlib, threshold {:.2}, {} head turns{}, models {} ({})",
                f.threshold,
                f.liveness_turns,
                if f.mirrored { ", mirrored camera" } else { "" },
                f.models_dir.display(),
                if f.models_ok {
                    "checked"
                } else {
                    "not found here"
                }
            ),
            Some(_) => "simulated (demo)".to_owned(),
            None => "-".to_owned(),
        };
        let queue = match &self.queue {
            Some(q) => {
                let place = if self.demo {
                    "a throw-away folder (demo; queue.path and queue.key_file unused)".to_owned()
                } else {
                    let key = match (&q.key_mode, q.key_ok) {
                        (Some(m), true) => format!("mode {m}, OK"),
                        (Some(m), false) => format!("mode {m}, NOT usable: see the warning"),
                        (None, _) => "not found here".to_owned(),
                    };
                    format!(
                        "{} ({}), key {} ({key})",
                        q.path.display(),
                        if q.database_exists {
                            "exists"
                        } else {
                            "not created yet"
                        },
                        q.key_file.display(),
                    )
                };
                format!(
                    "{place}; retry after up to {} s doubling to {} s; dead after {} h",
                    q.backoff_base_secs, q.backoff_cap_secs, q.max_age_hours
                )
            }
            None => "-".to_owned(),
        };
        let rows: Vec<Vec<String>> = [
            ("site", site),
            ("mode", self.mode.clone()),
            ("demo", demo.to_owned()),
            ("gateway", gateway),
            ("card reader", self.devices.card_reader.clone()),
            ("CSCA trust", csca),
            ("camera", self.devices.camera.clone()),
            ("qr", self.devices.qr.clone()),
            (
                "printer",
                format!(
                    "{}, {} dots wide",
                    self.devices.printer, self.devices.printer_width_dots
                ),
            ),
            ("face", face),
            ("languages", languages),
            ("help", self.assist.line()),
            ("catalogue", catalog),
            ("queue", queue),
        ]
        .into_iter()
        .map(|(k, v)| vec![format!("  {k}"), v])
        .collect();
        writeln!(out, "{}: OK", self.file.display())?;
        out.write_all(table::render(&rows).as_bytes())?;
        for w in &self.warnings {
            writeln!(out, "warning: {w}")?;
        }
        Ok(())
    }
}

/// What `config check --json` prints on failure.
#[derive(Debug, Serialize)]
struct ErrorReport {
    ok: bool,
    error: ErrorDto,
}

#[derive(Debug, Serialize)]
struct ErrorDto {
    /// The whole one-line message, as printed without `--json`.
    message: String,
    kind: &'static str,
    file: PathBuf,
    line: Option<usize>,
    column: Option<usize>,
    key: Option<String>,
    problem: String,
    fix: String,
}

impl ErrorReport {
    fn new(e: &ConfigError) -> Self {
        let kind = match e.kind() {
            ConfigErrorKind::Io => "io",
            ConfigErrorKind::Syntax => "syntax",
            ConfigErrorKind::UnknownKey => "unknown-key",
            ConfigErrorKind::MissingKey => "missing-key",
            ConfigErrorKind::WrongType => "wrong-type",
            ConfigErrorKind::InvalidValue => "invalid-value",
            // The kind list is `#[non_exhaustive]`; a new kind still has a message and fix.
            _ => "other",
        };
        Self {
            ok: false,
            error: ErrorDto {
                message: e.to_string(),
                kind,
                file: e.file().to_owned(),
                line: e.location().map(|l| l.line),
                column: e.location().map(|l| l.column),
                key: e.key().map(str::to_owned),
                problem: e.problem().to_owned(),
                fix: e.fix().to_owned(),
            },
        }
    }
}

/// `kioskctl config hash-pin`: the `[help]` line for `pin`, salted from the OS's randomness.
///
/// # Errors
/// Only when the output cannot be written.
pub(crate) fn hash_pin(
    pin: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    match kiosk_app::config::StaffPinHash::create(pin, &salt) {
        Ok(h) => {
            writeln!(out, "staff_pin_hash = \"{}\"", h.as_str())?;
            Ok(Outcome::Ok)
        }
        Err(e) => {
            writeln!(err, "kioskctl: {e}: type 4 to 12 digits on standard input")?;
            Ok(Outcome::Invalid)
        }
    }
}
