//! The serial ESC/POS driver over a pseudo-terminal pair: the test holds the printer's end,
//! answers `DLE EOT` requests and collects the job.

use std::io::{Read as _, Write as _};
use std::sync::mpsc;
use std::time::Duration;

use kiosk_hw::printer::escpos::EscPos;
use kiosk_hw::printer::{EscPosPrinter, PrinterDevice, PrinterOptions};
use kiosk_hw::{PaperState, PrinterErrorKind, ReceiptPrinter as _};
use serialport::{SerialPort as _, TTYPort};

/// Plays a printer on `port`: every `DLE EOT n` gets `answers[n - 1]`; everything else is
/// sent on the channel. Ends when the driver's side closes.
fn printer(mut port: TTYPort, answers: [u8; 4]) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    port.set_timeout(Duration::from_millis(100))
        .expect("timeout");
    std::thread::spawn(move || {
        let mut data = Vec::new();
        let mut pending = Vec::new();
        let mut buf = [0u8; 4096];
        for _ in 0..50 {
            match port.read(&mut buf) {
                Ok(n) if n > 0 => pending.extend_from_slice(&buf[..n]),
                _ => continue,
            }
            while let Some(i) = pending.windows(2).position(|w| w == [0x10, 0x04]) {
                let Some(&n) = pending.get(i + 2) else { break };
                data.extend_from_slice(&pending[..i]);
                pending.drain(..i + 3);
                let _ = port.write_all(&[answers[usize::from(n - 1)]]);
            }
            data.append(&mut pending);
        }
        let _ = tx.send(data);
    });
    rx
}

fn driver(slave: &TTYPort) -> EscPosPrinter {
    let path = slave.name().expect("pseudo-terminal has a name");
    let device: PrinterDevice = format!("serial:{path}:115200").parse().expect("valid");
    let options = PrinterOptions {
        status_timeout: Duration::from_millis(500),
        ..PrinterOptions::default()
    };
    EscPosPrinter::new(device, options)
}

#[test]
fn prints_over_a_serial_line_and_reads_its_status() {
    let (master, slave) = TTYPort::pair().expect("pseudo-terminal pair");
    let mut p = driver(&slave);
    let received = printer(master, [0x12; 4]);
    let mut job = EscPos::new();
    job.init().text_ascii("SERIAL\n").expect("ascii").cut();
    p.print(job.as_bytes()).expect("prints");
    assert_eq!(p.last_status().map(|s| s.can_print()), Some(true));
    drop(p);
    drop(slave);
    let data = received.recv().expect("printer thread");
    assert_eq!(data, job.as_bytes());
}

#[test]
fn a_serial_printer_out_of_paper_gets_nothing() {
    let (master, slave) = TTYPort::pair().expect("pseudo-terminal pair");
    let mut p = driver(&slave);
    let received = printer(master, [0x1A, 0x72, 0x12, 0x7E]);
    let err = p.print(b"\x1b@SERIAL\n").expect_err("paper out");
    assert_eq!(err.kind(), PrinterErrorKind::PaperOut);
    assert_eq!(p.last_status().map(|s| s.paper), Some(PaperState::Out));
    drop(p);
    drop(slave);
    assert!(received.recv().expect("printer thread").is_empty());
}
