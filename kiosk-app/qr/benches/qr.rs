//! QR decoding benchmark: rxing (our `QrDecoder`) against the zxing-cpp PyPI wheel, same frames.
//!
//! ```text
//! cargo bench -p kiosk-qr --bench qr            # or: cargo xtask bench
//! QR_BENCH_FRAMES=20 QR_BENCH_REPS=5 QR_BENCH_PYTHON=/path/to/venv/bin/python3 cargo bench ...
//! ```
//!
//! For 640x480 and 1280x720, renders `QR_BENCH_FRAMES` (default 20) frames of each class with
//! `kiosk_hw::qr::scene`: `clean` (a synthetic citizen's CCCD QR, card straight and sharp),
//! `noisy` (tilted, rotated, blurred, noisy, glare) and `no code`. Each frame is decoded
//! `QR_BENCH_REPS` (default 5) times on this thread (one core); a frame's time is the median of
//! its runs, a class's time the median (and 90th percentile) over its frames. Success means
//! the exact payload came back (for `no code`: nothing came back).
//!
//! The same frames go to `zxing_cpp_peer.py` (next to this file) as PGM files, run with
//! `QR_BENCH_PYTHON` (default `python3`); without `zxingcpp` and `numpy` importable the peer
//! columns say how to install them. Prints a Markdown table for docs/BENCHMARKS.md.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use kiosk_hw::camera::{Frame, PixelFormat};
use kiosk_hw::qr::scene::{render_qr, Scene};
use kiosk_hw::qr::{FrameDecode, QrDecodeOptions, QrDecoder};
use kiosk_qr::synthetic::{SplitMix, SyntheticCitizen};

/// One benchmark frame and what it holds.
struct Case {
    name: String,
    size: (u32, u32),
    class: &'static str,
    expected: Option<String>,
    frame: Frame,
}

#[derive(Default)]
struct Tally {
    us: Vec<f64>,
    ok: usize,
    n: usize,
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(1)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and expects a quick
    // run, which a tiny frame count gives.
    let quick = !std::env::args().any(|a| a == "--bench");
    let frames = if quick {
        1
    } else {
        env_num("QR_BENCH_FRAMES", 20)
    };
    let reps = if quick {
        1
    } else {
        env_num("QR_BENCH_REPS", 5)
    };
    let cases = build_cases(frames);
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("qr bench: no temporary folder: {e}");
            std::process::exit(1);
        }
    };
    let peer = run_peer(&cases, dir.path(), reps);
    // QR_BENCH_TRY_HARDER=0 measures rxing without its denser finder search.
    let try_harder = std::env::var("QR_BENCH_TRY_HARDER").map_or(true, |v| v != "0");
    let decoder = QrDecoder::new(QrDecodeOptions {
        try_harder,
        ..QrDecodeOptions::default()
    });
    let mut ours: HashMap<((u32, u32), &str), Tally> = HashMap::new();
    let mut theirs: HashMap<((u32, u32), &str), Tally> = HashMap::new();
    for case in &cases {
        let mut times = Vec::with_capacity(reps);
        let mut got = None;
        for _ in 0..reps {
            let t = Instant::now();
            let r = decoder.decode(&case.frame);
            times.push(t.elapsed().as_secs_f64() * 1e6);
            got = match r {
                FrameDecode::Found(scan) => Some(scan.text.expose().clone()),
                _ => None,
            };
        }
        let t = ours.entry((case.size, case.class)).or_default();
        t.us.push(median(&mut times));
        t.n += 1;
        t.ok += usize::from(got == case.expected);
        if let Some(Ok(results)) = &peer {
            if let Some((text, mut us)) = results.get(&case.name).cloned() {
                let t = theirs.entry((case.size, case.class)).or_default();
                t.us.push(median(&mut us));
                t.n += 1;
                t.ok += usize::from(text == case.expected);
            }
        }
    }
    print_table(&ours, &theirs, &peer, frames, reps);
}

fn build_cases(frames: usize) -> Vec<Case> {
    let mut cases = Vec::new();
    for size in [(640, 480), (1280, 720)] {
        for i in 0..frames as u64 {
            let text = SyntheticCitizen::generate(i).qr_text();
            for (class, scene) in [
                ("clean", Scene::clean(size.0, size.1, i)),
                ("noisy", Scene::noisy(size.0, size.1, i)),
            ] {
                match render_qr(&text, &scene) {
                    Ok(frame) => cases.push(Case {
                        name: format!("{}x{}-{class}-{i:03}", size.0, size.1),
                        size,
                        class,
                        expected: Some(text.clone()),
                        frame,
                    }),
                    Err(e) => eprintln!("qr bench: cannot render frame {i}: {e}"),
                }
            }
            cases.push(Case {
                name: format!("{}x{}-nocode-{i:03}", size.0, size.1),
                size,
                class: "no code",
                expected: None,
                frame: no_code(size.0, size.1, i),
            });
        }
    }
    cases
}

/// A scene without a code: a gradient with sensor noise and a few card-like bright areas.
fn no_code(w: u32, h: u32, seed: u64) -> Frame {
    let mut rng = SplitMix(seed);
    let (bx, by) = (
        rng.below(u64::from(w / 2)) as u32,
        rng.below(u64::from(h / 2)) as u32,
    );
    let data = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            let card = x >= bx && x < bx + w / 3 && y >= by && y < by + h / 3;
            let base = if card {
                200
            } else {
                50 + x * 60 / w + y * 40 / h
            };
            // base <= 200 and the noise < 24: fits u8.
            (base + (rng.next_u64() % 24) as u32) as u8
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

type PeerResults = HashMap<String, (Option<String>, Vec<f64>)>;

/// Runs zxing-cpp on the same frames. `None`: no Python at all; `Some(Err)`: why it was skipped.
fn run_peer(cases: &[Case], dir: &Path, reps: usize) -> Option<Result<PeerResults, String>> {
    for case in cases {
        let path = dir.join(format!("{}.pgm", case.name));
        let mut bytes =
            format!("P5\n{} {}\n255\n", case.frame.width, case.frame.height).into_bytes();
        bytes.extend_from_slice(&case.frame.to_luma().data);
        if let Err(e) = std::fs::write(&path, bytes) {
            return Some(Err(format!("cannot write {}: {e}", path.display())));
        }
    }
    let python = std::env::var("QR_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/zxing_cpp_peer.py");
    let out = match Command::new(&python)
        .arg(&script)
        .arg(dir)
        .arg(reps.to_string())
        .output()
    {
        Ok(o) => o,
        Err(e) => return Some(Err(format!("cannot run {python}: {e}"))),
    };
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Some(Err(why));
    }
    let mut results = PeerResults::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((file, text, us)) = parse_peer_line(line) {
            results.insert(file.trim_end_matches(".pgm").to_string(), (text, us));
        } else if let Some(v) = line.strip_prefix("{\"version\": ") {
            eprintln!("qr bench: zxing-cpp {}", v.trim_end_matches('}'));
        }
    }
    Some(Ok(results))
}

/// Parses the peer's `{"file": "...", "text": "..."|null, "us": [..]}` lines. The payloads are
/// synthetic and json.dumps escapes non-ASCII as `\uXXXX`, which is undone here.
fn parse_peer_line(line: &str) -> Option<(String, Option<String>, Vec<f64>)> {
    let rest = line.strip_prefix("{\"file\": \"")?;
    let (file, rest) = rest.split_once("\", \"text\": ")?;
    let (text_json, us_json) = rest.rsplit_once(", \"us\": [")?;
    let us = us_json
        .trim_end_matches("]}")
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let text = if text_json == "null" {
        None
    } else {
        Some(unescape_json(
            text_json.strip_prefix('"')?.strip_suffix('"')?,
        )?)
    };
    Some((file.to_string(), text, us))
}

fn unescape_json(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut units: Vec<u16> = Vec::new();
    let mut chars = s.chars();
    let flush = |units: &mut Vec<u16>, out: &mut String| {
        out.push_str(&String::from_utf16_lossy(units));
        units.clear();
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut units, &mut out);
            out.push(c);
            continue;
        }
        match chars.next()? {
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                units.push(u16::from_str_radix(&hex, 16).ok()?);
            }
            e => {
                flush(&mut units, &mut out);
                out.push(match e {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    other => other,
                });
            }
        }
    }
    flush(&mut units, &mut out);
    Some(out)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn p90(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get((v.len() * 9 / 10).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

fn print_table(
    ours: &HashMap<((u32, u32), &str), Tally>,
    theirs: &HashMap<((u32, u32), &str), Tally>,
    peer: &Option<Result<PeerResults, String>>,
    frames: usize,
    reps: usize,
) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(
        o,
        "\nQR decode per frame, one thread; {frames} frames per class, median of {reps} runs each\n"
    );
    let _ = writeln!(
        o,
        "| frames | class | rxing median ms | rxing p90 ms | rxing success | zxing-cpp median ms | zxing-cpp success | time ratio rxing/zxing-cpp |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
    for size in [(640, 480), (1280, 720)] {
        for class in ["clean", "noisy", "no code"] {
            let Some(t) = ours.get(&(size, class)) else {
                continue;
            };
            let (mut a, mut b) = (t.us.clone(), t.us.clone());
            let (med, p) = (median(&mut a) / 1000.0, p90(&mut b) / 1000.0);
            let (zmed, zok, ratio) = match theirs.get(&(size, class)) {
                Some(z) => {
                    let zm = median(&mut z.us.clone()) / 1000.0;
                    (
                        format!("{zm:.2}"),
                        format!("{}/{}", z.ok, z.n),
                        format!("{:.1}x", med / zm),
                    )
                }
                None => ("-".into(), "-".into(), "-".into()),
            };
            let _ = writeln!(
                o,
                "| {}x{} | {class} | {med:.2} | {p:.2} | {}/{} | {zmed} | {zok} | {ratio} |",
                size.0, size.1, t.ok, t.n
            );
        }
    }
    match peer {
        Some(Err(why)) => {
            let _ = writeln!(o, "\nzxing-cpp peer skipped: {why}");
        }
        None => {
            let _ = writeln!(o, "\nzxing-cpp peer skipped");
        }
        Some(Ok(_)) => {}
    }
}
