//! Nose parallax: does the face move like a 3-D head or like a flat picture?
//!
//! The learned shape predictor cannot tell a turned head from a turned print: it reads a face
//! squeezed by a print turned 40 degrees as a head turned about 25 degrees and moves its nose
//! landmark accordingly (measured, see docs/BENCHMARKS.md). So this check does not use the
//! nose *landmark* of the turned frame. It maps the frontal frame onto the turned one through
//! the eye line (the eye centres fix position, scale and rotation along it; the vertical
//! stretch, which the eyes cannot tell, is searched), then searches, by normalised
//! cross-correlation of the pixels, where the frontal frame's nose patch really went. On a flat
//! picture every point follows the eye-line map, so the nose patch is found where the map puts
//! it (parallax about 0). On a real head the nose sticks out about half an interocular
//! distance in front of the eyes, so when the head turns it slides sideways against that map,
//! towards the turn.
//!
//! Pure: two luma planes and their landmarks in, a signed parallax in interocular distances
//! out (positive: towards the image's right, the same sign convention as [`Pose::yaw`]).
//!
//! [`Pose::yaw`]: crate::geometry::Pose::yaw

use crate::geometry::{Landmarks5, Point};
use crate::quality::Luma;

fn sample(l: &Luma<'_>, p: Point) -> Option<f32> {
    let (w, h) = (l.width as usize, l.height as usize);
    if p.x < 0.0 || p.y < 0.0 || p.x >= (w - 1) as f32 || p.y >= (h - 1) as f32 {
        return None;
    }
    let (x0, y0) = (p.x as usize, p.y as usize);
    let (fx, fy) = (p.x - x0 as f32, p.y - y0 as f32);
    let at = |x: usize, y: usize| f32::from(*l.data.get(y * w + x).unwrap_or(&0));
    let top = at(x0, y0) + (at(x0 + 1, y0) - at(x0, y0)) * fx;
    let bot = at(x0, y0 + 1) + (at(x0 + 1, y0 + 1) - at(x0, y0 + 1)) * fx;
    Some(top + (bot - top) * fy)
}

fn ncc(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f32;
    let ma = a.iter().sum::<f32>() / n;
    let mb = b.iter().sum::<f32>() / n;
    let (mut sab, mut saa, mut sbb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa < 1e-3 || sbb < 1e-3 {
        return 0.0;
    }
    sab / (saa * sbb).sqrt()
}

/// The measured parallax and how sure the match is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parallax {
    /// Sideways slide of the nose against the eye-corner transform, in interocular distances
    /// of the turned frame (positive: towards the image's right).
    pub shift: f32,
    /// Correlation at the best shift (1 = identical texture).
    pub score: f32,
}

/// Measures the nose parallax between a frontal frame and a turned one.
/// `None` when the geometry is degenerate or the patch leaves either frame.
pub fn nose_parallax(
    front: Luma<'_>,
    front_lm: &Landmarks5,
    turned: Luma<'_>,
    turned_lm: &Landmarks5,
) -> Option<Parallax> {
    if front.data.len() < front.width as usize * front.height as usize
        || turned.data.len() < turned.width as usize * turned.height as usize
        || front.width < 2
        || turned.width < 2
    {
        return None;
    }
    let fp = front_lm.pose();
    let tp = turned_lm.pose();
    if fp.interocular < 10.0 || tp.interocular < 10.0 {
        return None;
    }
    let (iod, tiod) = (fp.interocular, tp.interocular);
    // Eye-line frames (unit vector along the eyes, normal down the face) of both faces.
    let frame = |lm: &Landmarks5, iod: f32| {
        let (l, r) = lm.eye_centres();
        let u = ((r.x - l.x) / iod, (r.y - l.y) / iod);
        let n = (-u.1, u.0);
        let m = Point::new((l.x + r.x) / 2.0, (l.y + r.y) / 2.0);
        (m, u, n)
    };
    let (fm, fu, fnn) = frame(front_lm, iod);
    // The turned frame keeps the frontal orientation: a print held above or below the camera
    // and turned rolls its eye line by keystone distortion, and measuring along that rolled
    // line would turn the roll into a sideways shift of the nose. Heads turn without rolling.
    let (tm, _, _) = frame(turned_lm, tiod);
    let (tu, tn) = (fu, fnn);
    // The nose patch in the frontal frame, in eye-line units: 0.5 wide, from 0.35 above the
    // nose base down to 0.1 below it.
    let nose = front_lm.nose();
    let (ns, nt) = {
        let d = (nose.x - fm.x, nose.y - fm.y);
        (
            (d.0 * fu.0 + d.1 * fu.1) / iod,
            (d.0 * fnn.0 + d.1 * fnn.1) / iod,
        )
    };
    let map = Map {
        front: &front,
        turned: &turned,
        fm,
        fu,
        fnn,
        iod,
        tm,
        tu,
        tn,
        tiod,
    };
    // The nose patch: 0.5 wide, from 0.35 above the nose base to 0.1 below it; searched with
    // the vertical stretch a turn causes (1/cos of the angle). Each eye: 0.4 x 0.25.
    let nose = map.best_shift((ns, nt - 0.125), (0.5, 0.45), &[1.0, 1.1, 1.2, 1.3, 1.45])?;
    let left = map.best_shift((-0.5, 0.0), (0.4, 0.25), &[1.0])?;
    let right = map.best_shift((0.5, 0.0), (0.4, 0.25), &[1.0])?;
    // Signed along the image's x axis, like yaw.
    let sign = if tu.0 < 0.0 { -1.0 } else { 1.0 };
    Some(Parallax {
        shift: sign * (nose.0 - (left.0 + right.0) / 2.0),
        score: nose.1.min(left.1).min(right.1),
    })
}

/// The frontal and turned frames with their eye-line frames.
struct Map<'a> {
    front: &'a Luma<'a>,
    turned: &'a Luma<'a>,
    fm: Point,
    fu: (f32, f32),
    fnn: (f32, f32),
    iod: f32,
    tm: Point,
    tu: (f32, f32),
    tn: (f32, f32),
    tiod: f32,
}

impl Map<'_> {
    /// Where the frontal patch centred at `c` (eye-line units) of `size` went in the turned
    /// frame: the best shift along the eye line (eye-line units of the turned face) and its
    /// correlation. `None` if the patch leaves a frame everywhere. The search spans 0.45
    /// interocular distances each way along the eye line and 0.15 across it.
    fn best_shift(&self, c: (f32, f32), size: (f32, f32), stretch: &[f32]) -> Option<(f32, f32)> {
        const G: usize = 12;
        let mut coords = Vec::with_capacity(G * G);
        let mut reference = Vec::with_capacity(G * G);
        for gy in 0..G {
            for gx in 0..G {
                let s = c.0 + (gx as f32 / (G - 1) as f32 - 0.5) * size.0;
                let t = c.1 + (gy as f32 / (G - 1) as f32 - 0.5) * size.1;
                let p = Point::new(
                    self.fm.x + (s * self.fu.0 + t * self.fnn.0) * self.iod,
                    self.fm.y + (s * self.fu.1 + t * self.fnn.1) * self.iod,
                );
                reference.push(sample(self.front, p)?);
                coords.push((s, t));
            }
        }
        let steps = 18i32;
        let mut best: Option<(f32, f32)> = None;
        let mut moved = vec![0f32; coords.len()];
        for &k in stretch {
            for sy in -5i32..=5 {
                for sx in -steps..=steps {
                    let along = sx as f32 / steps as f32 * 0.45;
                    let across = sy as f32 * 0.03;
                    let mut ok = true;
                    for (m, &(s, t)) in moved.iter_mut().zip(&coords) {
                        let (s2, t2) = (s + along, t * k + across);
                        let q = Point::new(
                            self.tm.x + (s2 * self.tu.0 + t2 * self.tn.0) * self.tiod,
                            self.tm.y + (s2 * self.tu.1 + t2 * self.tn.1) * self.tiod,
                        );
                        match sample(self.turned, q) {
                            Some(v) => *m = v,
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    if !ok {
                        continue;
                    }
                    let score = ncc(&reference, &moved);
                    if best.is_none_or(|b| score > b.1) {
                        best = Some((along, score));
                    }
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured "face": smooth random blobs, deterministic.
    fn texture(w: u32, h: u32, seed: u32) -> Vec<u8> {
        let mut v = vec![0u8; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32, y as f32);
                let s = seed as f32;
                let val = 128.0
                    + 40.0 * ((fx * 0.21 + s).sin() * (fy * 0.17).cos())
                    + 30.0 * ((fx * 0.07 + fy * 0.11 + s * 0.3).sin())
                    + 20.0 * ((fx * 0.33 - fy * 0.29).cos());
                v[(y * w + x) as usize] = val.clamp(0.0, 255.0) as u8;
            }
        }
        v
    }

    fn face() -> Landmarks5 {
        Landmarks5([
            Point::new(200.0, 150.0),
            Point::new(180.0, 150.0),
            Point::new(120.0, 150.0),
            Point::new(140.0, 150.0),
            Point::new(160.0, 195.0),
        ])
    }

    /// Applies `f` (an inverse map: output pixel -> source point) to an image.
    fn warp(src: &[u8], w: u32, h: u32, f: impl Fn(f32, f32) -> (f32, f32)) -> Vec<u8> {
        let l = Luma {
            width: w,
            height: h,
            data: src,
        };
        let mut out = vec![0u8; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = f(x as f32, y as f32);
                out[(y * w + x) as usize] = sample(&l, Point::new(sx, sy)).unwrap_or(0.0) as u8;
            }
        }
        out
    }

    #[test]
    fn a_flat_picture_squeezed_sideways_has_no_parallax() {
        let (w, h) = (320, 300);
        let img = texture(w, h, 3);
        let k = 0.75; // turned about 41 degrees
        let cx = 160.0;
        let squeezed = warp(&img, w, h, |x, y| ((x - cx) / k + cx, y));
        let lm = face();
        let tlm = lm.map(|p| Point::new((p.x - cx) * k + cx, p.y));
        let p = nose_parallax(
            Luma {
                width: w,
                height: h,
                data: &img,
            },
            &lm,
            Luma {
                width: w,
                height: h,
                data: &squeezed,
            },
            &tlm,
        )
        .expect("measured");
        assert!(p.shift.abs() < 0.03, "{p:?}");
        assert!(p.score > 0.9, "{p:?}");
    }

    #[test]
    fn a_nose_that_slides_against_the_eyes_is_measured() {
        let (w, h) = (320, 300);
        let img = texture(w, h, 5);
        // Everything below the eyes near the nose moves 12 px right (0.2 interocular
        // distances), as a nose in front of the eye plane does when the head turns.
        let nose = face().nose();
        let moved = warp(&img, w, h, |x, y| {
            let near = (x - nose.x).abs() < 45.0 && y > 160.0 && y < 230.0;
            if near {
                (x - 12.0, y)
            } else {
                (x, y)
            }
        });
        let p = nose_parallax(
            Luma {
                width: w,
                height: h,
                data: &img,
            },
            &face(),
            Luma {
                width: w,
                height: h,
                data: &moved,
            },
            &face(),
        )
        .expect("measured");
        assert!((p.shift - 0.2).abs() < 0.04, "{p:?}");
    }

    #[test]
    fn degenerate_input_is_none() {
        let img = texture(64, 64, 1);
        let l = Luma {
            width: 64,
            height: 64,
            data: &img,
        };
        assert!(nose_parallax(l, &Landmarks5::default(), l, &Landmarks5::default()).is_none());
        let short = Luma {
            width: 64,
            height: 64,
            data: &img[..10],
        };
        assert!(nose_parallax(short, &face(), l, &face()).is_none());
    }
}
