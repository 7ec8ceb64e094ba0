//! Face geometry from dlib's 5-point landmarks: eye centres, interocular distance and a head
//! pose estimate. Pure: points in, numbers out.
//!
//! dlib's 5-point model marks the two corners of each eye and the base of the nose (points 0-1
//! one eye, 2-3 the other, 4 the nose). The pose is not a full 3-D solve: it is the position of
//! the nose relative to the eye line, in units of the interocular distance. That is what the
//! quality gate and the liveness challenge need, and it has one useful property: for a *flat*
//! picture, any in-plane rotation, scaling or sideways foreshortening (a print turned about a
//! vertical axis) leaves it nearly unchanged, while a real head turn moves the nose across the
//! eye line.

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// Column.
    pub x: f32,
    /// Row.
    pub y: f32,
}

impl Point {
    /// A point.
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    fn mid(a: Self, b: Self) -> Self {
        Self::new((a.x + b.x) / 2.0, (a.y + b.y) / 2.0)
    }

    fn dist(a: Self, b: Self) -> f32 {
        ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
    }
}

/// A face rectangle in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaceBox {
    /// Left edge.
    pub left: f32,
    /// Top edge.
    pub top: f32,
    /// Right edge.
    pub right: f32,
    /// Bottom edge.
    pub bottom: f32,
}

impl FaceBox {
    /// Width in pixels.
    pub fn width(&self) -> f32 {
        (self.right - self.left).max(0.0)
    }

    /// Height in pixels.
    pub fn height(&self) -> f32 {
        (self.bottom - self.top).max(0.0)
    }

    /// Area in square pixels.
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }
}

/// dlib's five landmarks, in dlib's order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Landmarks5(pub [Point; 5]);

/// Head pose estimate from [`Landmarks5`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pose {
    /// Nose offset along the eye line from the eyes' midpoint, in interocular distances.
    /// Positive: the nose is towards the image's right edge. About 0 when facing the camera;
    /// about +-0.3 at a 30 degree turn.
    pub yaw: f32,
    /// Nose distance below the eye line, in interocular distances (about 0.6-0.8 when facing
    /// the camera; smaller when the head tilts back, larger when it tilts forward).
    pub pitch: f32,
    /// Angle of the eye line against the horizontal, in degrees (positive: clockwise on
    /// screen).
    pub roll_deg: f32,
    /// Distance between the eye centres in pixels.
    pub interocular: f32,
}

impl Landmarks5 {
    /// The two eye centres, ordered left to right in the image.
    pub fn eye_centres(&self) -> (Point, Point) {
        let p = &self.0;
        let a = Point::mid(p[0], p[1]);
        let b = Point::mid(p[2], p[3]);
        if a.x <= b.x {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// Distance between the eye centres in pixels.
    pub fn interocular(&self) -> f32 {
        let (l, r) = self.eye_centres();
        Point::dist(l, r)
    }

    /// The nose base.
    pub fn nose(&self) -> Point {
        self.0[4]
    }

    /// Pose estimate. With coincident eyes (a degenerate detection) everything is 0 and
    /// `interocular` is 0, which every gate rejects.
    pub fn pose(&self) -> Pose {
        let (l, r) = self.eye_centres();
        let iod = Point::dist(l, r);
        if iod < 1e-3 {
            return Pose::default();
        }
        // Unit vector along the eye line and its normal pointing down the face.
        let ux = (r.x - l.x) / iod;
        let uy = (r.y - l.y) / iod;
        let (nx, ny) = (-uy, ux);
        let m = Point::mid(l, r);
        let n = self.nose();
        let (dx, dy) = (n.x - m.x, n.y - m.y);
        Pose {
            yaw: (dx * ux + dy * uy) / iod,
            pitch: (dx * nx + dy * ny) / iod,
            roll_deg: uy.atan2(ux).to_degrees(),
            interocular: iod,
        }
    }

    /// Maps every point through `f` (scaling detections back to full resolution).
    pub fn map(&self, f: impl Fn(Point) -> Point) -> Self {
        let mut out = self.0;
        for p in &mut out {
            *p = f(*p);
        }
        Self(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frontal face: eyes at (100,100) and (160,100) (corners 20 px apart), nose 40 px
    /// below the midpoint.
    pub(crate) fn frontal() -> Landmarks5 {
        Landmarks5([
            Point::new(170.0, 100.0),
            Point::new(150.0, 100.0),
            Point::new(90.0, 100.0),
            Point::new(110.0, 100.0),
            Point::new(130.0, 140.0),
        ])
    }

    #[test]
    fn frontal_pose_is_centred() {
        let p = frontal().pose();
        assert!((p.interocular - 60.0).abs() < 1e-4);
        assert!(p.yaw.abs() < 1e-6);
        assert!((p.pitch - 40.0 / 60.0).abs() < 1e-6);
        assert!(p.roll_deg.abs() < 1e-4);
    }

    #[test]
    fn nose_to_the_right_is_positive_yaw() {
        let mut l = frontal();
        l.0[4].x += 15.0;
        let p = l.pose();
        assert!((p.yaw - 0.25).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn in_plane_rotation_changes_roll_but_not_yaw_or_pitch() {
        let a = 20f32.to_radians();
        let (s, c) = a.sin_cos();
        let rotated = frontal().map(|p| Point::new(p.x * c - p.y * s, p.x * s + p.y * c));
        let p = rotated.pose();
        assert!((p.roll_deg - 20.0).abs() < 1e-3, "{p:?}");
        assert!(p.yaw.abs() < 1e-5);
        assert!((p.pitch - 40.0 / 60.0).abs() < 1e-5);
    }

    #[test]
    fn a_flat_picture_squeezed_sideways_keeps_its_yaw() {
        // A print turned 50 degrees about a vertical axis, seen from afar: x shrinks by cos 50.
        let k = 50f32.to_radians().cos();
        let p = frontal()
            .map(|p| Point::new(300.0 + (p.x - 300.0) * k, p.y))
            .pose();
        assert!(p.yaw.abs() < 1e-5, "{p:?}");
    }

    #[test]
    fn degenerate_landmarks_give_zero_interocular() {
        let p = Landmarks5::default().pose();
        assert_eq!(p.interocular, 0.0);
    }
}
