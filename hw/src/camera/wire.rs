//! What a camera sends and how it becomes a [`Frame`]: the choice of wire format and size
//! among what a camera offers, MJPEG decoding (pure-Rust `zune-jpeg`) and YUYV conversion.
//!
//! Pure (bytes in, frames out), so the default build tests it; the V4L2 driver
//! (`camera::v4l2`, feature `v4l2`) only moves the bytes. Frames come out as
//! [`PixelFormat::Rgb8`]: the face check wants colour, the QR decoder takes its own luma copy.

use std::fmt;

use super::{Frame, PixelFormat};

/// The wire formats the kiosk decodes. USB (UVC) cameras offer MJPEG at 1280x720 and 30 fps;
/// YUYV is uncompressed and usually slower at that size over USB 2, hence the preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wire {
    /// Motion JPEG: one JPEG per frame, often without Huffman tables.
    Mjpeg,
    /// YUYV 4:2:2, two bytes per pixel.
    Yuyv,
}

impl Wire {
    /// The V4L2 four-character code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            Self::Mjpeg => *b"MJPG",
            Self::Yuyv => *b"YUYV",
        }
    }

    /// The wire format of a V4L2 four-character code, if the kiosk decodes it.
    pub fn from_fourcc(code: [u8; 4]) -> Option<Self> {
        match &code {
            b"MJPG" => Some(Self::Mjpeg),
            b"YUYV" => Some(Self::Yuyv),
            _ => None,
        }
    }
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mjpeg => "MJPG",
            Self::Yuyv => "YUYV",
        })
    }
}

/// One format a camera offers and the frame sizes it offers it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// V4L2 four-character code.
    pub fourcc: [u8; 4],
    /// Frame sizes (width, height).
    pub sizes: Vec<(u32, u32)>,
}

/// The format and size to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// Wire format.
    pub wire: Wire,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Picks the offered size nearest to `want` (width, height) in a format the kiosk decodes,
/// MJPEG before YUYV at the same size.
///
/// # Errors
///
/// A sentence for the technician when the camera offers neither MJPEG nor YUYV, naming what
/// it offers.
pub fn choose(offers: &[Offer], want: (u32, u32)) -> Result<Choice, String> {
    let distance =
        |(w, h): (u32, u32)| u64::from(w.abs_diff(want.0)) + u64::from(h.abs_diff(want.1));
    offers
        .iter()
        .filter_map(|o| Some((Wire::from_fourcc(o.fourcc)?, &o.sizes)))
        .flat_map(|(wire, sizes)| sizes.iter().map(move |&s| (wire, s)))
        .filter(|&(_, (w, h))| w > 0 && h > 0)
        .min_by_key(|&(wire, size)| (distance(size), wire == Wire::Yuyv))
        .map(|(wire, (width, height))| Choice {
            wire,
            width,
            height,
        })
        .ok_or_else(|| {
            let offered: Vec<String> = offers.iter().map(|o| fourcc_text(o.fourcc)).collect();
            format!(
                "the camera offers {} but the kiosk needs MJPG or YUYV; use a UVC camera \
                 with MJPEG (most USB cameras), or set its format with v4l2-ctl",
                if offered.is_empty() {
                    "no capture format".to_owned()
                } else {
                    offered.join(", ")
                }
            )
        })
}

/// A four-character code as text (`?` for bytes that are not printable).
pub fn fourcc_text(code: [u8; 4]) -> String {
    code.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

/// The bytes of one frame as the camera sent them, with the format it agreed to.
#[derive(Debug, Clone, Copy)]
pub struct RawFrame<'a> {
    /// Wire format.
    pub wire: Wire,
    /// Negotiated width.
    pub width: u32,
    /// Negotiated height.
    pub height: u32,
    /// Bytes per YUYV row (at least `2 * width`; ignored for MJPEG).
    pub stride: u32,
    /// The payload (a V4L2 buffer's `bytesused`).
    pub bytes: &'a [u8],
}

/// Decodes one frame to [`PixelFormat::Rgb8`].
///
/// # Errors
///
/// Why the frame is unusable (truncated, corrupt, another size than negotiated): one bad frame
/// is skipped, a camera that sends only such frames is a stalled camera.
pub fn decode(raw: RawFrame<'_>) -> Result<Frame, String> {
    let data = match raw.wire {
        Wire::Yuyv => yuyv_to_rgb(raw.bytes, raw.width, raw.height, raw.stride)?,
        Wire::Mjpeg => {
            let (w, h, data) = mjpeg_to_rgb(raw.bytes)?;
            if (w, h) != (raw.width, raw.height) {
                return Err(format!(
                    "MJPEG frame of {w}x{h}, negotiated {}x{}",
                    raw.width, raw.height
                ));
            }
            data
        }
    };
    Ok(Frame {
        width: raw.width,
        height: raw.height,
        format: PixelFormat::Rgb8,
        data,
        seq: 0,
    })
}

/// `width * height * bpp` without overflow.
fn area(width: u32, height: u32, bpp: usize) -> Result<usize, String> {
    usize::try_from(width)
        .ok()
        .and_then(|w| w.checked_mul(usize::try_from(height).ok()?))
        .and_then(|a| a.checked_mul(bpp))
        .ok_or_else(|| format!("{width}x{height} is too large"))
}

/// YUYV 4:2:2 (Y0 U Y1 V per two pixels, BT.601 limited range, as UVC cameras send it) to
/// RGB, integer arithmetic.
///
/// # Errors
///
/// An odd width, a stride shorter than a row, or fewer bytes than `stride * height`.
pub fn yuyv_to_rgb(bytes: &[u8], width: u32, height: u32, stride: u32) -> Result<Vec<u8>, String> {
    if width % 2 != 0 {
        return Err(format!("YUYV width {width} is odd"));
    }
    let row = area(width, 1, 2)?;
    let stride = usize::try_from(stride).map_err(|_| "stride too large".to_owned())?;
    let stride = if stride == 0 { row } else { stride };
    if stride < row {
        return Err(format!(
            "YUYV stride {stride} is shorter than a row of {row} bytes"
        ));
    }
    let rows = usize::try_from(height).map_err(|_| "height too large".to_owned())?;
    // The last row need not be padded to the stride.
    let needed = stride
        .checked_mul(rows.saturating_sub(1))
        .and_then(|n| n.checked_add(if rows == 0 { 0 } else { row }))
        .ok_or_else(|| "YUYV frame size overflows".to_owned())?;
    if bytes.len() < needed {
        return Err(format!(
            "YUYV frame of {} bytes, {width}x{height} needs {needed}",
            bytes.len()
        ));
    }
    let mut out = Vec::with_capacity(area(width, height, 3)?);
    for r in 0..rows {
        // r * stride + row <= needed <= bytes.len(), checked above.
        let start = r * stride;
        for px in bytes[start..start + row].chunks_exact(4) {
            let (y0, u, y1, v) = (px[0], px[1], px[2], px[3]);
            out.extend_from_slice(&yuv_to_rgb(y0, u, v));
            out.extend_from_slice(&yuv_to_rgb(y1, u, v));
        }
    }
    Ok(out)
}

/// One BT.601 limited-range pixel to RGB (the integer form of ITU-R BT.601).
fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = 298 * (i32::from(y) - 16);
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clamp = |x: i32| (x >> 8).clamp(0, 255) as u8;
    [
        clamp(c + 409 * e + 128),
        clamp(c - 100 * d - 208 * e + 128),
        clamp(c + 516 * d + 128),
    ]
}

/// Decodes one MJPEG frame to RGB: (width, height, samples).
///
/// UVC cameras usually leave the Huffman tables out of their frames (the tables of JPEG
/// Annex K are implied). `zune-jpeg` fills them in for frames marked `AVI1`; a frame with
/// neither tables nor that mark gets the mark here, in a copy.
///
/// # Errors
///
/// A corrupt or truncated JPEG.
pub fn mjpeg_to_rgb(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let header = scan_header(bytes)?;
    let patched;
    let input = if header.has_dht || header.has_avi1 {
        bytes
    } else {
        // SOI, then APP0 "AVI1\0" (length 7 counts its own two bytes), then the rest.
        let mut v = Vec::with_capacity(bytes.len().saturating_add(9));
        v.extend_from_slice(&bytes[..2]);
        v.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'A', b'V', b'I', b'1', 0x00]);
        v.extend_from_slice(&bytes[2..]);
        patched = v;
        &patched
    };
    let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(input), opts);
    let data = dec.decode().map_err(|e| format!("MJPEG: {e}"))?;
    let (w, h) = dec
        .dimensions()
        .ok_or_else(|| "MJPEG: no frame header".to_owned())?;
    let (w, h) = (
        u32::try_from(w).map_err(|_| "MJPEG: width")?,
        u32::try_from(h).map_err(|_| "MJPEG: height")?,
    );
    if data.len() != area(w, h, 3)? {
        return Err(format!("MJPEG: {} samples for {w}x{h}", data.len()));
    }
    Ok((w, h, data))
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Header {
    has_dht: bool,
    has_avi1: bool,
}

/// Walks the JPEG markers up to the start of scan.
fn scan_header(bytes: &[u8]) -> Result<Header, String> {
    if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err("MJPEG: not a JPEG (no SOI marker)".into());
    }
    let mut header = Header::default();
    let mut at = 2usize;
    loop {
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err("MJPEG: truncated or corrupt header".into());
        };
        if marker == 0xFF {
            // Fill byte before a marker.
            at += 1;
            continue;
        }
        if marker == 0xDA {
            return Ok(header);
        }
        let len = bytes
            .get(at + 2..at + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .filter(|&l| l >= 2)
            .ok_or_else(|| "MJPEG: bad segment length".to_owned())?;
        match marker {
            0xC4 => header.has_dht = true,
            0xE0 if bytes.get(at + 4..at + 8) == Some(b"AVI1") => header.has_avi1 = true,
            _ => {}
        }
        at = at
            .checked_add(2 + len)
            .filter(|&n| n < bytes.len())
            .ok_or_else(|| "MJPEG: truncated header".to_owned())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTRAIT: &[u8] = include_bytes!("../../vcard/fixtures/portrait.jpg");

    fn offer(code: &[u8; 4], sizes: &[(u32, u32)]) -> Offer {
        Offer {
            fourcc: *code,
            sizes: sizes.to_vec(),
        }
    }

    #[track_caller]
    fn check(offers: &[Offer], want: (u32, u32), expect: Result<(Wire, u32, u32), &str>) {
        let got = choose(offers, want).map(|c| (c.wire, c.width, c.height));
        match (got, expect) {
            (Ok(g), Ok(e)) => assert_eq!(g, e),
            (Err(g), Err(e)) => assert!(g.contains(e), "{g}"),
            (g, e) => panic!("got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn format_choice() {
        let hd = (1280, 720);
        let uvc = [
            offer(b"YUYV", &[(640, 480), (1280, 720)]),
            offer(b"MJPG", &[(640, 480), (1280, 720), (1920, 1080)]),
        ];
        check(&uvc, hd, Ok((Wire::Mjpeg, 1280, 720)));
        // Only YUYV at the wanted size: YUYV there beats MJPEG elsewhere.
        let yuyv_hd = [
            offer(b"YUYV", &[(1280, 720)]),
            offer(b"MJPG", &[(1920, 1080)]),
        ];
        check(&yuyv_hd, hd, Ok((Wire::Yuyv, 1280, 720)));
        // No 720p at all: the nearest size.
        let vga = [offer(b"MJPG", &[(320, 240), (640, 480), (1920, 1080)])];
        check(&vga, hd, Ok((Wire::Mjpeg, 640, 480)));
        // Formats the kiosk cannot decode are named in the error, with the fix.
        let h264 = [
            offer(b"H264", &[(1280, 720)]),
            offer(b"GREY", &[(640, 480)]),
        ];
        check(
            &h264,
            hd,
            Err("offers H264, GREY but the kiosk needs MJPG or YUYV"),
        );
        check(&[], hd, Err("no capture format"));
        check(&[offer(b"MJPG", &[(0, 0)])], hd, Err("MJPG"));
        assert_eq!(fourcc_text([b'Y', 0, 0xFF, b'V']), "Y??V");
    }

    /// Y, U, Y, V for two pixels of the same colour.
    fn yuyv_pair(y: u8, u: u8, v: u8) -> [u8; 4] {
        [y, u, y, v]
    }

    #[test]
    fn yuyv_colours() {
        let mut bytes = Vec::new();
        for (y, u, v) in [
            (235, 128, 128),
            (16, 128, 128),
            (81, 90, 240),
            (145, 54, 34),
        ] {
            bytes.extend_from_slice(&yuyv_pair(y, u, v));
        }
        let rgb = yuyv_to_rgb(&bytes, 8, 1, 0).expect("converts");
        let px = |i: usize| [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]];
        assert_eq!(px(0), [255, 255, 255]);
        assert_eq!(px(1), [255, 255, 255]);
        assert_eq!(px(2), [0, 0, 0]);
        // BT.601 red and green, within rounding.
        let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 2);
        assert!(near(px(4), [255, 0, 0]), "{:?}", px(4));
        assert!(near(px(6), [0, 255, 0]), "{:?}", px(6));
    }

    #[test]
    fn yuyv_stride_and_bad_lengths() {
        // Two rows of 2 pixels, each row padded to 8 bytes; the last row unpadded.
        let bytes = [235, 128, 235, 128, 0xAA, 0xAA, 0xAA, 0xAA, 16, 128, 16, 128];
        let rgb = yuyv_to_rgb(&bytes, 2, 2, 8).expect("converts");
        assert_eq!(rgb, [255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0]);
        assert!(yuyv_to_rgb(&bytes[..11], 2, 2, 8)
            .expect_err("short")
            .contains("needs 12"));
        assert!(yuyv_to_rgb(&bytes, 3, 1, 0)
            .expect_err("odd")
            .contains("odd"));
        assert!(yuyv_to_rgb(&bytes, 2, 1, 2)
            .expect_err("stride")
            .contains("shorter"));
        assert!(yuyv_to_rgb(&[], u32::MAX - 1, u32::MAX, 0).is_err());
    }

    /// The fixture without its Huffman tables: what a UVC camera sends.
    fn without_dht(jpeg: &[u8]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        let mut at = 2;
        loop {
            let marker = jpeg[at + 1];
            if marker == 0xDA {
                out.extend_from_slice(&jpeg[at..]);
                return out;
            }
            let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            if marker != 0xC4 {
                out.extend_from_slice(&jpeg[at..at + 2 + len]);
            }
            at += 2 + len;
        }
    }

    #[test]
    fn mjpeg_with_and_without_huffman_tables() {
        let (w, h, full) = mjpeg_to_rgb(PORTRAIT).expect("decodes");
        assert_eq!((w, h, full.len()), (360, 480, 360 * 480 * 3));
        let bare = without_dht(PORTRAIT);
        assert_eq!(scan_header(&bare), Ok(Header::default()));
        // The fixture uses the Annex K tables, so the implied ones give the same pixels.
        let (_, _, implied) = mjpeg_to_rgb(&bare).expect("decodes without DHT");
        assert_eq!(implied, full);
        let frame = decode(RawFrame {
            wire: Wire::Mjpeg,
            width: 360,
            height: 480,
            stride: 0,
            bytes: &bare,
        })
        .expect("frame");
        assert_eq!(
            (frame.format, frame.data.len()),
            (PixelFormat::Rgb8, full.len())
        );
    }

    #[test]
    fn broken_mjpeg_frames_are_errors() {
        let raw = |bytes| RawFrame {
            wire: Wire::Mjpeg,
            width: 360,
            height: 480,
            stride: 0,
            bytes,
        };
        assert!(decode(raw(b"not a jpeg"))
            .expect_err("no SOI")
            .contains("SOI"));
        assert!(decode(raw(&PORTRAIT[..300])).is_err());
        assert!(decode(raw(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00])).is_err());
        // Another size than negotiated.
        let other = RawFrame {
            width: 1280,
            height: 720,
            ..raw(PORTRAIT)
        };
        assert!(decode(other)
            .expect_err("size")
            .contains("negotiated 1280x720"));
        // Every truncation is an error or a frame, never a panic.
        for n in (0..PORTRAIT.len()).step_by(97) {
            let _ = decode(raw(&PORTRAIT[..n]));
        }
    }
}
