//! The dlib side: HOG face detection, the 5-point shape predictor and the ResNet 128-D
//! encoder, through the `dlib-face-recognition` crate and Debian's libdlib.
//!
//! Models are loaded once (about 0.3 s, 120 MB resident) and used from one thread: dlib's
//! objects are `Send` but not `Sync`. Detection runs on a frame scaled down to
//! `detect_width` pixels wide (HOG's smallest face is 80 px, so at 428 px it finds faces from
//! about 120 px wide in a 640 px frame, an interocular distance of about 45 px, which is what
//! the size gate asks for anyway) and
//! landmarks and embeddings on the full frame.

use std::path::{Path, PathBuf};

use dlib_face_recognition::{
    FaceDetector, FaceDetectorTrait, FaceEncoderNetwork, FaceEncoderTrait, FaceLandmarks,
    ImageMatrix, LandmarkPredictor, LandmarkPredictorTrait, Rectangle,
};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::geometry::{FaceBox, Landmarks5, Point};
use crate::portrait::RgbImage;
use crate::quality::FaceObservation;
use crate::FaceError;

/// The 5-point shape predictor (CC0). The 68-point model of the same package is not used: its
/// training data forbids commercial products.
pub const SHAPE_PREDICTOR: &str = "shape_predictor_5_face_landmarks.dat";
/// The ResNet face encoder (CC0).
pub const ENCODER: &str = "dlib_face_recognition_resnet_model_v1.dat";
/// SHA-256 of the model files as shipped in PyPI `face_recognition_models` 0.3.0.
pub const MODEL_SHA256: [(&str, &str); 2] = [
    (
        SHAPE_PREDICTOR,
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    ),
    (
        ENCODER,
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    ),
];

/// A 128-D face embedding. Zeroed on drop; Debug does not print it.
#[derive(Clone, PartialEq)]
pub struct Embedding(pub [f32; 128]);

impl std::fmt::Debug for Embedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Embedding(<redacted>)")
    }
}

impl Drop for Embedding {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Embedding {
    /// Euclidean distance (dlib's convention: same person below about 0.6).
    pub fn distance(&self, other: &Self) -> f32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    }
}

/// A face found in a frame, with dlib's landmark object kept for the encoder.
pub struct Detection {
    /// Box and landmarks in frame pixels.
    pub observation: FaceObservation,
    raw: FaceLandmarks,
}

impl std::fmt::Debug for Detection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detection")
            .field("observation", &self.observation)
            .finish_non_exhaustive()
    }
}

/// A frame converted for dlib once, used for detection, landmarks and embedding.
pub struct Prepared {
    full: ImageMatrix,
    width: u32,
    height: u32,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prepared({}x{})", self.width, self.height)
    }
}

/// The loaded models.
pub struct FaceModels {
    detector: FaceDetector,
    predictor: LandmarkPredictor,
    encoder: FaceEncoderNetwork,
    /// Detection runs at most this wide (pixels); 0 means full size.
    pub detect_width: u32,
    dir: PathBuf,
}

impl std::fmt::Debug for FaceModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceModels")
            .field("dir", &self.dir)
            .field("detect_width", &self.detect_width)
            .finish_non_exhaustive()
    }
}

/// Checks the model files in `dir` against [`MODEL_SHA256`].
///
/// # Errors
/// [`FaceError::Models`] naming the missing or altered file and how to restore it.
pub fn verify_models(dir: &Path) -> Result<(), FaceError> {
    for (name, want) in MODEL_SHA256 {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| {
            FaceError::Models(format!(
                "cannot read {}: {e}; run `cargo xtask setup` (or reinstall the kiosk image)",
                path.display()
            ))
        })?;
        let got = Sha256::digest(&bytes);
        let hex: String = got.iter().map(|b| format!("{b:02x}")).collect();
        if hex != want {
            return Err(FaceError::Models(format!(
                "{} has SHA-256 {hex}, expected {want}; the file is damaged or not the pinned model",
                path.display()
            )));
        }
    }
    Ok(())
}

fn to_box(r: &Rectangle, k: f32) -> FaceBox {
    FaceBox {
        left: r.left as f32 * k,
        top: r.top as f32 * k,
        right: r.right as f32 * k,
        bottom: r.bottom as f32 * k,
    }
}

impl FaceModels {
    /// Loads the models from `dir`, after checking their SHA-256.
    ///
    /// # Errors
    /// [`FaceError::Models`] if a file is missing, altered or does not deserialize.
    pub fn load(dir: &Path) -> Result<Self, FaceError> {
        verify_models(dir)?;
        let predictor = LandmarkPredictor::open(dir.join(SHAPE_PREDICTOR))
            .map_err(|e| FaceError::Models(format!("shape predictor: {e}")))?;
        let encoder = FaceEncoderNetwork::open(dir.join(ENCODER))
            .map_err(|e| FaceError::Models(format!("face encoder: {e}")))?;
        Ok(Self {
            detector: FaceDetector::new(),
            predictor,
            encoder,
            detect_width: 428,
            dir: dir.to_path_buf(),
        })
    }

    /// Converts an RGB image for dlib.
    pub fn prepare(&self, img: &RgbImage) -> Prepared {
        let buf = image024::ImageBuffer::<image024::Rgb<u8>, &[u8]>::from_raw(
            img.width, img.height, &img.data,
        );
        let full = match buf {
            Some(b) => ImageMatrix::from_image(&b),
            None => ImageMatrix::default(),
        };
        Prepared {
            full,
            width: img.width,
            height: img.height,
        }
    }

    /// Finds faces and their landmarks. Faces are found on a copy scaled to `detect_width`
    /// (or scaled *up* to it for small images such as chip portraits).
    pub fn detect(&self, p: &Prepared) -> Vec<Detection> {
        self.detect_at(p, self.detect_width)
    }

    fn detect_at(&self, p: &Prepared, width: u32) -> Vec<Detection> {
        if p.width == 0 || p.height == 0 {
            return Vec::new();
        }
        let (rects, k) = if width == 0 || p.width == width {
            (self.detector.face_locations(&p.full), 1.0)
        } else {
            let k = p.width as f32 / width as f32;
            let h = ((p.height as f32 / k).round() as usize).max(1);
            let small = p.full.resize(width as usize, h);
            (self.detector.face_locations(&small), k)
        };
        rects
            .iter()
            .map(|r| {
                let face = to_box(r, k);
                let full_rect = Rectangle {
                    left: face.left.round() as _,
                    top: face.top.round() as _,
                    right: face.right.round() as _,
                    bottom: face.bottom.round() as _,
                };
                self.landmarks_in(p, face, &full_rect)
            })
            .collect()
    }

    /// Landmarks for a face box given by the caller (in full-frame pixels).
    pub fn landmarks_at(&self, p: &Prepared, face: FaceBox) -> Detection {
        let r = Rectangle {
            left: face.left.round() as _,
            top: face.top.round() as _,
            right: face.right.round() as _,
            bottom: face.bottom.round() as _,
        };
        self.landmarks_in(p, face, &r)
    }

    fn landmarks_in(&self, p: &Prepared, face: FaceBox, r: &Rectangle) -> Detection {
        let raw = self.predictor.face_landmarks(&p.full, r);
        let mut pts = [Point::default(); 5];
        for (dst, src) in pts.iter_mut().zip(raw.iter()) {
            *dst = Point::new(src.x() as f32, src.y() as f32);
        }
        Detection {
            observation: FaceObservation {
                face,
                landmarks: Landmarks5(pts),
            },
            raw,
        }
    }

    /// The 128-D embedding of a detected face (aligned by dlib to a 150x150 chip).
    ///
    /// # Errors
    /// [`FaceError::Embedding`] if dlib returned no descriptor (degenerate landmarks).
    pub fn embed(&self, p: &Prepared, d: &Detection) -> Result<Embedding, FaceError> {
        let encs = self
            .encoder
            .get_face_encodings(&p.full, std::slice::from_ref(&d.raw), 0);
        let first = encs
            .first()
            .ok_or_else(|| FaceError::Embedding("no descriptor".into()))?;
        let v = first.as_ref();
        if v.len() != 128 {
            return Err(FaceError::Embedding(format!("{} values, not 128", v.len())));
        }
        let mut out = [0f32; 128];
        for (o, x) in out.iter_mut().zip(v) {
            *o = *x as f32;
        }
        Ok(Embedding(out))
    }

    /// The reference from a chip portrait (or any photo): the largest face, embedded.
    /// Small portraits are scaled up for detection (a chip portrait is often 240-480 px).
    ///
    /// # Errors
    /// [`FaceError::NoFaceInReference`] if no face is found; [`FaceError::Image`] if the bytes
    /// do not decode.
    pub fn reference(&self, img: &RgbImage) -> Result<Embedding, FaceError> {
        let p = self.prepare(img);
        let dets = self.detect_for_photo(&p);
        let best = dets
            .iter()
            .max_by(|a, b| {
                a.observation
                    .face
                    .area()
                    .total_cmp(&b.observation.face.area())
            })
            .ok_or(FaceError::NoFaceInReference)?;
        self.embed(&p, best)
    }

    /// Detection for a still photo: at the photo's own size when it is small (upscaled to at
    /// least 480 px), else at `detect_width`-like scale of 640 px.
    pub fn detect_for_photo(&self, p: &Prepared) -> Vec<Detection> {
        let target = if p.width < 480 { 480 } else { p.width.min(640) };
        self.detect_at(p, target)
    }
}
