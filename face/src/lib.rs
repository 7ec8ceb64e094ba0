//! Face verification against the chip portrait.
//!
//! - [`geometry`], [`quality`], [`liveness`], [`verify`], [`eval`]: pure logic (numbers in,
//!   numbers out), tested without models.
//! - [`portrait`]: JPEG / JPEG 2000 / PNG decoding to RGB.
//! - [`engine`]: dlib (HOG detector, 5-point landmarks, ResNet encoder) through FFI; the only
//!   module that needs the model files.
//! - [`pipeline`]: one camera frame through the engine and a [`verify::FaceCheck`].
//!
//! Privacy: frames, portraits ([`portrait::RgbImage`]) and embeddings ([`engine::Embedding`])
//! are zeroed when dropped and never printed. dlib's own copy of a frame (its image matrix)
//! is freed after each frame but not zeroed: dlib offers no hook for that.

pub mod degrade;
pub mod engine;
pub mod eval;
pub mod geometry;
pub mod liveness;
pub mod parallax;
pub mod pipeline;
pub mod portrait;
pub mod quality;
pub mod verify;

pub use engine::{Embedding, FaceModels};
pub use portrait::RgbImage;
pub use quality::Guidance;
pub use verify::{CheckFailure, FaceCheck, Outcome, Status, VerifyConfig};

/// What can go wrong outside the pure logic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaceError {
    /// Model files missing, altered or unreadable.
    #[error("face models: {0}")]
    Models(String),
    /// An image did not decode.
    #[error("image: {0}")]
    Image(String),
    /// No face in the reference portrait.
    #[error("no face found in the reference portrait")]
    NoFaceInReference,
    /// The encoder gave no embedding.
    #[error("face embedding: {0}")]
    Embedding(String),
}

/// Where `cargo xtask setup` puts the models in a checkout: `<workspace>/.kiosk-data/face`
/// (the kiosk image installs them under /usr/share/cccd-kiosk/face; config `face.models_dir`).
/// `KIOSK_FACE_MODELS` overrides.
pub fn default_models_dir() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("KIOSK_FACE_MODELS") {
        return p.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(".kiosk-data")
        .join("face")
}
