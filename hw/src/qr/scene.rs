//! Synthetic camera scenes: a QR code printed on a card-sized area, filmed badly.
//!
//! This is the camera-side simulator of the QR path: it renders any text as a QR code (with
//! rxing's encoder), prints it onto an ID-card-shaped area (85.6 x 54 mm, the code near the
//! right edge as on a CCCD), places the card in the frame with rotation and perspective, then
//! adds defocus blur, sensor noise and a specular glare spot. Tests, the benchmark and the
//! frame generator example of `kiosk-qr` build their frames here, so the set can grow without
//! any photo of a real card. Everything is deterministic for a given [`Scene::seed`].

use ::rxing::qrcode::QRCodeWriter;
use ::rxing::{BarcodeFormat, EncodeHints, Writer as _};

use super::{QrError, QrErrorKind};
use crate::camera::{Frame, PixelFormat};

/// How the card is filmed. All effects are off in [`Scene::clean`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scene {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Card width as a fraction of the frame width.
    pub card_fraction: f32,
    /// In-plane rotation of the card, degrees.
    pub rotation_deg: f32,
    /// Keystone: 0 is a card parallel to the sensor, 0.2 a clearly tilted one.
    pub perspective: f32,
    /// Gaussian defocus blur, standard deviation in pixels (0: sharp).
    pub blur_sigma: f32,
    /// Gaussian sensor noise, standard deviation in grey levels.
    pub noise: f32,
    /// Peak brightness added by a glare spot, 0..=1 of full scale.
    pub glare: f32,
    /// Light modules on dark ground.
    pub inverted: bool,
    /// Seed of every random choice (card position jitter, noise, glare place).
    pub seed: u64,
}

impl Scene {
    /// A sharp, straight card filling 70 % of the frame width (held at the distance the
    /// kiosk's guide frame asks for), no noise or glare.
    pub fn clean(width: u32, height: u32, seed: u64) -> Self {
        Self {
            width,
            height,
            card_fraction: 0.7,
            rotation_deg: 0.0,
            perspective: 0.0,
            blur_sigma: 0.0,
            noise: 0.0,
            glare: 0.0,
            inverted: false,
            seed,
        }
    }

    /// A hand-held card: tilted, rotated, out of focus, noisy, with glare, varied by `seed`.
    pub fn noisy(width: u32, height: u32, seed: u64) -> Self {
        let mut rng = SplitMix(seed ^ 0x5EED);
        Self {
            width,
            height,
            card_fraction: 0.7 + 0.2 * rng.unit(),
            rotation_deg: -15.0 + 30.0 * rng.unit(),
            perspective: 0.03 + 0.07 * rng.unit(),
            blur_sigma: 0.5 + 0.8 * rng.unit(),
            noise: 4.0 + 6.0 * rng.unit(),
            glare: 0.2 + 0.3 * rng.unit(),
            inverted: false,
            seed,
        }
    }
}

/// A frame with `text` as a QR code on a card filmed as `scene` says (a [`PixelFormat::Luma8`]
/// frame).
///
/// # Errors
///
/// [`QrErrorKind::Decode`] if `text` cannot be encoded (empty, or too long for a QR code);
/// [`QrErrorKind::NoDevice`] if the frame size is 0 or above 8192 on a side.
pub fn render_qr(text: &str, scene: &Scene) -> Result<Frame, QrError> {
    let (w, h) = (scene.width, scene.height);
    if w == 0 || h == 0 || w > 8192 || h > 8192 {
        return Err(QrError::new(
            QrErrorKind::NoDevice,
            format!("scene size {w}x{h}; each side must be 1..=8192"),
        ));
    }
    let card = render_card(text, scene.inverted)?;
    let mut rng = SplitMix(scene.seed);
    let mut out = background(w, h, &mut rng);
    // The card quad in the frame: centred with some jitter, rotated, keystoned.
    let (fw, fh) = (w as f32, h as f32);
    let cw = scene.card_fraction.clamp(0.05, 1.5) * fw;
    let ch = cw * CARD_H / CARD_W;
    let cx = fw / 2.0 + (rng.unit() - 0.5) * 0.1 * fw;
    let cy = fh / 2.0 + (rng.unit() - 0.5) * 0.1 * fh;
    let (s, c) = scene.rotation_deg.to_radians().sin_cos();
    let k = scene.perspective.clamp(0.0, 0.5);
    // Keystone: the top edge shrinks by k (a card tilted back), plus a little random skew.
    let skew = (rng.unit() - 0.5) * k;
    let local = [
        (-cw / 2.0 * (1.0 - k), -ch / 2.0),
        (cw / 2.0 * (1.0 - k), -ch / 2.0 + skew * ch),
        (cw / 2.0, ch / 2.0),
        (-cw / 2.0, ch / 2.0 - skew * ch),
    ];
    let quad = local.map(|(x, y)| (cx + x * c - y * s, cy + x * s + y * c));
    // Frame pixel -> card unit square, through the inverse of the square-to-quad homography.
    if let Some(inv) = square_to_quad(quad).and_then(invert) {
        for y in 0..h {
            for x in 0..w {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let z = inv[6] * px + inv[7] * py + inv[8];
                if z.abs() < 1e-9 {
                    continue;
                }
                let u = (inv[0] * px + inv[1] * py + inv[2]) / z;
                let v = (inv[3] * px + inv[4] * py + inv[5]) / z;
                if (0.0..1.0).contains(&u) && (0.0..1.0).contains(&v) {
                    out[(y * w + x) as usize] = card.sample(u, v);
                }
            }
        }
    }
    if scene.glare > 0.0 {
        add_glare(&mut out, w, h, &quad, scene.glare, &mut rng);
    }
    if scene.blur_sigma > 0.0 {
        out = gaussian_blur(&out, w as usize, h as usize, scene.blur_sigma);
    }
    if scene.noise > 0.0 {
        let mut data: Vec<f32> = out;
        for p in &mut data {
            *p += scene.noise * rng.gaussian();
        }
        out = data;
    }
    Ok(Frame {
        width: w,
        height: h,
        format: PixelFormat::Luma8,
        // Clamped to 0..=255 first, so the cast cannot truncate.
        data: out
            .iter()
            .map(|&v| v.round().clamp(0.0, 255.0) as u8)
            .collect(),
        seq: 0,
    })
}

/// ID-1 card size in millimetres.
const CARD_W: f32 = 85.6;
const CARD_H: f32 = 53.98;
/// Raster resolution of the card, pixels per millimetre (well above what the camera resolves).
const PX_PER_MM: f32 = 12.0;

/// The card face as a grey raster.
struct Card {
    w: usize,
    h: usize,
    px: Vec<f32>,
}

impl Card {
    /// Bilinear sample at `u, v` in `0..1`.
    fn sample(&self, u: f32, v: f32) -> f32 {
        let x = (u * self.w as f32 - 0.5).clamp(0.0, (self.w - 1) as f32);
        let y = (v * self.h as f32 - 0.5).clamp(0.0, (self.h - 1) as f32);
        // Non-negative and below w/h after the clamp, so the casts floor within bounds.
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let p = |x: usize, y: usize| self.px[y * self.w + x];
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// Draws the card: a light face with a few darker "text" bars on the left and the QR code,
/// 22 mm square including its quiet zone, on the right.
fn render_card(text: &str, inverted: bool) -> Result<Card, QrError> {
    let hints = EncodeHints {
        CharacterSet: Some("UTF-8".into()),
        ErrorCorrection: Some("M".into()),
        Margin: Some("0".into()),
        ..EncodeHints::default()
    };
    let matrix = QRCodeWriter
        .encode_with_hints(text, &BarcodeFormat::QR_CODE, 0, 0, &hints)
        .map_err(|e| QrError::new(QrErrorKind::Decode, format!("cannot encode QR: {e}")))?;
    let n = matrix.getWidth();
    // Rounded to whole pixels; the dimensions are small positive numbers.
    let w = (CARD_W * PX_PER_MM) as usize;
    let h = (CARD_H * PX_PER_MM) as usize;
    let (light, dark) = (225.0, 25.0);
    let mut px = vec![light; w * h];
    for (i, row) in [8.0f32, 14.0, 20.0, 26.0, 32.0, 38.0].iter().enumerate() {
        let y0 = (row * PX_PER_MM) as usize;
        let len = ((30.0 + 7.0 * (i % 3) as f32) * PX_PER_MM) as usize;
        for y in y0..(y0 + (2.0 * PX_PER_MM) as usize).min(h) {
            for x in (5.0 * PX_PER_MM) as usize..((5.0 * PX_PER_MM) as usize + len).min(w) {
                px[y * w + x] = 120.0;
            }
        }
    }
    let quiet = 3.0 * PX_PER_MM;
    let size = 22.0 * PX_PER_MM;
    let x0 = w as f32 - size - 4.0 * PX_PER_MM;
    let y0 = 6.0 * PX_PER_MM;
    let module = (size - 2.0 * quiet) / n as f32;
    let (fg, bg) = if inverted {
        (light, dark)
    } else {
        (dark, light)
    };
    for y in 0..size as usize {
        for x in 0..size as usize {
            let (mx, my) = ((x as f32 - quiet) / module, (y as f32 - quiet) / module);
            let on = mx >= 0.0
                && my >= 0.0
                && (mx as u32) < n
                && (my as u32) < n
                && matrix.get(mx as u32, my as u32);
            let (cx, cy) = (x0 as usize + x, y0 as usize + y);
            if cx < w && cy < h {
                px[cy * w + cx] = if on { fg } else { bg };
            }
        }
    }
    Ok(Card { w, h, px })
}

/// A dim, gently varying desk/hand background.
fn background(w: u32, h: u32, rng: &mut SplitMix) -> Vec<f32> {
    let base = 60.0 + 40.0 * rng.unit();
    let gx = 30.0 * (rng.unit() - 0.5);
    let gy = 30.0 * (rng.unit() - 0.5);
    let mut out = Vec::with_capacity(w as usize * h as usize);
    for y in 0..h {
        for x in 0..w {
            out.push(base + gx * x as f32 / w as f32 + gy * y as f32 / h as f32);
        }
    }
    out
}

/// A soft bright spot somewhere on the card.
fn add_glare(
    px: &mut [f32],
    w: u32,
    h: u32,
    quad: &[(f32, f32); 4],
    strength: f32,
    rng: &mut SplitMix,
) {
    let (a, b) = (rng.unit(), rng.unit());
    // A point inside the quad (bilinear blend of its corners).
    let lerp =
        |p: (f32, f32), q: (f32, f32), t: f32| (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t);
    let top = lerp(quad[0], quad[1], a);
    let bottom = lerp(quad[3], quad[2], a);
    let (gx, gy) = lerp(top, bottom, b);
    let edge = ((quad[1].0 - quad[0].0).powi(2) + (quad[1].1 - quad[0].1).powi(2)).sqrt();
    let r2 = (0.12 * edge).powi(2).max(1.0);
    let peak = 255.0 * strength.clamp(0.0, 1.0);
    for y in 0..h {
        for x in 0..w {
            let d2 = (x as f32 - gx).powi(2) + (y as f32 - gy).powi(2);
            if d2 < 9.0 * r2 {
                px[(y * w + x) as usize] += peak * (-d2 / r2).exp();
            }
        }
    }
}

/// Separable Gaussian blur with edge clamping.
fn gaussian_blur(px: &[f32], w: usize, h: usize, sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil().max(1.0) as usize;
    let mut kernel: Vec<f32> = (0..=2 * radius)
        .map(|i| {
            let d = i as f32 - radius as f32;
            (-d * d / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    let mut tmp = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (i, k) in kernel.iter().enumerate() {
                let sx = (x + i).saturating_sub(radius).min(w - 1);
                acc += k * px[y * w + sx];
            }
            tmp[y * w + x] = acc;
        }
    }
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (i, k) in kernel.iter().enumerate() {
                let sy = (y + i).saturating_sub(radius).min(h - 1);
                acc += k * tmp[sy * w + x];
            }
            out[y * w + x] = acc;
        }
    }
    out
}

/// The homography (row-major 3x3) mapping the unit square's corners (0,0), (1,0), (1,1), (0,1)
/// onto `q` (Heckbert's square-to-quad).
fn square_to_quad(q: [(f32, f32); 4]) -> Option<[f32; 9]> {
    let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = q.map(|(x, y)| (f64::from(x), f64::from(y)));
    let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
    let m = if sx.abs() < 1e-12 && sy.abs() < 1e-12 {
        [x1 - x0, x2 - x1, x0, y1 - y0, y2 - y1, y0, 0.0, 0.0, 1.0]
    } else {
        let (dx1, dx2, dy1, dy2) = (x1 - x2, x3 - x2, y1 - y2, y3 - y2);
        let den = dx1 * dy2 - dx2 * dy1;
        if den.abs() < 1e-12 {
            return None;
        }
        let g = (sx * dy2 - dx2 * sy) / den;
        let hh = (dx1 * sy - sx * dy1) / den;
        [
            x1 - x0 + g * x1,
            x3 - x0 + hh * x3,
            x0,
            y1 - y0 + g * y1,
            y3 - y0 + hh * y3,
            y0,
            g,
            hh,
            1.0,
        ]
    };
    // Precision is only needed while solving; f32 suffices for sampling.
    Some(m.map(|v| v as f32))
}

/// Inverse of a 3x3 matrix (row-major), `None` when singular.
fn invert(m: [f32; 9]) -> Option<[f32; 9]> {
    let m = m.map(f64::from);
    let c = [
        m[4] * m[8] - m[5] * m[7],
        m[2] * m[7] - m[1] * m[8],
        m[1] * m[5] - m[2] * m[4],
        m[5] * m[6] - m[3] * m[8],
        m[0] * m[8] - m[2] * m[6],
        m[2] * m[3] - m[0] * m[5],
        m[3] * m[7] - m[4] * m[6],
        m[1] * m[6] - m[0] * m[7],
        m[0] * m[4] - m[1] * m[3],
    ];
    let det = m[0] * c[0] + m[1] * c[3] + m[2] * c[6];
    if det.abs() < 1e-12 {
        return None;
    }
    Some(c.map(|v| (v / det) as f32))
}

/// SplitMix64: a tiny, seedable generator; the scenes need reproducibility, not quality.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..1`.
    fn unit(&mut self) -> f32 {
        // 24 random bits fit an f32 mantissa exactly.
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box-Muller).
    fn gaussian(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::super::rxing::{FrameDecode, QrDecoder};
    use super::*;

    #[test]
    fn clean_and_noisy_scenes_decode_back() {
        let text = "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P";
        let d = QrDecoder::default();
        for scene in [Scene::clean(640, 480, 1), Scene::noisy(640, 480, 2)] {
            let frame = render_qr(text, &scene).expect("renders");
            assert_eq!(frame.data.len(), 640 * 480);
            match d.decode(&frame) {
                FrameDecode::Found(scan) => {
                    assert_eq!(scan.text.expose(), text);
                    let b = scan.bounds.expect("corners");
                    assert!(b
                        .iter()
                        .all(|&(x, y)| (0.0..640.0).contains(&x) && (0.0..480.0).contains(&y)));
                }
                other => panic!("{scene:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn homography_maps_corners() {
        let q = [(10.0, 20.0), (110.0, 25.0), (120.0, 90.0), (5.0, 80.0)];
        let m = square_to_quad(q).expect("proper quad");
        for ((u, v), (x, y)) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
            .into_iter()
            .zip(q)
        {
            let z = m[6] * u + m[7] * v + m[8];
            let px = (m[0] * u + m[1] * v + m[2]) / z;
            let py = (m[3] * u + m[4] * v + m[5]) / z;
            assert!((px - x).abs() < 1e-3 && (py - y).abs() < 1e-3, "{px},{py}");
        }
        assert!(render_qr("", &Scene::clean(64, 48, 0)).is_err());
        assert!(render_qr("x", &Scene::clean(0, 48, 0)).is_err());
    }
}
