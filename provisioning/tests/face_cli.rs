//! `kioskctl face match` on the packaged photos (fetched by `cargo xtask setup`).

use std::path::PathBuf;
use std::process::Command;

fn img(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.kiosk-data/face-images")
        .join(name)
}

fn kioskctl(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .args(args)
        .output()
        .expect("kioskctl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn same_person_different_person_and_no_face() {
    let m = std::ffi::OsStr::new("face");
    let mt = std::ffi::OsStr::new("match");
    let (a, b, c) = (img("obama.jpg"), img("obama3.jpg"), img("biden.jpg"));
    assert!(
        a.exists(),
        "run `cargo xtask setup` to fetch the face images"
    );
    let (code, out, _) = kioskctl(&[m, mt, a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("decision: same person"), "{out}");
    let (code, out, _) = kioskctl(&[m, mt, a.as_os_str(), c.as_os_str()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("decision: different people"), "{out}");
    let d: f32 = out
        .lines()
        .find_map(|l| l.strip_prefix("distance: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("distance line");
    assert!(d > 0.6, "{out}");
    // A picture with no face: a clear error and status 2.
    let tmp = tempfile::tempdir().expect("tmp");
    let blank = tmp.path().join("wall.ppm.png");
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, 64, 64);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("header");
        w.write_image_data(&[128u8; 64 * 64]).expect("data");
    }
    std::fs::write(&blank, png).expect("write");
    let (code, _, err) = kioskctl(&[m, mt, a.as_os_str(), blank.as_os_str()]);
    assert_eq!(code, 2);
    assert!(err.contains("no face found"), "{err}");
}
