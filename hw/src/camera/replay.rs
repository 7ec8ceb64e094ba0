//! [`ReplaySource`]: plays a folder of PNG images as a camera stream.

use std::io::{BufReader, Cursor};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{CameraError, CameraErrorKind, Frame, FrameSource, Pacer, PixelFormat, SourceInfo};

/// A folder of PNG images (`*.png`, sorted by file name) replayed as frames, looping forever.
///
/// Images are decoded when their turn comes, so long recordings do not sit in memory. Grey
/// images become [`PixelFormat::Luma8`] frames, colour images [`PixelFormat::Rgb8`]; alpha is
/// dropped, palettes and 16-bit samples are expanded/reduced to 8-bit. All images must have the
/// size of the first one.
#[derive(Debug)]
pub struct ReplaySource {
    name: String,
    files: Vec<PathBuf>,
    next: usize,
    seq: u64,
    width: u32,
    height: u32,
    fps: u32,
    pacer: Pacer,
}

impl ReplaySource {
    /// Opens `dir` and decodes its first image to learn the frame size. `fps = 0` delivers
    /// frames as fast as they are asked for.
    ///
    /// # Errors
    ///
    /// [`CameraErrorKind::NoDevice`] if the folder cannot be read or holds no `.png` file;
    /// [`CameraErrorKind::BadFormat`] if the first image does not decode (naming the file).
    pub fn open(dir: impl AsRef<Path>, fps: u32) -> Result<Self, CameraError> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            CameraError::with_source(
                CameraErrorKind::NoDevice,
                format!("cannot read replay folder {}", dir.display()),
                e,
            )
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| {
                CameraError::with_source(
                    CameraErrorKind::Io,
                    format!("listing replay folder {}", dir.display()),
                    e,
                )
            })?;
            let path = entry.path();
            let is_png = path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("png"))
                && path.is_file();
            if is_png {
                files.push(path);
            }
        }
        files.sort();
        let Some(first) = files.first() else {
            return Err(CameraError::new(
                CameraErrorKind::NoDevice,
                format!(
                    "no .png images in replay folder {}; add frames or fix the path",
                    dir.display()
                ),
            ));
        };
        let probe = decode(first)?;
        Ok(Self {
            name: format!("replay:{}", dir.display()),
            width: probe.width,
            height: probe.height,
            files,
            next: 0,
            seq: 0,
            fps,
            pacer: Pacer::new(fps),
        })
    }

    /// Number of images in the loop.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Always `false`: opening fails on an empty folder.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl FrameSource for ReplaySource {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            name: self.name.clone(),
            width: self.width,
            height: self.height,
            fps: self.fps,
        }
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        self.pacer.wait(timeout)?;
        let Some(path) = self.files.get(self.next) else {
            // Unreachable: `next` is kept below `files.len()`, which is at least 1.
            return Err(CameraError::new(
                CameraErrorKind::NoDevice,
                "replay list is empty",
            ));
        };
        let mut frame = decode(path)?;
        if (frame.width, frame.height) != (self.width, self.height) {
            return Err(CameraError::new(
                CameraErrorKind::BadFormat,
                format!(
                    "{} is {}x{}, the replay is {}x{}; all frames must have the same size",
                    path.display(),
                    frame.width,
                    frame.height,
                    self.width,
                    self.height
                ),
            ));
        }
        self.next = (self.next + 1) % self.files.len();
        frame.seq = self.seq;
        self.seq += 1;
        Ok(frame)
    }
}

/// Reads one PNG file as a frame (grey: [`PixelFormat::Luma8`], colour: [`PixelFormat::Rgb8`]),
/// as [`ReplaySource`] does for each of its images; for tools that look at single pictures.
///
/// # Errors
///
/// [`CameraErrorKind::Io`] if the file cannot be read, [`CameraErrorKind::BadFormat`] if it is
/// not a decodable PNG.
pub fn read_png(path: impl AsRef<Path>) -> Result<Frame, CameraError> {
    decode(path.as_ref())
}

/// Decodes one PNG file into an 8-bit Luma8 or Rgb8 frame.
fn decode(path: &Path) -> Result<Frame, CameraError> {
    let bytes = std::fs::read(path).map_err(|e| {
        CameraError::with_source(
            CameraErrorKind::Io,
            format!("reading {}", path.display()),
            e,
        )
    })?;
    decode_png(&bytes, &path.display().to_string())
}

/// Decodes PNG bytes into an 8-bit Luma8 or Rgb8 frame; `label` names the image in errors.
///
/// # Errors
///
/// [`CameraErrorKind::BadFormat`] if the bytes are not a decodable PNG.
pub fn decode_png(bytes: &[u8], label: &str) -> Result<Frame, CameraError> {
    let bad = |what: &str, e: Option<png::DecodingError>| {
        let detail = format!("{label}: {what}");
        match e {
            Some(e) => CameraError::with_source(CameraErrorKind::BadFormat, detail, e),
            None => CameraError::new(CameraErrorKind::BadFormat, detail),
        }
    };
    let mut decoder = png::Decoder::new(BufReader::new(Cursor::new(bytes)));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| bad("not a readable PNG", Some(e)))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad("image too large", None))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| bad("corrupt image data", Some(e)))?;
    buf.truncate(info.buffer_size());
    let (format, data) = match info.color_type {
        png::ColorType::Grayscale => (PixelFormat::Luma8, buf),
        png::ColorType::GrayscaleAlpha => (
            PixelFormat::Luma8,
            buf.chunks_exact(2).map(|p| p[0]).collect(),
        ),
        png::ColorType::Rgb => (PixelFormat::Rgb8, buf),
        png::ColorType::Rgba => (
            PixelFormat::Rgb8,
            buf.chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        ),
        png::ColorType::Indexed => return Err(bad("palette was not expanded", None)),
    };
    let expected = info.width as usize * info.height as usize * format.bytes_per_pixel();
    if data.len() != expected || info.bit_depth != png::BitDepth::Eight {
        return Err(bad("unexpected sample layout after decoding", None));
    }
    Ok(Frame {
        width: info.width,
        height: info.height,
        format,
        data,
        seq: 0,
    })
}
