//! Replay and pattern sources through the public API.

use std::path::Path;
use std::time::Duration;

use kiosk_hw::camera::{PatternSource, ReplaySource};
use kiosk_hw::{CameraErrorKind, Frame, FrameSource, PixelFormat};

fn write_frame(dir: &Path, name: &str, frame: &Frame) {
    std::fs::write(dir.join(name), frame.to_png().expect("encodes")).expect("write PNG");
}

fn grey(value: u8) -> Frame {
    Frame {
        width: 4,
        height: 2,
        format: PixelFormat::Luma8,
        data: vec![value; 8],
        seq: 0,
    }
}

#[test]
fn replay_loops_over_three_pngs_in_name_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Written out of order: playback follows the names.
    write_frame(dir.path(), "frame-03.png", &grey(30));
    write_frame(dir.path(), "frame-01.png", &grey(10));
    let rgb = Frame {
        width: 4,
        height: 2,
        format: PixelFormat::Rgb8,
        data: vec![20; 24],
        seq: 0,
    };
    write_frame(dir.path(), "frame-02.png", &rgb);
    std::fs::write(dir.path().join("notes.txt"), "ignored").expect("write");

    let mut src = ReplaySource::open(dir.path(), 0).expect("opens");
    assert_eq!(src.len(), 3);
    let info = src.info();
    assert_eq!((info.width, info.height, info.fps), (4, 2, 0));

    let frames: Vec<Frame> = (0..7)
        .map(|_| src.next_frame(Duration::ZERO).expect("frame"))
        .collect();
    let firsts: Vec<u8> = frames.iter().map(|f| f.data[0]).collect();
    assert_eq!(firsts, vec![10, 20, 30, 10, 20, 30, 10]);
    assert_eq!(frames[1].format, PixelFormat::Rgb8);
    assert_eq!(frames[1].data.len(), 24);
    assert_eq!(frames[0].format, PixelFormat::Luma8);
    let seqs: Vec<u64> = frames.iter().map(|f| f.seq).collect();
    assert_eq!(seqs, (0..7).collect::<Vec<_>>());
}

#[test]
fn replay_errors_are_clear() {
    let empty = tempfile::tempdir().expect("tempdir");
    let err = ReplaySource::open(empty.path(), 0).expect_err("empty folder");
    assert_eq!(err.kind(), CameraErrorKind::NoDevice);
    assert!(
        err.to_string()
            .contains(&empty.path().display().to_string()),
        "{err}"
    );

    let missing = empty.path().join("missing");
    assert_eq!(
        ReplaySource::open(&missing, 0)
            .map(|_| ())
            .map_err(|e| e.kind()),
        Err(CameraErrorKind::NoDevice)
    );

    let bad = tempfile::tempdir().expect("tempdir");
    std::fs::write(bad.path().join("a.png"), b"not a png").expect("write");
    let err = ReplaySource::open(bad.path(), 0).expect_err("bad image");
    assert_eq!(err.kind(), CameraErrorKind::BadFormat);
    assert!(err.to_string().contains("a.png"), "{err}");

    // A broken image later in the loop fails when its turn comes, naming it.
    let later = tempfile::tempdir().expect("tempdir");
    write_frame(later.path(), "1.png", &grey(1));
    std::fs::write(later.path().join("2.png"), b"\x89PNG\r\n\x1a\ntruncated").expect("write");
    let mut src = ReplaySource::open(later.path(), 0).expect("first image is fine");
    assert!(src.next_frame(Duration::ZERO).is_ok());
    let err = src
        .next_frame(Duration::ZERO)
        .expect_err("second image is broken");
    assert!(err.to_string().contains("2.png"), "{err}");
}

#[test]
fn paced_replay_times_out_between_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_frame(dir.path(), "a.png", &grey(1));
    let mut src = ReplaySource::open(dir.path(), 1).expect("opens");
    assert!(src.next_frame(Duration::ZERO).is_ok());
    let err = src
        .next_frame(Duration::from_millis(5))
        .expect_err("next frame due in ~1 s");
    assert_eq!(err.kind(), CameraErrorKind::Timeout);
}

#[test]
fn pattern_source_is_a_frame_source() {
    let mut src: Box<dyn FrameSource> = Box::new(PatternSource::new(32, 16, 0).expect("size"));
    let f = src.next_frame(Duration::ZERO).expect("frame");
    assert_eq!((f.width, f.height, f.format), (32, 16, PixelFormat::Rgb8));
    assert_eq!(f.to_luma().data.len(), 32 * 16);
}
