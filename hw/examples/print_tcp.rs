//! Time one ESC/POS job printed through the TCP driver to the virtual printer: status, send,
//! the printer's interpretation and PNG, status again. The numbers in docs/BENCHMARKS.md.
//!
//! ```text
//! cargo run --release -p kiosk-hw --example print_tcp -- JOB.bin [WIDTH_DOTS] [RUNS]
//! ```
//!
//! A form-01 job comes from `KIOSK_RECEIPT_JOB_DIR=DIR cargo test -p kiosk-app --test
//! receipt_print` (`DIR/form01-576.bin`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kiosk_hw::printer::{EscPosPrinter, PrinterOptions, VirtualPrinter};
use kiosk_hw::ReceiptPrinter as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let job = std::fs::read(
        args.next()
            .ok_or("usage: print_tcp JOB.bin [WIDTH] [RUNS]")?,
    )?;
    let width: u32 = args.next().map_or(Ok(576), |w| w.parse())?;
    let runs: usize = args.next().map_or(Ok(50), |n| n.parse())?;
    let dir = std::env::temp_dir().join(format!("print-tcp-{}", std::process::id()));
    let printer = VirtualPrinter::start(SocketAddr::from(([127, 0, 0, 1], 0)), &dir, width)?;
    let options = PrinterOptions {
        width_dots: width,
        ..PrinterOptions::default()
    };
    let mut driver = EscPosPrinter::new(printer.device(), options);
    driver.print(&job)?; // warm-up
    let mut samples: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        driver.print(&job)?;
        samples.push(start.elapsed());
    }
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    println!(
        "{} bytes at {width} dots, {runs} runs: median {:.2} ms, p90 {:.2} ms",
        job.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3
    );
    drop(printer);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
