//! The TCP ESC/POS driver printing to the virtual printer: receipts come out as PNGs whose QR
//! decodes back, and every status fault gives its error kind with nothing reported printed.

use std::io::{BufReader, Cursor};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use kiosk_hw::camera::{Frame, PixelFormat};
use kiosk_hw::printer::escpos::{Align, EscPos};
use kiosk_hw::printer::{
    EscPosPrinter, PaperWidth, PrinterDevice, PrinterOptions, VirtualPrinter, VirtualPrinterControl,
};
use kiosk_hw::qr::{FrameDecode, QrDecodeOptions, QrDecoder};
use kiosk_hw::{PaperState, PrinterErrorKind, PrinterStatus, ReceiptPrinter};

const URL: &str = "https://dichvucong.example.vn/tra-cuu?hs=000.00.01.H26-250101-0001&ma=7K3Q9";

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A virtual printer on a free port and the TCP driver pointed at it.
fn rig(dir: &Path, width: PaperWidth) -> (VirtualPrinter, EscPosPrinter) {
    let printer = VirtualPrinter::start(localhost(), dir, width.dots(false)).expect("starts");
    let options = PrinterOptions {
        width_dots: width.dots(false),
        status_timeout: Duration::from_millis(500),
        ..PrinterOptions::default()
    };
    let driver = EscPosPrinter::new(printer.device(), options);
    (printer, driver)
}

fn job(width: u32) -> Vec<u8> {
    // A banded image stands in for rasterised Vietnamese text.
    let row = (width / 8) as usize;
    let bits: Vec<u8> = (0..32)
        .flat_map(|y| vec![if y % 8 < 4 { 0xF0 } else { 0x0F }; row])
        .collect();
    let mut job = EscPos::new();
    job.init().align(Align::Center);
    job.text_ascii("CCCD KIOSK\n").expect("ascii");
    job.raster(width, 32, &bits).expect("raster");
    job.qr(URL.as_bytes()).expect("qr");
    job.feed(3).cut();
    job.into_bytes()
}

fn decode_png(path: &Path) -> (u32, String) {
    let bytes = std::fs::read(path).expect("read PNG");
    let decoder = png::Decoder::new(BufReader::new(Cursor::new(bytes)));
    let mut reader = decoder.read_info().expect("valid PNG");
    let mut data = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut data).expect("frame");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    data.truncate(info.buffer_size());
    let frame = Frame {
        width: info.width,
        height: info.height,
        format: PixelFormat::Luma8,
        data,
        seq: 0,
    };
    match QrDecoder::new(QrDecodeOptions::default()).decode(&frame) {
        FrameDecode::Found(scan) => (info.width, scan.text.expose().clone()),
        other => panic!("no QR in {}: {other:?}", path.display()),
    }
}

fn pngs(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("list")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .count()
}

#[test]
fn prints_a_receipt_whose_qr_decodes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, mut driver) = rig(dir.path(), PaperWidth::Mm80);
    driver.print(&job(576)).expect("prints");
    let printed = printer.control().printed();
    assert_eq!(printed.len(), 1);
    assert!(printed[0].ends_with("receipt-0001.png"));
    assert_eq!(decode_png(&printed[0]), (576, URL.to_owned()));
    assert_eq!(driver.last_status(), Some(PrinterStatus::READY));
    assert!(printer.control().errors().is_empty());

    // A second job on a new connection continues the numbering.
    driver.print(&job(576)).expect("prints again");
    assert!(printer.control().printed()[1].ends_with("receipt-0002.png"));
}

#[test]
fn a_58mm_printer_prints_384_dots_and_refuses_wider_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, mut driver) = rig(dir.path(), PaperWidth::Mm58);
    driver.print(&job(384)).expect("prints");
    let printed = printer.control().printed();
    assert_eq!(decode_png(&printed[0]), (384, URL.to_owned()));
    let err = driver.print(&job(576)).expect_err("too wide");
    assert_eq!(err.kind(), PrinterErrorKind::InvalidJob);
    assert_eq!(pngs(dir.path()), 1);
}

/// Switches one fault on.
type SetFault = fn(&VirtualPrinterControl);

#[test]
fn each_fault_gives_its_kind_and_prints_nothing() {
    let ready = PrinterStatus::READY;
    let faults: [(&str, SetFault, PrinterErrorKind); 6] = [
        (
            "paper out",
            |c| c.set_paper(PaperState::Out),
            PrinterErrorKind::PaperOut,
        ),
        (
            "cover open",
            |c| c.set_cover_open(true),
            PrinterErrorKind::CoverOpen,
        ),
        (
            "offline",
            |c| c.set_online(false),
            PrinterErrorKind::Offline,
        ),
        (
            "cutter",
            |c| {
                c.set_status(PrinterStatus {
                    cutter_error: true,
                    ..PrinterStatus::READY
                })
            },
            PrinterErrorKind::CutterError,
        ),
        (
            "hardware",
            |c| {
                c.set_status(PrinterStatus {
                    unrecoverable_error: true,
                    ..PrinterStatus::READY
                })
            },
            PrinterErrorKind::HardwareError,
        ),
        (
            "overheated",
            |c| {
                c.set_status(PrinterStatus {
                    auto_recoverable_error: true,
                    ..PrinterStatus::READY
                })
            },
            PrinterErrorKind::Recovering,
        ),
    ];
    for (name, set, kind) in faults {
        let dir = tempfile::tempdir().expect("tempdir");
        let (printer, mut driver) = rig(dir.path(), PaperWidth::Mm80);
        let control = printer.control();
        set(&control);
        let err = driver.print(&job(576)).expect_err(name);
        assert_eq!(err.kind(), kind, "{name}: {err}");
        let status = driver.status().expect("status is readable");
        assert_eq!(status.fault(), Some(kind), "{name}");
        assert!(
            !status.online,
            "{name}: a faulty printer reports itself offline"
        );
        assert!(control.printed().is_empty(), "{name}");
        assert_eq!(pngs(dir.path()), 0, "{name}");

        // Cleared, the same driver prints.
        control.set_status(ready);
        driver.print(&job(576)).expect("prints once cleared");
        assert_eq!(control.printed().len(), 1, "{name}");
    }
}

#[test]
fn paper_running_out_mid_job_fails_the_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, mut driver) = rig(dir.path(), PaperWidth::Mm80);
    let control = printer.control();
    control.paper_out_after(Some(200));
    let err = driver.print(&job(576)).expect_err("paper ran out");
    assert_eq!(err.kind(), PrinterErrorKind::PaperOut);
    assert!(err.to_string().contains("after the job"), "{err}");
    assert_eq!(driver.last_status().map(|s| s.paper), Some(PaperState::Out));
    assert!(control.printed().is_empty());
    assert_eq!(pngs(dir.path()), 0);
}

#[test]
fn near_end_still_prints_and_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, mut driver) = rig(dir.path(), PaperWidth::Mm80);
    printer.control().set_paper(PaperState::NearEnd);
    driver.print(&job(576)).expect("prints");
    assert_eq!(
        driver.last_status().map(|s| s.paper),
        Some(PaperState::NearEnd)
    );
    assert_eq!(printer.control().printed().len(), 1);
}

#[test]
fn a_silent_printer_times_out_and_a_missing_one_is_no_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, mut driver) = rig(dir.path(), PaperWidth::Mm80);
    printer.control().set_silent(true);
    let err = driver.print(&job(576)).expect_err("no answer");
    assert_eq!(err.kind(), PrinterErrorKind::Timeout, "{err}");
    assert_eq!(pngs(dir.path()), 0);

    // Nothing listens on the port once the printer is gone.
    let device = printer.device();
    drop(printer);
    let mut gone = EscPosPrinter::new(device, PrinterOptions::default());
    assert_eq!(
        gone.status().map_err(|e| e.kind()),
        Err(PrinterErrorKind::NoDevice)
    );
}

#[test]
fn garbage_is_reported_by_the_virtual_printer() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, _) = rig(dir.path(), PaperWidth::Mm80);
    let mut s = std::net::TcpStream::connect(printer.addr()).expect("connect");
    s.write_all(b"\x1b@HELLO\x07\x1dV\x42\x00").expect("send");
    drop(s);
    // The server handles one connection at a time: a status query waits until it is done.
    let mut driver = EscPosPrinter::new(printer.device(), PrinterOptions::default());
    driver.status().expect("status");
    let errors = printer.control().errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("0x07"), "{errors:?}");
    assert_eq!(pngs(dir.path()), 0);
}

#[test]
fn device_strings_reach_the_virtual_printer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (printer, _) = rig(dir.path(), PaperWidth::Mm80);
    let text = format!("tcp:127.0.0.1:{}", printer.addr().port());
    let device: PrinterDevice = text.parse().expect("valid");
    assert_eq!(device, printer.device());
    let mut driver = EscPosPrinter::new(device, PrinterOptions::default());
    assert_eq!(driver.status().expect("status"), PrinterStatus::READY);
}
