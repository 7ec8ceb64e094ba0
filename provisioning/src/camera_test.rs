//! `kioskctl camera test`: opens the configured camera, reports what it delivers and decodes
//! any QR code it sees.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use kiosk_app::config::CameraSpec;
use kiosk_hw::camera::{CameraErrorKind, FrameSource, PatternSource, ReplaySource};
use kiosk_hw::qr::{FrameDecode, QrDecoder};

use crate::Outcome;

/// `kioskctl camera ...`.
#[derive(Debug, Subcommand)]
pub enum CameraCommand {
    /// Open the camera, report its format, resolution and frame rate, and decode QR codes
    #[command(
        long_about = "Open the camera named by the configuration's devices.camera (or --device), \
                      report the format and resolution it agreed to, measure the frame rate it \
                      really delivers for --seconds, time the QR decoder on its frames and \
                      print the kind of every QR code it sees (personal fields are never \
                      printed: use `kioskctl qr decode` on a saved picture for those).\n\n\
                      V4L2 devices need a kioskctl built with the `v4l2` feature.",
        after_help = "Examples:\n  kioskctl camera test --config /etc/kiosk/kiosk.toml\n  \
                      kioskctl camera test --device /dev/video0 --seconds 10\n  \
                      kioskctl camera test --device replay:/tmp/frames\n\n\
                      Exit status:\n  0  the camera delivered frames\n  \
                      2  no camera, no frames, or an invalid configuration"
    )]
    Test(CameraTestArgs),
}

/// `kioskctl camera test`.
#[derive(Debug, Args)]
pub struct CameraTestArgs {
    /// Use the camera of this configuration file
    #[arg(long, value_name = "FILE", conflicts_with = "device")]
    pub config: Option<PathBuf>,
    /// The camera: /dev/videoN, replay:/folder/of/pngs or sim
    #[arg(long, value_name = "CAMERA", required_unless_present = "config")]
    pub device: Option<String>,
    /// How long to stream
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub seconds: u64,
    /// Wanted resolution, WIDTHxHEIGHT (the camera's closest format is used)
    #[arg(long, value_name = "WxH", default_value = "1280x720")]
    pub size: String,
    /// Wanted frame rate
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
}

/// Runs `kioskctl camera ...`.
///
/// # Errors
/// Only when the report cannot be written.
pub fn run(
    cmd: &CameraCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let CameraCommand::Test(args) = cmd;
    let Some((w, h)) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
    else {
        writeln!(
            err,
            "--size {:?}: use WIDTHxHEIGHT, e.g. 1280x720",
            args.size
        )?;
        return Ok(Outcome::Invalid);
    };
    let spec = match (&args.config, &args.device) {
        (Some(path), _) => match kiosk_app::config::load(path) {
            Ok(cfg) => cfg.devices.camera,
            Err(e) => {
                writeln!(err, "{e}")?;
                return Ok(Outcome::Invalid);
            }
        },
        (None, Some(d)) if d == "sim" => CameraSpec::Sim,
        (None, Some(d)) if d == "auto" => CameraSpec::Auto,
        (None, Some(d)) => match d.strip_prefix("replay:") {
            Some(p) => CameraSpec::Replay(PathBuf::from(p)),
            None => CameraSpec::Device(PathBuf::from(d)),
        },
        (None, None) => unreachable!("clap requires --config or --device"),
    };
    let source: Box<dyn FrameSource> = match open(&spec, w, h, args.fps) {
        Ok((s, negotiated)) => {
            if let Some(n) = negotiated {
                writeln!(out, "negotiated: {n}")?;
            }
            s
        }
        Err(msg) => {
            writeln!(err, "{msg}")?;
            return Ok(Outcome::Invalid);
        }
    };
    stream(source, Duration::from_secs(args.seconds.max(1)), out, err)
}

/// A source and, for a real camera, what it agreed to deliver.
pub(crate) type Opened = (Box<dyn FrameSource>, Option<String>);

pub(crate) fn open(spec: &CameraSpec, w: u32, h: u32, fps: u32) -> Result<Opened, String> {
    match spec {
        CameraSpec::Sim => PatternSource::new(w, h, fps)
            .map(|s| (Box::new(s) as Box<dyn FrameSource>, None))
            .map_err(|e| e.to_string()),
        CameraSpec::Replay(dir) => ReplaySource::open(dir, fps)
            .map(|s| (Box::new(s) as Box<dyn FrameSource>, None))
            .map_err(|e| e.to_string()),
        CameraSpec::Device(path) => open_v4l2(Some(path), w, h, fps),
        CameraSpec::Auto => open_v4l2(None, w, h, fps),
    }
}

/// `path` `None`: `auto`.
#[cfg(feature = "v4l2")]
fn open_v4l2(path: Option<&std::path::Path>, w: u32, h: u32, fps: u32) -> Result<Opened, String> {
    use kiosk_hw::camera::v4l2::{V4l2Config, V4l2Device, V4l2Source};
    let device = path.map_or(V4l2Device::Auto, |p| V4l2Device::Path(p.to_owned()));
    let cfg = V4l2Config {
        width: w,
        height: h,
        fps,
        ..V4l2Config::new(device)
    };
    let src = V4l2Source::open(cfg).map_err(|e| {
        format!("{e}; check the cable, `ls /dev/video*`, and that no other program uses it")
    })?;
    let text = src.negotiated().to_string();
    Ok((Box::new(src), Some(text)))
}

#[cfg(not(feature = "v4l2"))]
fn open_v4l2(
    path: Option<&std::path::Path>,
    _w: u32,
    _h: u32,
    _fps: u32,
) -> Result<Opened, String> {
    Err(format!(
        "{}: this kioskctl was built without V4L2 support; rebuild with \
         `cargo build -p kiosk-provisioning --features v4l2` (needs libclang-dev)",
        path.map_or("auto".into(), |p| p.display().to_string())
    ))
}

fn stream(
    mut source: Box<dyn FrameSource>,
    duration: Duration,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let info = source.info();
    writeln!(
        out,
        "camera: {} {}x{} (nominal {} fps)",
        info.name, info.width, info.height, info.fps
    )?;
    let decoder = QrDecoder::default();
    let started = Instant::now();
    let (mut frames, mut errors, mut decode_us) = (0u64, 0u64, Vec::new());
    let mut last_text: Option<String> = None;
    while started.elapsed() < duration {
        let frame = match source.next_frame(Duration::from_secs(2)) {
            Ok(f) => f,
            Err(e) if e.kind() == CameraErrorKind::Timeout => {
                errors += 1;
                continue;
            }
            Err(e) => {
                writeln!(err, "camera error: {e}")?;
                errors += 1;
                if errors > 5 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        frames += 1;
        let t = Instant::now();
        let r = decoder.decode(&frame);
        decode_us.push(t.elapsed().as_micros());
        if let FrameDecode::Found(scan) = r {
            let text = scan.text.expose();
            // Report each new code once, by kind only (no personal data here).
            if last_text.as_deref() != Some(text.as_str()) {
                let kind = kiosk_qr::classify(text)
                    .map_or_else(|e| format!("not usable: {e}"), |p| p.kind_name().to_owned());
                writeln!(out, "QR code at frame {frames}: {kind}")?;
                last_text = Some(text.clone());
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    decode_us.sort_unstable();
    let med = decode_us.get(decode_us.len() / 2).copied().unwrap_or(0);
    writeln!(
        out,
        "frames: {frames} in {secs:.1} s = {:.1} fps measured; errors/timeouts: {errors}; \
         QR decode median {:.2} ms",
        frames as f64 / secs,
        med as f64 / 1000.0
    )?;
    Ok(if frames > 0 {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hw::qr::scene::{render_qr, Scene};

    fn camera_test(device: &str, seconds: u64) -> (Outcome, String, String) {
        let cmd = CameraCommand::Test(CameraTestArgs {
            config: None,
            device: Some(device.to_owned()),
            seconds,
            size: "640x480".into(),
            fps: 20,
        });
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome = run(&cmd, &mut out, &mut err).expect("report written");
        (
            outcome,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    #[test]
    fn a_replayed_card_is_seen_and_reported_by_kind_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let frame =
            render_qr(kiosk_qr::synthetic::DEMO_QR, &Scene::clean(640, 480, 1)).expect("renders");
        std::fs::write(dir.path().join("a.png"), frame.to_png().expect("png")).expect("write");
        let (outcome, out, _) = camera_test(&format!("replay:{}", dir.path().display()), 1);
        assert_eq!(outcome, Outcome::Ok);
        assert!(
            out.contains("640x480") && out.contains("fps measured"),
            "{out}"
        );
        assert!(out.contains("QR code at frame 1: cccd"), "{out}");
        assert!(!out.contains("001090123456"), "{out}");
    }

    #[test]
    fn a_missing_camera_fails_with_the_fix() {
        let (outcome, _, err) = camera_test("replay:/nonexistent/frames", 1);
        assert_eq!(outcome, Outcome::Invalid);
        assert!(err.contains("/nonexistent/frames"), "{err}");
        #[cfg(not(feature = "v4l2"))]
        {
            let (outcome, _, err) = camera_test("/dev/video0", 1);
            assert_eq!(outcome, Outcome::Invalid);
            assert!(err.contains("--features v4l2"), "{err}");
        }
    }
}
