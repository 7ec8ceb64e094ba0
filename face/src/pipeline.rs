//! One camera frame through the engine and the running check: detect, landmarks, quality
//! gates, and an embedding only when the check asks for one.

use std::time::Instant;

use kiosk_hw::{Frame, PixelFormat};

use zeroize::Zeroizing;

use crate::engine::{Embedding, FaceModels};
use crate::geometry::Landmarks5;
use crate::parallax::nose_parallax;
use crate::portrait::RgbImage;
use crate::quality::{self, Assessment, FaceObservation, Luma};
use crate::verify::{FaceCheck, Status};

/// Converts a camera frame to RGB (grey frames are expanded).
pub fn frame_to_rgb(f: &Frame) -> Option<RgbImage> {
    match f.format {
        PixelFormat::Rgb8 => RgbImage::new(f.width, f.height, f.data.clone()),
        PixelFormat::Luma8 => RgbImage::from_luma(f.width, f.height, &f.data),
        _ => None,
    }
}

/// The person in `photo` as a `w` x `h` camera frame: cropped around the largest face (2.2
/// times its size) and scaled to 0.96 of the frame height, so the face is about 200 px wide
/// at 640x480, a citizen at arm's length. `None` without a face. For tests, the benchmark and
/// `kioskctl face enroll-test` replays.
pub fn framed_person(models: &FaceModels, photo: &RgbImage, w: u32, h: u32) -> Option<RgbImage> {
    let p = models.prepare(photo);
    let face = models
        .detect_for_photo(&p)
        .iter()
        .map(|d| d.observation.face)
        .max_by(|a, b| a.area().total_cmp(&b.area()))?;
    let crop = crate::degrade::crop_around(photo, &face, 2.2);
    Some(crate::degrade::in_frame(&crop, w, h, h * 24 / 25))
}

/// Time spent on one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameTimings {
    /// Detection, landmarks and quality gates, in milliseconds.
    pub analyse_ms: f32,
    /// Embedding, in milliseconds (0 when the frame was not embedded).
    pub embed_ms: f32,
}

/// Detects faces and runs the quality gates on one image.
pub fn analyse(
    models: &FaceModels,
    cfg: &quality::QualityConfig,
    img: &RgbImage,
) -> (
    crate::engine::Prepared,
    Vec<crate::engine::Detection>,
    Assessment,
) {
    let (p, dets, (a, _)) = analyse_keep_luma(models, cfg, img);
    (p, dets, a)
}

type Analysed = (
    crate::engine::Prepared,
    Vec<crate::engine::Detection>,
    (Assessment, Zeroizing<Vec<u8>>),
);

fn analyse_keep_luma(
    models: &FaceModels,
    cfg: &quality::QualityConfig,
    img: &RgbImage,
) -> Analysed {
    let p = models.prepare(img);
    let dets = models.detect(&p);
    let obs: Vec<FaceObservation> = dets.iter().map(|d| d.observation).collect();
    let luma = Zeroizing::new(img.to_luma());
    let a = quality::assess(
        cfg,
        Luma {
            width: img.width,
            height: img.height,
            data: &luma,
        },
        &obs,
    );
    (p, dets, (a, luma))
}

/// The last best shot's luma plane and landmarks: the frontal view the liveness challenge
/// measures nose parallax against. Zeroed on drop.
struct Frontal {
    luma: Zeroizing<Vec<u8>>,
    width: u32,
    height: u32,
    landmarks: Landmarks5,
}

/// A face check in progress for one citizen: the chip portrait's embedding, the check and the
/// frontal best shot. Dropping it zeroes them.
pub struct FaceSession {
    reference: Embedding,
    check: FaceCheck,
    frontal: Option<Frontal>,
}

impl std::fmt::Debug for FaceSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceSession")
            .field("check", &self.check)
            .finish_non_exhaustive()
    }
}

impl FaceSession {
    /// Starts a check against `reference`.
    pub fn new(reference: Embedding, check: FaceCheck) -> Self {
        Self {
            reference,
            check,
            frontal: None,
        }
    }

    /// Feeds one frame taken at `t_ms` (session clock, milliseconds).
    pub fn frame(
        &mut self,
        models: &FaceModels,
        img: &RgbImage,
        t_ms: u64,
    ) -> (Status, Assessment, FrameTimings) {
        let t0 = Instant::now();
        let cfg = self.check.config().quality;
        let (p, dets, a) = analyse_keep_luma(models, &cfg, img);
        let (a, luma) = a;
        let analyse_ms = t0.elapsed().as_secs_f32() * 1000.0;
        let mut embed_ms = 0.0;
        let distance = if self.check.wants_embedding(t_ms, &a) {
            let t1 = Instant::now();
            // The good frame has exactly one near face: the largest.
            let main = dets.iter().max_by(|x, y| {
                x.observation
                    .face
                    .area()
                    .total_cmp(&y.observation.face.area())
            });
            let d = main
                .and_then(|d| models.embed(&p, d).ok())
                .map(|e| e.distance(&self.reference));
            embed_ms = t1.elapsed().as_secs_f32() * 1000.0;
            if let (Some(_), Some(m)) = (d, a.main) {
                self.frontal = Some(Frontal {
                    luma: Zeroizing::new(luma.to_vec()),
                    width: img.width,
                    height: img.height,
                    landmarks: m.face.landmarks,
                });
            }
            d
        } else {
            None
        };
        let parallax = match (&self.frontal, a.main) {
            (Some(f), Some(m)) if self.check.wants_parallax() => nose_parallax(
                Luma {
                    width: f.width,
                    height: f.height,
                    data: &f.luma,
                },
                &f.landmarks,
                Luma {
                    width: img.width,
                    height: img.height,
                    data: &luma,
                },
                &m.face.landmarks,
            ),
            _ => None,
        };
        let status = self.check.update(t_ms, &a, distance, parallax);
        (
            status,
            a,
            FrameTimings {
                analyse_ms,
                embed_ms,
            },
        )
    }
}
