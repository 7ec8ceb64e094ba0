//! Decoding a chip portrait (DG2's image: JPEG or JPEG 2000) or a photo file into RGB pixels.

use zeroize::Zeroize;

use crate::FaceError;

/// An owned RGB image (3 bytes per pixel), zeroed when dropped: it may be a citizen's face.
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for RgbImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbImage({}x{}, <redacted>)", self.width, self.height)
    }
}

impl Drop for RgbImage {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

impl RgbImage {
    /// Wraps pixels; `None` if the length does not match.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Option<Self> {
        (data.len() == width as usize * height as usize * 3).then_some(Self {
            width,
            height,
            data,
        })
    }

    /// From a grey plane.
    pub fn from_luma(width: u32, height: u32, luma: &[u8]) -> Option<Self> {
        if luma.len() != width as usize * height as usize {
            return None;
        }
        let data = luma.iter().flat_map(|&v| [v, v, v]).collect();
        Some(Self {
            width,
            height,
            data,
        })
    }

    /// Rec. 601 luma plane.
    pub fn to_luma(&self) -> Vec<u8> {
        self.data
            .chunks_exact(3)
            .map(|p| {
                ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000)
                    as u8
            })
            .collect()
    }
}

/// The encodings a portrait may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG (ISO/IEC 10918).
    Jpeg,
    /// JPEG 2000 (JP2 container or raw codestream).
    Jpeg2000,
    /// PNG (photo files only; a chip never carries one).
    Png,
}

/// Recognises the format from the first bytes.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x00\x00\x00\x0C\x6A\x50\x20\x20")
        || bytes.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
    {
        Some(ImageFormat::Jpeg2000)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else {
        None
    }
}

/// Decodes JPEG, JPEG 2000 or PNG bytes to RGB.
///
/// # Errors
/// [`FaceError::Image`] naming the format and what went wrong.
pub fn decode(bytes: &[u8]) -> Result<RgbImage, FaceError> {
    match sniff(bytes) {
        Some(ImageFormat::Jpeg) => decode_jpeg(bytes),
        Some(ImageFormat::Jpeg2000) => decode_jp2(bytes),
        Some(ImageFormat::Png) => decode_png(bytes),
        None => Err(FaceError::Image(
            "not a JPEG, JPEG 2000 or PNG image".into(),
        )),
    }
}

fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage, FaceError> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
    let data = dec
        .decode()
        .map_err(|e| FaceError::Image(format!("JPEG: {e}")))?;
    let (w, h) = dec
        .dimensions()
        .ok_or_else(|| FaceError::Image("JPEG: no dimensions".into()))?;
    RgbImage::new(w as u32, h as u32, data)
        .ok_or_else(|| FaceError::Image("JPEG: unexpected sample count".into()))
}

fn decode_jp2(bytes: &[u8]) -> Result<RgbImage, FaceError> {
    use hayro_jpeg2000::{ColorSpace, DecodeSettings, DecoderContext, Image};
    let err = |e: hayro_jpeg2000::DecodeError| FaceError::Image(format!("JPEG 2000: {e}"));
    let img = Image::new(bytes, &DecodeSettings::default()).map_err(err)?;
    let (w, h) = (img.width(), img.height());
    let channels = img.color_space().num_channels();
    let alpha = img.has_alpha();
    let gray = matches!(img.color_space(), ColorSpace::Gray);
    let mut ctx = DecoderContext::default();
    let decoded = img.decode(&mut ctx).map_err(err)?;
    let mut data = decoded.data_u8();
    let stride = usize::from(channels) + usize::from(alpha);
    let rgb = if gray {
        RgbImage::from_luma(
            w,
            h,
            &data.chunks_exact(stride).map(|p| p[0]).collect::<Vec<_>>(),
        )
    } else if channels == 3 {
        RgbImage::new(
            w,
            h,
            data.chunks_exact(stride)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        )
    } else {
        None
    };
    data.zeroize();
    rgb.ok_or_else(|| FaceError::Image(format!("JPEG 2000: {channels} colour channels")))
}

fn decode_png(bytes: &[u8]) -> Result<RgbImage, FaceError> {
    let frame = kiosk_hw::camera::decode_png(bytes, "image")
        .map_err(|e| FaceError::Image(format!("PNG: {e}")))?;
    match frame.format {
        kiosk_hw::PixelFormat::Rgb8 => RgbImage::new(frame.width, frame.height, frame.data.clone()),
        kiosk_hw::PixelFormat::Luma8 => RgbImage::from_luma(frame.width, frame.height, &frame.data),
        _ => None,
    }
    .ok_or_else(|| FaceError::Image("PNG: unexpected sample count".into()))
}
