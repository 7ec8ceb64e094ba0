//! The receipt composer, checked through the ESC/POS interpreter of `kiosk_hw`.
//!
//! Needs Debian's fonts-noto-core (installed by `cargo xtask setup`). Set
//! `KIOSK_RECEIPT_PNG=/some/dir` to also write the rendered receipts as PNG for eyeballing.

use std::path::Path;

use kiosk_app::receipt::{
    compose, format_receipt_qr, parse_receipt_qr, NationalHeading, ReceiptDoc, ReceiptError,
    ReceiptFonts, ReceiptLine, ReceiptQr, BOLD_FONT, REGULAR_FONT,
};
use kiosk_hw::personal::Personal;
use kiosk_hw::printer::render::{render, Receipt};
use kiosk_hw::printer::{PAPER_WIDTH_58MM, PAPER_WIDTH_80MM};
use unicode_normalization::UnicodeNormalization;

const DOSSIER: &str = "000.00.01.H29-260105-0001";
const LOOKUP: &str = "7KQ2MZ4P";

fn fonts() -> ReceiptFonts {
    ReceiptFonts::load_default().unwrap_or_else(|e| panic!("{e}"))
}

fn form01(width: u32) -> ReceiptDoc {
    ReceiptDoc {
        heading: Some(NationalHeading {
            title: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".into(),
            motto: "Độc lập - Tự do - Hạnh phúc".into(),
        }),
        office: "UBND PHƯỜNG HOÀN KIẾM - BỘ PHẬN MỘT CỬA".into(),
        title: "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ".into(),
        big: None,
        lines: vec![
            ReceiptLine::large("Mã hồ sơ", DOSSIER),
            ReceiptLine::new("Thủ tục", "Đăng ký tạm trú"),
            ReceiptLine::personal("Người nộp", Personal::new("NGUYỄN VĂN AN".into())),
            ReceiptLine::new("Tiếp nhận", "09:30 ngày 05/01/2026"),
            ReceiptLine::large("Hẹn trả kết quả", "Thứ Năm, 08/01/2026"),
            ReceiptLine::new("Mã tra cứu", LOOKUP),
        ],
        qr: Some(ReceiptQr::new(DOSSIER, LOOKUP).expect("valid codes")),
        footer: vec![
            "Tra cứu tình trạng hồ sơ bằng mã QR này".into(),
            "Hồ sơ sẽ được gửi tự động khi có mạng".into(),
        ],
        paper_width: width,
    }
}

fn ticket() -> ReceiptDoc {
    ReceiptDoc {
        heading: None,
        office: "BỆNH VIỆN ĐA KHOA TỈNH".into(),
        title: "PHIẾU SỐ THỨ TỰ".into(),
        big: Some("0042".into()),
        lines: vec![
            ReceiptLine::large("Khoa", "Khoa Nội tổng hợp"),
            ReceiptLine::new("Thời gian", "09:30 ngày 05/01/2026"),
        ],
        qr: Some(ReceiptQr::new(DOSSIER, LOOKUP).expect("valid codes")),
        footer: vec!["Vui lòng chờ gọi số".into()],
        paper_width: PAPER_WIDTH_80MM,
    }
}

fn minimal(footer: &str) -> ReceiptDoc {
    ReceiptDoc {
        heading: None,
        office: "Ủy ban".into(),
        title: "Tiêu đề".into(),
        big: None,
        lines: Vec::new(),
        qr: None,
        footer: vec![footer.into()],
        paper_width: PAPER_WIDTH_80MM,
    }
}

fn print(doc: &ReceiptDoc) -> Receipt {
    let job = compose(doc, &fonts()).expect("composes");
    render(&job, doc.paper_width).expect("renders")
}

/// Runs of consecutive rows with ink: one per printed text line (or QR, or rule).
fn ink_runs(r: &Receipt) -> Vec<(u32, u32)> {
    let mut runs = Vec::new();
    let mut start = None;
    for y in 0..r.height {
        let ink = (0..r.width).any(|x| r.is_black(x, y));
        match (ink, start) {
            (true, None) => start = Some(y),
            (false, Some(s)) => {
                runs.push((s, y));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, r.height));
    }
    runs
}

fn save_png(r: &Receipt, name: &str) {
    let Some(dir) = std::env::var_os("KIOSK_RECEIPT_PNG") else {
        return;
    };
    let path = Path::new(&dir).join(name);
    let file = std::fs::File::create(&path).expect("create png");
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), r.width, r.height);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&r.pixels))
        .expect("write png");
    // A 3x enlargement of the top left, to judge the tone marks dot by dot.
    let (w, h, zoom) = (240u32, 200u32.min(r.height), 3u32);
    let mut big = Vec::with_capacity((w * h * zoom * zoom) as usize);
    for y in 0..h * zoom {
        for x in 0..w * zoom {
            big.push(if r.is_black(x / zoom, y / zoom) {
                0u8
            } else {
                255
            });
        }
    }
    let file = std::fs::File::create(path.with_extension("zoom.png")).expect("create png");
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w * zoom, h * zoom);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&big))
        .expect("write png");
}

#[test]
fn form01_renders_on_80mm_with_ink_where_the_text_is() {
    let r = print(&form01(PAPER_WIDTH_80MM));
    save_png(&r, "receipt-form01.png");
    assert_eq!(r.width, 576);
    assert_eq!(r.cuts.len(), 1);
    let runs = ink_runs(&r);
    // Office, rule, title (2 lines at this width), 2 large lines of 2 rows each, 4 normal lines,
    // QR, 2 footer lines: well over a dozen separate bands of ink.
    assert!(runs.len() >= 14, "{runs:?}");
    // The office name starts near the top; the QR box is the tallest run.
    assert!(runs[0].0 < 40, "{runs:?}");
    let tallest = runs.iter().map(|(a, b)| b - a).max().unwrap_or(0);
    assert!(tallest >= 150, "QR expected, tallest run {tallest}");
    // Nothing is drawn in the margins.
    for y in 0..r.height {
        if r.cuts.iter().any(|c| c.abs_diff(y) < 2) {
            continue; // the cut line is paper-wide
        }
        assert!(
            !r.is_black(0, y) && !r.is_black(575, y),
            "ink in the margin at row {y}"
        );
    }
}

#[test]
fn queue_ticket_and_58mm_render() {
    let r = print(&ticket());
    save_png(&r, "receipt-ticket.png");
    let runs = ink_runs(&r);
    // The queue number is the tallest text: its digits are over 70 dots (9 mm) tall.
    assert!(
        runs.iter().any(|(a, b)| b - a > 70 && b - a < 150),
        "{runs:?}"
    );
    let narrow = print(&form01(PAPER_WIDTH_58MM));
    save_png(&narrow, "receipt-58mm.png");
    assert_eq!(narrow.width, 384);
    let wide = print(&form01(PAPER_WIDTH_80MM));
    assert!(narrow.height > wide.height, "narrower paper wraps more");
}

#[test]
fn long_vietnamese_lines_wrap() {
    let short = print(&minimal("Hồ sơ đã được tiếp nhận"));
    let long = print(&minimal(
        "Công dân vui lòng mang theo căn cước công dân và giấy tiếp nhận này khi đến nhận kết \
         quả giải quyết thủ tục hành chính tại Bộ phận Một cửa của Ủy ban nhân dân phường",
    ));
    let (s, l) = (ink_runs(&short).len(), ink_runs(&long).len());
    assert!(l >= s + 2, "long text wraps onto several lines: {s} vs {l}");
    // A single "word" wider than the paper is broken rather than cut off.
    let unbroken = print(&minimal(&"Đ".repeat(60)));
    assert!(ink_runs(&unbroken).len() > ink_runs(&short).len());
}

#[test]
fn decomposed_input_prints_like_composed() {
    let nfc = form01(PAPER_WIDTH_80MM);
    let mut nfd = nfc.clone();
    nfd.office = nfd.office.nfd().collect();
    nfd.title = nfd.title.nfd().collect();
    nfd.footer = nfd.footer.iter().map(|t| t.nfd().collect()).collect();
    nfd.lines = vec![
        ReceiptLine::large("Mã hồ sơ".nfd().collect::<String>(), DOSSIER),
        ReceiptLine::new(
            "Thủ tục".nfd().collect::<String>(),
            "Đăng ký tạm trú".nfd().collect::<String>(),
        ),
        ReceiptLine::personal(
            "Người nộp".nfd().collect::<String>(),
            Personal::new("NGUYỄN VĂN AN".nfd().collect()),
        ),
        ReceiptLine::new(
            "Tiếp nhận",
            "09:30 ngày 05/01/2026".nfd().collect::<String>(),
        ),
        ReceiptLine::large(
            "Hẹn trả kết quả".nfd().collect::<String>(),
            "Thứ Năm, 08/01/2026".nfd().collect::<String>(),
        ),
        ReceiptLine::new("Mã tra cứu".nfd().collect::<String>(), LOOKUP),
    ];
    assert_ne!(nfd.title, nfc.title, "the test input really is decomposed");
    let f = fonts();
    assert_eq!(
        compose(&nfd, &f).expect("nfd"),
        compose(&nfc, &f).expect("nfc")
    );
}

#[test]
fn qr_carries_codes_only() {
    let doc = form01(PAPER_WIDTH_80MM);
    let job = compose(&doc, &fonts()).expect("composes");
    let payload = format!("VNKIOSK1|R|{DOSSIER}|{LOOKUP}");
    assert!(job.windows(payload.len()).any(|w| w == payload.as_bytes()));
    // Text goes out as images, so neither the name nor any ASCII of it is in the job.
    assert!(!job.windows(6).any(|w| w == b"NGUY\xe1\xbb"));
    let qr = doc.qr.as_ref().expect("qr");
    assert_eq!(parse_receipt_qr(&format_receipt_qr(qr)).as_ref(), Ok(qr));
}

#[test]
fn missing_fonts_name_the_file_and_the_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = ReceiptFonts::load(dir.path()).expect_err("no fonts there");
    assert!(matches!(err, ReceiptError::FontMissing { .. }));
    let text = err.to_string();
    assert!(text.contains(REGULAR_FONT), "{text}");
    assert!(
        text.contains("install") && text.contains("fonts-noto-core"),
        "{text}"
    );

    std::fs::write(dir.path().join(REGULAR_FONT), b"not a font").expect("write");
    std::fs::copy(
        Path::new(kiosk_app::receipt::DEFAULT_FONTS_DIR).join(BOLD_FONT),
        dir.path().join(BOLD_FONT),
    )
    .expect("copy");
    let err = ReceiptFonts::load(dir.path()).expect_err("invalid font");
    assert!(matches!(err, ReceiptError::FontInvalid { .. }), "{err}");
}

#[test]
fn unsupported_paper_width_is_refused() {
    let mut doc = minimal("x");
    doc.paper_width = 500;
    assert!(matches!(
        compose(&doc, &fonts()),
        Err(ReceiptError::PaperWidth(500))
    ));
}
