//! Per-frame quality gates: exactly one face, size, pose, sharpness, exposure. Pure: a luma
//! plane and the detections in, one [`Guidance`] out (the first gate that fails, in the order
//! a person can act on: be alone, come closer, face the camera, hold still, find light).

use crate::geometry::{FaceBox, Landmarks5, Pose};

/// A borrowed 8-bit luma plane.
#[derive(Debug, Clone, Copy)]
pub struct Luma<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` bytes, row-major.
    pub data: &'a [u8],
}

/// One face found in a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceObservation {
    /// Detector rectangle.
    pub face: FaceBox,
    /// Landmarks.
    pub landmarks: Landmarks5,
}

/// What the citizen should do next; each maps to one Fluent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Guidance {
    /// No face in view.
    NoFace,
    /// More than one face in view.
    OneFaceOnly,
    /// The face is too small.
    MoveCloser,
    /// The face is too large (partly out of the frame).
    MoveBack,
    /// Turned or tilted away from the camera.
    FaceCamera,
    /// Motion or focus blur.
    HoldStill,
    /// Face too dark.
    MoreLight,
    /// Face washed out.
    TooBright,
    /// Good frame.
    Good,
    /// Liveness challenge: turn the head to the citizen's left.
    TurnLeft,
    /// Liveness challenge: turn the head to the citizen's right.
    TurnRight,
    /// Liveness challenge: look straight again.
    LookStraight,
}

impl Guidance {
    /// The Fluent message key shown (and spoken) for this guidance.
    pub fn key(self) -> &'static str {
        match self {
            Self::NoFace => "face-look",
            Self::OneFaceOnly => "face-one-person",
            Self::MoveCloser => "face-closer",
            Self::MoveBack => "face-farther",
            Self::FaceCamera => "face-straight",
            Self::HoldStill => "face-hold-still",
            Self::MoreLight => "face-more-light",
            Self::TooBright => "face-too-bright",
            Self::Good => "face-hold-still",
            Self::TurnLeft => "face-turn-left",
            Self::TurnRight => "face-turn-right",
            Self::LookStraight => "face-look-straight",
        }
    }
}

/// Thresholds of the gates. Defaults suit a 640x480 kiosk camera at arm's length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityConfig {
    /// Smallest interocular distance in pixels.
    pub min_interocular: f32,
    /// Largest interocular distance as a fraction of the frame width.
    pub max_interocular_frac: f32,
    /// Largest |yaw| (nose offset in interocular distances, see [`Pose::yaw`]).
    pub max_yaw: f32,
    /// Allowed nose drop below the eye line, in interocular distances.
    pub pitch_range: (f32, f32),
    /// Largest |roll| in degrees.
    pub max_roll_deg: f32,
    /// Smallest sharpness (variance of the Laplacian of the face resampled to 64x64).
    pub min_sharpness: f32,
    /// Mean face luma range.
    pub luma_range: (f32, f32),
    /// Faces smaller than this fraction of the largest face's area are ignored (people far
    /// behind the citizen in a queue).
    pub background_face_frac: f32,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self {
            min_interocular: 45.0,
            max_interocular_frac: 0.45,
            max_yaw: 0.16,
            pitch_range: (0.35, 1.05),
            max_roll_deg: 20.0,
            min_sharpness: 60.0,
            luma_range: (55.0, 215.0),
            background_face_frac: 0.25,
        }
    }
}

/// Measurements of the main face in a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceQuality {
    /// The face measured.
    pub face: FaceObservation,
    /// Its pose.
    pub pose: Pose,
    /// Variance of the Laplacian on a 64x64 resampling of the face box.
    pub sharpness: f32,
    /// Mean luma over the face box.
    pub mean_luma: f32,
}

/// The gates' verdict for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// The first failed gate, or [`Guidance::Good`].
    pub guidance: Guidance,
    /// The main face, when exactly one face is in view (present even when a later gate fails,
    /// so the liveness check can follow a turned head).
    pub main: Option<FaceQuality>,
}

impl Assessment {
    /// Every gate passed.
    pub fn is_good(&self) -> bool {
        self.guidance == Guidance::Good
    }
}

/// Runs the gates over `faces` found in `luma`.
pub fn assess(cfg: &QualityConfig, luma: Luma<'_>, faces: &[FaceObservation]) -> Assessment {
    let largest = faces.iter().map(|f| f.face.area()).fold(0.0f32, f32::max);
    let mut near = faces
        .iter()
        .filter(|f| f.face.area() >= largest * cfg.background_face_frac);
    let main = match (near.next(), near.next()) {
        (None, _) => {
            return Assessment {
                guidance: Guidance::NoFace,
                main: None,
            }
        }
        (Some(_), Some(_)) => {
            return Assessment {
                guidance: Guidance::OneFaceOnly,
                main: None,
            }
        }
        (Some(f), None) => *f,
    };
    let pose = main.landmarks.pose();
    let (sharpness, mean_luma) = face_stats(luma, &main.face);
    let q = FaceQuality {
        face: main,
        pose,
        sharpness,
        mean_luma,
    };
    let guidance = if pose.interocular < cfg.min_interocular {
        Guidance::MoveCloser
    } else if pose.interocular > cfg.max_interocular_frac * luma.width as f32
        || main.face.left < 0.0
        || main.face.top < 0.0
        || main.face.right > luma.width as f32
        || main.face.bottom > luma.height as f32
    {
        Guidance::MoveBack
    } else if pose.yaw.abs() > cfg.max_yaw
        || pose.roll_deg.abs() > cfg.max_roll_deg
        || pose.pitch < cfg.pitch_range.0
        || pose.pitch > cfg.pitch_range.1
    {
        Guidance::FaceCamera
    } else if mean_luma < cfg.luma_range.0 {
        Guidance::MoreLight
    } else if mean_luma > cfg.luma_range.1 {
        Guidance::TooBright
    } else if sharpness < cfg.min_sharpness {
        Guidance::HoldStill
    } else {
        Guidance::Good
    };
    Assessment {
        guidance,
        main: Some(q),
    }
}

/// Sharpness and mean luma of the face box (clipped to the frame). The box is resampled to
/// 64x64 by area averaging so the sharpness does not depend on the face's size in pixels.
pub fn face_stats(luma: Luma<'_>, b: &FaceBox) -> (f32, f32) {
    const N: usize = 64;
    let w = luma.width as usize;
    let h = luma.height as usize;
    if w == 0 || h == 0 || luma.data.len() < w * h {
        return (0.0, 0.0);
    }
    let x0 = b.left.clamp(0.0, w as f32);
    let x1 = b.right.clamp(0.0, w as f32);
    let y0 = b.top.clamp(0.0, h as f32);
    let y1 = b.bottom.clamp(0.0, h as f32);
    if x1 - x0 < 2.0 || y1 - y0 < 2.0 {
        return (0.0, 0.0);
    }
    let mut grid = [[0f32; N]; N];
    let mut total = 0f64;
    for (gy, row) in grid.iter_mut().enumerate() {
        let ya = (y0 + (y1 - y0) * gy as f32 / N as f32) as usize;
        let yb = ((y0 + (y1 - y0) * (gy + 1) as f32 / N as f32) as usize)
            .max(ya + 1)
            .min(h);
        for (gx, cell) in row.iter_mut().enumerate() {
            let xa = (x0 + (x1 - x0) * gx as f32 / N as f32) as usize;
            let xb = ((x0 + (x1 - x0) * (gx + 1) as f32 / N as f32) as usize)
                .max(xa + 1)
                .min(w);
            let mut sum = 0u32;
            let mut n = 0u32;
            for y in ya..yb {
                let line = &luma.data[y * w..y * w + w];
                for &v in &line[xa.min(w - 1)..xb] {
                    sum += u32::from(v);
                    n += 1;
                }
            }
            *cell = if n == 0 { 0.0 } else { sum as f32 / n as f32 };
            total += f64::from(*cell);
        }
    }
    let mut lap = Vec::with_capacity((N - 2) * (N - 2));
    for y in 1..N - 1 {
        for x in 1..N - 1 {
            let v = grid[y - 1][x] + grid[y + 1][x] + grid[y][x - 1] + grid[y][x + 1]
                - 4.0 * grid[y][x];
            lap.push(v);
        }
    }
    let mean = lap.iter().sum::<f32>() / lap.len() as f32;
    let var = lap.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / lap.len() as f32;
    (var, (total / (N * N) as f64) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Point;

    fn face_at(cx: f32, cy: f32, iod: f32) -> FaceObservation {
        let h = iod / 2.0;
        FaceObservation {
            face: FaceBox {
                left: cx - iod,
                top: cy - iod,
                right: cx + iod,
                bottom: cy + iod * 1.2,
            },
            landmarks: Landmarks5([
                Point::new(cx + h + iod * 0.15, cy),
                Point::new(cx + h - iod * 0.15, cy),
                Point::new(cx - h - iod * 0.15, cy),
                Point::new(cx - h + iod * 0.15, cy),
                Point::new(cx, cy + iod * 0.65),
            ]),
        }
    }

    /// A 640x480 frame: checkerboard texture (sharp) of mid grey.
    fn textured(level: u8, amp: u8) -> Vec<u8> {
        let mut v = vec![0u8; 640 * 480];
        for y in 0..480 {
            for x in 0..640 {
                let on = ((x / 3) + (y / 3)) % 2 == 0;
                v[y * 640 + x] = if on {
                    level.saturating_add(amp)
                } else {
                    level.saturating_sub(amp)
                };
            }
        }
        v
    }

    fn luma(v: &[u8]) -> Luma<'_> {
        Luma {
            width: 640,
            height: 480,
            data: v,
        }
    }

    #[test]
    fn a_good_face_passes_every_gate() {
        let img = textured(128, 40);
        let a = assess(
            &QualityConfig::default(),
            luma(&img),
            &[face_at(320.0, 220.0, 80.0)],
        );
        assert_eq!(a.guidance, Guidance::Good, "{a:?}");
        assert!(a.is_good());
    }

    #[test]
    fn each_gate_names_what_to_do() {
        let cfg = QualityConfig::default();
        let img = textured(128, 40);
        let l = luma(&img);
        assert_eq!(assess(&cfg, l, &[]).guidance, Guidance::NoFace);
        let two = [face_at(200.0, 220.0, 80.0), face_at(440.0, 220.0, 70.0)];
        assert_eq!(assess(&cfg, l, &two).guidance, Guidance::OneFaceOnly);
        // A small face far behind does not count as a second person.
        let bg = [face_at(200.0, 220.0, 80.0), face_at(500.0, 100.0, 20.0)];
        assert_eq!(assess(&cfg, l, &bg).guidance, Guidance::Good);
        assert_eq!(
            assess(&cfg, l, &[face_at(320.0, 220.0, 30.0)]).guidance,
            Guidance::MoveCloser
        );
        assert_eq!(
            assess(&cfg, l, &[face_at(320.0, 220.0, 300.0)]).guidance,
            Guidance::MoveBack
        );
        let mut turned = face_at(320.0, 220.0, 80.0);
        turned.landmarks.0[4].x += 25.0;
        assert_eq!(assess(&cfg, l, &[turned]).guidance, Guidance::FaceCamera);
        let dark = textured(30, 10);
        assert_eq!(
            assess(&cfg, luma(&dark), &[face_at(320.0, 220.0, 80.0)]).guidance,
            Guidance::MoreLight
        );
        let bright = textured(235, 10);
        assert_eq!(
            assess(&cfg, luma(&bright), &[face_at(320.0, 220.0, 80.0)]).guidance,
            Guidance::TooBright
        );
        let flat = vec![128u8; 640 * 480];
        assert_eq!(
            assess(&cfg, luma(&flat), &[face_at(320.0, 220.0, 80.0)]).guidance,
            Guidance::HoldStill
        );
    }

    #[test]
    fn face_stats_survive_boxes_outside_the_frame() {
        let img = textured(128, 40);
        let b = FaceBox {
            left: -50.0,
            top: -50.0,
            right: 10_000.0,
            bottom: 10_000.0,
        };
        let (s, m) = face_stats(luma(&img), &b);
        assert!(s > 0.0 && (m - 128.0).abs() < 2.0, "{s} {m}");
        let empty = FaceBox {
            left: 700.0,
            top: 0.0,
            right: 800.0,
            bottom: 10.0,
        };
        assert_eq!(face_stats(luma(&img), &empty), (0.0, 0.0));
        let short = Luma {
            width: 640,
            height: 480,
            data: &img[..10],
        };
        assert_eq!(face_stats(short, &b), (0.0, 0.0));
    }

    #[test]
    fn every_guidance_has_a_message_key() {
        for g in [
            Guidance::NoFace,
            Guidance::OneFaceOnly,
            Guidance::MoveCloser,
            Guidance::MoveBack,
            Guidance::FaceCamera,
            Guidance::HoldStill,
            Guidance::MoreLight,
            Guidance::TooBright,
            Guidance::Good,
            Guidance::TurnLeft,
            Guidance::TurnRight,
            Guidance::LookStraight,
        ] {
            assert!(g.key().starts_with("face-"));
        }
    }
}
