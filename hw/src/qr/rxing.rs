//! [`CameraQrScanner`]: QR codes read from a [`FrameSource`], decoded with `rxing` on luma.
//!
//! Two layers:
//!
//! - [`QrDecoder`] is pure: one [`Frame`] in, a [`FrameDecode`] out. The benchmark, `kioskctl
//!   qr decode` and the scanner all go through it.
//! - [`CameraQrScanner`] implements [`QrScanner`] over any [`FrameSource`]: `poll` pulls frames
//!   until a code decodes or the timeout passes. It blocks, so it runs on the identify worker's
//!   thread (see `kiosk-app`'s `devices`), never on the UI thread; with a paced source it decodes
//!   at most one frame per camera frame, and a V4L2 source drops stale frames itself, so a slow
//!   decode never builds latency.
//!
//! rxing is built with QR support only (`default-features = false`, features `qrcode`,
//! `decoders`, `encoders`, `encoding_rs`): no `image` crate, no other symbologies.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ::rxing::{BarcodeFormat, DecodeHints, Exceptions, Point};

use super::{QrError, QrErrorKind, QrScan, QrScanner};
use crate::camera::{CameraErrorKind, Frame, FrameSource, PixelFormat};
use crate::Personal;

/// A decoded payload longer than this is refused: QR version 40 holds at most 2953 bytes, and
/// anything near that is not a CCCD, a receipt or an enrolment code.
pub const MAX_TEXT_BYTES: usize = 4096;

/// What one frame held.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FrameDecode {
    /// A code decoded.
    Found(QrScan),
    /// Finder patterns were seen but the code did not decode (blur, glare, partly covered):
    /// worth telling the citizen to hold the card still.
    Unreadable,
    /// No code in the frame.
    NoCode,
}

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrDecodeOptions {
    /// rxing's "try harder": a denser finder-pattern search; needed for small or tilted codes.
    pub try_harder: bool,
    /// Also look for light-on-dark (inverted) codes; costs a second pass on frames without a
    /// normal code.
    pub also_inverted: bool,
}

impl Default for QrDecodeOptions {
    fn default() -> Self {
        Self {
            try_harder: true,
            also_inverted: false,
        }
    }
}

/// Decodes QR codes in single frames. Pure and cheap to create.
#[derive(Debug, Clone, Default)]
pub struct QrDecoder {
    options: QrDecodeOptions,
}

impl QrDecoder {
    /// A decoder with `options`.
    pub fn new(options: QrDecodeOptions) -> Self {
        Self { options }
    }

    /// Looks for one QR code in `frame` (Rgb8 frames are converted to luma first).
    ///
    /// With two codes in view the one rxing finds first is returned; the citizen is asked to
    /// show one card at a time, and a second poll sees the next frame anyway.
    pub fn decode(&self, frame: &Frame) -> FrameDecode {
        if frame.width == 0 || frame.height == 0 {
            return FrameDecode::NoCode;
        }
        // Luma frames (what V4L2 and grey replays deliver) are decoded in place.
        let converted;
        let luma: &[u8] = match frame.format {
            PixelFormat::Luma8 => &frame.data,
            _ => {
                converted = frame.to_luma();
                &converted.data
            }
        };
        let expected = frame.width as usize * frame.height as usize;
        if luma.len() != expected {
            return FrameDecode::NoCode;
        }
        let mut hints = DecodeHints {
            PossibleFormats: Some(HashSet::from([BarcodeFormat::QR_CODE])),
            TryHarder: Some(self.options.try_harder),
            AlsoInverted: Some(self.options.also_inverted),
            ..DecodeHints::default()
        };
        let result = ::rxing::helpers::detect_in_luma_slice_with_hints(
            luma,
            frame.width,
            frame.height,
            Some(BarcodeFormat::QR_CODE),
            &mut hints,
        );
        match result {
            Ok(r) => {
                let text = r.getText();
                if text.len() > MAX_TEXT_BYTES {
                    return FrameDecode::Unreadable;
                }
                FrameDecode::Found(QrScan {
                    text: Personal::new(text.to_owned()),
                    bounds: corners(r.getPoints()),
                })
            }
            Err(Exceptions::ChecksumException(_) | Exceptions::FormatException(_)) => {
                FrameDecode::Unreadable
            }
            Err(_) => FrameDecode::NoCode,
        }
    }
}

/// Outer corners of the code (clockwise from top-left) from rxing's points, whose first three
/// are the centres of the three finder patterns (the order varies with the decoding path, so
/// it is recovered here: the top-left finder is the one opposite the longest side, and
/// top-right follows it clockwise). A finder centre sits 3.5 modules inside the corner; the
/// module count is not reported, so the corners are extrapolated for a version-6 code (41
/// modules, about what a CCCD payload needs): good to a module or two, enough for the UI's
/// guide frame.
fn corners(points: &[Point]) -> Option<[(f32, f32); 4]> {
    let [a, b, c, ..] = points else {
        return None;
    };
    let d2 = |p: &Point, q: &Point| (p.x - q.x).powi(2) + (p.y - q.y).powi(2);
    // The side opposite each point; the longest is the diagonal between top-right and
    // bottom-left.
    let (tl, p, q) = [(a, b, c), (b, a, c), (c, a, b)]
        .into_iter()
        .max_by(|x, y| d2(x.1, x.2).total_cmp(&d2(y.1, y.2)))?;
    // Image y points down: top-left -> top-right -> bottom-left turns clockwise, cross > 0.
    let cross = (p.x - tl.x) * (q.y - tl.y) - (p.y - tl.y) * (q.x - tl.x);
    let (tr, bl) = if cross > 0.0 { (p, q) } else { (q, p) };
    // Finder centres are (41 - 7) modules apart; 3.5 modules of that is this fraction.
    const K: f32 = 3.5 / 34.0;
    let u = (tr.x - tl.x, tr.y - tl.y);
    let v = (bl.x - tl.x, bl.y - tl.y);
    let at = |p: (f32, f32), a: f32, b: f32| (p.0 + a * u.0 + b * v.0, p.1 + a * u.1 + b * v.1);
    let br = (tr.x + v.0, tr.y + v.1);
    Some([
        at((tl.x, tl.y), -K, -K),
        at((tr.x, tr.y), K, -K),
        at(br, K, K),
        at((bl.x, bl.y), -K, K),
    ])
}

/// A [`QrScanner`] that films codes with a [`FrameSource`] and decodes them with
/// [`QrDecoder`].
#[derive(Debug)]
pub struct CameraQrScanner<S> {
    source: S,
    decoder: QrDecoder,
    frames_decoded: u64,
}

impl<S: FrameSource> CameraQrScanner<S> {
    /// Scans frames of `source` with the default [`QrDecodeOptions`].
    pub fn new(source: S) -> Self {
        Self::with_decoder(source, QrDecoder::default())
    }

    /// Scans frames of `source` with `decoder`.
    pub fn with_decoder(source: S, decoder: QrDecoder) -> Self {
        Self {
            source,
            decoder,
            frames_decoded: 0,
        }
    }

    /// Frames looked at so far (for the technician's camera test).
    pub fn frames_decoded(&self) -> u64 {
        self.frames_decoded
    }

    /// The frame source, e.g. to read its [`crate::camera::SourceInfo`].
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Gives the frame source back.
    pub fn into_source(self) -> S {
        self.source
    }
}

impl<S: FrameSource> QrScanner for CameraQrScanner<S> {
    fn poll(&mut self, timeout: Duration) -> Result<Option<QrScan>, QrError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut unreadable = 0u32;
        loop {
            let remaining = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            // Shared: behind the camera hub this is the same frame the face worker sees.
            let frame = match self.source.next_shared(remaining) {
                Ok(f) => f,
                Err(e) if e.kind() == CameraErrorKind::Timeout => break,
                Err(e) => {
                    // The camera is this scanner's device: "not there or unusable" is
                    // NoDevice, "went away or stopped working" is Unplugged (the UI offers a
                    // retry; a V4L2 source reopens the device on the next frame).
                    let kind = match e.kind() {
                        CameraErrorKind::NoDevice
                        | CameraErrorKind::DeviceBusy
                        | CameraErrorKind::BadFormat => QrErrorKind::NoDevice,
                        _ => QrErrorKind::Unplugged,
                    };
                    return Err(QrError::with_source(
                        kind,
                        "camera frame for QR scanning",
                        e,
                    ));
                }
            };
            self.frames_decoded += 1;
            match self.decoder.decode(&frame) {
                FrameDecode::Found(scan) => return Ok(Some(scan)),
                FrameDecode::Unreadable => unreadable += 1,
                FrameDecode::NoCode => {}
            }
            if remaining.is_zero() {
                break;
            }
        }
        if unreadable > 0 {
            return Err(QrError::new(
                QrErrorKind::Decode,
                format!("a QR code was seen in {unreadable} frame(s) but did not decode"),
            ));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_extrapolate_outwards() {
        let (bl, tl, tr) = (
            Point { x: 10.0, y: 44.0 },
            Point { x: 10.0, y: 10.0 },
            Point { x: 44.0, y: 10.0 },
        );
        // Whatever order rxing reports the finders in, the corners come out the same.
        for pts in [[bl, tl, tr], [tl, tr, bl], [tr, bl, tl], [tl, bl, tr]] {
            let c = corners(&pts).expect("three points");
            let near =
                |p: (f32, f32), x: f32, y: f32| (p.0 - x).abs() < 1e-4 && (p.1 - y).abs() < 1e-4;
            assert!(near(c[0], 6.5, 6.5), "{c:?}");
            assert!(near(c[1], 47.5, 6.5), "{c:?}");
            assert!(near(c[2], 47.5, 47.5), "{c:?}");
            assert!(near(c[3], 6.5, 47.5), "{c:?}");
        }
        assert_eq!(corners(&[bl, tl]), None);
    }

    #[test]
    fn blank_and_empty_frames_hold_no_code() {
        let d = QrDecoder::default();
        let blank = Frame {
            width: 64,
            height: 48,
            format: PixelFormat::Luma8,
            data: vec![200; 64 * 48],
            seq: 0,
        };
        assert_eq!(d.decode(&blank), FrameDecode::NoCode);
        let empty = Frame {
            width: 0,
            height: 0,
            format: PixelFormat::Luma8,
            data: vec![],
            seq: 0,
        };
        assert_eq!(d.decode(&empty), FrameDecode::NoCode);
        let short = Frame {
            data: vec![0; 10],
            ..blank
        };
        assert_eq!(d.decode(&short), FrameDecode::NoCode);
    }
}
