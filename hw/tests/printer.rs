//! The simulated printer with jobs built by the ESC/POS builder.

use std::io::{BufReader, Cursor};

use kiosk_hw::printer::escpos::{Align, EscPos};
use kiosk_hw::printer::SimPrinter;
use kiosk_hw::{PaperState, PrinterErrorKind, ReceiptPrinter};

fn receipt_job() -> Vec<u8> {
    // A 64x16 black/white checker stands in for rasterised Vietnamese text.
    let bits: Vec<u8> = (0..16)
        .flat_map(|row| [if row % 2 == 0 { 0xAA } else { 0x55 }; 8])
        .collect();
    let mut job = EscPos::new();
    job.init().align(Align::Center);
    job.text_ascii("CCCD KIOSK\n").expect("ascii");
    job.raster(64, 16, &bits).expect("raster");
    job.qr(b"001090123456").expect("qr");
    job.align(Align::Left).feed(3).cut();
    job.into_bytes()
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("read PNG");
    let decoder = png::Decoder::new(BufReader::new(Cursor::new(bytes)));
    let reader = decoder.read_info().expect("valid PNG");
    (reader.info().width, reader.info().height)
}

#[test]
fn prints_bin_and_png_of_paper_width() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut printer = SimPrinter::new(dir.path().join("out"));
    let control = printer.control();
    let job = receipt_job();
    printer.print(&job).expect("prints");
    printer.print(&job).expect("prints again");

    let printed = control.printed();
    assert_eq!(printed.len(), 2);
    assert!(printed[0].bin.ends_with("receipt-0001.bin"));
    assert!(printed[1].png.ends_with("receipt-0002.png"));
    assert_eq!(std::fs::read(&printed[0].bin).expect("read bin"), job);
    let (w, h) = png_size(&printed[0].png);
    assert_eq!(w, 576);
    // Text line + raster + QR box (21 modules x 6) + 3 fed lines + cut.
    assert!(h >= 24 + 16 + 126 + 72, "height {h}");

    // A new printer on the same folder continues the numbering.
    let mut again = SimPrinter::new(dir.path().join("out"));
    again.print(&job).expect("prints");
    assert!(again.control().printed()[0]
        .bin
        .ends_with("receipt-0003.bin"));
}

#[test]
fn truncated_job_is_rejected_naming_the_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut printer = SimPrinter::new(dir.path());
    let job = receipt_job();
    // Cut inside the raster image data: the GS v 0 command starts after init, align and text.
    let raster_at = 2 + 3 + "CCCD KIOSK\n".len();
    let truncated = &job[..raster_at + 8 + 10];
    let err = printer.print(truncated).expect_err("truncated");
    assert_eq!(err.kind(), PrinterErrorKind::InvalidJob);
    let cause = std::error::Error::source(&err)
        .expect("has the render error")
        .to_string();
    assert!(cause.contains(&format!("offset {raster_at}")), "{cause}");
    assert!(printer.control().printed().is_empty());
}

#[test]
fn status_faults_block_printing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut printer = SimPrinter::new(dir.path());
    let control = printer.control();
    let job = receipt_job();

    control.set_paper(PaperState::NearEnd);
    assert_eq!(printer.status().expect("status").paper, PaperState::NearEnd);
    printer.print(&job).expect("near end still prints");

    control.set_paper(PaperState::Out);
    assert_eq!(
        printer.print(&job).map_err(|e| e.kind()),
        Err(PrinterErrorKind::PaperOut)
    );
    control.set_paper(PaperState::Ok);
    control.set_cover_open(true);
    assert_eq!(
        printer.print(&job).map_err(|e| e.kind()),
        Err(PrinterErrorKind::CoverOpen)
    );
    control.set_cover_open(false);
    control.set_online(false);
    assert_eq!(
        printer.print(&job).map_err(|e| e.kind()),
        Err(PrinterErrorKind::Offline)
    );
    control.set_online(true);
    control.set_connected(false);
    assert_eq!(
        printer.status().map_err(|e| e.kind()),
        Err(PrinterErrorKind::NoDevice)
    );
    control.set_connected(true);
    printer.print(&job).expect("prints again");
    assert_eq!(control.printed().len(), 2);
}
