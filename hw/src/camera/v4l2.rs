//! [`V4l2Source`]: a V4L2 camera (`/dev/videoN`) through `nokhwa` (feature `v4l2`).
//!
//! nokhwa asks the camera for the format closest to the configured one (its `Closest`
//! request: MJPEG or YUYV, whichever the camera offers nearest in size and rate) and decodes
//! each frame to luma. The capture thread, the drop-oldest queue and the recovery after an
//! unplug are [`ThreadedSource`]'s (tested there with a fake device). A second camera (an IR
//! camera for later liveness work) is just another `V4l2Source` on its own device.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nokhwa::pixel_format::LumaFormat;
use nokhwa::utils::{
    CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};
use nokhwa::{Camera, NokhwaError};

use super::capture::{CaptureDevice, CaptureError, Negotiated, Opener, ThreadedSource};
use super::{CameraError, CameraErrorKind, Frame, FrameSource, PixelFormat, SourceInfo};

/// What to open and what to ask it for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V4l2Config {
    /// `/dev/videoN`.
    pub device: PathBuf,
    /// Wanted width; the camera's closest format is used.
    pub width: u32,
    /// Wanted height.
    pub height: u32,
    /// Wanted frame rate.
    pub fps: u32,
    /// Frames kept for the consumer; older ones are dropped (at least 1).
    pub queue: usize,
}

impl V4l2Config {
    /// `device` at 1280x720, 30 fps, a queue of 2 frames.
    pub fn new(device: impl Into<PathBuf>) -> Self {
        Self {
            device: device.into(),
            width: 1280,
            height: 720,
            fps: 30,
            queue: 2,
        }
    }
}

/// A V4L2 camera as a [`FrameSource`] of [`PixelFormat::Luma8`] frames.
#[derive(Debug)]
pub struct V4l2Source {
    inner: ThreadedSource,
}

impl V4l2Source {
    /// Opens the camera and starts streaming.
    ///
    /// # Errors
    ///
    /// [`CameraErrorKind::NoDevice`] for a path that is not `/dev/videoN` or a device that does
    /// not open, [`CameraErrorKind::DeviceBusy`] when another process streams from it,
    /// [`CameraErrorKind::BadFormat`] when no format can be negotiated.
    pub fn open(config: V4l2Config) -> Result<Self, CameraError> {
        let index = index_of(&config.device).ok_or_else(|| {
            CameraError::new(
                CameraErrorKind::NoDevice,
                format!(
                    "{} is not a V4L2 device path; use /dev/videoN",
                    config.device.display()
                ),
            )
        })?;
        let name = format!("v4l2:{}", config.device.display());
        let queue = config.queue;
        let opener: Opener = Arc::new(move || open_device(index, &config));
        Ok(Self {
            inner: ThreadedSource::open(name, opener, queue)?,
        })
    }

    /// The format, size and rate the camera agreed to.
    pub fn negotiated(&self) -> &Negotiated {
        self.inner.negotiated()
    }

    /// Frames dropped because the consumer was slower than the camera.
    pub fn dropped_frames(&self) -> u64 {
        self.inner.dropped_frames()
    }
}

impl FrameSource for V4l2Source {
    fn info(&self) -> SourceInfo {
        self.inner.info()
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        self.inner.next_frame(timeout)
    }
}

/// `/dev/videoN` -> `N`.
fn index_of(device: &Path) -> Option<u32> {
    device.to_str()?.strip_prefix("/dev/video")?.parse().ok()
}

struct NokhwaDevice {
    camera: Camera,
}

impl CaptureDevice for NokhwaDevice {
    fn capture(&mut self) -> Result<Frame, CaptureError> {
        let img = match self
            .camera
            .frame()
            .and_then(|b| b.decode_image::<LumaFormat>())
        {
            Ok(img) => img,
            // A corrupt MJPEG frame happens on a flaky cable: skip it.
            Err(e @ NokhwaError::ProcessFrameError { .. }) => {
                return Err(CaptureError::Skip(e.to_string()))
            }
            Err(e) => {
                return Err(CaptureError::Gone(
                    CameraErrorKind::Unplugged,
                    e.to_string(),
                ))
            }
        };
        let (width, height) = (img.width(), img.height());
        Ok(Frame {
            width,
            height,
            format: PixelFormat::Luma8,
            data: img.into_raw(),
            seq: 0,
        })
    }
}

impl Drop for NokhwaDevice {
    fn drop(&mut self) {
        // Stopping the stream fails on a device that is already gone; nothing to do then.
        let _ = self.camera.stop_stream();
    }
}

/// Runs on the capture thread: opens `/dev/video<index>` with the closest format.
fn open_device(
    index: u32,
    cfg: &V4l2Config,
) -> Result<(Box<dyn CaptureDevice>, Negotiated), CameraError> {
    let wanted = CameraFormat::new(
        Resolution::new(cfg.width, cfg.height),
        FrameFormat::MJPEG,
        cfg.fps,
    );
    let requested = RequestedFormat::new::<LumaFormat>(RequestedFormatType::Closest(wanted));
    let camera = Camera::new(CameraIndex::Index(index), requested)
        .and_then(|mut c| {
            c.open_stream()?;
            Ok(c)
        })
        .map_err(|e| open_error(&cfg.device, e))?;
    let fmt = camera.camera_format();
    let negotiated = Negotiated {
        name: camera.info().human_name(),
        width: fmt.resolution().width(),
        height: fmt.resolution().height(),
        fps: fmt.frame_rate(),
        format: fmt.format().to_string(),
    };
    Ok((Box::new(NokhwaDevice { camera }), negotiated))
}

fn open_error(device: &Path, e: NokhwaError) -> CameraError {
    let text = e.to_string();
    let kind = if text.contains("Device or resource busy") || text.contains("EBUSY") {
        CameraErrorKind::DeviceBusy
    } else if matches!(
        e,
        NokhwaError::OpenStreamError(_) | NokhwaError::SetPropertyError { .. }
    ) {
        CameraErrorKind::BadFormat
    } else {
        CameraErrorKind::NoDevice
    };
    CameraError::with_source(kind, format!("opening {}", device.display()), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dev_video_paths() {
        assert_eq!(index_of(Path::new("/dev/video2")), Some(2));
        assert_eq!(index_of(Path::new("/dev/sda")), None);
        let err = V4l2Source::open(V4l2Config::new("/tmp/not-a-camera")).expect_err("bad path");
        assert_eq!(err.kind(), CameraErrorKind::NoDevice);
    }

    #[test]
    fn a_missing_device_is_an_error_not_a_hang() {
        // No CI machine has /dev/video99.
        let err = V4l2Source::open(V4l2Config::new("/dev/video99")).expect_err("no camera");
        assert_ne!(err.kind(), CameraErrorKind::Timeout);
    }
}
