//! `kioskctl provision`: first-boot provisioning from `provision.toml`.
//!
//! The technician edits `provision.toml` on the image's FAT partition (any PC can) and boots.
//! kiosk-provision.service runs this at boot until the kiosk is enrolled. The steps, each
//! printed as one line so the journal and the console show where it stands:
//!
//! 1. read and validate the file strictly: an `[enrolment]` table (`token`, `ca_file`) plus the
//!    kiosk configuration (the keys of kiosk.toml). Unknown or missing keys are errors naming
//!    the key. The TLS and queue file paths are the provisioning's to choose: the file may not
//!    set them.
//! 2. enrol with the token (the code behind `kioskctl enrol`), unless an earlier run already
//!    got the certificate (the token works once; a retry after a later failure must not burn it);
//! 3. make the queue key if there is none;
//! 4. write the kiosk configuration (`<state>/kiosk.toml`);
//! 5. run the self-test (the code behind `kioskctl selftest`): failures stop here, warnings do
//!    not;
//! 6. write the `enrolled` marker.
//!
//! Every file is written as temp + fsync + rename, and the marker last, so a power cut at any
//! point leaves a kiosk that knows it is not enrolled and provisions again at the next boot.
//! Re-running on an enrolled kiosk does nothing. One run at a time holds `provision.lock` in
//! the state folder (the boot unit and the kiosk's technician screen may both start one).
//!
//! With `--qr` the gateway and one-time token come from an enrolment QR code
//! (`VNKIOSK1|E|...`, read by `kiosk_qr`), the rest (kiosk id, site, devices, CA file) from
//! provision.toml, whose `[enrolment]` then holds `ca_file` only.
//!
//! Errors are a sentence and a next step, in Vietnamese and English: the reader is a
//! technician at the kiosk. Each step's start, result and failure also go to
//! `provision-status.json` (`kiosk_app::provision_status`), which the technician screen shows.

use std::io::{BufRead as _, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use kiosk_app::provision_status::{self as status, Source, Status, StepId, Text};
use kiosk_qr::{EnrolmentCode, Payload};
use serde::Deserialize;

use crate::Outcome;

/// `kioskctl provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The provisioning file (on the image's FAT partition)
    #[arg(long, value_name = "PATH", default_value = "/boot/efi/provision.toml")]
    pub file: PathBuf,
    /// Where the kiosk keeps its state: kiosk.toml, tls/, the queue, the `enrolled` marker and
    /// provision-status.json
    #[arg(long, value_name = "DIR", default_value = "/var/lib/kiosk")]
    pub state_dir: PathBuf,
    /// How long the self-test measures the camera
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub camera_seconds: u64,
    /// An enrolment QR code's text (`VNKIOSK1|E|<gateway>|<token>`), or `-` to read it from
    /// the first line of stdin (keeps the token out of the process list): the gateway and
    /// token come from it, the rest from --file, whose [enrolment] then holds `ca_file` only
    #[arg(long, value_name = "PAYLOAD")]
    pub qr: Option<String>,
    /// The service runs provisioning again this many seconds after a failure (its
    /// RestartSec): said in the next step shown to the technician
    #[arg(long, value_name = "SECONDS")]
    pub retry_after: Option<u64>,
}

/// Name of the marker written when provisioning finished.
pub const MARKER: &str = "enrolled";
/// Held (flock) by the one provisioning run at a time: the boot unit and the kiosk's
/// technician screen may both start one.
pub use kiosk_app::provision_status::LOCK;

/// The `[enrolment]` table of provision.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnrolment {
    /// The one-time token from the operator (absent when an enrolment QR brings it).
    token: Option<String>,
    /// The deployment CA (PEM), relative to provision.toml or absolute.
    ca_file: PathBuf,
}

/// What the validated file asks for.
#[derive(Debug)]
pub struct Plan {
    /// The gateway (`gateway.url`).
    pub gateway: String,
    /// The kiosk's asset id (`site.id`), the certificate's name.
    pub kiosk_id: String,
    /// The site's name (`site.name`), for the technician screen.
    pub site_name: String,
    /// The one-time token.
    pub token: String,
    /// The deployment CA file.
    pub ca_file: PathBuf,
    /// The kiosk configuration to write, already validated as the kiosk will.
    pub kiosk_toml: String,
}

/// Why provisioning stopped: a sentence for the technician in both languages and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionError {
    /// The step that failed.
    pub step: StepId,
    /// What went wrong, Vietnamese.
    pub vi: String,
    /// What went wrong, English.
    pub en: String,
    /// What to do next, Vietnamese.
    pub next_vi: String,
    /// What to do next, English.
    pub next_en: String,
}

impl std::fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.step.number();
        write!(
            f,
            "bước {n} / step {n}:\n  vi: {} {}\n  en: {} {}",
            self.vi, self.next_vi, self.en, self.next_en
        )
    }
}

fn fail(
    step: StepId,
    vi: impl Into<String>,
    en: impl Into<String>,
    next_vi: impl Into<String>,
    next_en: impl Into<String>,
) -> ProvisionError {
    ProvisionError {
        step,
        vi: vi.into(),
        en: en.into(),
        next_vi: next_vi.into(),
        next_en: next_en.into(),
    }
}

/// Keys of kiosk.toml that provisioning sets itself.
const RESERVED: &[(&str, &str)] = &[
    ("gateway", "ca_file"),
    ("gateway", "client_cert"),
    ("gateway", "client_key"),
    ("queue", "path"),
    ("queue", "key_file"),
];

const FIX_FILE_VI: &str = "Sửa tệp trên máy tính rồi khởi động lại.";
const FIX_FILE_EN: &str = "Fix the file on a PC and boot again.";

/// Reads an enrolment QR code's text strictly: a `VNKIOSK1|E|...` code and nothing else.
///
/// # Errors
/// A [`ProvisionError`] at step 1 saying what the code is instead.
pub fn enrolment_code(text: &str) -> Result<EnrolmentCode, ProvisionError> {
    let next_vi = "Quét mã QR đăng ký kiosk (VNKIOSK1|E|…) do nhà vận hành cấp.";
    let next_en = "Scan the kiosk enrolment QR code (VNKIOSK1|E|…) from the operator.";
    match kiosk_qr::classify(text) {
        Ok(Payload::Enrolment(code)) => Ok(code),
        Ok(other) => Err(fail(
            StepId::File,
            format!(
                "Mã QR này không phải mã đăng ký kiosk (là mã {}).",
                kind_vi(other.kind_name())
            ),
            format!(
                "This QR code is not a kiosk enrolment code (it is a {} code).",
                other.kind_name()
            ),
            next_vi,
            next_en,
        )),
        Err(e) => Err(fail(
            StepId::File,
            "Mã QR không phải mã đăng ký kiosk hợp lệ.",
            format!("Not a valid kiosk enrolment QR code: {e}."),
            next_vi,
            next_en,
        )),
    }
}

fn kind_vi(kind: &str) -> &'static str {
    match kind {
        "cccd" => "trên thẻ CCCD",
        "kiosk-receipt" => "trên phiếu hẹn",
        _ => "khác",
    }
}

/// Validates provision.toml's text (pure: no file is read or written). `file` names the file
/// in messages and resolves a relative `ca_file`; `state_dir` is where the TLS files, queue
/// and configuration will live; `qr`, an enrolment QR code, brings the gateway and token.
///
/// # Errors
/// A [`ProvisionError`] at step 1 naming the key.
#[allow(clippy::too_many_lines)] // one key after the other, each with its own sentence
pub fn plan(
    file: &Path,
    text: &str,
    state_dir: &Path,
    qr: Option<&EnrolmentCode>,
) -> Result<Plan, ProvisionError> {
    let shown = file.display();
    let bad_toml = |e: &dyn std::fmt::Display| {
        fail(
            StepId::File,
            format!("{shown} không phải TOML hợp lệ: {e}."),
            format!("{shown} is not valid TOML: {e}."),
            FIX_FILE_VI,
            FIX_FILE_EN,
        )
    };
    let mut table: toml::Table = text.parse().map_err(|e| bad_toml(&e))?;
    let enrolment = table.remove("enrolment").ok_or_else(|| {
        fail(
            StepId::File,
            format!(
                "{shown} thiếu bảng [enrolment] (khóa `enrolment.token`, `enrolment.ca_file`)."
            ),
            format!(
                "{shown} has no [enrolment] table (keys `enrolment.token`, `enrolment.ca_file`)."
            ),
            "Thêm bảng này với mã đăng ký từ nhà vận hành.",
            "Add it with the operator's enrolment token.",
        )
    })?;
    let enrolment: RawEnrolment = enrolment.try_into().map_err(|e: toml::de::Error| {
        let msg = e.message().to_owned();
        fail(
            StepId::File,
            format!("{shown}, bảng [enrolment]: {msg}."),
            format!("{shown}, table [enrolment]: {msg}."),
            "Chỉ dùng hai khóa `token` và `ca_file`.",
            "Use exactly the keys `token` and `ca_file`.",
        )
    })?;
    let token = match (qr, enrolment.token.as_deref().map(str::trim)) {
        (Some(_), Some(_)) => {
            return Err(fail(
                StepId::File,
                format!("{shown} có `enrolment.token` trong khi mã QR đăng ký đã mang mã."),
                format!("{shown} sets `enrolment.token`, but the enrolment QR code brings one."),
                "Xóa khóa `enrolment.token` (mã QR là mã đăng ký) rồi quét lại.",
                "Remove `enrolment.token` (the QR code is the token) and scan again.",
            ))
        }
        (Some(code), None) => code.token.expose().clone(),
        (None, Some(t)) if !t.is_empty() => t.to_owned(),
        (None, _) => {
            return Err(fail(
                StepId::File,
                format!("{shown}: `enrolment.token` trống hoặc thiếu."),
                format!("{shown}: `enrolment.token` is empty or missing."),
                "Xin nhà vận hành một mã đăng ký rồi ghi vào tệp, hoặc quét mã QR đăng ký trên \
                 màn hình kỹ thuật của kiosk.",
                "Ask the operator for an enrolment token and put it in the file, or scan the \
                 enrolment QR code on the kiosk's technician screen.",
            ))
        }
    };
    for (t, k) in RESERVED {
        if table
            .get(*t)
            .and_then(toml::Value::as_table)
            .is_some_and(|tb| tb.contains_key(*k))
        {
            return Err(fail(
                StepId::File,
                format!("{shown}: có khóa `{t}.{k}`, giá trị do quá trình cài đặt tự đặt."),
                format!("{shown}: the key `{t}.{k}` is set, but provisioning sets it."),
                format!("Xóa khóa `{t}.{k}`. {FIX_FILE_VI}"),
                format!("Remove the key `{t}.{k}`. {FIX_FILE_EN}"),
            ));
        }
    }
    if let Some(code) = qr {
        let file_url = table
            .get("gateway")
            .and_then(|g| g.get("url"))
            .and_then(toml::Value::as_str);
        match file_url {
            Some(u) if u != code.gateway_url => {
                return Err(fail(
                    StepId::File,
                    format!(
                        "Mã QR chỉ tới cổng {}, nhưng `gateway.url` trong {shown} là {u}.",
                        code.gateway_url
                    ),
                    format!(
                        "The QR code names the gateway {}, but `gateway.url` in {shown} is {u}.",
                        code.gateway_url
                    ),
                    "Dùng mã QR của đúng điểm này, hoặc xóa `gateway.url` khỏi tệp.",
                    "Use this site's QR code, or remove `gateway.url` from the file.",
                ))
            }
            _ => {}
        }
    }
    let tls = state_dir.join("tls");
    let path_value = |p: PathBuf| toml::Value::String(p.to_string_lossy().into_owned());
    let mut set = |t: &str, k: &str, v: toml::Value| {
        if let Some(tb) = table
            .entry(t)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
        {
            tb.insert(k.to_owned(), v);
        }
    };
    if let Some(code) = qr {
        set(
            "gateway",
            "url",
            toml::Value::String(code.gateway_url.clone()),
        );
    }
    set("gateway", "ca_file", path_value(tls.join("ca.pem")));
    set("gateway", "client_cert", path_value(tls.join("client.pem")));
    set("gateway", "client_key", path_value(tls.join("client.key")));
    set("queue", "path", path_value(state_dir.join("queue.db")));
    set("queue", "key_file", path_value(state_dir.join("queue.key")));
    let kiosk_toml = toml::to_string(&table).map_err(|e| bad_toml(&e))?;
    let cfg = kiosk_app::config::from_toml(file, &kiosk_toml).map_err(|e| {
        fail(
            StepId::File,
            format!("Cấu hình kiosk trong {shown} không hợp lệ (chi tiết bằng tiếng Anh)."),
            format!("The kiosk configuration in {shown} is invalid: {e}."),
            format!("Sửa khóa được nêu. {FIX_FILE_VI}"),
            format!("Fix the key named. {FIX_FILE_EN}"),
        )
    })?;
    let ca_file = if enrolment.ca_file.is_absolute() {
        enrolment.ca_file
    } else {
        file.parent()
            .unwrap_or_else(|| Path::new("."))
            .join(enrolment.ca_file)
    };
    Ok(Plan {
        gateway: cfg.gateway.url.as_str().to_owned(),
        kiosk_id: cfg.site.id.clone(),
        site_name: cfg.site.name.clone(),
        token,
        ca_file,
        kiosk_toml,
    })
}

/// Writes `bytes` to `path` so that a power cut leaves either the old file or the new one:
/// a temporary file beside it, fsync, rename, fsync of the folder.
///
/// # Errors
/// Any I/O error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Whether the kiosk at `state_dir` finished provisioning.
#[must_use]
pub fn is_enrolled(state_dir: &Path) -> bool {
    state_dir.join(MARKER).is_file()
}

/// The console and the status file, step by step.
struct Reporter<'a> {
    out: &'a mut dyn Write,
    status: Status,
    path: PathBuf,
    warned: bool,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Reporter<'_> {
    fn say(&mut self, line: &str) {
        // The report going missing must not stop provisioning.
        let _ = writeln!(self.out, "{line}");
    }

    fn save(&mut self) {
        if let Err(e) = write_atomic(&self.path, self.status.to_json().as_bytes()) {
            if !self.warned {
                self.warned = true;
                let line = format!(
                    "provision: warning: cannot write {} ({e}); the technician screen will not \
                     show the steps",
                    self.path.display()
                );
                self.say(&line);
            }
        }
    }

    fn begin(&mut self, id: StepId, vi: &str, en: &str) {
        self.status.begin(id, Text::new(vi, en), now());
        self.save();
    }

    fn ok(&mut self, id: StepId, vi: String, en: String) {
        let line = format!("provision: {}/6 {en}", id.number());
        self.say(&line);
        self.status.ok(id, Text::new(vi, en), now());
        self.save();
    }

    fn fail(&mut self, e: &ProvisionError) {
        self.status.fail(
            e.step,
            Text::new(e.vi.clone(), e.en.clone()),
            Text::new(e.next_vi.clone(), e.next_en.clone()),
            now(),
        );
        self.save();
    }
}

/// Runs `kioskctl provision`.
///
/// # Errors
/// Only when the report cannot be written.
pub fn run(
    args: &ProvisionArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let state = &args.state_dir;
    if let Err(e) = std::fs::create_dir_all(state) {
        writeln!(
            err,
            "kioskctl: provisioning failed / cài đặt thất bại: cannot create {} ({e})",
            state.display()
        )?;
        return Ok(Outcome::Invalid);
    }
    // One run at a time; the lock goes with the process, whatever ends it.
    let lock_path = state.join(LOCK);
    let cannot_lock = |err: &mut dyn Write, e: &std::io::Error| {
        writeln!(
            err,
            "kioskctl: provisioning failed / cài đặt thất bại: cannot lock {} ({e})",
            lock_path.display()
        )
    };
    let lock = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
    {
        Ok(f) => f,
        Err(e) => {
            cannot_lock(err, &e)?;
            return Ok(Outcome::Invalid);
        }
    };
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            writeln!(
                err,
                "kioskctl: another provisioning run is under way / đang có một lần cài đặt \
                 khác; its steps are in {}",
                state.join(status::FILE).display()
            )?;
            return Ok(Outcome::Invalid);
        }
        Err(std::fs::TryLockError::Error(e)) => {
            cannot_lock(err, &e)?;
            return Ok(Outcome::Invalid);
        }
    }
    if is_enrolled(state) {
        writeln!(
            out,
            "provision: đã đăng ký / already enrolled ({}); nothing to do",
            state.join(MARKER).display()
        )?;
        return Ok(Outcome::Ok);
    }
    let source = if args.qr.is_some() {
        Source::Qr
    } else {
        Source::File
    };
    let mut report = Reporter {
        out,
        status: Status::new(source, args.retry_after, now()),
        path: state.join(status::FILE),
        warned: false,
    };
    match provision(args, &mut report) {
        Ok(()) => Ok(Outcome::Ok),
        Err(mut e) => {
            if let Some(secs) = args.retry_after {
                e.next_vi
                    .push_str(&format!(" Kiosk sẽ thử lại sau {secs} giây."));
                e.next_en
                    .push_str(&format!(" The kiosk tries again in {secs} seconds."));
            }
            report.fail(&e);
            writeln!(
                err,
                "kioskctl: provisioning failed / cài đặt thất bại at {e}"
            )?;
            Ok(Outcome::Invalid)
        }
    }
}

fn read_qr(arg: &str) -> Result<EnrolmentCode, ProvisionError> {
    if arg != "-" {
        return enrolment_code(arg);
    }
    let mut line = String::new();
    // At most one QR code's worth (kiosk_qr refuses longer ones anyway).
    let limit = u64::try_from(kiosk_qr::MAX_PAYLOAD_BYTES.saturating_add(2)).unwrap_or(u64::MAX);
    std::io::Read::take(std::io::stdin().lock(), limit)
        .read_line(&mut line)
        .map_err(|e| {
            fail(
                StepId::File,
                format!("Không đọc được mã QR từ stdin ({e})."),
                format!("Cannot read the QR code from stdin ({e})."),
                "Quét lại mã QR đăng ký.",
                "Scan the enrolment QR code again.",
            )
        })?;
    enrolment_code(&line)
}

fn provision(args: &ProvisionArgs, r: &mut Reporter<'_>) -> Result<(), ProvisionError> {
    let state = &args.state_dir;
    let shown = args.file.display();
    r.begin(
        StepId::File,
        "Đang đọc provision.toml",
        "Reading provision.toml",
    );
    let qr = args.qr.as_deref().map(read_qr).transpose()?;
    let text = std::fs::read_to_string(&args.file).map_err(|e| {
        fail(
            StepId::File,
            format!("Không đọc được {shown} ({e})."),
            format!("Cannot read {shown} ({e})."),
            "Chép provision.toml vào phân vùng FAT của USB rồi khởi động lại.",
            "Copy provision.toml onto the USB stick's FAT partition and boot again.",
        )
    })?;
    let plan = plan(&args.file, &text, state, qr.as_ref())?;
    r.status
        .identify(&plan.kiosk_id, &plan.site_name, &plan.gateway);
    r.ok(
        StepId::File,
        format!(
            "provision.toml hợp lệ (kiosk {}, cổng {})",
            plan.kiosk_id, plan.gateway
        ),
        format!(
            "provision.toml ok (kiosk {}, gateway {})",
            plan.kiosk_id, plan.gateway
        ),
    );

    let io = |step: StepId, what: &str, e: &dyn std::fmt::Display| {
        fail(
            step,
            format!("Không ghi được {what} ({e})."),
            format!("Cannot write {what} ({e})."),
            "Kiểm tra ổ đĩa còn trống (`df -h /var/lib`).",
            "Check the disk has space (`df -h /var/lib`).",
        )
    };
    r.begin(
        StepId::Enrol,
        "Đang đăng ký với máy chủ cổng",
        "Enrolling with the gateway",
    );
    let tls = state.join("tls");
    std::fs::create_dir_all(&tls).map_err(|e| io(StepId::Enrol, &tls.display().to_string(), &e))?;
    if tls.join("client.pem").is_file() && tls.join("client.key").is_file() {
        r.ok(
            StepId::Enrol,
            "đăng ký: giữ chứng chỉ của lần chạy trước".to_owned(),
            "enrolment: certificate from an earlier run kept".to_owned(),
        );
    } else {
        enrol(&plan, &tls)?;
        r.ok(
            StepId::Enrol,
            format!("đăng ký thành công ({})", tls.display()),
            format!("enrolment ok ({})", tls.display()),
        );
    }

    r.begin(
        StepId::QueueKey,
        "Đang tạo khóa hàng đợi",
        "Making the queue key",
    );
    let key = state.join("queue.key");
    if key.is_file() {
        r.ok(
            StepId::QueueKey,
            "giữ khóa hàng đợi có sẵn".to_owned(),
            "queue key kept".to_owned(),
        );
    } else {
        kiosk_outbox::KeyFile::new(&key)
            .create()
            .map_err(|e| io(StepId::QueueKey, "queue.key", &e))?;
        r.ok(
            StepId::QueueKey,
            "đã tạo khóa hàng đợi".to_owned(),
            "queue key made".to_owned(),
        );
    }

    r.begin(
        StepId::Config,
        "Đang ghi cấu hình kiosk",
        "Writing the kiosk configuration",
    );
    let cfg = state.join("kiosk.toml");
    write_atomic(&cfg, plan.kiosk_toml.as_bytes())
        .map_err(|e| io(StepId::Config, "kiosk.toml", &e))?;
    r.ok(
        StepId::Config,
        format!("đã ghi cấu hình ({})", cfg.display()),
        format!("configuration written ({})", cfg.display()),
    );

    r.begin(
        StepId::Selftest,
        "Đang tự kiểm tra (mạng, đầu đọc thẻ, camera, máy in)",
        "Self-test under way (network, card reader, camera, printer)",
    );
    selftest(args, &cfg, r)?;
    r.ok(
        StepId::Selftest,
        "tự kiểm tra đạt".to_owned(),
        "self-test passed".to_owned(),
    );

    r.begin(
        StepId::Enrolled,
        "Đang đánh dấu đã đăng ký",
        "Marking the kiosk enrolled",
    );
    let marker = state.join(MARKER);
    let body = format!(
        "kiosk_id = {:?}\ngateway = {:?}\n",
        plan.kiosk_id, plan.gateway
    );
    write_atomic(&marker, body.as_bytes()).map_err(|e| io(StepId::Enrolled, MARKER, &e))?;
    r.ok(
        StepId::Enrolled,
        format!("đã đăng ký ({})", marker.display()),
        format!("enrolled ({})", marker.display()),
    );
    Ok(())
}

fn selftest(args: &ProvisionArgs, cfg: &Path, r: &mut Reporter<'_>) -> Result<(), ProvisionError> {
    let mut report = Vec::new();
    let mut report_err = Vec::new();
    let outcome = crate::selftest::run(
        &crate::selftest::SelftestArgs {
            config: cfg.to_path_buf(),
            print: false,
            json: false,
            camera_seconds: args.camera_seconds,
        },
        &mut report,
        &mut report_err,
    )
    .map_err(|e| {
        fail(
            StepId::Selftest,
            format!("Tự kiểm tra không chạy được: {e}."),
            format!("The self-test could not run: {e}."),
            "Khởi động lại kiosk; nếu vẫn lỗi, gọi hỗ trợ kỹ thuật.",
            "Reboot the kiosk; if it happens again, call technical support.",
        )
    })?;
    let report = String::from_utf8_lossy(&report);
    for line in report.lines() {
        r.say(&format!("provision: 5/6   {line}"));
    }
    if outcome == Outcome::Invalid {
        let failed: Vec<&str> = report.lines().filter(|l| l.starts_with("fail")).collect();
        return Err(fail(
            StepId::Selftest,
            format!("Tự kiểm tra báo lỗi: {}.", failed.join("; ")),
            format!("The self-test failed: {}.", failed.join("; ")),
            "Sửa các dòng `fail` rồi khởi động lại; kiosk sẽ tự cài đặt lại (chứng chỉ đã có \
             được giữ lại).",
            "Fix the lines marked fail and reboot; provisioning runs again (the certificate \
             already obtained is kept).",
        ));
    }
    Ok(())
}

/// Why enrolment failed, as the technician acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolFailure {
    /// The gateway refused the token (unknown, expired, used, for another kiosk).
    Token,
    /// The TLS handshake failed: the gateway's certificate is not from the deployment CA.
    Certificate,
    /// The gateway could not be reached (no network, wrong address, gateway down).
    Unreachable,
    /// The gateway answered something else.
    Other,
}

/// Classifies the enrolment's error message (pure).
#[must_use]
pub fn enrol_failure(detail: &str) -> EnrolFailure {
    let d = detail.to_ascii_lowercase();
    if d.contains("ask the operator") {
        EnrolFailure::Token
    } else if d.contains("certificate") || d.contains("unknownissuer") || d.contains("tls") {
        EnrolFailure::Certificate
    } else if d.contains("connect")
        || d.contains("timed out")
        || d.contains("timeout")
        || d.contains("dns")
        || d.contains("unreachable")
        || d.contains("refused")
    {
        EnrolFailure::Unreachable
    } else {
        EnrolFailure::Other
    }
}

fn enrol(plan: &Plan, tls: &Path) -> Result<(), ProvisionError> {
    if !plan.ca_file.is_file() {
        return Err(fail(
            StepId::Enrol,
            format!(
                "Không thấy chứng chỉ CA {} (khóa `enrolment.ca_file`).",
                plan.ca_file.display()
            ),
            format!(
                "The CA certificate {} is missing (key `enrolment.ca_file`).",
                plan.ca_file.display()
            ),
            "Chép tệp CA của nhà vận hành vào phân vùng FAT cạnh provision.toml.",
            "Copy the operator's CA file onto the FAT partition next to provision.toml.",
        ));
    }
    let args = crate::enrol::EnrolArgs {
        gateway: Some(plan.gateway.clone()),
        token: Some(plan.token.clone()),
        kiosk_id: Some(plan.kiosk_id.clone()),
        ca: Some(plan.ca_file.clone()),
        out: tls.to_path_buf(),
        // A key without a certificate is what a cut during an earlier enrolment leaves.
        force: true,
        renew: false,
        config: None,
    };
    let (mut o, mut e) = (Vec::new(), Vec::new());
    let outcome = crate::enrol::run(&args, &mut o, &mut e).map_err(|x| {
        fail(
            StepId::Enrol,
            format!("Đăng ký không chạy được: {x}."),
            format!("Enrolment could not run: {x}."),
            "Khởi động lại kiosk; nếu vẫn lỗi, gọi hỗ trợ kỹ thuật.",
            "Reboot the kiosk; if it happens again, call technical support.",
        )
    })?;
    if outcome == Outcome::Ok {
        return Ok(());
    }
    let detail = String::from_utf8_lossy(&e)
        .trim()
        .trim_start_matches("kioskctl: enrolment failed: ")
        .to_owned();
    let gw = &plan.gateway;
    let (vi, next_vi, next_en) = match enrol_failure(&detail) {
        EnrolFailure::Token => (
            "Cổng từ chối mã đăng ký (không đúng, hết hạn hoặc đã dùng).".to_owned(),
            "Xin nhà vận hành mã mới, rồi quét mã QR mới hoặc sửa `enrolment.token` và khởi \
             động lại.",
            "Ask the operator for a new token, then scan the new QR code or fix \
             `enrolment.token` and reboot.",
        ),
        EnrolFailure::Certificate => (
            format!("Chứng chỉ của máy chủ cổng {gw} không khớp với tệp CA."),
            "Kiểm tra địa chỉ cổng và chép đúng tệp CA của nhà vận hành (`enrolment.ca_file`).",
            "Check the gateway's address and copy the operator's CA file \
             (`enrolment.ca_file`).",
        ),
        EnrolFailure::Unreachable => (
            format!("Không kết nối được máy chủ cổng {gw}."),
            "Kiểm tra cáp mạng và địa chỉ cổng (`gateway.url`).",
            "Check the network cable and the gateway's address (`gateway.url`).",
        ),
        EnrolFailure::Other => (
            format!("Đăng ký với máy chủ cổng {gw} thất bại."),
            "Kiểm tra mạng, địa chỉ cổng và tệp CA; nếu vẫn lỗi, gọi nhà vận hành.",
            "Check the network, the gateway's address and the CA file; if it persists, call \
             the operator.",
        ),
    };
    Err(fail(
        StepId::Enrol,
        vi,
        format!("Enrolment failed: {detail}."),
        next_vi,
        next_en,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
mode = "one-stop-shop"
demo = true

[enrolment]
token = "T"
ca_file = "ca.pem"

[site]
id = "HN-PB-001"
name = "Bộ phận Một cửa"

[gateway]
url = "http://127.0.0.1:8080"

[devices]
card_reader = "sim"
camera = "sim"
qr = "sim"
printer = "sim:/tmp/r"
"#;

    fn plan_of(text: &str) -> Result<Plan, ProvisionError> {
        plan(
            Path::new("/boot/efi/provision.toml"),
            text,
            Path::new("/var/lib/kiosk"),
            None,
        )
    }

    #[test]
    fn a_good_file_gives_a_plan_with_the_state_paths() {
        let p = plan_of(GOOD).expect("valid");
        assert_eq!(p.kiosk_id, "HN-PB-001");
        assert_eq!(p.gateway, "http://127.0.0.1:8080");
        assert_eq!(p.ca_file, Path::new("/boot/efi/ca.pem"));
        assert!(p.kiosk_toml.contains("/var/lib/kiosk/tls/client.pem"));
        assert!(p.kiosk_toml.contains("/var/lib/kiosk/queue.key"));
        assert!(!p.kiosk_toml.contains("enrolment"));
        assert!(!p.kiosk_toml.contains("token"));
    }

    #[test]
    fn unknown_and_missing_keys_are_named() {
        let e = plan_of(&GOOD.replace("ca_file = \"ca.pem\"", "ca_file = \"ca.pem\"\ncolour = 1"))
            .expect_err("unknown key");
        assert!(e.en.contains("colour"), "{e}");
        let e = plan_of(&GOOD.replace("token = \"T\"", "")).expect_err("no token");
        assert!(e.en.contains("token"), "{e}");
        let e = plan_of(&GOOD.replace("[enrolment]", "[enrolmnt]")).expect_err("no table");
        assert!(e.en.contains("[enrolment]"), "{e}");
        let e = plan_of(&GOOD.replace("qr = \"sim\"", "")).expect_err("no devices.qr");
        assert!(e.en.contains("devices.qr"), "{e}");
        let e = plan_of(&GOOD.replace("card_reader", "card_raeder")).expect_err("typo");
        assert!(e.en.contains("card_raeder"), "{e}");
        assert!(e.next_vi.contains("Sửa"), "a Vietnamese next step: {e}");
    }

    #[test]
    fn provisioning_owns_the_tls_and_queue_paths() {
        let e = plan_of(&GOOD.replace("[gateway]", "[gateway]\nclient_key = \"/tmp/k\""))
            .expect_err("reserved");
        assert!(e.en.contains("gateway.client_key"), "{e}");
    }

    const QR_TOKEN: &str = "k7Hq2-Zp_9xYw3Lm";

    fn qr_plan(text: &str, qr: &str) -> Result<Plan, ProvisionError> {
        let code = enrolment_code(qr)?;
        plan(
            Path::new("/boot/efi/provision.toml"),
            text,
            Path::new("/var/lib/kiosk"),
            Some(&code),
        )
    }

    #[test]
    fn an_enrolment_qr_brings_the_gateway_and_token() {
        let no_token = GOOD.replace("token = \"T\"\n", "");
        let qr = format!("VNKIOSK1|E|http://127.0.0.1:8080|{QR_TOKEN}\r\n");
        let p = qr_plan(&no_token, &qr).expect("valid");
        assert_eq!(p.token, QR_TOKEN);
        assert_eq!(p.gateway, "http://127.0.0.1:8080");
        assert!(!p.kiosk_toml.contains(QR_TOKEN));
        // Without gateway.url in the file, the QR's is written.
        let no_url = no_token.replace("url = \"http://127.0.0.1:8080\"\n", "");
        let p = qr_plan(&no_url, &qr).expect("valid");
        assert!(
            p.kiosk_toml.contains("http://127.0.0.1:8080"),
            "{}",
            p.kiosk_toml
        );
        // Two tokens, or two gateways, are refused.
        let e = qr_plan(GOOD, &qr).expect_err("token twice");
        assert!(e.en.contains("enrolment.token"), "{e}");
        let other = format!("VNKIOSK1|E|https://gw.example.vn|{QR_TOKEN}");
        let e = qr_plan(&no_token, &other).expect_err("another gateway");
        assert!(
            e.en.contains("gw.example.vn") && e.en.contains("gateway.url"),
            "{e}"
        );
    }

    #[test]
    fn other_codes_are_not_enrolment_codes() {
        let receipt = "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P";
        let e = enrolment_code(receipt).expect_err("a receipt");
        assert!(
            e.en.contains("kiosk-receipt") && e.vi.contains("phiếu hẹn"),
            "{e}"
        );
        assert!(e.next_vi.contains("VNKIOSK1|E"), "{e}");
        let e = enrolment_code("VNKIOSK1|E|http://gw.example.vn|k7Hq2-Zp_9xYw3Lm")
            .expect_err("plain http");
        assert!(e.en.contains("https://"), "{e}");
        let e = enrolment_code("VNKIOSK1|E|https://gw.vn|short").expect_err("short token");
        assert!(e.en.contains("token"), "{e}");
        assert!(enrolment_code("https://dichvucong.gov.vn").is_err());
        assert_eq!(e.step, StepId::File);
    }

    #[test]
    fn enrolment_failures_are_told_apart() {
        assert_eq!(
            enrol_failure("the gateway refused the token (unknown, expired or already used): ask the operator for a new one"),
            EnrolFailure::Token
        );
        assert_eq!(
            enrol_failure("HTTP client: error sending request: client error (Connect): invalid peer certificate: UnknownIssuer"),
            EnrolFailure::Certificate
        );
        assert_eq!(
            enrol_failure("HTTP client: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"),
            EnrolFailure::Unreachable
        );
        assert_eq!(
            enrol_failure("the gateway answered 500 "),
            EnrolFailure::Other
        );
    }

    #[test]
    fn write_atomic_replaces_whole_files() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("f");
        write_atomic(&p, b"one").expect("write");
        write_atomic(&p, b"two").expect("write");
        assert_eq!(std::fs::read(&p).ok(), Some(b"two".to_vec()));
        assert_eq!(
            std::fs::read_dir(d.path()).map(Iterator::count).ok(),
            Some(1)
        );
    }
}
