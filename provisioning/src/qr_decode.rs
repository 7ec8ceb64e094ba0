//! `kioskctl qr decode IMAGE...`: decodes the QR code in each picture and says what it is.
//!
//! The decoding and the classification are the kiosk's own (`kiosk_hw::qr::QrDecoder`,
//! `kiosk_qr::classify`), so a picture this command reads is one the kiosk's camera path reads.
//! Personal fields print as `<redacted>` unless `--show-personal` is given.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use kiosk_hw::camera::read_png;
use kiosk_hw::qr::{FrameDecode, QrDecodeOptions, QrDecoder, QrScan};
use kiosk_hw::Personal;
use kiosk_qr::{classify, ExpiryCandidates, Payload};

use crate::Outcome;

/// `kioskctl qr ...`.
#[derive(Debug, Subcommand)]
pub enum QrCommand {
    /// Decode the QR code in pictures and say what each is (CCCD, receipt, enrolment, other)
    #[command(
        long_about = "Decode the QR code in each picture (PNG; convert phone photos first, e.g. \
                      `convert photo.jpg photo.png`) with the kiosk's own decoder and say what \
                      it is: the QR printed on a CCCD (with the chip access inputs the kiosk \
                      derives from it: CAN, BAC document number, date of birth, expiry \
                      candidates), a kiosk receipt, an enrolment code, or something the kiosk \
                      does not read (VNeID app codes, web links), with the reason.\n\n\
                      One result per picture. Personal fields are shown as <redacted> unless \
                      --show-personal is given: use it only with the citizen present.",
        after_help = "Examples:\n  kioskctl qr decode card.png\n  \
                      kioskctl qr decode --show-personal frames/*.png\n\n\
                      Exit status:\n  0  at least one picture held a code\n  \
                      2  no picture held a decodable code (or none could be read)"
    )]
    Decode(QrDecodeArgs),
}

/// `kioskctl qr decode`.
#[derive(Debug, Args)]
pub struct QrDecodeArgs {
    /// Pictures to decode (PNG)
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<PathBuf>,
    /// Print personal fields (ID number, name, dates, address) instead of <redacted>
    #[arg(long)]
    pub show_personal: bool,
}

/// Runs `kioskctl qr ...`.
///
/// # Errors
/// Only when the report cannot be written.
pub fn run(cmd: &QrCommand, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    let QrCommand::Decode(args) = cmd;
    // Still pictures: time does not matter, so also look for inverted codes.
    let decoder = QrDecoder::new(QrDecodeOptions {
        try_harder: true,
        also_inverted: true,
    });
    let mut decoded = 0;
    for path in &args.images {
        let frame = match read_png(path) {
            Ok(f) => f,
            Err(e) => {
                writeln!(err, "{}: cannot read: {e}", path.display())?;
                continue;
            }
        };
        match decoder.decode(&frame) {
            FrameDecode::Found(scan) => {
                decoded += 1;
                report(&path.display().to_string(), &scan, args.show_personal, out)?;
            }
            FrameDecode::Unreadable => writeln!(
                out,
                "{}: a QR code is visible but does not decode (blur, glare, cut off?)",
                path.display()
            )?,
            _ => writeln!(out, "{}: no QR code found", path.display())?,
        }
    }
    Ok(if decoded > 0 {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}

/// Prints one decoded code: its kind, where it is, and its fields.
pub(crate) fn report(
    label: &str,
    scan: &QrScan,
    show: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let p = |v: &Personal<String>| {
        if show {
            v.expose().clone()
        } else {
            v.to_string()
        }
    };
    let at = scan.bounds.map_or(String::new(), |b| {
        let pts: Vec<String> = b.iter().map(|(x, y)| format!("({x:.0},{y:.0})")).collect();
        format!(" at {}", pts.join(" "))
    });
    match classify(scan.text.expose()) {
        Ok(Payload::Cccd(q)) => {
            writeln!(out, "{label}: CCCD card QR{at}")?;
            let a = q.chip_access();
            let date = |d: &Personal<kiosk_qr::CivilDate>| p(&d.map(ToString::to_string));
            let rows = [
                ("ID number", p(q.id_number())),
                ("old ID number", q.old_id_number().map_or("-".into(), p)),
                ("full name", p(q.full_name())),
                ("date of birth", date(q.date_of_birth())),
                ("sex", p(&q.sex().map(|s| s.as_vietnamese().to_owned()))),
                ("address", q.address().map_or("-".into(), p)),
                ("issue date", q.issue_date().map_or("-".into(), date)),
                ("PACE CAN", p(&a.can)),
                ("BAC document no.", p(&a.document_number)),
                ("BAC birth YYMMDD", p(&a.date_of_birth)),
                (
                    "expiry candidates",
                    match &a.expiry {
                        ExpiryCandidates::Dates(d) => p(&d.map(|v| v.join(", "))),
                        _ => "none: issued at 58 or later, the card does not expire".into(),
                    },
                ),
            ];
            for (k, v) in rows {
                writeln!(out, "  {k:<18} {v}")?;
            }
            if q.extra_fields() > 0 {
                writeln!(
                    out,
                    "  note: {} field(s) after the seventh were not understood (newer card layout?)",
                    q.extra_fields()
                )?;
            }
        }
        Ok(Payload::Receipt(r)) => {
            writeln!(out, "{label}: kiosk receipt QR{at}")?;
            match kiosk_app::receipt::parse_receipt_qr(&r.text) {
                Ok(rq) => {
                    writeln!(out, "  dossier code (MaHoSo)  {}", rq.dossier_code())?;
                    writeln!(out, "  lookup code (MaTraCuu) {}", rq.lookup_code())?;
                }
                Err(e) => writeln!(out, "  not usable: {e}")?,
            }
        }
        Ok(Payload::Enrolment(e)) => {
            writeln!(out, "{label}: kiosk enrolment QR{at}")?;
            writeln!(out, "  gateway URL  {}", e.gateway_url)?;
            writeln!(out, "  token        {}", p(&e.token))?;
        }
        Ok(other) => writeln!(out, "{label}: {}{at}", other.kind_name())?,
        Err(e) => writeln!(out, "{label}: not usable by the kiosk{at}: {e}")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hw::qr::scene::{render_qr, Scene};
    use kiosk_qr::synthetic::DEMO_QR;

    fn decode(images: Vec<PathBuf>, show_personal: bool) -> (Outcome, String, String) {
        let cmd = QrCommand::Decode(QrDecodeArgs {
            images,
            show_personal,
        });
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome = run(&cmd, &mut out, &mut err).expect("report written");
        (
            outcome,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    #[test]
    fn one_result_per_picture_personal_fields_redacted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let card = dir.path().join("card.png");
        let frame = render_qr(DEMO_QR, &Scene::clean(640, 480, 3)).expect("renders");
        std::fs::write(&card, frame.to_png().expect("png")).expect("write");
        let receipt = dir.path().join("receipt.png");
        let text = "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P";
        let frame = render_qr(text, &Scene::clean(640, 480, 4)).expect("renders");
        std::fs::write(&receipt, frame.to_png().expect("png")).expect("write");
        let missing = dir.path().join("missing.png");

        let (outcome, out, err) = decode(vec![card.clone(), receipt, missing], false);
        assert_eq!(outcome, Outcome::Ok);
        assert!(
            out.contains("CCCD card QR") && out.contains("<redacted>"),
            "{out}"
        );
        assert!(
            !out.contains("001090123456") && !out.contains("123456"),
            "{out}"
        );
        assert!(
            out.contains("7KQ2MZ4P"),
            "receipts carry no personal data: {out}"
        );
        assert!(err.contains("missing.png"), "{err}");

        let (_, out, _) = decode(vec![card], true);
        assert!(
            out.contains("001090123456") && out.contains("123456"),
            "{out}"
        );
        assert!(out.contains("300101"), "expiry candidate: {out}");
    }

    #[test]
    fn nothing_decoded_is_a_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blank = dir.path().join("blank.png");
        let frame = kiosk_hw::camera::Frame {
            width: 64,
            height: 48,
            format: kiosk_hw::camera::PixelFormat::Luma8,
            data: vec![128; 64 * 48],
            seq: 0,
        };
        std::fs::write(&blank, frame.to_png().expect("png")).expect("write");
        let (outcome, out, _) = decode(vec![blank], false);
        assert_eq!(outcome, Outcome::Invalid);
        assert!(out.contains("no QR code found"), "{out}");
    }
}
