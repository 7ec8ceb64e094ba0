//! `cargo bench -p kiosk-face --bench face` (part of `cargo xtask bench`): the face pipeline's
//! speed and memory on this machine, printed as a Markdown table for docs/BENCHMARKS.md.
//! Needs the models and images of `cargo xtask setup`.
//!
//! With `FACE_BENCH_PYTHON=/path/to/python` (a Python with `face_recognition` 1.3.0 and
//! `dlib`), it also runs `benches/py_face.py` on the same image pairs: the distances with the
//! same face boxes must agree within 1e-3, and the end-to-end time per pair is compared.
//!
//! Run without `--bench` (as `cargo test --benches` does) it takes two samples of each.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use kiosk_face::degrade;
use kiosk_face::liveness::Challenge;
use kiosk_face::parallax::nose_parallax;
use kiosk_face::pipeline::{analyse, FaceSession};
use kiosk_face::portrait::{self, RgbImage};
use kiosk_face::quality::Luma;
use kiosk_face::verify::{FaceCheck, Status, VerifyConfig};
use kiosk_face::FaceModels;

fn images() -> PathBuf {
    kiosk_face::default_models_dir().join("../face-images")
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let med = v[v.len() / 2];
    let p90 = v[((v.len() * 9).div_ceil(10)).saturating_sub(1)];
    (med, p90)
}

fn time<T>(n: usize, mut f: impl FnMut(usize) -> T) -> (f64, f64) {
    black_box(f(0));
    let v = (0..n)
        .map(|i| {
            let t = Instant::now();
            black_box(f(i));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    stats(v)
}

fn photo(name: &str) -> RgbImage {
    let bytes = std::fs::read(images().join(name)).expect("run `cargo xtask setup`");
    portrait::decode(&bytes).expect("decodes")
}

/// A 640x480 frame with the face about 200 px wide (a citizen at arm's length).
fn live_frame(m: &FaceModels, photo: &RgbImage) -> RgbImage {
    kiosk_face::pipeline::framed_person(m, photo, 640, 480).expect("face")
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 60 } else { 2 };
    let dir = kiosk_face::default_models_dir();
    let rss0 = rss_kib();
    let t = Instant::now();
    let m = FaceModels::load(&dir).expect("models (run `cargo xtask setup`)");
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let rss1 = rss_kib();
    let names = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"];
    let photos: Vec<RgbImage> = names.iter().map(|f| photo(f)).collect();
    let frames: Vec<RgbImage> = photos.iter().map(|p| live_frame(&m, p)).collect();
    let cfg = VerifyConfig::default();

    let analyse_t = time(n, |i| {
        analyse(&m, &cfg.quality, &frames[i % frames.len()]).2
    });
    let prepared: Vec<_> = frames
        .iter()
        .map(|f| {
            let p = m.prepare(f);
            let d = m.detect(&p);
            (p, d)
        })
        .collect();
    let embed_t = time(n, |i| {
        let (p, d) = &prepared[i % prepared.len()];
        m.embed(p, &d[0]).ok()
    });
    let lumas: Vec<Vec<u8>> = frames.iter().map(RgbImage::to_luma).collect();
    let lm: Vec<_> = prepared
        .iter()
        .map(|(_, d)| d[0].observation.landmarks)
        .collect();
    let parallax_t = time(n, |i| {
        let (a, b) = (i % 3, (i + 1) % 3);
        let l = |k: usize| Luma {
            width: 640,
            height: 480,
            data: &lumas[k],
        };
        nose_parallax(l(a), &lm[a], l(b), &lm[b])
    });

    // Decision latency: frames arrive at 15 fps (or slower, if processing is slower); the
    // session clock runs on the frames' arrival times. Matching only (the liveness challenge's
    // own duration is the citizen's).
    let reference = m
        .reference(&degrade::fit(&photos[0], 240))
        .expect("reference");
    let mut session = FaceSession::new(
        reference,
        FaceCheck::new(VerifyConfig { turns: 0, ..cfg }, Challenge(vec![])),
    );
    let mut clock = 0u64;
    let mut decided = None;
    for i in 0..200 {
        let t = Instant::now();
        let (status, _, _) = session.frame(&m, &frames[1 + i % 2], clock);
        let spent = t.elapsed().as_millis() as u64;
        if let Status::Done(o) = status {
            decided = Some((clock + spent, o.matched));
            break;
        }
        clock += spent.max(66);
    }

    // End to end per pair, as a user of the Python package does it: decode both files,
    // detect, embed both, compare.
    let bytes: Vec<Vec<u8>> = names
        .iter()
        .map(|f| std::fs::read(images().join(f)).expect("image"))
        .collect();
    let pairs: Vec<(usize, usize)> = (0..names.len())
        .flat_map(|i| (i + 1..names.len()).map(move |j| (i, j)))
        .collect();
    let pair_t = time(if full { 12 } else { 1 }, |k| {
        let (i, j) = pairs[k % pairs.len()];
        let a = m
            .reference(&portrait::decode(&bytes[i]).expect("a"))
            .expect("a");
        let b = m
            .reference(&portrait::decode(&bytes[j]).expect("b"))
            .expect("b");
        a.distance(&b)
    });

    println!("| face benchmark (640x480 frames, face ~200 px) | median | p90 |");
    println!("|---|---|---|");
    println!(
        "| detection + 5 landmarks + quality gates | {:.1} ms | {:.1} ms |",
        analyse_t.0, analyse_t.1
    );
    println!(
        "| 128-D embedding | {:.1} ms | {:.1} ms |",
        embed_t.0, embed_t.1
    );
    println!(
        "| nose parallax (liveness frame) | {:.1} ms | {:.1} ms |",
        parallax_t.0, parallax_t.1
    );
    if let Some((ms, matched)) = decided {
        println!("| decision after a good face appears (4 best shots, 15 fps) | {ms} ms (matched: {matched}) | |");
    }
    println!(
        "| end to end per photo pair (decode, detect, embed x2) | {:.0} ms | {:.0} ms |",
        pair_t.0, pair_t.1
    );
    println!("| model load | {load_ms:.0} ms | |");
    println!(
        "| resident memory of the loaded models | {:.0} MiB | |",
        (rss1.saturating_sub(rss0)) as f64 / 1024.0
    );

    let Some(py) = std::env::var_os("FACE_BENCH_PYTHON") else {
        println!("\n(FACE_BENCH_PYTHON not set: Python face_recognition comparison skipped)");
        return;
    };
    // Our boxes for each image, so that both sides encode the same face.
    let mut args = vec![];
    let tmp = std::env::temp_dir().join(format!("face-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    for (k, f) in names.iter().enumerate() {
        let pixels = tmp.join(format!("{k}.png"));
        let frame = kiosk_hw::Frame {
            width: photos[k].width,
            height: photos[k].height,
            format: kiosk_hw::PixelFormat::Rgb8,
            data: photos[k].data.clone(),
            seq: 0,
        };
        std::fs::write(&pixels, frame.to_png().expect("png")).expect("write");
        let img = &photos[k];
        let p = m.prepare(img);
        let d = m.detect_for_photo(&p);
        let b = d
            .iter()
            .map(|d| d.observation.face)
            .max_by(|a, b| a.area().total_cmp(&b.area()))
            .expect("face");
        args.push(format!(
            "{}:{}:{}:{}:{}:{}",
            pixels.display(),
            images().join(f).display(),
            b.top.round(),
            b.right.round(),
            b.bottom.round(),
            b.left.round()
        ));
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/py_face.py");
    let out = std::process::Command::new(py)
        .arg(script)
        .args(&args)
        .output()
        .expect("python runs");
    let _ = std::fs::remove_dir_all(&tmp);
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        println!("python failed: {}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let embs: Vec<_> = photos
        .iter()
        .map(|img| m.reference(img).expect("face"))
        .collect();
    let mut worst = 0f64;
    let mut py_pair_ms = None;
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["pair", i, j, d] => {
                let (i, j): (usize, usize) = (i.parse().unwrap_or(0), j.parse().unwrap_or(0));
                let dp: f64 = d.parse().unwrap_or(f64::NAN);
                let dr = f64::from(embs[i].distance(&embs[j]));
                worst = worst.max((dp - dr).abs());
            }
            ["pair_ms", ms] => py_pair_ms = ms.parse::<f64>().ok(),
            _ => {}
        }
    }
    println!("\n| side by side with Python face_recognition 1.3.0 (same dlib models) | value |");
    println!("|---|---|");
    println!("| largest distance difference, same face boxes | {worst:.2e} |");
    if let Some(ms) = py_pair_ms {
        println!(
            "| Python end to end per pair (load, face_locations, face_encodings x2) | {ms:.0} ms ({:.1}x ours) |",
            ms / pair_t.0
        );
    }
}
