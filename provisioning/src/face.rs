//! `kioskctl face match` and `kioskctl face enroll-test`: the technician's checks of the face
//! models, the camera path and the matcher. Nothing is saved; faces are never printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use kiosk_app::config::CameraSpec;
use kiosk_face::liveness::Challenge;
use kiosk_face::pipeline::{analyse, frame_to_rgb, FaceSession};
use kiosk_face::portrait::{self, RgbImage};
use kiosk_face::verify::{FaceCheck, Status, VerifyConfig, DEFAULT_THRESHOLD};
use kiosk_face::{FaceModels, Guidance};

use crate::Outcome;

/// `kioskctl face ...`.
#[derive(Debug, Subcommand)]
pub enum FaceCommand {
    /// Compare the faces in two pictures: distance and decision
    #[command(
        long_about = "Find the largest face in each picture (JPEG, JPEG 2000 or PNG: a chip \
                      portrait saved by `kioskctl card read --portrait-out`, or a photo), embed \
                      both with the kiosk's model and print their distance and the decision at \
                      the threshold.",
        after_help = "Examples:\n  kioskctl face match portrait.jp2 photo.jpg\n  \
                      kioskctl face match --threshold 0.55 a.png b.png\n\n\
                      Exit status:\n  0  same person\n  1  different people\n  \
                      2  a picture has no face or cannot be read, or the models are missing"
    )]
    Match(MatchArgs),
    /// Run the camera through the face detector and quality gates (and optionally a full check)
    #[command(
        long_about = "Open the camera, run every frame through face detection, landmarks and \
                      the quality gates for --seconds, and report the guidance the kiosk would \
                      show and the time per frame. With --reference PICTURE, run the whole \
                      check the kiosk runs (best shots, head-turn challenge, decision) against \
                      that picture and print the outcome.",
        after_help = "Examples:\n  kioskctl face enroll-test --device /dev/video0\n  \
                      kioskctl face enroll-test --device replay:/tmp/frames --reference me.jpg\n\n\
                      Exit status:\n  0  a good face was seen (with --reference: verified)\n  \
                      1  no good face (with --reference: not verified)\n  \
                      2  no camera, or the models are missing"
    )]
    EnrollTest(EnrollTestArgs),
}

/// `kioskctl face match`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// First picture
    pub a: PathBuf,
    /// Second picture
    pub b: PathBuf,
    /// Folder of the model files (default: the setup folder, or $KIOSK_FACE_MODELS)
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// Largest distance that counts as the same person
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: f32,
}

/// `kioskctl face enroll-test`.
#[derive(Debug, Args)]
pub struct EnrollTestArgs {
    /// The camera: /dev/videoN, replay:/folder/of/pngs or sim
    #[arg(long, value_name = "CAMERA", default_value = "sim")]
    pub device: String,
    /// How long to stream
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub seconds: u64,
    /// Run the full check against the face in this picture
    #[arg(long, value_name = "PICTURE")]
    pub reference: Option<PathBuf>,
    /// Folder of the model files
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

fn load_models(dir: Option<&Path>, err: &mut dyn Write) -> anyhow::Result<Option<FaceModels>> {
    let dir = dir.map_or_else(kiosk_face::default_models_dir, Path::to_path_buf);
    match FaceModels::load(&dir) {
        Ok(m) => Ok(Some(m)),
        Err(e) => {
            writeln!(err, "{e}")?;
            Ok(None)
        }
    }
}

fn picture(path: &Path) -> Result<RgbImage, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    portrait::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `kioskctl face ...`.
///
/// # Errors
/// Only when the report cannot be written.
pub fn run(cmd: &FaceCommand, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    match cmd {
        FaceCommand::Match(a) => face_match(a, out, err),
        FaceCommand::EnrollTest(a) => enroll_test(a, out, err),
    }
}

fn face_match(a: &MatchArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    let Some(models) = load_models(a.models.as_deref(), err)? else {
        return Ok(Outcome::Invalid);
    };
    let mut embs = Vec::new();
    for path in [&a.a, &a.b] {
        let img = match picture(path) {
            Ok(i) => i,
            Err(e) => {
                writeln!(err, "{e}")?;
                return Ok(Outcome::Invalid);
            }
        };
        let t = Instant::now();
        match models.reference(&img) {
            Ok(e) => {
                writeln!(
                    out,
                    "{}: {}x{}, face embedded in {} ms",
                    path.display(),
                    img.width,
                    img.height,
                    t.elapsed().as_millis()
                )?;
                embs.push(e);
            }
            Err(e) => {
                writeln!(err, "{}: {e}", path.display())?;
                return Ok(Outcome::Invalid);
            }
        }
    }
    let d = embs[0].distance(&embs[1]);
    let same = d <= a.threshold;
    writeln!(out, "distance: {d:.4}")?;
    writeln!(
        out,
        "decision: {} (threshold {:.2})",
        if same {
            "same person"
        } else {
            "different people"
        },
        a.threshold
    )?;
    Ok(if same { Outcome::Ok } else { Outcome::Warnings })
}

fn enroll_test(
    a: &EnrollTestArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let Some(models) = load_models(a.models.as_deref(), err)? else {
        return Ok(Outcome::Invalid);
    };
    let spec = if a.device == "sim" {
        CameraSpec::Sim
    } else if a.device == "auto" {
        CameraSpec::Auto
    } else if let Some(p) = a.device.strip_prefix("replay:") {
        CameraSpec::Replay(PathBuf::from(p))
    } else {
        CameraSpec::Device(PathBuf::from(&a.device))
    };
    let mut source = match crate::camera_test::open(&spec, 640, 480, 15) {
        Ok((s, _)) => s,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(Outcome::Invalid);
        }
    };
    let mut session = match &a.reference {
        Some(path) => {
            let reference = match picture(path).map_err(|e| e.to_string()).and_then(|img| {
                models
                    .reference(&img)
                    .map_err(|e| format!("{}: {e}", path.display()))
            }) {
                Ok(r) => r,
                Err(e) => {
                    writeln!(err, "{e}")?;
                    return Ok(Outcome::Invalid);
                }
            };
            let challenge = Challenge::random(&mut rand::rng(), VerifyConfig::default().turns);
            Some(FaceSession::new(
                reference,
                FaceCheck::new(VerifyConfig::default(), challenge),
            ))
        }
        None => None,
    };
    let cfg = VerifyConfig::default().quality;
    let started = Instant::now();
    let mut frames = 0u32;
    let mut good = 0u32;
    let mut times = Vec::new();
    let mut last: Option<Guidance> = None;
    let mut outcome = None;
    while started.elapsed() < Duration::from_secs(a.seconds.max(1)) {
        let frame = match source.next_frame(Duration::from_secs(2)) {
            Ok(f) => f,
            Err(e) => {
                writeln!(err, "camera: {e}")?;
                break;
            }
        };
        let Some(rgb) = frame_to_rgb(&frame) else {
            continue;
        };
        frames += 1;
        let t = Instant::now();
        let guidance = match session.as_mut() {
            Some(s) => {
                let (status, assessment, _) =
                    s.frame(&models, &rgb, started.elapsed().as_millis() as u64);
                good += u32::from(assessment.is_good());
                match status {
                    Status::Working { guidance, .. } => guidance,
                    Status::Done(o) => {
                        outcome = Some(o);
                        break;
                    }
                }
            }
            None => {
                let (_, _, assessment) = analyse(&models, &cfg, &rgb);
                good += u32::from(assessment.is_good());
                assessment.guidance
            }
        };
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if last != Some(guidance) {
            writeln!(
                out,
                "{:6.1} s  {:?} ({})",
                started.elapsed().as_secs_f64(),
                guidance,
                guidance.key()
            )?;
            last = Some(guidance);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
    writeln!(
        out,
        "frames: {frames}, good: {good}, median time per frame: {median:.1} ms"
    )?;
    if let Some(o) = outcome {
        writeln!(
            out,
            "outcome: matched {}, live {}, distance {:.3}, failure {:?}",
            o.matched, o.live, o.distance, o.failure
        )?;
        return Ok(if o.verified() {
            Outcome::Ok
        } else {
            Outcome::Warnings
        });
    }
    if session.is_some() {
        writeln!(out, "outcome: no decision within {} s", a.seconds)?;
        return Ok(Outcome::Warnings);
    }
    Ok(if good > 0 {
        Outcome::Ok
    } else {
        Outcome::Warnings
    })
}
