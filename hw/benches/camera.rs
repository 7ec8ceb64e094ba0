//! Camera-to-worker frame latency through [`CameraHub`] with two consumers.
//!
//! A fake 1280x720 RGB camera at 30 fps (each frame a fresh 2.7 MB allocation, as a decoder
//! makes) feeds the hub; two consumer threads read their feeds. Latency is the time from the
//! device handing a frame to the reader until a consumer holds it. Scenarios: two fast
//! consumers (QR-like), and a fast one next to a slow one (150 ms per frame, face-model-like),
//! which must not delay the fast one. Also the per-frame conversion cost of the reader
//! (YUYV to RGB at 1280x720; MJPEG decode of the 360x480 test portrait).
//!
//! `cargo bench -p kiosk-hw --bench camera` (part of `cargo xtask bench`); without `--bench`
//! (`cargo test --benches`) it is a short smoke run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk_hw::camera::capture::{
    CameraHub, CaptureDevice, CaptureError, HubSettings, Negotiated, Opener,
};
use kiosk_hw::camera::wire;
use kiosk_hw::camera::{FrameSource, PixelFormat};
use kiosk_hw::Frame;

const W: u32 = 1280;
const H: u32 = 720;

struct Fake {
    period: Duration,
    next: Instant,
    stamps: Arc<Mutex<Vec<Instant>>>,
}

impl CaptureDevice for Fake {
    fn capture(&mut self, _decode: bool) -> Result<Frame, CaptureError> {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next += self.period;
        let frame = Frame {
            width: W,
            height: H,
            format: PixelFormat::Rgb8,
            data: vec![0x80; (W * H * 3) as usize],
            seq: 0,
        };
        self.stamps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Instant::now());
        Ok(frame)
    }
}

/// Latencies (µs) of one consumer, and frames it got.
fn consume(
    mut feed: kiosk_hw::camera::capture::CameraFeed,
    stamps: Arc<Mutex<Vec<Instant>>>,
    work: Duration,
    stop: Arc<AtomicBool>,
) -> Vec<f64> {
    let mut lat = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let Ok(f) = feed.next_shared(Duration::from_millis(100)) else {
            continue;
        };
        let got = Instant::now();
        let idx = usize::try_from(f.seq)
            .unwrap_or(usize::MAX)
            .saturating_sub(1);
        if let Some(t) = stamps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(idx)
        {
            lat.push(got.saturating_duration_since(*t).as_secs_f64() * 1e6);
        }
        std::thread::sleep(work);
    }
    lat
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn scenario(name: &str, works: [Duration; 2], secs: f64) {
    let stamps = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&stamps);
    let opener: Opener = Arc::new(move || {
        let n = Negotiated {
            name: "fake".into(),
            width: W,
            height: H,
            fps: 30,
            format: "RGB".into(),
        };
        let dev = Fake {
            period: Duration::from_secs(1) / 30,
            next: Instant::now(),
            stamps: Arc::clone(&s),
        };
        Ok((Box::new(dev) as Box<dyn CaptureDevice>, n))
    });
    let hub = CameraHub::start("bench", opener, HubSettings::default()).expect("hub");
    hub.wait_streaming(Duration::from_secs(5))
        .expect("streaming");
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = works
        .iter()
        .map(|&w| {
            let (feed, st, stop) = (hub.feed(), Arc::clone(&stamps), Arc::clone(&stop));
            std::thread::spawn(move || consume(feed, st, w, stop))
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let published = hub.stats().published;
    for (i, t) in threads.into_iter().enumerate() {
        let mut lat = t.join().expect("consumer");
        let n = lat.len();
        println!(
            "| {name}: consumer {} ({} ms work) | {:.0} | {:.0} | {n} of {published} frames | µs |",
            i + 1,
            works[i].as_millis(),
            pct(&mut lat, 0.5),
            pct(&mut lat, 0.9),
        );
    }
}

fn timed(name: &str, n: usize, mut f: impl FnMut()) {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    println!(
        "| {name} | {:.2} | {:.2} | {n} | ms |",
        pct(&mut v, 0.5),
        pct(&mut v, 0.9)
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let secs = if full { 10.0 } else { 0.5 };
    println!("| name | median | p90 | iterations | unit |");
    println!("|---|---:|---:|---:|---|");
    scenario(
        "two fast consumers",
        [Duration::ZERO, Duration::from_millis(2)],
        secs,
    );
    scenario(
        "fast + slow consumer",
        [Duration::from_millis(2), Duration::from_millis(150)],
        secs,
    );
    let n = if full { 50 } else { 2 };
    let yuyv: Vec<u8> = (0..W * H * 2).map(|i| (i % 251) as u8).collect();
    timed("reader: YUYV to RGB, 1280x720", n, || {
        let rgb = wire::yuyv_to_rgb(&yuyv, W, H, 0).expect("converts");
        std::hint::black_box(rgb);
    });
    let jpeg = include_bytes!("../vcard/fixtures/portrait.jpg");
    timed("reader: MJPEG decode, 360x480 portrait", n, || {
        let rgb = wire::mjpeg_to_rgb(jpeg).expect("decodes");
        std::hint::black_box(rgb);
    });
}
