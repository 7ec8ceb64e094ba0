//! [`PatternSource`]: a synthetic moving test pattern.

use std::time::Duration;

use super::{CameraError, CameraErrorKind, Frame, FrameSource, Pacer, PixelFormat, SourceInfo};

/// Eight vertical colour bars with a white bar sweeping across, one step per frame, so a demo
/// screen visibly shows a live stream without any camera or image folder.
#[derive(Debug)]
pub struct PatternSource {
    width: u32,
    height: u32,
    fps: u32,
    seq: u64,
    pacer: Pacer,
}

/// The classic colour bars: white, yellow, cyan, green, magenta, red, blue, black.
const BARS: [[u8; 3]; 8] = [
    [235, 235, 235],
    [235, 235, 16],
    [16, 235, 235],
    [16, 235, 16],
    [235, 16, 235],
    [235, 16, 16],
    [16, 16, 235],
    [16, 16, 16],
];

impl PatternSource {
    /// A `width` x `height` Rgb8 pattern at `fps` frames per second (0: unpaced).
    ///
    /// # Errors
    ///
    /// [`CameraErrorKind::BadFormat`] if a dimension is 0 or above 8192.
    pub fn new(width: u32, height: u32, fps: u32) -> Result<Self, CameraError> {
        const MAX: u32 = 8192;
        if width == 0 || height == 0 || width > MAX || height > MAX {
            return Err(CameraError::new(
                CameraErrorKind::BadFormat,
                format!("pattern size {width}x{height}; each side must be 1..={MAX}"),
            ));
        }
        Ok(Self {
            width,
            height,
            fps,
            seq: 0,
            pacer: Pacer::new(fps),
        })
    }
}

impl FrameSource for PatternSource {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            name: "test-pattern".into(),
            width: self.width,
            height: self.height,
            fps: self.fps,
        }
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        self.pacer.wait(timeout)?;
        let (w, h) = (self.width as usize, self.height as usize);
        let sweep_width = (w / 32).max(1);
        let sweep_x = (self.seq as usize * 4) % w;
        let mut data = Vec::with_capacity(w * h * 3);
        for _y in 0..h {
            for x in 0..w {
                let in_sweep = x >= sweep_x && x < sweep_x + sweep_width;
                let px = if in_sweep {
                    [255, 255, 255]
                } else {
                    BARS[x * BARS.len() / w]
                };
                data.extend_from_slice(&px);
            }
        }
        let frame = Frame {
            width: self.width,
            height: self.height,
            format: PixelFormat::Rgb8,
            data,
            seq: self.seq,
        };
        self.seq += 1;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_move_and_have_the_right_shape() {
        let mut src = PatternSource::new(64, 8, 0).expect("valid size");
        let a = src.next_frame(Duration::ZERO).expect("frame");
        let b = src.next_frame(Duration::ZERO).expect("frame");
        assert_eq!(a.data.len(), 64 * 8 * 3);
        assert_eq!((a.seq, b.seq), (0, 1));
        assert_ne!(a.data, b.data);
        assert_eq!(src.info().width, 64);
        assert!(PatternSource::new(0, 8, 0).is_err());
    }
}
