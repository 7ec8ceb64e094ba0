//! Issue 4 meets issue 3: a synthetic citizen's CCCD QR code, filmed (rendered into camera
//! frames), played back through `ReplaySource`, decoded by `CameraQrScanner`, classified, and its
//! CAN opens the virtual CCCD chip with PACE; the chip's data passes passive authentication and
//! names the same citizen as the QR code. A CAN from another citizen's QR code does not open it.

use std::path::PathBuf;
use std::time::Duration;

use kiosk_hw::camera::ReplaySource;
use kiosk_hw::card::{CardReader, SimCardReader};
use kiosk_hw::qr::scene::{render_qr, Scene};
use kiosk_hw::qr::{CameraQrScanner, QrScanner};
use kiosk_icao9303::auth::PassiveVerdict;
use kiosk_icao9303::lds::{self, dg13, File};
use kiosk_icao9303::pace::Password;
use kiosk_icao9303::reader::{read_chip, Access, AccessUsed, LinkError, ReadOptions};
use kiosk_qr::{classify, Payload};
use kiosk_vcard::{Profile, VirtualCccd};

/// The QR code as the camera sees it: one noisy 1280x720 frame, decoded and classified.
fn scan(text: &str, seed: u64) -> kiosk_qr::CccdQr {
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = render_qr(text, &Scene::noisy(1280, 720, seed)).expect("renders");
    std::fs::write(dir.path().join("0.png"), frame.to_png().expect("png")).expect("write");
    let mut scanner = CameraQrScanner::new(ReplaySource::open(dir.path(), 0).expect("replay"));
    let seen = scanner
        .poll(Duration::from_secs(10))
        .expect("camera ok")
        .expect("the code is seen");
    match classify(seen.text.expose()) {
        Ok(Payload::Cccd(qr)) => qr,
        other => panic!("not a CCCD QR: {other:?}"),
    }
}

/// Reads the virtual CCCD of the demo profile with PACE-CAN `can`.
fn read_demo_card(
    can: &str,
) -> (
    Result<kiosk_icao9303::reader::ChipRead, kiosk_icao9303::reader::ReadError>,
    Vec<Vec<u8>>,
) {
    let portrait =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hw/vcard/fixtures/portrait.jpg");
    let (card, trust) = VirtualCccd::from_profile(&Profile::demo(portrait)).expect("profile");
    let mut reader = SimCardReader::new("sim");
    reader.control().insert(Box::new(card));
    reader.wait_for_change(Duration::ZERO).expect("presence");
    let mut transport = |apdu: &[u8]| -> Result<Vec<u8>, LinkError> { Ok(reader.transmit(apdu)?) };
    let mut rng = rand::rng();
    let mut fill = |b: &mut [u8]| rand::Rng::fill_bytes(&mut rng, b);
    let access = Access::Pace {
        password: Password::can(can).expect("6-digit CAN"),
        bac_fallback: None,
    };
    let read = read_chip(&mut transport, &access, &ReadOptions::default(), &mut fill);
    (read, vec![trust.csca_der])
}

#[test]
fn the_cards_qr_gives_the_can_that_opens_and_verifies_its_chip() {
    let qr = scan(kiosk_qr::synthetic::DEMO_QR, 11);
    let access = qr.chip_access();
    assert_eq!(access.can.expose(), "123456", "cccd.md's vector");

    let (read, trust) = read_demo_card(access.can.expose());
    let read = read.expect("PACE with the QR's CAN opens the chip");
    assert_eq!(read.access, Some(AccessUsed::Pace));
    let (passive, _active) = read.verify(&trust, "20260601000000");
    assert_eq!(passive, PassiveVerdict::Verified);

    // The chip and the QR name the same citizen.
    let mrz = lds::parse_dg1(&read.files[&File::Dg(1)]).expect("DG1");
    assert_eq!(mrz.cccd_id_number(), Some(qr.id_number().expose().as_str()));
    let d13 = lds::parse_dg13(&read.files[&File::Dg(13)]).expect("DG13");
    assert_eq!(
        d13.text(dg13::FULL_NAME),
        Some(qr.full_name().expose().as_str())
    );
}

#[test]
fn another_citizens_can_does_not_open_the_chip() {
    let other = kiosk_qr::synthetic::SyntheticCitizen::generate(42);
    assert_ne!(other.can(), "123456");
    let qr = scan(&other.qr_text(), 5);
    let (read, _) = read_demo_card(qr.chip_access().can.expose());
    assert!(read.is_err(), "a wrong CAN must not open the chip");
}
