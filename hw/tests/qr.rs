//! The QR decoder on bad frames: rotated, inverted, tiny, partly covered, two codes, noise.
//! Each gives a decode or a clean "no code"/"unreadable", never a panic.

use kiosk_hw::camera::{Frame, PixelFormat};
use kiosk_hw::qr::scene::{render_qr, Scene};
use kiosk_hw::qr::{FrameDecode, QrDecodeOptions, QrDecoder};

const TEXT: &str = "001090123456||Nguyễn Văn An|01011990|Nam|Số 1 Phố Giả Định, Hà Nội|01012021";

fn decoded(d: &QrDecoder, f: &Frame) -> Option<String> {
    match d.decode(f) {
        FrameDecode::Found(s) => Some(s.text.expose().clone()),
        _ => None,
    }
}

#[test]
fn rotated_codes_decode() {
    let d = QrDecoder::default();
    for rotation_deg in [30.0, 90.0, 180.0, 270.0] {
        let scene = Scene {
            rotation_deg,
            card_fraction: 0.6,
            ..Scene::clean(1280, 720, 5)
        };
        let f = render_qr(TEXT, &scene).expect("renders");
        assert_eq!(
            decoded(&d, &f).as_deref(),
            Some(TEXT),
            "{rotation_deg} degrees"
        );
    }
}

#[test]
fn inverted_codes_decode_with_the_inverted_pass() {
    let scene = Scene {
        inverted: true,
        ..Scene::clean(1280, 720, 6)
    };
    let f = render_qr(TEXT, &scene).expect("renders");
    let inverted = QrDecoder::new(QrDecodeOptions {
        also_inverted: true,
        ..QrDecodeOptions::default()
    });
    assert_eq!(decoded(&inverted, &f).as_deref(), Some(TEXT));
    // The default (camera) decoder skips that pass for speed; it must still not panic.
    let _ = QrDecoder::default().decode(&f);
}

#[test]
fn tiny_covered_and_garbage_frames_give_no_code() {
    let d = QrDecoder::default();
    let tiny = render_qr(
        TEXT,
        &Scene {
            card_fraction: 0.08,
            ..Scene::clean(640, 480, 7)
        },
    )
    .expect("renders");
    assert_eq!(decoded(&d, &tiny), None);
    // Cover the right half of the card, where the code is.
    let mut covered = render_qr(TEXT, &Scene::clean(640, 480, 8)).expect("renders");
    for y in 0..480usize {
        for x in 390..640usize {
            covered.data[y * 640 + x] = 40;
        }
    }
    assert_eq!(decoded(&d, &covered), None);
    let mut state = 1u32;
    let noise: Vec<u8> = (0..640 * 480)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let garbage = Frame {
        width: 640,
        height: 480,
        format: PixelFormat::Luma8,
        data: noise,
        seq: 0,
    };
    assert!(matches!(
        d.decode(&garbage),
        FrameDecode::NoCode | FrameDecode::Unreadable
    ));
}

#[test]
fn two_codes_in_one_frame_give_one_of_them() {
    let other = "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P";
    let left = render_qr(TEXT, &Scene::clean(640, 720, 9)).expect("renders");
    let right = render_qr(other, &Scene::clean(640, 720, 10)).expect("renders");
    let mut data = Vec::with_capacity(1280 * 720);
    for y in 0..720usize {
        data.extend_from_slice(&left.data[y * 640..(y + 1) * 640]);
        data.extend_from_slice(&right.data[y * 640..(y + 1) * 640]);
    }
    let both = Frame {
        width: 1280,
        height: 720,
        format: PixelFormat::Luma8,
        data,
        seq: 0,
    };
    let got = decoded(&QrDecoder::default(), &both).expect("one of the two");
    assert!(got == TEXT || got == other);
}
