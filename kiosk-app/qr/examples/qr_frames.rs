//! Writes synthetic camera frames of CCCD QR codes to a folder, as PNG files.
//!
//! ```text
//! cargo run -p kiosk-qr --example qr_frames -- OUT_DIR [COUNT] [WIDTHxHEIGHT]
//! ```
//!
//! Each frame shows a synthetic citizen's card (never a real person) filmed with the
//! `kiosk_hw::qr::scene` effects: `clean-*.png` straight and sharp, `noisy-*.png` tilted,
//! rotated, blurred, noisy and with glare, `nocode-*.png` a card-free scene. `payloads.txt`
//! lists each file's expected text (personal-looking, but synthetic). The folder plays as a
//! camera through `ReplaySource` (`[camera] replay_dir` in a demo configuration). Generated
//! images are not committed: tests make theirs in a temporary folder.

use std::path::PathBuf;
use std::process::ExitCode;

use kiosk_hw::camera::{Frame, PixelFormat};
use kiosk_hw::qr::scene::{render_qr, Scene};
use kiosk_qr::synthetic::SyntheticCitizen;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        eprintln!("usage: qr_frames OUT_DIR [COUNT] [WIDTHxHEIGHT]");
        return ExitCode::from(2);
    };
    let count: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(8);
    let (w, h) = args
        .get(2)
        .and_then(|s| s.split_once('x'))
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .unwrap_or((1280, 720));
    match write(&out, count, w, h) {
        Ok(n) => {
            println!("wrote {n} frames ({w}x{h}) to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn write(
    out: &std::path::Path,
    count: u64,
    w: u32,
    h: u32,
) -> Result<usize, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let mut payloads = String::new();
    let mut n = 0;
    for i in 0..count {
        let text = SyntheticCitizen::generate(i).qr_text();
        for (kind, scene) in [
            ("clean", Scene::clean(w, h, i)),
            ("noisy", Scene::noisy(w, h, i)),
        ] {
            let frame = render_qr(&text, &scene)?;
            let name = format!("{kind}-{i:04}.png");
            std::fs::write(out.join(&name), frame.to_png()?)?;
            payloads.push_str(&format!("{name}\t{text}\n"));
            n += 1;
        }
        let blank = nocode(w, h, i);
        let name = format!("nocode-{i:04}.png");
        std::fs::write(out.join(&name), blank.to_png()?)?;
        payloads.push_str(&format!("{name}\t\n"));
        n += 1;
    }
    std::fs::write(out.join("payloads.txt"), payloads)?;
    Ok(n)
}

/// A frame without any code: a noisy gradient (what the camera sees with nobody in front).
fn nocode(w: u32, h: u32, seed: u64) -> Frame {
    let mut rng = kiosk_qr::synthetic::SplitMix(seed);
    let data = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            let base = 60 + (x * 80 / w.max(1)) + (y * 40 / h.max(1));
            // base <= 180 and the noise < 16, so this fits u8.
            (base + (rng.next_u64() % 16) as u32) as u8
        })
        .collect();
    Frame {
        width: w,
        height: h,
        format: PixelFormat::Luma8,
        data,
        seq: 0,
    }
}
