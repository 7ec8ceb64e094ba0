//! `kioskctl printer test` against the virtual ESC/POS printer over TCP.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use kiosk_hw::printer::{render, VirtualPrinter};
use kiosk_hw::qr::{FrameDecode, QrDecodeOptions, QrDecoder};
use kiosk_hw::PaperState;
use kiosk_provisioning::printer::TEST_QR;

struct Run {
    code: i32,
    out: String,
    err: String,
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

fn start(dir: &Path, width: u32) -> (VirtualPrinter, String) {
    let printer =
        VirtualPrinter::start(SocketAddr::from(([127, 0, 0, 1], 0)), dir, width).expect("starts");
    let device = printer.device().to_string();
    (printer, device)
}

/// The QR text of the receipt whose job was saved next to `png`.
fn qr_of(png: &Path, width: u32) -> String {
    let job = std::fs::read(png.with_extension("bin")).expect("job saved");
    let receipt = render::render(&job, width).expect("renders");
    match QrDecoder::new(QrDecodeOptions::default()).decode(&receipt.to_frame()) {
        FrameDecode::Found(scan) => scan.text.expose().clone(),
        other => panic!("no QR on the test page: {other:?}"),
    }
}

#[test]
fn prints_the_test_page_with_status_and_qr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, device) = start(dir.path(), 576);
    let r = kioskctl(&["printer", "test", "--device", &device]);
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
    assert!(
        r.out
            .contains("status: online, paper ok, cover closed, no error"),
        "{}",
        r.out
    );
    assert!(r.out.contains("printed: test page"), "{}", r.out);
    let printed = printer.control().printed();
    assert_eq!(printed.len(), 1);
    assert!(printed[0].exists());
    assert_eq!(qr_of(&printed[0], 576), TEST_QR);
    // Twelve vowel lines, three header lines and đ/Đ: a tall page.
    let receipt = render::render(
        &std::fs::read(printed[0].with_extension("bin")).expect("job"),
        576,
    )
    .expect("renders");
    assert!(receipt.height > 16 * 30, "height {}", receipt.height);
}

#[test]
fn a_58mm_page_with_a_fault_and_without_a_printer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, device) = start(dir.path(), 384);
    let r = kioskctl(&["printer", "test", "--device", &device, "--width", "58mm"]);
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
    assert!(r.out.contains("384 dots wide"), "{}", r.out);
    assert_eq!(qr_of(&printer.control().printed()[0], 384), TEST_QR);

    printer.control().set_paper(PaperState::Out);
    let r = kioskctl(&["printer", "test", "--device", &device, "--width", "58mm"]);
    assert_eq!(r.code, 2, "{}\n{}", r.out, r.err);
    assert!(r.out.contains("status: offline, paper out"), "{}", r.out);
    assert!(
        r.err.contains("not printed: receipt printer out of paper"),
        "{}",
        r.err
    );
    assert!(r.err.contains("load a new paper roll"), "{}", r.err);
    assert_eq!(printer.control().printed().len(), 1, "nothing more printed");

    drop(printer);
    let r = kioskctl(&["printer", "test", "--device", &device]);
    assert_eq!(r.code, 2, "{}\n{}", r.out, r.err);
    assert!(r.out.contains("status: unavailable"), "{}", r.out);
    assert!(r.err.contains("no receipt printer found"), "{}", r.err);

    let r = kioskctl(&["printer", "test", "--device", "lp0"]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("tcp:HOST:9100"), "{}", r.err);
}

#[test]
fn the_configuration_names_the_printer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, device) = start(dir.path(), 512);
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml"))
            .expect("demo config");
    // The demo's virtual printer runs inside the kiosk: kioskctl says how to reach one.
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(&cfg, &demo).expect("write");
    let r = kioskctl(&["printer", "test", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(r.code, 2, "{}\n{}", r.out, r.err);
    assert!(r.err.contains("--device tcp:127.0.0.1:PORT"), "{}", r.err);

    let text = demo.replace(
        "printer = \"virtual:/tmp/kiosk-receipts\"",
        &format!("printer = \"{device}\"\nprinter_safe_area = true"),
    );
    assert_ne!(text, demo);
    std::fs::write(&cfg, text).expect("write");
    let r = kioskctl(&["printer", "test", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
    assert!(r.out.contains("512 dots wide"), "{}", r.out);
    assert_eq!(qr_of(&printer.control().printed()[0], 512), TEST_QR);
}

#[test]
fn the_virtual_printer_runs_in_the_foreground() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("receipts");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .args(["printer", "virtual", "--listen", "127.0.0.1:0", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut first = String::new();
    // Kept open to the end: the printer writes more lines, and a closed pipe would end it.
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("first line");
    // "virtual printer on tcp:127.0.0.1:PORT (576 dots), ..."
    let device = first
        .split_whitespace()
        .find(|w| w.starts_with("tcp:"))
        .unwrap_or_else(|| panic!("no device in {first:?}"))
        .to_owned();
    let r = kioskctl(&["printer", "test", "--device", &device]);
    let _ = child.kill();
    let _ = child.wait();
    drop(stdout);
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
    assert_eq!(qr_of(&out.join("receipt-0001.png"), 576), TEST_QR);
}
