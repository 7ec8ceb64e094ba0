//! `kioskctl provision`: first-boot provisioning from `provision.toml`.
//!
//! The technician edits `provision.toml` on the image's FAT partition (any PC can) and boots.
//! kiosk-provision.service runs this before the kiosk starts. The steps, each printed as one
//! line so the journal and the console show where it stands:
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
//! Re-running on an enrolled kiosk does nothing.
//!
//! Errors are in Vietnamese and English with a next step: the reader is a technician at the
//! kiosk.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::Outcome;

/// `kioskctl provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The provisioning file (on the image's FAT partition)
    #[arg(long, value_name = "PATH", default_value = "/boot/efi/provision.toml")]
    pub file: PathBuf,
    /// Where the kiosk keeps its state: kiosk.toml, tls/, the queue and the `enrolled` marker
    #[arg(long, value_name = "DIR", default_value = "/var/lib/kiosk")]
    pub state_dir: PathBuf,
    /// How long the self-test measures the camera
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub camera_seconds: u64,
}

/// Name of the marker written when provisioning finished.
pub const MARKER: &str = "enrolled";

/// The `[enrolment]` table of provision.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnrolment {
    /// The one-time token from the operator.
    token: String,
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
    /// The step that failed (1..=6).
    pub step: u8,
    /// Vietnamese.
    pub vi: String,
    /// English.
    pub en: String,
}

impl std::fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bước {} / step {}:\n  vi: {}\n  en: {}",
            self.step, self.step, self.vi, self.en
        )
    }
}

fn fail(step: u8, vi: impl Into<String>, en: impl Into<String>) -> ProvisionError {
    ProvisionError {
        step,
        vi: vi.into(),
        en: en.into(),
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

/// Validates provision.toml's text (pure: no file is read or written). `file` names the file
/// in messages and resolves a relative `ca_file`; `state_dir` is where the TLS files, queue
/// and configuration will live.
///
/// # Errors
/// A [`ProvisionError`] at step 1 naming the key.
pub fn plan(file: &Path, text: &str, state_dir: &Path) -> Result<Plan, ProvisionError> {
    let shown = file.display();
    let bad_toml = |e: &dyn std::fmt::Display| {
        fail(
            1,
            format!(
                "{shown} không phải TOML hợp lệ: {e}. Sửa tệp trên máy tính rồi khởi động lại."
            ),
            format!("{shown} is not valid TOML: {e}. Fix the file on a PC and boot again."),
        )
    };
    let mut table: toml::Table = text.parse().map_err(|e| bad_toml(&e))?;
    let enrolment = table.remove("enrolment").ok_or_else(|| {
        fail(
            1,
            format!(
                "{shown} thiếu bảng [enrolment] (khóa `enrolment.token`, `enrolment.ca_file`). \
                 Thêm bảng này với mã đăng ký từ nhà vận hành."
            ),
            format!(
                "{shown} has no [enrolment] table (keys `enrolment.token`, `enrolment.ca_file`). \
                 Add it with the operator's enrolment token."
            ),
        )
    })?;
    let enrolment: RawEnrolment = enrolment.try_into().map_err(|e: toml::de::Error| {
        let msg = e.message().to_owned();
        fail(
            1,
            format!("{shown}, bảng [enrolment]: {msg}. Chỉ dùng hai khóa `token` và `ca_file`."),
            format!(
                "{shown}, table [enrolment]: {msg}. Use exactly the keys `token` and `ca_file`."
            ),
        )
    })?;
    if enrolment.token.trim().is_empty() {
        return Err(fail(
            1,
            format!("{shown}: `enrolment.token` trống. Xin nhà vận hành một mã đăng ký mới."),
            format!(
                "{shown}: `enrolment.token` is empty. Ask the operator for an enrolment token."
            ),
        ));
    }
    for (t, k) in RESERVED {
        if table
            .get(*t)
            .and_then(toml::Value::as_table)
            .is_some_and(|tb| tb.contains_key(*k))
        {
            return Err(fail(
                1,
                format!("{shown}: xóa khóa `{t}.{k}`: quá trình cài đặt tự đặt giá trị này."),
                format!("{shown}: remove the key `{t}.{k}`: provisioning sets it."),
            ));
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
    set("gateway", "ca_file", path_value(tls.join("ca.pem")));
    set("gateway", "client_cert", path_value(tls.join("client.pem")));
    set("gateway", "client_key", path_value(tls.join("client.key")));
    set("queue", "path", path_value(state_dir.join("queue.db")));
    set("queue", "key_file", path_value(state_dir.join("queue.key")));
    let kiosk_toml = toml::to_string(&table).map_err(|e| bad_toml(&e))?;
    let cfg = kiosk_app::config::from_toml(file, &kiosk_toml).map_err(|e| {
        fail(
            1,
            format!(
                "cấu hình kiosk trong {shown} không hợp lệ (chi tiết bằng tiếng Anh bên dưới). \
                 Sửa khóa được nêu rồi khởi động lại."
            ),
            format!("the kiosk configuration in {shown} is invalid: {e}"),
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
        token: enrolment.token.trim().to_owned(),
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

/// Runs `kioskctl provision`.
///
/// # Errors
/// Only when the report cannot be written.
pub fn run(
    args: &ProvisionArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    if is_enrolled(&args.state_dir) {
        writeln!(
            out,
            "provision: đã đăng ký / already enrolled ({}); nothing to do",
            args.state_dir.join(MARKER).display()
        )?;
        return Ok(Outcome::Ok);
    }
    match provision(args, out) {
        Ok(()) => Ok(Outcome::Ok),
        Err(e) => {
            writeln!(
                err,
                "kioskctl: provisioning failed / cài đặt thất bại at {e}"
            )?;
            Ok(Outcome::Invalid)
        }
    }
}

fn provision(args: &ProvisionArgs, out: &mut dyn Write) -> Result<(), ProvisionError> {
    let mut say = |line: String| {
        // The report going missing must not stop provisioning.
        let _ = writeln!(out, "{line}");
    };
    let state = &args.state_dir;
    let shown = args.file.display();
    let text = std::fs::read_to_string(&args.file).map_err(|e| {
        fail(
            1,
            format!(
                "không đọc được {shown} ({e}). Chép provision.toml vào phân vùng FAT của USB \
                 rồi khởi động lại."
            ),
            format!(
                "cannot read {shown} ({e}). Copy provision.toml onto the USB stick's FAT \
                 partition and boot again."
            ),
        )
    })?;
    let plan = plan(&args.file, &text, state)?;
    say(format!(
        "provision: 1/6 provision.toml ok (kiosk {}, gateway {})",
        plan.kiosk_id, plan.gateway
    ));

    let io = |step: u8, what: &str, e: &dyn std::fmt::Display| {
        fail(
            step,
            format!("không ghi được {what} ({e}). Kiểm tra ổ đĩa còn trống (`df -h /var/lib`)."),
            format!("cannot write {what} ({e}). Check the disk has space (`df -h /var/lib`)."),
        )
    };
    let tls = state.join("tls");
    std::fs::create_dir_all(&tls).map_err(|e| io(2, &tls.display().to_string(), &e))?;
    if tls.join("client.pem").is_file() && tls.join("client.key").is_file() {
        say("provision: 2/6 enrolment: certificate from an earlier run kept".to_owned());
    } else {
        enrol(&plan, &tls)?;
        say(format!("provision: 2/6 enrolment ok ({})", tls.display()));
    }

    let key = state.join("queue.key");
    if key.is_file() {
        say("provision: 3/6 queue key kept".to_owned());
    } else {
        kiosk_outbox::KeyFile::new(&key)
            .create()
            .map_err(|e| io(3, "queue.key", &e))?;
        say("provision: 3/6 queue key made".to_owned());
    }

    let cfg = state.join("kiosk.toml");
    write_atomic(&cfg, plan.kiosk_toml.as_bytes()).map_err(|e| io(4, "kiosk.toml", &e))?;
    say(format!(
        "provision: 4/6 configuration written ({})",
        cfg.display()
    ));

    let mut report = Vec::new();
    let mut report_err = Vec::new();
    let outcome = crate::selftest::run(
        &crate::selftest::SelftestArgs {
            config: cfg,
            print: false,
            json: false,
            camera_seconds: args.camera_seconds,
        },
        &mut report,
        &mut report_err,
    )
    .map_err(|e| {
        fail(
            5,
            format!("tự kiểm tra không chạy được: {e}"),
            format!("the self-test could not run: {e}"),
        )
    })?;
    let report = String::from_utf8_lossy(&report);
    for line in report.lines() {
        say(format!("provision: 5/6   {line}"));
    }
    if outcome == Outcome::Invalid {
        let failed: Vec<&str> = report.lines().filter(|l| l.starts_with("fail")).collect();
        return Err(fail(
            5,
            format!(
                "tự kiểm tra báo lỗi: {}. Sửa các dòng `fail` rồi khởi động lại; kiosk sẽ tự \
                 cài đặt lại (chứng chỉ đã có được giữ lại).",
                failed.join("; ")
            ),
            format!(
                "the self-test failed: {}. Fix the lines marked fail and reboot; provisioning \
                 runs again (the certificate already obtained is kept).",
                failed.join("; ")
            ),
        ));
    }
    say("provision: 5/6 self-test passed".to_owned());

    let marker = state.join(MARKER);
    let body = format!(
        "kiosk_id = {:?}\ngateway = {:?}\n",
        plan.kiosk_id, plan.gateway
    );
    write_atomic(&marker, body.as_bytes()).map_err(|e| io(6, MARKER, &e))?;
    say(format!("provision: 6/6 enrolled ({})", marker.display()));
    Ok(())
}

fn enrol(plan: &Plan, tls: &Path) -> Result<(), ProvisionError> {
    if !plan.ca_file.is_file() {
        return Err(fail(
            2,
            format!(
                "không thấy chứng chỉ CA {} (khóa `enrolment.ca_file`). Chép tệp CA của nhà \
                 vận hành vào phân vùng FAT cạnh provision.toml.",
                plan.ca_file.display()
            ),
            format!(
                "the CA certificate {} is missing (key `enrolment.ca_file`). Copy the operator's \
                 CA file onto the FAT partition next to provision.toml.",
                plan.ca_file.display()
            ),
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
            2,
            format!("đăng ký không chạy được: {x}"),
            format!("enrolment could not run: {x}"),
        )
    })?;
    if outcome == Outcome::Ok {
        return Ok(());
    }
    let detail = String::from_utf8_lossy(&e)
        .trim()
        .trim_start_matches("kioskctl: enrolment failed: ")
        .to_owned();
    let vi_next = if detail.contains("ask the operator") {
        "cổng từ chối mã đăng ký (không đúng, hết hạn hoặc đã dùng): xin nhà vận hành mã mới, \
         sửa `enrolment.token` rồi khởi động lại"
    } else {
        "kiểm tra mạng, địa chỉ cổng (`gateway.url`) và tệp CA, rồi khởi động lại; kiosk sẽ \
         thử lại"
    };
    Err(fail(
        2,
        format!("đăng ký thất bại: {vi_next}."),
        format!("enrolment failed: {detail}. Fix it and reboot; provisioning runs again."),
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
        assert!(e.vi.contains("Sửa"), "a Vietnamese next step: {e}");
    }

    #[test]
    fn provisioning_owns_the_tls_and_queue_paths() {
        let e = plan_of(&GOOD.replace("[gateway]", "[gateway]\nclient_key = \"/tmp/k\""))
            .expect_err("reserved");
        assert!(e.en.contains("gateway.client_key"), "{e}");
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
