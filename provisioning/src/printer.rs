//! `kioskctl printer test`: reads the receipt printer's status and prints a test page with
//! every Vietnamese vowel under every tone mark, đ/Đ and a QR code, through the kiosk's own
//! ESC/POS driver and receipt typesetting. `kioskctl printer virtual`: runs the virtual
//! ESC/POS printer in the foreground, for a technician or developer without hardware.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use kiosk_app::config::PrinterSpec;
use kiosk_app::receipt::{self, ReceiptFonts};
use kiosk_hw::printer::{
    EscPosPrinter, PaperWidth, PrinterDevice, PrinterOptions, ReceiptPrinter, VirtualPrinter,
};
use kiosk_hw::PaperState;

use crate::Outcome;

/// The text of the test page's QR code.
pub const TEST_QR: &str = "KIOSKCTL PRINTER TEST";

/// The twelve Vietnamese vowels, each without a tone mark then with huyền, sắc, hỏi, ngã and
/// nặng, lower case then upper case (precomposed, NFC).
pub const VOWEL_LINES: [&str; 12] = [
    "a à á ả ã ạ   A À Á Ả Ã Ạ",
    "ă ằ ắ ẳ ẵ ặ   Ă Ằ Ắ Ẳ Ẵ Ặ",
    "â ầ ấ ẩ ẫ ậ   Â Ầ Ấ Ẩ Ẫ Ậ",
    "e è é ẻ ẽ ẹ   E È É Ẻ Ẽ Ẹ",
    "ê ề ế ể ễ ệ   Ê Ề Ế Ể Ễ Ệ",
    "i ì í ỉ ĩ ị   I Ì Í Ỉ Ĩ Ị",
    "o ò ó ỏ õ ọ   O Ò Ó Ỏ Õ Ọ",
    "ô ồ ố ổ ỗ ộ   Ô Ồ Ố Ổ Ỗ Ộ",
    "ơ ờ ớ ở ỡ ợ   Ơ Ờ Ớ Ở Ỡ Ợ",
    "u ù ú ủ ũ ụ   U Ù Ú Ủ Ũ Ụ",
    "ư ừ ứ ử ữ ự   Ư Ừ Ứ Ử Ữ Ự",
    "y ỳ ý ỷ ỹ ỵ   Y Ỳ Ý Ỷ Ỹ Ỵ",
];

/// `kioskctl printer ...`.
#[derive(Debug, Subcommand)]
pub enum PrinterCommand {
    /// Read the receipt printer's status and print a test page
    #[command(
        long_about = "Ask the receipt printer for its status (DLE EOT: online, paper, cover, \
                      cutter and other errors), print it on one line, then print a test page: \
                      every Vietnamese vowel with every tone mark, đ and Đ (rasterised with \
                      Noto Sans as the kiosk's receipts are), a QR code and the status. Read \
                      the page: every mark must sit on its letter and the QR code must scan.\n\n\
                      The printer is the configuration's devices.printer (--config) or \
                      --device: tcp:HOST:PORT (raw port 9100), usb:/dev/usb/lpN or \
                      serial:/dev/ttyUSB0:BAUD. The kiosk must be stopped while a USB or \
                      serial printer is tested.",
        after_help = "Examples:\n  kioskctl printer test --config /etc/kiosk/kiosk.toml\n  \
                      kioskctl printer test --device tcp:192.168.10.50:9100 --width 80mm\n  \
                      kioskctl printer test --device usb:/dev/usb/lp0 --safe-area\n\n\
                      Exit status:\n  0  the test page was printed\n  \
                      2  no printer, a printer fault (paper out, cover open...), or an \
                      invalid configuration"
    )]
    Test(PrinterTestArgs),
    /// Run a virtual ESC/POS network printer that writes each receipt as a PNG
    #[command(
        long_about = "Run the virtual ESC/POS printer until interrupted (Ctrl-C): it listens \
                      on TCP (--listen), interprets what the kiosk sends (text, raster images, \
                      QR codes, cuts), answers status requests and writes each receipt into \
                      --out as receipt-NNNN.png (and the bytes as receipt-NNNN.bin). The fault \
                      switches make it report a fault from the start; it then prints nothing.",
        after_help = "Examples:\n  kioskctl printer virtual --out /tmp/receipts\n  \
                      kioskctl printer virtual --listen 127.0.0.1:9101 --paper-out\n  \
                      kioskctl printer test --device tcp:127.0.0.1:9100   (in another shell)\n\n\
                      Exit status:\n  2  the address is in use or the folder cannot be \
                      created"
    )]
    Virtual(VirtualPrinterArgs),
}

/// `kioskctl printer virtual`.
#[derive(Debug, Args)]
pub struct VirtualPrinterArgs {
    /// Address and port to listen on
    #[arg(long, value_name = "ADDR", default_value = kiosk_hw::printer::emulator::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// Folder for the receipts
    #[arg(long, value_name = "DIR", default_value = "receipts")]
    pub out: PathBuf,
    /// Paper roll width
    #[arg(long, value_enum, default_value = "80mm")]
    pub width: WidthArg,
    /// Print 512 dots wide on 80 mm paper
    #[arg(long)]
    pub safe_area: bool,
    /// Report paper out
    #[arg(long)]
    pub paper_out: bool,
    /// Report the cover open
    #[arg(long)]
    pub cover_open: bool,
    /// Report offline
    #[arg(long)]
    pub offline: bool,
    /// Run out of paper after this many bytes of the first job
    #[arg(long, value_name = "BYTES")]
    pub paper_out_after: Option<usize>,
}

/// Paper roll width on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WidthArg {
    /// 80 mm paper (576 dots)
    #[value(name = "80mm")]
    Mm80,
    /// 58 mm paper (384 dots)
    #[value(name = "58mm")]
    Mm58,
}

/// `kioskctl printer test`.
#[derive(Debug, Args)]
pub struct PrinterTestArgs {
    /// Use the printer, paper width and safe area of this configuration file
    #[arg(long, value_name = "FILE", conflicts_with_all = ["device", "width", "safe_area"])]
    pub config: Option<PathBuf>,
    /// The printer: tcp:HOST:PORT, usb:/dev/usb/lpN or serial:/dev/ttyUSB0:BAUD
    #[arg(long, value_name = "DEVICE", required_unless_present = "config")]
    pub device: Option<String>,
    /// Paper roll width
    #[arg(long, value_enum)]
    pub width: Option<WidthArg>,
    /// Lay the page out 512 dots wide (80 mm printers that print less than 576 dots)
    #[arg(long)]
    pub safe_area: bool,
    /// Folder holding NotoSans-Regular.ttf and NotoSans-Bold.ttf
    #[arg(long, value_name = "DIR", default_value = receipt::DEFAULT_FONTS_DIR)]
    pub fonts: PathBuf,
}

/// Runs `kioskctl printer ...`.
///
/// # Errors
/// Only when the report cannot be written.
pub fn run(
    cmd: &PrinterCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let args = match cmd {
        PrinterCommand::Test(args) => args,
        PrinterCommand::Virtual(args) => return run_virtual(args, out, err),
    };
    let (device, width_dots) = match target(args) {
        Ok(t) => t,
        Err(message) => {
            writeln!(err, "{message}")?;
            return Ok(Outcome::Invalid);
        }
    };
    let fonts = match ReceiptFonts::load(&args.fonts) {
        Ok(f) => f,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(Outcome::Invalid);
        }
    };
    let options = PrinterOptions {
        width_dots,
        ..PrinterOptions::default()
    };
    let mut printer = EscPosPrinter::new(device.clone(), options);
    writeln!(out, "printer: {device}, {width_dots} dots wide")?;
    let status = match printer.status() {
        Ok(s) => s,
        Err(e) => {
            writeln!(out, "status: unavailable")?;
            writeln!(err, "{device}: {e}")?;
            return Ok(Outcome::Invalid);
        }
    };
    writeln!(out, "status: {status}")?;
    if let Some(kind) = status.fault() {
        writeln!(err, "not printed: {kind}: {}", status.advice())?;
        return Ok(Outcome::Invalid);
    }
    let job = match test_page(&device, width_dots, &status.to_string(), &fonts) {
        Ok(job) => job,
        Err(e) => {
            writeln!(err, "cannot compose the test page: {e}")?;
            return Ok(Outcome::Invalid);
        }
    };
    match printer.print(&job) {
        Ok(()) => {
            if let Some(after) = printer.last_status() {
                writeln!(out, "status after: {after}")?;
            }
            writeln!(out, "printed: test page, {} bytes", job.len())?;
            Ok(Outcome::Ok)
        }
        Err(e) => {
            if let Some(after) = printer.last_status() {
                writeln!(out, "status after: {after}")?;
            }
            writeln!(err, "not printed: {e}")?;
            Ok(Outcome::Invalid)
        }
    }
}

/// Runs the virtual printer until the process is interrupted.
fn run_virtual(
    args: &VirtualPrinterArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let width_dots = match (args.width, args.safe_area) {
        (WidthArg::Mm58, true) => {
            writeln!(err, "--safe-area is for 80 mm paper")?;
            return Ok(Outcome::Invalid);
        }
        (WidthArg::Mm58, false) => PaperWidth::Mm58.dots(false),
        (WidthArg::Mm80, safe) => PaperWidth::Mm80.dots(safe),
    };
    let printer = match VirtualPrinter::start(args.listen, &args.out, width_dots) {
        Ok(p) => p,
        Err(e) => {
            writeln!(
                err,
                "cannot start the virtual printer on {}: {e}",
                args.listen
            )?;
            return Ok(Outcome::Invalid);
        }
    };
    let control = printer.control();
    if args.paper_out {
        control.set_paper(PaperState::Out);
    }
    control.set_cover_open(args.cover_open);
    control.set_online(!args.offline);
    control.paper_out_after(args.paper_out_after);
    writeln!(
        out,
        "virtual printer on {} ({width_dots} dots), receipts in {}; status: {}",
        printer.device(),
        args.out.display(),
        control.status()
    )?;
    writeln!(out, "Ctrl-C stops it")?;
    out.flush()?;
    printer.wait();
    Ok(Outcome::Ok)
}

/// The printer and printable width from the arguments or the configuration.
fn target(args: &PrinterTestArgs) -> Result<(PrinterDevice, u32), String> {
    if let Some(path) = &args.config {
        let cfg = kiosk_app::config::load(path).map_err(|e| e.to_string())?;
        let device = cfg
            .devices
            .printer
            .device()
            .ok_or_else(|| match &cfg.devices.printer {
                PrinterSpec::Virtual(_) => format!(
                    "{}: devices.printer {} is the virtual printer the kiosk starts itself; test \
                 a running virtual printer with --device tcp:127.0.0.1:PORT",
                    path.display(),
                    cfg.devices.printer
                ),
                other => format!(
                    "{}: devices.printer {other} is a simulator, not a printer",
                    path.display()
                ),
            })?;
        return Ok((device, cfg.devices.printer_dots()));
    }
    let text = args.device.as_deref().unwrap_or_default();
    let device = text.parse::<PrinterDevice>().map_err(|e| e.to_string())?;
    let paper = match args.width {
        Some(WidthArg::Mm58) => PaperWidth::Mm58,
        Some(WidthArg::Mm80) | None => PaperWidth::Mm80,
    };
    if args.safe_area && paper == PaperWidth::Mm58 {
        return Err("--safe-area is for 80 mm paper; 58 mm printers print 384 dots".into());
    }
    Ok((device, paper.dots(args.safe_area)))
}

/// The test page's ESC/POS job.
pub(crate) fn test_page(
    device: &PrinterDevice,
    width_dots: u32,
    status: &str,
    fonts: &ReceiptFonts,
) -> Result<Vec<u8>, receipt::ReceiptError> {
    let mut lines = vec![
        format!("Máy in / Printer: {device}"),
        format!("Khổ in / Width: {width_dots} dots"),
        format!("Trạng thái / Status: {status}"),
    ];
    lines.extend(VOWEL_LINES.iter().map(|l| (*l).to_owned()));
    lines.push("đ Đ   Đường Đồng Khởi, Quận 1".to_owned());
    receipt::compose_plain(
        width_dots,
        "KIỂM TRA MÁY IN / PRINTER TEST",
        &lines,
        Some(TEST_QR),
        fonts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vowel_with_every_tone() {
        // Decomposed: base letter (with its own breve, circumflex or horn), then the tone.
        const TONES: [Option<char>; 6] = [
            None,
            Some('\u{300}'),
            Some('\u{301}'),
            Some('\u{309}'),
            Some('\u{303}'),
            Some('\u{323}'),
        ];
        let mut all = std::collections::HashSet::new();
        for line in VOWEL_LINES {
            let letters: Vec<char> = line.split_whitespace().flat_map(str::chars).collect();
            assert_eq!(letters.len(), 12, "{line}");
            for (i, &c) in letters.iter().enumerate() {
                all.insert(c);
                let tone = TONES[i % 6];
                let base = letters[i - i % 6];
                // The precomposed letter is the base plus the tone as a combining mark.
                let composed: String = match tone {
                    None => base.to_string(),
                    Some(t) => format!("{base}{t}"),
                };
                use unicode_normalization::UnicodeNormalization as _;
                assert_eq!(
                    composed.nfc().collect::<String>(),
                    c.to_string(),
                    "{line}: {c}"
                );
                assert_eq!(c.is_uppercase(), i >= 6, "{line}: {c}");
            }
        }
        assert_eq!(
            all.len(),
            144,
            "12 vowels x 6 tones x 2 cases, all different"
        );
    }
}
