//! Cameras: [`Frame`], the [`FrameSource`] trait and two simulated sources.
//!
//! The kiosk films the QR code on the citizen's card (and later their face). Frames come from a
//! [`FrameSource`]; QR decoding and any image processing work on [`Frame`]s and never see the
//! device, so they are tested with recorded frames.
//!
//! # Implementations
//!
//! - [`ReplaySource`] (here): a folder of PNG images played in name order, looping, for tests
//!   and for reproducing what a kiosk saw in the field.
//! - [`PatternSource`] (here): a synthetic moving test pattern for the demo mode.
//! - `v4l2` (feature `v4l2`): a V4L2 camera (`/dev/videoN`, or `auto`) through the `v4l`
//!   crate (its bindgen step needs `libclang-dev` at build time), MJPEG decoded with the
//!   pure-Rust `zune-jpeg`, YUYV converted here; [`capture::CameraHub`] around it.
//!
//! # One camera, several consumers
//!
//! [`capture::CameraHub`] is the one reader of a camera: it publishes each frame as an
//! `Arc<Frame>` and every worker reads the newest one through its own [`capture::CameraFeed`]
//! (latest-frame semantics, no copy per consumer: [`FrameSource::next_shared`]). The hub also
//! owns recovery: an unplugged or stalled camera is reported to every feed
//! ([`CameraErrorKind::Unplugged`], [`CameraErrorKind::Stalled`]) and reopened by itself.
//!
//! Frames are paced by the source's frame rate; `fps = 0` means "as fast as asked", which keeps
//! tests free of sleeps.

pub mod capture;
mod pattern;
mod replay;
#[cfg(feature = "v4l2")]
pub mod v4l2;
pub mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use pattern::PatternSource;
pub use replay::{decode_png, read_png, ReplaySource};

use crate::error::hw_error;

/// How the bytes of a [`Frame`] are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// One byte of luminance per pixel.
    Luma8,
    /// Three bytes (red, green, blue) per pixel.
    Rgb8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Luma8 => 1,
            Self::Rgb8 => 3,
        }
    }
}

/// One camera image: rows top to bottom, no padding between rows.
///
/// A frame can show a citizen's card or face, so `Debug` prints its shape, never its pixels.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Layout of `data`.
    pub format: PixelFormat,
    /// `width * height * format.bytes_per_pixel()` bytes.
    pub data: Vec<u8>,
    /// Sequence number from the source, increasing by one per frame delivered.
    pub seq: u64,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("seq", &self.seq)
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl Frame {
    /// The same image in [`PixelFormat::Luma8`] (a copy when it already is), using the BT.601
    /// luma weights in integer arithmetic. QR decoders work on luma.
    pub fn to_luma(&self) -> Frame {
        let data = match self.format {
            PixelFormat::Luma8 => self.data.clone(),
            PixelFormat::Rgb8 => self
                .data
                .chunks_exact(3)
                .map(|p| {
                    let y = 77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]);
                    // The weights sum to 256, so y >> 8 is at most 255.
                    (y >> 8) as u8
                })
                .collect(),
        };
        Frame {
            width: self.width,
            height: self.height,
            format: PixelFormat::Luma8,
            data,
            seq: self.seq,
        }
    }

    /// Encodes the frame as a PNG file's bytes (8-bit grey or RGB), e.g. to record a replay
    /// folder in the field.
    ///
    /// # Errors
    ///
    /// [`CameraErrorKind::BadFormat`] if `data` does not match the dimensions.
    pub fn to_png(&self) -> Result<Vec<u8>, CameraError> {
        let color = match self.format {
            PixelFormat::Luma8 => png::ColorType::Grayscale,
            PixelFormat::Rgb8 => png::ColorType::Rgb,
        };
        encode_png(self.width, self.height, color, &self.data)
            .map_err(|e| CameraError::with_source(CameraErrorKind::BadFormat, "PNG encoding", e))
    }
}

/// Encodes 8-bit samples as a PNG. Shared with the printer simulator.
pub(crate) fn encode_png(
    width: u32,
    height: u32,
    color: png::ColorType,
    data: &[u8],
) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(data)?;
    writer.finish()?;
    Ok(out)
}

/// What a [`FrameSource`] delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// Device or source name, for logs and the technician screen.
    pub name: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second; 0 means unpaced (as fast as asked).
    pub fps: u32,
}

/// What went wrong with a camera, at the granularity the UI reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CameraErrorKind {
    /// No camera (or no replay folder / images) found.
    NoDevice,
    /// Another process holds the camera.
    DeviceBusy,
    /// The camera disappeared while streaming.
    Unplugged,
    /// No frame arrived within the timeout.
    Timeout,
    /// The camera is open but stopped delivering usable frames (a stalled stream, or frames
    /// in a format the kiosk cannot decode).
    Stalled,
    /// The camera or file delivers an unusable format.
    BadFormat,
    /// Any other I/O failure.
    Io,
}

impl fmt::Display for CameraErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoDevice => "no camera found",
            Self::DeviceBusy => "camera is in use by another process",
            Self::Unplugged => "camera unplugged",
            Self::Timeout => "camera timed out",
            Self::Stalled => "camera stopped delivering frames",
            Self::BadFormat => "unusable image format",
            Self::Io => "camera I/O error",
        })
    }
}

hw_error!(
    /// A camera error: match on [`CameraError::kind`].
    CameraError,
    CameraErrorKind
);

/// A stream of frames.
pub trait FrameSource {
    /// Name, size and frame rate of the stream.
    fn info(&self) -> SourceInfo;

    /// The next frame, waiting at most `timeout` for it.
    ///
    /// # Errors
    ///
    /// [`CameraErrorKind::Timeout`] when no frame is due within `timeout`; device errors
    /// ([`CameraErrorKind::Unplugged`], [`CameraErrorKind::Io`], ...) otherwise.
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError>;

    /// The next frame, shared: a source that fans one stream out to several consumers
    /// ([`capture::CameraFeed`]) hands every consumer the same allocation, so a worker that
    /// only reads a frame never copies it. Other sources wrap [`FrameSource::next_frame`].
    ///
    /// # Errors
    ///
    /// As [`FrameSource::next_frame`].
    fn next_shared(&mut self, timeout: Duration) -> Result<Arc<Frame>, CameraError> {
        self.next_frame(timeout).map(Arc::new)
    }
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn info(&self) -> SourceInfo {
        (**self).info()
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        (**self).next_frame(timeout)
    }

    fn next_shared(&mut self, timeout: Duration) -> Result<Arc<Frame>, CameraError> {
        (**self).next_shared(timeout)
    }
}

/// Paces frames at a fixed rate against the monotonic clock.
#[derive(Debug)]
pub(crate) struct Pacer {
    period: Option<Duration>,
    next_due: Option<Instant>,
}

impl Pacer {
    /// `fps = 0`: no pacing at all.
    pub(crate) fn new(fps: u32) -> Self {
        let period = (fps > 0).then(|| Duration::from_secs(1) / fps);
        Self {
            period,
            next_due: None,
        }
    }

    /// Sleeps until the next frame is due.
    ///
    /// # Errors
    ///
    /// [`CameraErrorKind::Timeout`] (after sleeping `timeout`) when it is due later than that.
    pub(crate) fn wait(&mut self, timeout: Duration) -> Result<(), CameraError> {
        let Some(period) = self.period else {
            return Ok(());
        };
        let now = Instant::now();
        let due = self.next_due.unwrap_or(now);
        let wait = due.saturating_duration_since(now);
        if wait > timeout {
            std::thread::sleep(timeout);
            return Err(CameraError::new(
                CameraErrorKind::Timeout,
                format!("next frame due in {wait:?}, timeout {timeout:?}"),
            ));
        }
        std::thread::sleep(wait);
        // If the caller fell behind, restart the rhythm from now rather than bursting.
        self.next_due = Some(due.max(now) + period);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_to_luma() {
        let f = Frame {
            width: 3,
            height: 1,
            format: PixelFormat::Rgb8,
            data: vec![255, 255, 255, 0, 0, 0, 255, 0, 0],
            seq: 7,
        };
        let l = f.to_luma();
        assert_eq!(l.format, PixelFormat::Luma8);
        assert_eq!(l.data, vec![255, 0, 76]);
        assert_eq!(l.seq, 7);
        assert_eq!(l.to_luma(), l);
        assert!(!format!("{f:?}").contains("255"));
    }

    #[test]
    fn pacer_times_out_when_frame_not_due() {
        let mut p = Pacer::new(1);
        assert!(p.wait(Duration::ZERO).is_ok());
        let err = p
            .wait(Duration::from_millis(1))
            .expect_err("next frame due in ~1 s");
        assert_eq!(err.kind(), CameraErrorKind::Timeout);
        let mut unpaced = Pacer::new(0);
        for _ in 0..1000 {
            assert!(unpaced.wait(Duration::ZERO).is_ok());
        }
    }
}
