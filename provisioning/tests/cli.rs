//! Runs the real `kioskctl` binary against the repository's files and small temporary ones.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Exit status, stdout and stderr of one run.
struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Run {
    /// Both streams, for assertion messages.
    fn both(&self) -> String {
        format!(
            "status {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.out, self.err
        )
    }
}

fn kioskctl(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .args(args)
        .output()
        .expect("kioskctl runs");
    Run {
        code: output.status.code().expect("exited, not killed"),
        out: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        err: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A temporary locale pack: `files` are (`lang/file.ftl`, contents).
fn pack(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

#[test]
fn every_example_config_passes() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("config"))
        .expect("config/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for file in &files {
        let r = kioskctl(&["config", "check", s(file)]);
        assert_eq!(r.code, 0, "{}: {}", file.display(), r.both());
        assert!(r.out.contains(": OK"), "{}", r.both());
        for label in [
            "site",
            "mode",
            "gateway",
            "card reader",
            "CSCA trust",
            "printer",
            "languages",
        ] {
            assert!(r.out.contains(label), "{label} missing: {}", r.both());
        }
    }
    let demo = kioskctl(&["config", "check", s(&repo().join("config/demo.toml"))]);
    assert!(
        demo.out.contains("demo-01") && demo.out.contains("demo  "),
        "{}",
        demo.both()
    );
}

#[test]
fn config_check_json_summarises() {
    let file = repo().join("config/example-hospital.toml");
    let r = kioskctl(&["config", "check", "--json", s(&file)]);
    assert_eq!(r.code, 0, "{}", r.both());
    let v: serde_json::Value = serde_json::from_str(&r.out).expect("JSON");
    assert_eq!(v["ok"], true);
    assert_eq!(v["mode"], "hospital");
    assert_eq!(v["demo"], false);
    assert_eq!(v["site"]["id"], "bv-dakhoa-lc-01");
    assert_eq!(v["devices"]["printer"], "tcp:192.168.10.50:9100");
    assert_eq!(
        v["devices"]["printer_width_dots"], 512,
        "80 mm with the safe area"
    );
    assert_eq!(v["ui"]["languages"], serde_json::json!(["vi", "en"]));
    assert_eq!(v["catalog"]["entries"], 7);
    assert_eq!(v["card"]["trust_dir"], "/etc/kiosk/csca");
    assert_eq!(v["card"]["allow_unknown_csca"], false);
    assert_eq!(v["assist"]["speech"], "espeak");
    assert_eq!(v["assist"]["assisted_mode"], false);
}

#[test]
fn a_misspelt_key_fails_naming_the_key_and_the_fix() {
    let text = std::fs::read_to_string(repo().join("config/example-one-stop-shop.toml"))
        .expect("example config");
    assert!(text.contains("\ntimeout = 15\n"));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("kiosk.toml");
    std::fs::write(&file, text.replace("\ntimeout = 15\n", "\ntimout = 15\n")).expect("write");

    let r = kioskctl(&["config", "check", s(&file)]);
    assert_eq!(r.code, 2, "{}", r.both());
    for needle in ["kiosk.toml:", "gateway.timout", "did you mean `timeout`"] {
        assert!(r.err.contains(needle), "{needle:?} missing: {}", r.both());
    }

    let r = kioskctl(&["config", "check", "--json", s(&file)]);
    assert_eq!(r.code, 2, "{}", r.both());
    let v: serde_json::Value = serde_json::from_str(&r.out).expect("JSON");
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["kind"], "unknown-key");
    assert_eq!(v["error"]["key"], "gateway.timout");
    assert!(v["error"]["line"].as_u64().is_some_and(|l| l > 1), "{v}");
}

#[test]
fn a_missing_config_file_fails() {
    let r = kioskctl(&["config", "check", "/nonexistent/kiosk.toml"]);
    assert_eq!(r.code, 2, "{}", r.both());
    assert!(r.err.contains("cannot read"), "{}", r.both());
}

#[test]
fn config_check_with_catalog_validates_the_catalogue_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let catalog = dir.path().join("departments.toml");
    let config = dir.path().join("kiosk.toml");
    let text = std::fs::read_to_string(repo().join("config/example-hospital.toml"))
        .expect("example config")
        .replace(
            "# catalog_file = \"/etc/kiosk/departments.toml\"",
            &format!("catalog_file = {:?}", s(&catalog)),
        );
    std::fs::write(&config, text).expect("write");

    // Not asked for: the catalogue is only named.
    let r = kioskctl(&["config", "check", s(&config)]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(r.out.contains("not checked"), "{}", r.both());

    std::fs::write(
        &catalog,
        "[[department]]\nid = \"nhi\"\ncode = \"NHI\"\ntitel = { vi = \"Nhi\" }\n",
    )
    .expect("write");
    let r = kioskctl(&["config", "check", "--catalog", s(&config)]);
    assert_eq!(r.code, 2, "{}", r.both());
    assert!(r.err.contains("did you mean `title`"), "{}", r.both());

    std::fs::write(
        &catalog,
        "[[department]]\nid = \"nhi\"\ncode = \"NHI\"\ntitle = { vi = \"Nhi\" }\n",
    )
    .expect("write");
    let r = kioskctl(&["config", "check", "--catalog", s(&config)]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(r.out.contains("1 entries, checked"), "{}", r.both());
}

#[test]
fn a_language_without_a_pack_is_a_config_warning() {
    let text = std::fs::read_to_string(repo().join("config/demo.toml"))
        .expect("demo config")
        .replace(
            "languages = [\"vi\", \"en\", \"hmn\"]",
            "languages = [\"vi\", \"en\", \"tay\"]",
        );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("kiosk.toml");
    std::fs::write(&file, text).expect("write");
    let r = kioskctl(&["config", "check", s(&file)]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(
        r.out
            .contains("warning: ui.languages: `tay` has no language pack"),
        "{}",
        r.both()
    );
}

#[test]
fn the_repository_locales_pass() {
    let r = kioskctl(&["locales", "check", "--strict", s(&repo().join("locales"))]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(
        r.out.contains("Tiếng Việt") && r.out.contains("English"),
        "{}",
        r.both()
    );
    assert!(!r.out.contains("warning"), "{}", r.both());
}

#[test]
fn a_new_language_missing_keys_passes_with_warnings_and_fails_strict() {
    let dir = pack(&[(
        "xx/kiosk.ftl",
        "language-name = Xx-lang\nbtn-cancel = Xx cancel\nbtn-bakc = Xx back\n",
    )]);
    let r = kioskctl(&["locales", "check", s(dir.path())]);
    assert_eq!(r.code, 0, "{}", r.both());
    for needle in [
        "Xx-lang",
        "3 messages",
        "warning: xx:",
        "shows them in Vietnamese",
        "    btn-back\n",
        "`btn-bakc`",
        "did you mean `btn-back`?",
    ] {
        assert!(r.out.contains(needle), "{needle:?} missing: {}", r.both());
    }
    assert!(
        !r.out.contains("    btn-cancel\n"),
        "btn-cancel is defined: {}",
        r.both()
    );

    let r = kioskctl(&["locales", "check", "--strict", s(dir.path())]);
    assert_eq!(r.code, 1, "{}", r.both());
    assert!(r.out.contains("FAILED"), "{}", r.both());
}

#[test]
fn a_missing_language_name_is_explained() {
    let dir = pack(&[("xx/kiosk.ftl", "btn-cancel = Xx cancel\n")]);
    let r = kioskctl(&["locales", "check", s(dir.path())]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(r.out.contains("    language-name\n"), "{}", r.both());
    assert!(r.out.contains("language screen shows `xx`"), "{}", r.both());
}

#[test]
fn a_syntax_error_fails_naming_the_file_and_line() {
    let dir = pack(&[
        ("xx/kiosk.ftl", "language-name = Xx\n"),
        ("xx/broken.ftl", "ok = fine\nbroken = { \n"),
    ]);
    let r = kioskctl(&["locales", "check", s(dir.path())]);
    assert_eq!(r.code, 2, "{}", r.both());
    assert!(r.err.contains("xx/broken.ftl:2:"), "{}", r.both());
}

#[test]
fn a_single_language_folder_is_refused_with_a_hint() {
    let dir = pack(&[("xx/kiosk.ftl", "language-name = Xx\n")]);
    let r = kioskctl(&["locales", "check", s(&dir.path().join("xx"))]);
    assert_eq!(r.code, 2, "{}", r.both());
    assert!(r.err.contains("pass the folder above it"), "{}", r.both());
}

#[test]
fn catalog_list_hospital_lists_departments() {
    let r = kioskctl(&["catalog", "list", "--mode", "hospital"]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(
        r.out.contains("Tai Mũi Họng") && r.out.contains("KHAM-NOI"),
        "{}",
        r.both()
    );
    assert!(r.out.lines().any(|l| l.starts_with("ent ")), "{}", r.both());

    let r = kioskctl(&[
        "catalog", "list", "--mode", "hospital", "--lang", "en", "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.both());
    let v: serde_json::Value = serde_json::from_str(&r.out).expect("JSON");
    let entries = v["entries"].as_array().expect("entries");
    assert!(entries.iter().any(|e| e["id"] == "ent"
        && e["title"] == "Ear, nose and throat"
        && e["kind"] == "department"));
}

#[test]
fn catalog_list_flags_placeholder_codes() {
    let r = kioskctl(&["catalog", "list", "--mode", "one-stop-shop"]);
    assert_eq!(r.code, 0, "{}", r.both());
    let line = r
        .out
        .lines()
        .find(|l| l.starts_with("temporary-residence"))
        .expect("listed");
    assert!(line.contains("1.004194") && line.contains("yes"), "{line}");
    assert!(
        r.out.contains("9 procedure(s) have no verified code"),
        "{}",
        r.both()
    );
}

#[test]
fn catalog_list_follows_the_config() {
    let r = kioskctl(&[
        "catalog",
        "list",
        "--config",
        s(&repo().join("config/example-hospital.toml")),
    ]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(
        r.out.contains("mode hospital") && r.out.contains("Khám Nội"),
        "{}",
        r.both()
    );

    // Neither --config nor --mode: a usage error from clap.
    let r = kioskctl(&["catalog", "list"]);
    assert_eq!(r.code, 2, "{}", r.both());
}

#[test]
fn version_and_help() {
    let r = kioskctl(&["version"]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(
        r.out
            .starts_with(&format!("kioskctl {}\n", env!("CARGO_PKG_VERSION"))),
        "{}",
        r.both()
    );
    let r = kioskctl(&["--help"]);
    assert_eq!(r.code, 0, "{}", r.both());
    for cmd in ["config", "locales", "catalog", "version", "Exit status"] {
        assert!(r.out.contains(cmd), "{cmd}: {}", r.both());
    }
}

#[test]
fn queue_commands_read_the_queue_named_by_the_config() {
    use kiosk_outbox::{KeyFile, KeySource as _, Kind, NewItem, OpenOptions, Outbox};

    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("spool/queue.db");
    let key = dir.path().join("queue.key");
    std::fs::create_dir_all(db.parent().expect("parent")).expect("mkdir");
    let r = kioskctl(&["queue", "init-key", s(&key)]);
    assert_eq!(r.code, 0, "{}", r.both());
    // One pending submission in a queue away from the default paths.
    let id = {
        let k = KeyFile::new(&key).load().expect("key");
        let o = Outbox::open(&db, &k, &OpenOptions::default()).expect("open");
        let id = Outbox::new_id();
        o.enqueue(
            NewItem {
                id,
                kind: Kind::Tthc,
                partition: &o.partition_for(b"001090123456"),
                payload: b"{}",
            },
            0,
        )
        .expect("enqueue");
        id
    };
    let example = std::fs::read_to_string(repo().join("config/example-one-stop-shop.toml"))
        .expect("example config");
    let with_queue = |path: &Path, key: &Path| {
        let text = example
            .replace(
                "path = \"/var/lib/kiosk/queue.db\"",
                &format!("path = \"{}\"", path.display()),
            )
            .replace(
                "key_file = \"/etc/kiosk/queue.key\"",
                &format!("key_file = \"{}\"", key.display()),
            );
        assert_ne!(text, example, "the example has a [queue] to edit");
        text
    };
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, with_queue(&db, &key)).expect("write config");

    let r = kioskctl(&["queue", "status", "--config", s(&config)]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(r.out.contains("pending      1"), "{}", r.both());
    let r = kioskctl(&["queue", "list", "--config", s(&config)]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(r.out.contains(&id.to_string()), "{}", r.both());

    // An explicit --db wins over the configuration.
    let elsewhere = dir.path().join("elsewhere.db");
    let r = kioskctl(&[
        "queue",
        "dead",
        "--config",
        s(&config),
        "--db",
        s(&elsewhere),
    ]);
    assert_eq!(r.code, 2, "{}", r.both());
    assert!(r.err.contains("elsewhere.db"), "{}", r.both());
    // So does --key: a key that does not exist is named.
    let r = kioskctl(&[
        "queue",
        "status",
        "--config",
        s(&config),
        "--key",
        s(&dir.path().join("other.key")),
    ]);
    assert_eq!(r.code, 2, "{}", r.both());
    assert!(r.err.contains("other.key"), "{}", r.both());

    // A bad [queue] in the configuration is the loader's message, naming the key.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        with_queue(&db, &key).replace("backoff_cap_secs = 900", "backoff_cap_secs = 1"),
    )
    .expect("write");
    let r = kioskctl(&["queue", "status", "--config", s(&bad)]);
    assert_eq!(r.code, 2, "{}", r.both());
    assert!(r.err.contains("queue.backoff_cap_secs"), "{}", r.both());

    // `config check` shows the queue, and its key as usable.
    let r = kioskctl(&["config", "check", s(&config)]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(
        r.out.contains(&format!("{} (exists)", db.display()))
            && r.out.contains("(mode 600, OK)")
            && r.out.contains("dead after 168 h"),
        "{}",
        r.both()
    );
    let r = kioskctl(&["config", "check", "--json", s(&config)]);
    let v: serde_json::Value = serde_json::from_str(&r.out).expect("JSON");
    assert_eq!(v["queue"]["key_ok"], true, "{}", r.both());
    assert_eq!(v["queue"]["key_mode"], "600");
    assert_eq!(v["queue"]["backoff_cap_secs"], 900);

    // A key others may read is named in a warning (the kiosk would refuse it).
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let r = kioskctl(&["config", "check", s(&config)]);
    assert_eq!(r.code, 0, "{}", r.both());
    assert!(
        r.out.contains("mode 644, NOT usable")
            && r.out.contains("warning: queue.key_file")
            && r.out.contains("chmod 600"),
        "{}",
        r.both()
    );
}

/// `queue send-test` queues one test submission (the synthetic citizen, KIOSK-TEST) into the
/// configured queue with a fresh id, printed alone; the gateway's shape check accepts it.
#[test]
fn queue_send_test_queues_a_test_submission_for_the_kiosk() {
    use kiosk_app::gateway::dto::{SubmissionKind, SubmissionRequest, TEST_PROCEDURE_CODE};
    use kiosk_outbox::{KeyFile, KeySource as _, OpenOptions, Outbox, Uuid};

    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("queue.db");
    let key = dir.path().join("queue.key");
    let example = std::fs::read_to_string(repo().join("config/example-one-stop-shop.toml"))
        .expect("example config");
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        example
            .replace("/var/lib/kiosk/queue.db", s(&db))
            .replace("/etc/kiosk/queue.key", s(&key)),
    )
    .expect("write config");
    let r = kioskctl(&["queue", "init-key", s(&key)]);
    assert_eq!(r.code, 0, "{}", r.both());
    // No database yet (the kiosk never ran): said, nothing created.
    let r = kioskctl(&["queue", "send-test", "--config", s(&config)]);
    assert_eq!(r.code, 2, "{}", r.both());
    assert!(r.err.contains("no queue database"), "{}", r.both());
    assert!(!db.exists());
    let k = KeyFile::new(&key).load().expect("key");
    drop(Outbox::open(&db, &k, &OpenOptions::default()).expect("create"));

    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = kioskctl(&["queue", "send-test", "--config", s(&config)]);
        assert_eq!(r.code, 0, "{}", r.both());
        ids.push(Uuid::parse_str(r.out.trim()).expect("the id alone on stdout"));
        assert!(r.err.contains("KIOSK-TEST"), "{}", r.both());
        for personal in ["NGUYEN", "001090123456"] {
            assert!(!r.both().contains(personal), "{}", r.both());
        }
    }
    assert_ne!(ids[0], ids[1], "a fresh id (idempotency key) each time");
    let r = kioskctl(&["queue", "status", "--config", s(&config)]);
    assert!(r.out.contains("pending      2"), "{}", r.both());

    // What the kiosk's worker will send: the gateway's JSON under the queue id.
    let o = Outbox::open(&db, &k, &OpenOptions::default()).expect("open");
    let claimed = o.claim_due(i64::MAX / 2, 60_000, 10).expect("claim");
    let first = claimed.first().expect("a row due");
    assert_eq!(first.id, ids[0], "oldest first");
    let request: SubmissionRequest = serde_json::from_slice(&first.payload).expect("JSON");
    assert_eq!(request.reference_uid, ids[0].to_string());
    assert_eq!(request.procedure_code, TEST_PROCEDURE_CODE);
    assert_eq!(request.kind, SubmissionKind::Tthc);
    assert_eq!(
        request.id_number.expose(),
        "001090123456",
        "the synthetic citizen"
    );
    request.validate().expect("the gateway's shape check");
}

/// `card read --id -` takes the ID number from standard input (not the command line, where
/// every user sees it), and the help says so.
#[test]
fn card_read_takes_the_id_number_from_standard_input() {
    let help = kioskctl(&["card", "read", "--help"]);
    assert_eq!(help.code, 0, "{}", help.both());
    assert!(help.out.contains("--id -"), "{}", help.out);
    assert!(help.out.contains("process list"), "{}", help.out);

    let mut child = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .args(["card", "read", "--id", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kioskctl runs");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), b"12345\n").expect("write");
    let output = child.wait_with_output().expect("exits");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    // The number read from standard input is the one checked (and refused: 5 digits).
    assert!(err.contains("--id"), "{err}");
    assert!(!err.contains("no ID number"), "{err}");
}

#[test]
fn hash_pin_prints_a_help_line_the_config_accepts() {
    use std::io::Write as _;
    let run = |pin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
            .args(["config", "hash-pin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kioskctl runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(pin.as_bytes())
            .expect("write the PIN");
        child.wait_with_output().expect("kioskctl ends")
    };
    let out = run("482916\n");
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(line.starts_with("staff_pin_hash = \"$argon2id$"), "{line}");
    assert!(!line.contains("482916"), "the PIN itself is never printed");
    // Two runs salt differently.
    let again = String::from_utf8(run("482916").stdout).expect("UTF-8");
    assert_ne!(line, again);
    // The line goes into [help] and the configuration is valid.
    let text = std::fs::read_to_string(repo().join("config/demo.toml"))
        .expect("demo config")
        .replace("staff_pin_hash = ", "# staff_pin_hash = ")
        .replace("[help]\n", &format!("[help]\n{line}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("kiosk.toml");
    std::fs::write(&file, text).expect("write");
    let r = kioskctl(&["config", "check", s(&file)]);
    assert_eq!(r.code, 0, "{}", r.both());
    // Not a PIN: refused, nothing printed.
    let bad = run("12ab");
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
}
