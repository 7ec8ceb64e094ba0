//! A kiosk whose devices are missing starts anyway: it logs which device and why, stays out of
//! service (the worker threads keep retrying), notices a device that comes back, and still
//! shuts down cleanly.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use kiosk_tests::{demo_config, spawn_kiosk, wait_for_text};

#[test]
fn a_kiosk_with_missing_devices_starts_out_of_service_and_sees_them_return() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A free port on the loopback interface, closed again: the printer is "unplugged".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let printer = format!("printer = \"tcp:127.0.0.1:{port}\"");
    // Real device paths, none of them there: a reader pcscd does not know (or no pcscd), a
    // camera device that does not exist, a network printer nobody answers for.
    let cfg = demo_config(
        dir.path(),
        &[
            ("card_reader =", "card_reader = \"No Such Reader 00 00\""),
            ("camera =", "camera = \"/dev/video9\""),
            ("printer =", &printer),
        ],
    );
    let log = dir.path().join("kiosk.log");
    let mut kiosk = spawn_kiosk(
        &[
            "--config",
            cfg.to_str().expect("utf-8 path"),
            "--headless",
            "--log-file",
            log.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    let wait = Duration::from_secs(30);
    wait_for_text(&log, "kiosk ready", wait);
    wait_for_text(&log, "kiosk out of service", wait);
    wait_for_text(&log, "card reader unavailable", wait);
    wait_for_text(&log, "camera unavailable", wait);
    wait_for_text(&log, "receipt printer unavailable", wait);
    let text = std::fs::read_to_string(&log).expect("log");
    for reason in ["unplugged", "absent"] {
        assert!(
            text.contains(reason),
            "the reason `{reason}` is logged:\n{text}"
        );
    }
    assert!(
        kiosk.0.try_wait().expect("wait").is_none(),
        "the kiosk keeps running without its devices:\n{text}"
    );

    // The printer comes back on its port: the idle worker's status poll finds it.
    let out = dir.path().join("printed");
    let _printer = kiosk_hw::printer::VirtualPrinter::start(
        SocketAddr::from(([127, 0, 0, 1], port)),
        &out,
        576,
    )
    .expect("virtual printer on the same port");
    wait_for_text(&log, "receipt printer ready", Duration::from_secs(20));

    let pid = kiosk.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = kiosk.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "clean exit on SIGTERM");
}
