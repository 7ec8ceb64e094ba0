//! `[audio]`, `[help]` and `[accessibility]` (issue 14): defaults, the examples, and bad
//! values refused with the key and the fix.

use std::path::Path;

use kiosk_app::config::{self, AudioOutput, ConfigErrorKind, StaffPinHash};

const BASE: &str = r#"
mode = "one-stop-shop"
demo = false

[site]
id = "hn-01"
name = "Phường A"

[gateway]
url = "https://gw.example.vn"
ca_file = "/etc/kiosk/tls/ca.pem"
client_cert = "/var/lib/kiosk/tls/client.pem"
client_key = "/var/lib/kiosk/tls/client.key"

[card]
trust_dir = "/etc/kiosk/csca"

[devices]
card_reader = "auto"
camera = "/dev/video0"
qr = "camera"
printer = "usb:/dev/usb/lp0"
"#;

fn with(extra: &str) -> Result<config::KioskConfig, config::ConfigError> {
    config::from_toml(Path::new("a11y.toml"), &format!("{BASE}\n{extra}"))
}

#[test]
fn defaults_speak_through_espeak_with_no_assisted_mode() {
    let c = with("").expect("base parses");
    assert_eq!(c.audio.output, AudioOutput::Espeak);
    assert!(!c.audio.muted);
    assert_eq!(c.audio.volume, 80);
    assert_eq!(c.audio.player, ["aplay", "-q", "-"]);
    assert_eq!(c.help.staff_pin_hash, None, "no PIN, no assisted mode");
    assert_eq!(c.help.assisted_timeout_factor, 3);
    assert_eq!(c.session.assisted_timeout_factor, 3);
    assert!(c.accessibility.min_target_px() >= 60.0);
}

#[test]
fn every_key_is_read() {
    let pin = StaffPinHash::create("482916", &[3; 16]).expect("hash");
    let c = with(&format!(
        r#"
[audio]
output = "off"
muted = true
volume = 55
player = ["pw-play", "-"]
words_per_minute = 120

[help]
hotline = "1900 1234"
staff_desk = "Quầy 1"
staff_pin_hash = "{}"
assisted_timeout_factor = 4
attract_dir = "/var/lib/kiosk/attract"
attract_seconds = 12

[accessibility]
dpi = 160
min_target_mm = 18
"#,
        pin.as_str()
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.audio.output, AudioOutput::Off);
    assert!(c.audio.muted);
    assert_eq!(c.audio.volume, 55);
    assert_eq!(c.audio.player, ["pw-play", "-"]);
    assert_eq!(c.audio.words_per_minute, 120);
    assert_eq!(c.help.hotline.as_deref(), Some("1900 1234"));
    assert_eq!(c.help.staff_desk.as_deref(), Some("Quầy 1"));
    assert!(c
        .help
        .staff_pin_hash
        .as_ref()
        .is_some_and(|h| h.verify("482916")));
    assert!(!c
        .help
        .staff_pin_hash
        .as_ref()
        .is_some_and(|h| h.verify("482917")));
    assert_eq!(c.session.assisted_timeout_factor, 4);
    assert_eq!(
        c.help.attract_dir.as_deref(),
        Some(Path::new("/var/lib/kiosk/attract"))
    );
    assert_eq!(c.help.attract_seconds, 12);
    assert_eq!(c.accessibility.min_target_px(), 114.0); // 18 mm at 160 dpi
}

#[test]
fn bad_values_name_the_key_and_the_fix() {
    let cases: &[(&str, ConfigErrorKind, &[&str])] = &[
        (
            "[audio]\nvolume = 150",
            ConfigErrorKind::InvalidValue,
            &["audio.volume", "0 to 100"],
        ),
        (
            "[audio]\nplayer = []",
            ConfigErrorKind::InvalidValue,
            &["audio.player", "aplay"],
        ),
        (
            "[audio]\noutput = \"sim\"",
            ConfigErrorKind::InvalidValue,
            &["audio.output", "demos"],
        ),
        (
            "[audio]\noutput = \"loud\"",
            ConfigErrorKind::InvalidValue,
            &["audio.output"],
        ),
        (
            "[audio]\nwords_per_minute = 20",
            ConfigErrorKind::InvalidValue,
            &["words_per_minute"],
        ),
        (
            "[help]\nhotline = \"call us\"",
            ConfigErrorKind::InvalidValue,
            &["help.hotline", "1900"],
        ),
        (
            "[help]\nstaff_pin_hash = \"1234\"",
            ConfigErrorKind::InvalidValue,
            &["help.staff_pin_hash", "hash-pin"],
        ),
        (
            "[help]\nassisted_timeout_factor = 1",
            ConfigErrorKind::InvalidValue,
            &["assisted_timeout_factor", "2 to 6"],
        ),
        (
            "[help]\nattract_seconds = 1",
            ConfigErrorKind::InvalidValue,
            &["attract_seconds"],
        ),
        (
            "[help]\nstaff_pin = \"1234\"",
            ConfigErrorKind::UnknownKey,
            &["staff_pin"],
        ),
        (
            "[accessibility]\nmin_target_mm = 9",
            ConfigErrorKind::InvalidValue,
            &["min_target_mm", "15"],
        ),
        (
            "[accessibility]\ndpi = 5",
            ConfigErrorKind::InvalidValue,
            &["accessibility.dpi"],
        ),
    ];
    let mut failures = Vec::new();
    for (extra, kind, needles) in cases {
        match with(extra) {
            Ok(_) => failures.push(format!("accepted: {extra}")),
            Err(e) => {
                let msg = e.to_string();
                if e.kind() != *kind {
                    failures.push(format!("{extra}: kind {:?}: {msg}", e.kind()));
                }
                for n in *needles {
                    if !msg.contains(n) {
                        failures.push(format!("{extra}: {msg:?} lacks {n:?}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
