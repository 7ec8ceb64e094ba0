//! A full form-01 receipt composed by the kiosk, sent through the real TCP ESC/POS driver to
//! the virtual printer at each paper width; the QR decoded back from the printed PNG is the
//! status-lookup URL holding the dossier and lookup codes, and nothing personal.
//!
//! Needs Debian's fonts-noto-core. Set `KIOSK_RECEIPT_JOB_DIR=/some/dir` to also keep the
//! composed jobs (`form01-<dots>.bin`), e.g. for `cargo run -p kiosk-hw --example print_tcp`.

use std::net::SocketAddr;
use std::path::Path;

use kiosk_app::receipt::{
    compose, LookupUrl, NationalHeading, ReceiptDoc, ReceiptFonts, ReceiptLine, ReceiptQr,
};
use kiosk_hw::camera::{Frame, PixelFormat};
use kiosk_hw::personal::Personal;
use kiosk_hw::printer::{
    EscPosPrinter, PaperWidth, PrinterOptions, ReceiptPrinter as _, VirtualPrinter,
};
use kiosk_hw::qr::{FrameDecode, QrDecodeOptions, QrDecoder};
use kiosk_hw::{PaperState, PrinterErrorKind};

const DOSSIER: &str = "000.00.01.H29-260105-0001";
const LOOKUP: &str = "7KQ2MZ4P";
const TEMPLATE: &str =
    "https://dichvucong.example.gov.vn/tra-cuu?maHoSo={dossier}&maTraCuu={lookup}";

fn form01(width: u32) -> ReceiptDoc {
    let url = LookupUrl::new(TEMPLATE).expect("valid template");
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
            ReceiptLine::personal("Số định danh cá nhân", Personal::new("0010•••••456".into())),
            ReceiptLine::new("Thời gian tiếp nhận", "09:30 05/01/2026"),
            ReceiptLine::large("Ngày hẹn trả kết quả", "Thứ Năm, 08/01/2026"),
            ReceiptLine::new(
                "Nơi trả kết quả",
                "Bộ phận Một cửa, 126 Hàng Trống, phường Hoàn Kiếm",
            ),
            ReceiptLine::new("Mã tra cứu", LOOKUP),
        ],
        qr: Some(
            ReceiptQr::new(DOSSIER, LOOKUP)
                .expect("valid codes")
                .with_lookup_url(Some(url)),
        ),
        footer: vec!["Tra cứu tình trạng hồ sơ bằng mã QR này".into()],
        paper_width: width,
    }
}

/// A printed PNG as 8-bit grey pixels: (width, height, pixels).
fn grey_png(png_path: &Path) -> (u32, u32, Vec<u8>) {
    let bytes = std::fs::read(png_path).expect("read PNG");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(std::io::Cursor::new(bytes)));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("valid PNG");
    let mut data = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut data).expect("frame");
    data.truncate(info.buffer_size());
    assert_eq!(
        info.color_type,
        png::ColorType::Grayscale,
        "{}: the virtual printer writes grey PNGs",
        png_path.display()
    );
    (info.width, info.height, data)
}

/// The text of the QR code in a printed PNG.
fn qr_in(png_path: &Path) -> (u32, String) {
    let (width, height, data) = grey_png(png_path);
    let frame = Frame {
        width,
        height,
        format: PixelFormat::Luma8,
        data,
        seq: 0,
    };
    match QrDecoder::new(QrDecodeOptions::default()).decode(&frame) {
        FrameDecode::Found(scan) => (width, scan.text.expose().clone()),
        other => panic!("no QR in {}: {other:?}", png_path.display()),
    }
}

/// Compares a printed receipt with its golden `tests/snapshots/<name>.png`: the same size, and
/// at most 0.2 % of the dots inked differently (room for a font package's hinting changes, far
/// less than one misplaced word). `UPDATE_SNAPSHOTS=1` (re)writes the golden; outside CI a
/// missing golden is written; a mismatch keeps the print as `<name>.new.png`.
fn check_receipt_golden(printed: &Path, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let golden = dir.join(format!("{name}.png"));
    let fresh = dir.join(format!("{name}.new.png"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some()
        || !golden.exists() && std::env::var_os("CI").is_none()
    {
        std::fs::copy(printed, &golden).expect("write the golden receipt");
        let _ = std::fs::remove_file(&fresh);
        return;
    }
    assert!(
        golden.exists(),
        "{} is missing: run `UPDATE_SNAPSHOTS=1 cargo test -p kiosk-app --test receipt_print` \
         and look at the PNG before committing it",
        golden.display()
    );
    let (w, h, got) = grey_png(printed);
    let (gw, gh, want) = grey_png(&golden);
    let inked = |v: u8| v < 128;
    let differing = got
        .iter()
        .zip(want.iter())
        .filter(|(a, b)| inked(**a) != inked(**b))
        .count();
    let allowed = (w as usize * h as usize) / 500;
    if (w, h) != (gw, gh) || differing > allowed {
        std::fs::copy(printed, &fresh).expect("keep the differing print");
        panic!(
            "{name}: printed {w}x{h} with {differing} dots differing from {} ({gw}x{gh}, \
             allowed {allowed}); look at {} and run with UPDATE_SNAPSHOTS=1 if intended",
            golden.display(),
            fresh.display()
        );
    }
    let _ = std::fs::remove_file(&fresh);
}

#[test]
fn form01_prints_over_tcp_at_every_width_and_its_qr_is_the_lookup_url() {
    let fonts = ReceiptFonts::load_default().unwrap_or_else(|e| panic!("{e}"));
    let expected =
        format!("https://dichvucong.example.gov.vn/tra-cuu?maHoSo={DOSSIER}&maTraCuu={LOOKUP}");
    for (paper, safe) in [
        (PaperWidth::Mm80, false),
        (PaperWidth::Mm80, true),
        (PaperWidth::Mm58, false),
    ] {
        let dots = paper.dots(safe);
        let dir = tempfile::tempdir().expect("tempdir");
        let printer =
            VirtualPrinter::start(SocketAddr::from(([127, 0, 0, 1], 0)), dir.path(), dots)
                .expect("virtual printer");
        let options = PrinterOptions {
            width_dots: dots,
            ..PrinterOptions::default()
        };
        let mut driver = EscPosPrinter::new(printer.device(), options);
        let job = compose(&form01(dots), &fonts).expect("composes");
        if let Some(keep) = std::env::var_os("KIOSK_RECEIPT_JOB_DIR") {
            std::fs::write(Path::new(&keep).join(format!("form01-{dots}.bin")), &job)
                .expect("keep the job");
        }
        driver.print(&job).expect("prints");
        let printed = printer.control().printed();
        assert_eq!(printed.len(), 1, "{dots} dots");
        let (width, text) = qr_in(&printed[0]);
        assert_eq!(width, dots);
        assert_eq!(text, expected, "{dots} dots");
        check_receipt_golden(&printed[0], &format!("receipt-form01-{dots}"));

        // Paper running out half way: the job fails and no receipt comes out.
        printer.control().paper_out_after(Some(job.len() / 2));
        let err = driver.print(&job).expect_err("paper ran out");
        assert_eq!(err.kind(), PrinterErrorKind::PaperOut);
        assert_eq!(printer.control().printed().len(), 1, "{dots} dots");
        printer.control().set_paper(PaperState::Ok);
    }
}

#[test]
fn a_clinic_ticket_prints_its_queue_number_large() {
    let fonts = ReceiptFonts::load_default().unwrap_or_else(|e| panic!("{e}"));
    let ticket = ReceiptDoc {
        heading: None,
        office: "BỆNH VIỆN ĐA KHOA TỈNH".into(),
        title: "PHIẾU SỐ THỨ TỰ KHÁM BỆNH".into(),
        big: Some("0042".into()),
        lines: vec![
            ReceiptLine::large("Khoa khám", "Khoa Nội tổng hợp"),
            ReceiptLine::personal("Người bệnh", Personal::new("TRẦN THỊ BÌNH".into())),
        ],
        qr: None,
        footer: vec!["Vui lòng chờ gọi tên tại khoa khám.".into()],
        paper_width: 576,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let printer = VirtualPrinter::start(SocketAddr::from(([127, 0, 0, 1], 0)), dir.path(), 576)
        .expect("virtual printer");
    let mut driver = EscPosPrinter::new(printer.device(), PrinterOptions::default());
    let job = compose(&ticket, &fonts).expect("composes");
    driver.print(&job).expect("prints");
    let printed = printer.control().printed();
    assert_eq!(printed.len(), 1);
    check_receipt_golden(&printed[0], "receipt-clinic-576");
    // The tallest run of inked rows is the queue number, over 80 dots (10 mm) high: body
    // text lines are about 30 dots.
    let receipt = kiosk_hw::printer::render::render(&job, 576).expect("renders");
    let inked: Vec<bool> = (0..receipt.height)
        .map(|y| (0..receipt.width).any(|x| receipt.is_black(x, y)))
        .collect();
    let tallest = inked
        .split(|ink| !ink)
        .map(<[bool]>::len)
        .max()
        .unwrap_or(0);
    assert!(tallest > 80, "tallest ink run {tallest} dots");
}

#[test]
fn an_80mm_receipt_does_not_fit_a_512_dot_printer() {
    let fonts = ReceiptFonts::load_default().unwrap_or_else(|e| panic!("{e}"));
    let job = compose(&form01(576), &fonts).expect("composes");
    let options = PrinterOptions {
        width_dots: 512,
        ..PrinterOptions::default()
    };
    // Refused before any connection: the device does not even exist.
    let mut driver = EscPosPrinter::new("tcp:127.0.0.1:9".parse().expect("valid device"), options);
    let err = driver.print(&job).expect_err("too wide");
    assert_eq!(err.kind(), PrinterErrorKind::InvalidJob);
}
