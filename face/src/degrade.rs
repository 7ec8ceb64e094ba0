//! Synthetic degradations of a photo for the evaluation and the presentation-attack tests:
//! blur, low light, in-plane rotation, downscaling, and a flat print seen under a homography
//! (turned and tilted in front of the camera). Pure: RGB in, RGB out.

use crate::portrait::RgbImage;

fn px(img: &RgbImage, x: i64, y: i64) -> [f32; 3] {
    let xc = x.clamp(0, i64::from(img.width) - 1) as usize;
    let yc = y.clamp(0, i64::from(img.height) - 1) as usize;
    let i = (yc * img.width as usize + xc) * 3;
    [
        f32::from(img.data[i]),
        f32::from(img.data[i + 1]),
        f32::from(img.data[i + 2]),
    ]
}

/// Bilinear sample at (x, y); `None` outside the image.
fn sample(img: &RgbImage, x: f32, y: f32) -> Option<[f32; 3]> {
    if x < 0.0 || y < 0.0 || x > (img.width - 1) as f32 || y > (img.height - 1) as f32 {
        return None;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let a = px(img, x0, y0);
    let b = px(img, x0 + 1, y0);
    let c = px(img, x0, y0 + 1);
    let d = px(img, x0 + 1, y0 + 1);
    let mut out = [0f32; 3];
    for k in 0..3 {
        let top = a[k] + (b[k] - a[k]) * fx;
        let bot = c[k] + (d[k] - c[k]) * fx;
        out[k] = top + (bot - top) * fy;
    }
    Some(out)
}

fn build(w: u32, h: u32, mut f: impl FnMut(u32, u32) -> [f32; 3]) -> RgbImage {
    let mut data = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            let p = f(x, y);
            data.extend(p.iter().map(|v| v.round().clamp(0.0, 255.0) as u8));
        }
    }
    RgbImage {
        width: w,
        height: h,
        data,
    }
}

/// Resizes to `w` x `h` with area averaging (down) or bilinear sampling (up).
pub fn resize(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let sx = img.width as f32 / w.max(1) as f32;
    let sy = img.height as f32 / h.max(1) as f32;
    build(w, h, |x, y| {
        if sx <= 1.0 && sy <= 1.0 {
            let fx = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
            let fy = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
            return sample(
                img,
                fx.min((img.width - 1) as f32),
                fy.min((img.height - 1) as f32),
            )
            .unwrap_or([0.0; 3]);
        }
        let (x0, x1) = (
            (x as f32 * sx) as i64,
            (((x + 1) as f32 * sx) as i64).max((x as f32 * sx) as i64 + 1),
        );
        let (y0, y1) = (
            (y as f32 * sy) as i64,
            (((y + 1) as f32 * sy) as i64).max((y as f32 * sy) as i64 + 1),
        );
        let mut acc = [0f32; 3];
        let mut n = 0f32;
        for yy in y0..y1 {
            for xx in x0..x1 {
                let p = px(img, xx, yy);
                for k in 0..3 {
                    acc[k] += p[k];
                }
                n += 1.0;
            }
        }
        acc.map(|v| v / n)
    })
}

/// Scales so that the longer side is at most `max_side`.
pub fn fit(img: &RgbImage, max_side: u32) -> RgbImage {
    let long = img.width.max(img.height);
    if long <= max_side {
        return resize(img, img.width, img.height);
    }
    let k = max_side as f32 / long as f32;
    resize(
        img,
        ((img.width as f32 * k).round() as u32).max(1),
        ((img.height as f32 * k).round() as u32).max(1),
    )
}

/// Gaussian-like blur: three box blurs of radius `r` (about sigma = r).
pub fn blur(img: &RgbImage, r: u32) -> RgbImage {
    let mut cur = resize(img, img.width, img.height);
    let r = i64::from(r);
    for _ in 0..3 {
        let horiz = build(cur.width, cur.height, |x, y| {
            let mut acc = [0f32; 3];
            for dx in -r..=r {
                let p = px(&cur, i64::from(x) + dx, i64::from(y));
                for k in 0..3 {
                    acc[k] += p[k];
                }
            }
            acc.map(|v| v / (2 * r + 1) as f32)
        });
        cur = build(horiz.width, horiz.height, |x, y| {
            let mut acc = [0f32; 3];
            for dy in -r..=r {
                let p = px(&horiz, i64::from(x), i64::from(y) + dy);
                for k in 0..3 {
                    acc[k] += p[k];
                }
            }
            acc.map(|v| v / (2 * r + 1) as f32)
        });
    }
    cur
}

/// Darkens to `gain` of the brightness and adds sensor-like noise (seeded, deterministic).
pub fn low_light(img: &RgbImage, gain: f32, noise: f32, seed: u64) -> RgbImage {
    let mut s = seed | 1;
    build(img.width, img.height, |x, y| {
        let p = px(img, i64::from(x), i64::from(y));
        p.map(|v| {
            // xorshift64*
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32;
            v * gain + (r - 0.5) * 2.0 * noise
        })
    })
}

/// Rotates by `deg` about the centre (same size; corners filled grey).
pub fn rotate(img: &RgbImage, deg: f32) -> RgbImage {
    let (s, c) = deg.to_radians().sin_cos();
    let cx = img.width as f32 / 2.0;
    let cy = img.height as f32 / 2.0;
    build(img.width, img.height, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        // Inverse rotation maps output to source.
        let sx = c * dx + s * dy + cx;
        let sy = -s * dx + c * dy + cy;
        sample(img, sx, sy).unwrap_or([128.0; 3])
    })
}

/// A flat print of `photo` held in front of a camera producing `w` x `h` frames: the print,
/// `print_width` pixels wide when facing the camera, centred at `centre`, turned by `yaw_deg`
/// about its vertical axis and tilted by `pitch_deg` about its horizontal axis, seen through a
/// pinhole camera with focal length `focal` pixels at distance `distance` (in print pixels).
/// The background is a plain wall.
#[allow(clippy::too_many_arguments)]
pub fn held_up_print(
    photo: &RgbImage,
    w: u32,
    h: u32,
    centre: (f32, f32),
    print_width: f32,
    yaw_deg: f32,
    pitch_deg: f32,
    focal: f32,
) -> RgbImage {
    let k = print_width / photo.width as f32;
    let (sy, cy) = yaw_deg.to_radians().sin_cos();
    let (sp, cp) = pitch_deg.to_radians().sin_cos();
    let distance = focal; // the print fills `print_width` pixels when facing the camera
    build(w, h, |x, y| {
        // Ray through the pixel, in camera coordinates.
        let rx = (x as f32 - centre.0) / focal;
        let ry = (y as f32 - centre.1) / focal;
        // The print plane passes through (0,0,distance) with normal n = R * (0,0,1), where
        // R turns about y by yaw then about x by pitch. Its axes: u = R*(1,0,0), v = R*(0,1,0).
        let u = [cy, sy * sp, -sy * cp];
        let v = [0.0, cp, sp];
        let n = [sy, -cy * sp, cy * cp];
        let denom = rx * n[0] + ry * n[1] + n[2];
        if denom.abs() < 1e-6 {
            return [200.0, 196.0, 188.0];
        }
        let t = distance * n[2] / denom;
        let p = [rx * t, ry * t, t - distance];
        let pu = p[0] * u[0] + p[1] * u[1] + p[2] * u[2];
        let pv = p[0] * v[0] + p[1] * v[1] + p[2] * v[2];
        let sx = pu / k + photo.width as f32 / 2.0;
        let syy = pv / k + photo.height as f32 / 2.0;
        sample(photo, sx, syy).unwrap_or([200.0, 196.0, 188.0])
    })
}

/// Places `photo` (scaled to `face_height` pixels tall) centred in a `w` x `h` frame on a wall
/// background: a "live" frame from a still photo.
pub fn in_frame(photo: &RgbImage, w: u32, h: u32, height: u32) -> RgbImage {
    let k = height as f32 / photo.height as f32;
    let pw = (photo.width as f32 * k).round() as u32;
    let scaled = resize(photo, pw.max(1), height.max(1));
    let ox = (i64::from(w) - i64::from(scaled.width)) / 2;
    let oy = (i64::from(h) - i64::from(scaled.height)) / 2;
    build(w, h, |x, y| {
        let (sx, sy) = (i64::from(x) - ox, i64::from(y) - oy);
        if sx >= 0 && sy >= 0 && sx < i64::from(scaled.width) && sy < i64::from(scaled.height) {
            px(&scaled, sx, sy)
        } else {
            [200.0, 196.0, 188.0]
        }
    })
}

/// Crops `photo` to a square `factor` times the size of `face`, centred on it (clipped to
/// the photo): a head-and-shoulders view for [`in_frame`].
pub fn crop_around(photo: &RgbImage, face: &crate::geometry::FaceBox, factor: f32) -> RgbImage {
    let side = face.width().max(face.height()) * factor;
    let (cx, cy) = (
        (face.left + face.right) / 2.0,
        (face.top + face.bottom) / 2.0,
    );
    let x0 = ((cx - side / 2.0).max(0.0) as u32).min(photo.width.saturating_sub(1));
    let y0 = ((cy - side / 2.0).max(0.0) as u32).min(photo.height.saturating_sub(1));
    let x1 = ((cx + side / 2.0).max(0.0) as u32).clamp(x0 + 1, photo.width.max(x0 + 1));
    let y1 = ((cy + side / 2.0).max(0.0) as u32).clamp(y0 + 1, photo.height.max(y0 + 1));
    build(x1 - x0, y1 - y0, |x, y| {
        px(photo, i64::from(x0 + x), i64::from(y0 + y))
    })
}

/// Encodes as JPEG 2000 (a JP2 file) at `ratio`:1 with Debian's `opj_compress`
/// (libopenjp2-tools, installed by `cargo xtask setup`), working in `tmp`: how chip-like
/// portraits are made for tests and the evaluation. Not used by the kiosk itself.
///
/// # Errors
/// `opj_compress` is missing or fails (the message says which).
pub fn encode_jp2(img: &RgbImage, ratio: u32, tmp: &std::path::Path) -> Result<Vec<u8>, String> {
    let ppm = tmp.join("encode-jp2.ppm");
    let jp2 = tmp.join("encode-jp2.jp2");
    std::fs::write(&ppm, to_ppm(img)).map_err(|e| format!("{}: {e}", ppm.display()))?;
    let out = std::process::Command::new("opj_compress")
        .arg("-i")
        .arg(&ppm)
        .arg("-o")
        .arg(&jp2)
        .args(["-r", &ratio.to_string()])
        .output()
        .map_err(|e| format!("opj_compress (Debian libopenjp2-tools): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "opj_compress failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let bytes = std::fs::read(&jp2).map_err(|e| format!("{}: {e}", jp2.display()))?;
    let _ = std::fs::remove_file(&ppm);
    let _ = std::fs::remove_file(&jp2);
    Ok(bytes)
}

/// Encodes as binary PPM (for external encoders such as `opj_compress`).
pub fn to_ppm(img: &RgbImage) -> Vec<u8> {
    let mut out = format!("P6\n{} {}\n255\n", img.width, img.height).into_bytes();
    out.extend_from_slice(&img.data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        build(w, h, |x, y| [x as f32 * 2.0, y as f32 * 2.0, 100.0])
    }

    fn checker(w: u32, h: u32) -> RgbImage {
        build(w, h, |x, y| {
            if (x / 4 + y / 4) % 2 == 0 {
                [255.0; 3]
            } else {
                [0.0; 3]
            }
        })
    }

    #[test]
    fn resize_keeps_the_mean_and_the_size() {
        let img = gradient(100, 80);
        let small = resize(&img, 50, 40);
        assert_eq!(
            (small.width, small.height, small.data.len()),
            (50, 40, 50 * 40 * 3)
        );
        let mean =
            |i: &RgbImage| i.data.iter().map(|&v| f64::from(v)).sum::<f64>() / i.data.len() as f64;
        assert!((mean(&img) - mean(&small)).abs() < 1.5);
        let f = fit(&img, 50);
        assert_eq!((f.width, f.height), (50, 40));
    }

    #[test]
    fn blur_removes_fine_texture() {
        let img = checker(64, 64);
        let var = |i: &RgbImage| {
            let m = i.data.iter().map(|&v| f64::from(v)).sum::<f64>() / i.data.len() as f64;
            i.data
                .iter()
                .map(|&v| (f64::from(v) - m).powi(2))
                .sum::<f64>()
                / i.data.len() as f64
        };
        assert!(var(&blur(&img, 3)) < var(&img) / 10.0);
    }

    #[test]
    fn low_light_darkens_deterministically() {
        let img = gradient(32, 32);
        let a = low_light(&img, 0.3, 8.0, 7);
        let b = low_light(&img, 0.3, 8.0, 7);
        assert_eq!(a.data, b.data);
        let sum = |i: &RgbImage| i.data.iter().map(|&v| u64::from(v)).sum::<u64>();
        assert!(sum(&a) < sum(&img) / 2);
    }

    #[test]
    fn rotating_by_zero_is_identity_and_by_180_flips() {
        let img = gradient(40, 30);
        assert_eq!(rotate(&img, 0.0).data, img.data);
        let r = rotate(&img, 180.0);
        // The centre pixel row's left end is the original's right end.
        let at = |i: &RgbImage, x: usize, y: usize| i.data[(y * i.width as usize + x) * 3];
        assert!((i32::from(at(&r, 1, 15)) - i32::from(at(&img, 39, 15))).abs() <= 4);
    }

    #[test]
    fn a_turned_print_is_narrower_than_a_facing_one() {
        let photo = build(100, 100, |_, _| [0.0; 3]);
        let width_of = |img: &RgbImage| {
            let y = img.height as usize / 2;
            (0..img.width as usize)
                .filter(|&x| img.data[(y * img.width as usize + x) * 3] < 100)
                .count()
        };
        let facing = held_up_print(&photo, 320, 240, (160.0, 120.0), 120.0, 0.0, 0.0, 500.0);
        let turned = held_up_print(&photo, 320, 240, (160.0, 120.0), 120.0, 50.0, 0.0, 500.0);
        let wf = width_of(&facing);
        let wt = width_of(&turned);
        assert!((wf as i32 - 120).abs() <= 2, "{wf}");
        assert!(
            (wt as f32 - 120.0 * 50f32.to_radians().cos()).abs() < 8.0,
            "{wt}"
        );
    }

    #[test]
    fn crop_around_centres_on_the_face_and_stays_inside() {
        let img = gradient(100, 80);
        let face = crate::geometry::FaceBox {
            left: 40.0,
            top: 30.0,
            right: 60.0,
            bottom: 50.0,
        };
        let c = crop_around(&img, &face, 2.0);
        assert_eq!((c.width, c.height), (40, 40));
        // Its top-left pixel is the photo's (30, 20).
        assert_eq!(
            &c.data[..3],
            &img.data[(20 * 100 + 30) * 3..(20 * 100 + 30) * 3 + 3]
        );
        let edge = crate::geometry::FaceBox {
            left: 90.0,
            top: 70.0,
            right: 99.0,
            bottom: 79.0,
        };
        let c = crop_around(&img, &edge, 3.0);
        assert!(c.width >= 1 && c.height >= 1 && c.width <= 100 && c.height <= 80);
    }

    #[test]
    fn ppm_header_and_payload() {
        let img = gradient(3, 2);
        let p = to_ppm(&img);
        assert!(p.starts_with(b"P6\n3 2\n255\n"));
        assert_eq!(p.len(), 11 + 18);
    }
}
