//! The real-peer walk: virtual CCCD profile -> pcscd (vpcd driver) -> `kioskctl card read`.
//!
//! Needs the Debian packages `pcscd` and `vsmartcard-vpcd` (installed by `cargo xtask setup`);
//! without them the test says so and passes without running. It reuses a running pcscd (only
//! one may run per machine) or starts its own `pcscd --foreground` and stops it at the end.
//! The virtual card is served from this process on 127.0.0.1:35963 (vpcd's first slot,
//! reader "Virtual PCD 00 00"); the scenarios run one after another, never concurrently.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kiosk_vcard::vpcd::{self, Stop};
use kiosk_vcard::{Profile, VirtualCccd};

const READER: &str = "Virtual PCD 00 00";

/// Connects the card to vpcd and serves it on a thread.
fn insert(profile: &Profile) -> (Inserted, PathBuf, tempfile::TempDir) {
    let (mut card, trust) = VirtualCccd::from_profile(profile).expect("profile builds");
    let dir = tempfile::tempdir().expect("tempdir");
    let trust_dir = dir.path().join("trust");
    std::fs::create_dir(&trust_dir).expect("mkdir");
    std::fs::write(trust_dir.join("csca.der"), &trust.csca_der).expect("write csca");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", kiosk_tests::pcscd::VPCD_PORT)) {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => {
                panic!("vpcd not listening on 127.0.0.1:35963: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let delay = Duration::from_millis(profile.chip.apdu_delay_ms);
    let remove = profile.faults.remove_after_apdu;
    let mute = profile.faults.mute_after_apdu;
    let control = stream.try_clone().expect("clone stream");
    let handle = std::thread::spawn(move || {
        vpcd::serve_with(&mut stream, &mut card, delay, remove, mute).unwrap_or(Stop::Closed)
    });
    (Inserted { handle, control }, trust_dir, dir)
}

/// Runs kioskctl, killing it after 60 s so that a hang fails the test instead of stalling CI.
fn kioskctl(args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kioskctl runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kioskctl {args:?} hung for 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn profile_file(dir: &Path, extra: &str) -> Profile {
    let portrait = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw/vcard/fixtures/portrait.jpg");
    profile_with_portrait(dir, extra, &portrait)
}

/// The fixture portrait as JPEG 2000 (Debian's opj_compress, installed by `cargo xtask setup`),
/// as many chips store it.
fn jp2_portrait(dir: &Path) -> std::path::PathBuf {
    let jpg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw/vcard/fixtures/portrait.jpg");
    let img = kiosk_face::portrait::decode(&std::fs::read(jpg).expect("fixture")).expect("jpeg");
    let jp2 = dir.join("portrait.jp2");
    let bytes = kiosk_face::degrade::encode_jp2(&img, 20, dir).expect("JPEG 2000");
    std::fs::write(&jp2, bytes).expect("write");
    jp2
}

fn profile_with_portrait(dir: &Path, extra: &str, portrait: &Path) -> Profile {
    let text = format!(
        r#"
[holder]
id_number = "001090123456"
surname = "NGUYEN"
given_names = "VAN AN"
full_name = "Nguyễn Văn An"
date_of_birth = "1990-01-01"
sex = "M"
issue_date = "2021-04-15"
expiry_date = "2030-01-01"
ethnicity = "Kinh"
religion = "Không"
father = "Nguyễn Văn Bình"
mother = "Trần Thị Cúc"
portrait = "{}"
{extra}
"#,
        portrait.display()
    );
    let path = dir.join("card.toml");
    std::fs::write(&path, text).expect("write profile");
    Profile::load(&path).expect("profile parses")
}

fn read_json(trust: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let trust = trust.to_string_lossy().into_owned();
    let mut args = vec![
        "card",
        "read",
        "--id",
        "001090123456",
        "--reader",
        READER,
        "--trust",
        trust.as_str(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = kioskctl(&args);
    let v = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (code, v, stderr)
}

/// A card connected to vpcd, served on a thread.
struct Inserted {
    handle: JoinHandle<Stop>,
    control: TcpStream,
}

fn settle(card: Inserted) {
    // Closing the connection removes the card; give pcscd a moment to notice.
    let _ = card.control.shutdown(std::net::Shutdown::Both);
    let _ = card.handle.join();
    std::thread::sleep(Duration::from_millis(1000));
}

/// One pcscd and one vpcd slot: the tests of this file take turns.
static PCSCD_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn virtual_cccd_through_pcscd_and_kioskctl() {
    let _turn = PCSCD_TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(_pcscd) = kiosk_tests::pcscd::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");

    // 1. A good card, 20 ms per APDU: verified, DG13 fields, decoded portrait.
    let p = profile_file(tmp.path(), "[chip]\napdu_delay_ms = 20\n");
    let (h, trust, _d) = insert(&p);
    let png = tmp.path().join("face.png");
    let png_s = png.to_string_lossy().into_owned();
    let (code, v, stderr) = read_json(&trust, &["--portrait-out", png_s.as_str()]);
    assert_eq!(code, 0, "{v}\n{stderr}");
    assert_eq!(v["passive_authentication"]["verdict"], "verified");
    assert_eq!(v["active_authentication"]["verdict"], "verified");
    assert_eq!(v["dg13"]["2"], "<redacted>");
    assert_eq!(v["portrait"]["decoded"], true);
    assert!(png.exists());
    eprintln!(
        "pcscd + vpcd, 20 ms/APDU: {} APDUs, read {} ms, verify {} ms",
        v["apdus"], v["read_ms"], v["verify_ms"]
    );
    settle(h);

    // 2. --show-personal shows the NFC-normalised name. This card's portrait is JPEG 2000.
    let p = profile_with_portrait(tmp.path(), "", &jp2_portrait(tmp.path()));
    let (h, trust, _d) = insert(&p);
    // The plain-text report redacts every personal field by default.
    let trust_s = trust.to_string_lossy().into_owned();
    let (code, text, stderr) = kioskctl(&[
        "card",
        "read",
        "--id",
        "001090123456",
        "--reader",
        READER,
        "--trust",
        trust_s.as_str(),
    ]);
    assert_eq!(code, 0, "{text}\n{stderr}");
    assert!(text.contains("identity VERIFIED"), "{text}");
    for personal in [
        "001090123456",
        "090123456",
        "NGUYEN",
        "Nguyễn",
        "900101",
        "01/01/1990",
    ] {
        assert!(
            !text.contains(personal) && !stderr.contains(personal),
            "{personal} leaked:\n{text}"
        );
    }
    let (code, v, stderr) = read_json(&trust, &["--show-personal"]);
    assert_eq!(code, 0, "{v}\n{stderr}");
    assert_eq!(v["portrait"]["format"], "Jpeg2000", "{v}");
    assert_eq!(v["portrait"]["decoded"], true, "{v}");
    assert!(v["portrait"]["width"].as_u64().unwrap_or(0) > 100, "{v}");
    eprintln!(
        "pcscd + vpcd, no card delay: {} APDUs, read {} ms",
        v["apdus"], v["read_ms"]
    );
    assert_eq!(v["dg13"]["2"], "Nguyễn Văn An");
    settle(h);

    // 3. Each fault switch.
    for (fault, expect_code, key, verdict) in [
        (
            "tamper_dg2 = true",
            1,
            "passive_authentication",
            "hash_mismatch",
        ),
        (
            "unknown_csca = true",
            1,
            "passive_authentication",
            "csca_unknown",
        ),
        (
            "aa_key_mismatch = true",
            1,
            "active_authentication",
            "failed",
        ),
    ] {
        let p = profile_file(tmp.path(), &format!("[faults]\n{fault}\n"));
        let (h, trust, _d) = insert(&p);
        let (code, v, stderr) = read_json(&trust, &[]);
        assert_eq!(code, expect_code, "{fault}: {v} {stderr}");
        assert_eq!(v[key]["verdict"], verdict, "{fault}");
        settle(h);
    }

    // 4. The card pulled away mid-read: a clear error, exit 2.
    let p = profile_file(tmp.path(), "[faults]\nremove_after_apdu = 12\n");
    let (h, trust, _d) = insert(&p);
    let (code, _, stderr) = read_json(&trust, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("keep the card on the reader") || stderr.contains("card"),
        "{stderr}"
    );
    settle(h);

    // 4b. A chip that stops answering mid-read (still in the field): the reader gives up at
    // its transmit deadline (5 s) with a clear error instead of hanging.
    let p = profile_file(tmp.path(), "[faults]\nmute_after_apdu = 12\n");
    let (h, trust, _d) = insert(&p);
    let started = Instant::now();
    let (code, _, stderr) = read_json(&trust, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("did not answer"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    settle(h);

    // 5. Wrong CAN.
    let p = profile_file(tmp.path(), "");
    let (h, trust, _d) = insert(&p);
    let trust_s = trust.to_string_lossy().into_owned();
    let (code, _, stderr) = kioskctl(&[
        "card",
        "read",
        "--can",
        "000000",
        "--reader",
        READER,
        "--trust",
        trust_s.as_str(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("access denied"), "{stderr}");
    settle(h);
}

/// Every profile in hw/vcard/profiles, read by `kioskctl card read` at default settings
/// through pcscd: the genuine cards verify (exit 0), every forgery and clone is refused (exit
/// 1) with the reason its `[expect]` names. A profile added to the folder is tested here.
#[test]
fn every_card_profile_gets_its_verdict_from_kioskctl() {
    let _turn = PCSCD_TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(_pcscd) = kiosk_tests::pcscd::start() else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw/vcard/profiles");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("profiles folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 8, "{paths:?}");
    let mut table = Vec::new();
    for path in &paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let p = Profile::load(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expect = p
            .expect
            .clone()
            .unwrap_or_else(|| panic!("{name} has no [expect]"));
        let (h, trust, _d) = insert(&p);
        let (code, v, stderr) = read_json(&trust, &[]);
        settle(h);
        match expect.outcome.as_str() {
            "verified" => {
                assert_eq!(code, 0, "{name}: {v}\n{stderr}");
                assert_eq!(v["verified"], true, "{name}: {v}");
            }
            "refused" => {
                assert_eq!(code, 1, "{name}: {v}\n{stderr}");
                assert_eq!(v["verified"], false, "{name}: {v}");
                assert_eq!(
                    v["reason"].as_str(),
                    expect.reason.as_deref(),
                    "{name}: {v}"
                );
            }
            other => panic!("{name}: [expect] outcome {other:?}"),
        }
        table.push(format!(
            "{name:<32} exit {code}  {:<8} APDUs {:>3}  read {:>4} ms  extended {} ({})  restarts {}  {}",
            if code == 0 { "verified" } else { "refused" },
            v["apdus"],
            v["read_ms"],
            v["extended_length"],
            v["extended_length_source"].as_str().unwrap_or("-"),
            v["secure_messaging_restarts"],
            v["reason"].as_str().unwrap_or("")
        ));
    }
    // The independent card's behaviour forced: extended length on against a chip without it.
    let p = Profile::load(&dir.join("no-ext-plain-6700.toml")).expect("profile");
    let (h, trust, _d) = insert(&p);
    let (code, v, stderr) = read_json(&trust, &["--extended", "on"]);
    settle(h);
    assert_eq!(code, 0, "{v}\n{stderr}");
    assert_eq!(v["secure_messaging_restarts"], 1, "{v}");
    assert_eq!(v["extended_length"], false, "{v}");
    eprintln!("kioskctl card read through pcscd + vpcd, no card delay:");
    for line in table {
        eprintln!("  {line}");
    }
}
