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

/// The printer runs out of paper in the middle of every receipt (the virtual printer's fault
/// switch, reached through the real TCP driver): the whole tour still completes, every dossier
/// reached the gateway (it was in the outbox before the receipt was printed), nothing came out
/// of the printer, and the log names the fault.
#[test]
fn a_receipt_that_cannot_print_loses_no_dossier() {
    let gw = kiosk_gateway::Gateway::start().expect("gateway");
    let dir = tempfile::tempdir().expect("tempdir");
    let printer = kiosk_hw::printer::VirtualPrinter::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        dir.path().join("printed"),
        576,
    )
    .expect("virtual printer");
    // Paper for the first 2 KB of each job only: the status before the job is fine.
    printer.control().paper_out_after(Some(2048));
    let url = format!("url = \"{}\"", gw.url());
    let device = format!("printer = \"{}\"", printer.device());
    let cfg = demo_config(
        dir.path(),
        &[
            ("url =", &url),
            ("printer =", &device),
            ("languages =", "languages = [\"vi\"]"),
        ],
    );
    // Staff put a new roll in whenever the paper is out (the kiosk is out of service until
    // then, and its status poll sees the new roll); the next receipt runs out again.
    let ctl = printer.control();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let staff = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut rolls = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if ctl.status().paper == kiosk_hw::PaperState::Out {
                    std::thread::sleep(Duration::from_millis(300));
                    ctl.set_paper(kiosk_hw::PaperState::Ok);
                    ctl.paper_out_after(Some(2048));
                    rolls += 1;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            rolls
        })
    };
    let log = dir.path().join("kiosk.log");
    let out = Command::new(kiosk_tests::bin("kiosk"))
        .args(["--config", cfg.to_str().expect("utf-8"), "--tour"])
        .arg(dir.path().join("tour"))
        .arg("--log-file")
        .arg(&log)
        .output()
        .expect("run the tour");
    assert!(
        out.status.success(),
        "tour failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rolls = staff.join().expect("staff thread");
    // One completed session per orientation: both dossiers delivered, both receipts failed.
    assert_eq!(gw.received(), 2, "every dossier reached the gateway");
    assert_eq!(rolls, 2, "each receipt ran out of paper");
    assert!(
        printer.control().printed().is_empty(),
        "no receipt came out"
    );
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.contains("receipt not printed") && text.contains("paper-out-mid-job"),
        "the fault is logged:\n{text}"
    );
}
