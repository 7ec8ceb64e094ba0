//! One camera frame through the engine and the running check: detect, landmarks, quality
//! gates, and an embedding only when the check asks for one.

use std::time::Instant;

use kiosk_hw::{Frame, PixelFormat};

use crate::engine::{Embedding, FaceModels};
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
    let p = models.prepare(img);
    let dets = models.detect(&p);
    let obs: Vec<FaceObservation> = dets.iter().map(|d| d.observation).collect();
    let luma = img.to_luma();
    let a = quality::assess(
        cfg,
        Luma {
            width: img.width,
            height: img.height,
            data: &luma,
        },
        &obs,
    );
    (p, dets, a)
}

/// A face check in progress for one citizen: the chip portrait's embedding and the check.
/// Dropping it zeroes the reference.
#[derive(Debug)]
pub struct FaceSession {
    reference: Embedding,
    check: FaceCheck,
}

impl FaceSession {
    /// Starts a check against `reference`.
    pub fn new(reference: Embedding, check: FaceCheck) -> Self {
        Self { reference, check }
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
        let (p, dets, a) = analyse(models, &cfg, img);
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
            d
        } else {
            None
        };
        let status = self.check.update(t_ms, &a, distance);
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
