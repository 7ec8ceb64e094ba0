//! From camera to chip: a synthetic citizen's CCCD QR code, filmed (rendered to PNG files in a
//! temporary folder), played back through `ReplaySource`, decoded by `CameraQrScanner`,
//! classified and turned into the chip access inputs, checked against the brief's vector.

use std::time::Duration;

use kiosk_hw::camera::ReplaySource;
use kiosk_hw::qr::scene::{render_qr, Scene};
use kiosk_hw::qr::{CameraQrScanner, QrErrorKind, QrScanner};
use kiosk_qr::synthetic::DEMO_QR;
use kiosk_qr::{classify, ExpiryCandidates, Payload};

fn write_frame(dir: &std::path::Path, name: &str, text: Option<&str>, scene: &Scene) {
    let frame = match text {
        Some(t) => render_qr(t, scene).expect("renders"),
        None => render_qr(
            "x",
            &Scene {
                card_fraction: 0.0,
                ..*scene
            },
        )
        .map(|mut f| {
            // A card too small to hold a readable code: what an empty kiosk sees.
            f.data.iter_mut().for_each(|p| *p = 90);
            f
        })
        .expect("renders"),
    };
    std::fs::write(dir.join(name), frame.to_png().expect("png")).expect("write");
}

#[test]
fn cccd_qr_from_replayed_frames_gives_the_can() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = Scene::noisy(1280, 720, 7);
    // The folder plays in name order: an empty frame first, then the card.
    write_frame(dir.path(), "000-empty.png", None, &scene);
    write_frame(dir.path(), "001-card.png", Some(DEMO_QR), &scene);
    let source = ReplaySource::open(dir.path(), 0).expect("replay folder");
    let mut scanner = CameraQrScanner::new(source);
    let scan = scanner
        .poll(Duration::from_secs(10))
        .expect("no device error")
        .expect("the card's code is seen");
    assert_eq!(
        scanner.frames_decoded(),
        2,
        "the empty frame, then the card"
    );
    assert_eq!(scan.text.expose(), DEMO_QR);
    let corners = scan.bounds.expect("the code's corners");
    assert!(corners
        .iter()
        .all(|&(x, y)| (0.0..1280.0).contains(&x) && (0.0..720.0).contains(&y)));

    let Ok(Payload::Cccd(qr)) = classify(scan.text.expose()) else {
        panic!("the demo payload is a CCCD QR code");
    };
    let access = qr.chip_access();
    // cccd.md: ID 001090123456, DOB 900101, expiry 300101 -> CAN 123456, document 090123456.
    assert_eq!(access.can.expose(), "123456");
    assert_eq!(access.document_number.expose(), "090123456");
    assert_eq!(access.date_of_birth.expose(), "900101");
    let ExpiryCandidates::Dates(dates) = &access.expiry else {
        panic!("issued at 31: the card expires");
    };
    assert_eq!(dates.expose().first().map(String::as_str), Some("300101"));
}

#[test]
fn a_folder_without_codes_gives_nothing_and_a_missing_one_no_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_frame(dir.path(), "a.png", None, &Scene::clean(320, 240, 1));
    let mut scanner = CameraQrScanner::new(ReplaySource::open(dir.path(), 30).expect("folder"));
    assert_eq!(scanner.poll(Duration::from_millis(100)).expect("ok"), None);
    assert!(scanner.frames_decoded() >= 1);
    let gone = ReplaySource::open(dir.path().join("missing"), 0).map(|_| ());
    assert!(gone.is_err());
    // A folder emptied under a running scanner reports the camera error kind.
    std::fs::remove_file(dir.path().join("a.png")).expect("rm");
    let err = scanner
        .poll(Duration::from_millis(200))
        .expect_err("frame gone");
    assert_ne!(err.kind(), QrErrorKind::Decode);
}
