//! Active liveness: a random sequence of head turns, checked from landmarks across frames.
//!
//! Pure: poses and times in, a status out. A real head turn moves the nose across the eye line
//! ([`Pose::yaw`]); a flat photo held up and turned, tilted or moved does not (the yaw of a
//! flat picture is invariant to those motions, see [`crate::geometry`]), so it times out. A
//! looping replay has to turn the right way at the right moment for every step: with two
//! random steps it passes by chance at most one time in four, and turning the wrong way first
//! fails at once. That is a deterrent, not a guarantee: a depth or IR camera is the real
//! defence, and [`crate::verify::PassiveCheck`] is the seam where such a check plugs in.

use rand::{Rng, RngExt};

use crate::geometry::Pose;
use crate::parallax::Parallax;
use crate::quality::Guidance;

/// A direction, from the citizen's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The citizen turns to their own left.
    Left,
    /// The citizen turns to their own right.
    Right,
}

impl Turn {
    fn guidance(self) -> Guidance {
        match self {
            Self::Left => Guidance::TurnLeft,
            Self::Right => Guidance::TurnRight,
        }
    }

    /// Sign of the yaw change this turn produces in the camera image. A citizen turning to
    /// their left moves their nose to the image's right in an unmirrored camera.
    fn sign(self, mirrored: bool) -> f32 {
        let s = match self {
            Self::Left => 1.0,
            Self::Right => -1.0,
        };
        if mirrored {
            -s
        } else {
            s
        }
    }
}

/// The steps the citizen is asked to do, chosen at random per session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge(pub Vec<Turn>);

impl Challenge {
    /// `steps` random turns.
    pub fn random(rng: &mut impl Rng, steps: usize) -> Self {
        Self(
            (0..steps.max(1))
                .map(|_| {
                    if rng.random_bool(0.5) {
                        Turn::Left
                    } else {
                        Turn::Right
                    }
                })
                .collect(),
        )
    }
}

/// Thresholds of the challenge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChallengeConfig {
    /// Yaw change from the frontal baseline that counts as a turn (about 20 degrees).
    pub turn_yaw: f32,
    /// Yaw change the other way that fails the step (turned the wrong way).
    pub wrong_way_yaw: f32,
    /// Within this of the baseline counts as looking straight again.
    pub centre_yaw: f32,
    /// Time allowed for each turn and each return.
    pub step_timeout_ms: u64,
    /// Longest time without exactly one face before the check fails.
    pub max_gap_ms: u64,
    /// The camera image is mirrored (left and right swapped).
    pub mirrored: bool,
    /// Least nose parallax ([`crate::parallax`]) towards the turn, in interocular distances,
    /// for a turn to count as a head turn rather than a turned picture.
    pub min_parallax: f32,
    /// Least correlation of the parallax match for it to count.
    pub min_parallax_score: f32,
    /// Turned frames without parallax after which the face is judged flat (a picture).
    pub flat_frames: u32,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        Self {
            turn_yaw: 0.2,
            wrong_way_yaw: 0.2,
            centre_yaw: 0.1,
            step_timeout_ms: 7_000,
            max_gap_ms: 1_500,
            mirrored: false,
            min_parallax: 0.07,
            min_parallax_score: 0.4,
            flat_frames: 3,
        }
    }
}

/// Why liveness failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LivenessFailure {
    /// The requested movement did not happen in time (a photo, or a citizen who needs help).
    TimedOut,
    /// The head turned the other way first.
    WrongWay,
    /// The face left the view for too long.
    FaceLost,
    /// The face turned like a flat picture: no nose parallax (a print or a screen).
    FlatFace,
}

/// Progress of the challenge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LiveStatus {
    /// Still running; show this guidance. `progress` is 0..1.
    Running {
        /// What the citizen should do now.
        guidance: Guidance,
        /// Share of the steps done.
        progress: f32,
    },
    /// Every step done.
    Passed,
    /// Failed.
    Failed(LivenessFailure),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Turning,
    Returning,
}

/// The running challenge.
#[derive(Debug, Clone)]
pub struct LivenessCheck {
    cfg: ChallengeConfig,
    turns: Vec<Turn>,
    step: usize,
    phase: Phase,
    baseline: f32,
    phase_started: Option<u64>,
    last_seen: Option<u64>,
    done: Option<LiveStatus>,
    flat: u32,
}

impl LivenessCheck {
    /// Starts `challenge` from a frontal `baseline_yaw` (the median yaw of the best shots).
    pub fn new(cfg: ChallengeConfig, challenge: Challenge, baseline_yaw: f32) -> Self {
        Self {
            cfg,
            turns: challenge.0,
            step: 0,
            phase: Phase::Turning,
            baseline: baseline_yaw,
            phase_started: None,
            last_seen: None,
            done: None,
            flat: 0,
        }
    }

    fn progress(&self) -> f32 {
        let per = 2 * self.turns.len().max(1);
        let done = 2 * self.step + usize::from(self.phase == Phase::Returning);
        done as f32 / per as f32
    }

    fn running(&self) -> LiveStatus {
        let guidance = match (self.phase, self.turns.get(self.step)) {
            (Phase::Turning, Some(t)) => t.guidance(),
            _ => Guidance::LookStraight,
        };
        LiveStatus::Running {
            guidance,
            progress: self.progress(),
        }
    }

    fn finish(&mut self, s: LiveStatus) -> LiveStatus {
        self.done = Some(s);
        s
    }

    /// Feeds one frame: `pose` of the single face in view, or `None` (no face or several), and
    /// the nose parallax of that face against the frontal best shot, when measured.
    pub fn observe(
        &mut self,
        t_ms: u64,
        pose: Option<Pose>,
        parallax: Option<Parallax>,
    ) -> LiveStatus {
        if let Some(s) = self.done {
            return s;
        }
        let started = *self.phase_started.get_or_insert(t_ms);
        let last = *self.last_seen.get_or_insert(t_ms);
        let Some(pose) = pose else {
            if t_ms.saturating_sub(last) > self.cfg.max_gap_ms {
                return self.finish(LiveStatus::Failed(LivenessFailure::FaceLost));
            }
            if t_ms.saturating_sub(started) > self.cfg.step_timeout_ms {
                return self.finish(LiveStatus::Failed(LivenessFailure::TimedOut));
            }
            return self.running();
        };
        self.last_seen = Some(t_ms);
        let Some(&turn) = self.turns.get(self.step) else {
            return self.finish(LiveStatus::Passed);
        };
        let delta = (pose.yaw - self.baseline) * turn.sign(self.cfg.mirrored);
        match self.phase {
            Phase::Turning => {
                if delta >= self.cfg.turn_yaw {
                    let sign = turn.sign(self.cfg.mirrored);
                    let solid = parallax.is_some_and(|p| {
                        p.score >= self.cfg.min_parallax_score
                            && p.shift * sign >= self.cfg.min_parallax
                    });
                    if solid {
                        self.phase = Phase::Returning;
                        self.phase_started = Some(t_ms);
                    } else {
                        self.flat += 1;
                        if self.flat >= self.cfg.flat_frames {
                            return self.finish(LiveStatus::Failed(LivenessFailure::FlatFace));
                        }
                    }
                } else if delta <= -self.cfg.wrong_way_yaw {
                    return self.finish(LiveStatus::Failed(LivenessFailure::WrongWay));
                }
            }
            Phase::Returning => {
                if delta.abs() <= self.cfg.centre_yaw {
                    self.step += 1;
                    self.phase = Phase::Turning;
                    self.phase_started = Some(t_ms);
                    if self.step == self.turns.len() {
                        return self.finish(LiveStatus::Passed);
                    }
                }
            }
        }
        if t_ms.saturating_sub(self.phase_started.unwrap_or(t_ms)) > self.cfg.step_timeout_ms {
            return self.finish(LiveStatus::Failed(LivenessFailure::TimedOut));
        }
        self.running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pose(yaw: f32) -> Option<Pose> {
        Some(Pose {
            yaw,
            pitch: 0.6,
            roll_deg: 0.0,
            interocular: 70.0,
        })
    }

    /// Feeds `yaws` one per 100 ms from `t0`, with the nose parallax of a real head (about
    /// 0.6 of the yaw change); returns the last status and the time after.
    fn feed(c: &mut LivenessCheck, t0: u64, yaws: &[f32]) -> (LiveStatus, u64) {
        feed_with(c, t0, yaws, 0.6)
    }

    fn feed_with(c: &mut LivenessCheck, t0: u64, yaws: &[f32], depth: f32) -> (LiveStatus, u64) {
        let mut s = c.running();
        let mut t = t0;
        for &y in yaws {
            let p = Parallax {
                shift: depth * (y - c.baseline),
                score: 0.8,
            };
            s = c.observe(t, pose(y), Some(p));
            t += 100;
        }
        (s, t)
    }

    fn ramp(from: f32, to: f32, n: usize) -> Vec<f32> {
        (0..=n)
            .map(|i| from + (to - from) * i as f32 / n as f32)
            .collect()
    }

    fn check(turns: &[Turn]) -> LivenessCheck {
        LivenessCheck::new(ChallengeConfig::default(), Challenge(turns.to_vec()), 0.02)
    }

    #[test]
    fn a_head_that_turns_as_asked_and_back_passes() {
        let mut c = check(&[Turn::Left, Turn::Right]);
        let mut yaws = ramp(0.02, 0.35, 6);
        yaws.extend(ramp(0.35, 0.0, 5));
        yaws.extend(ramp(0.0, -0.33, 6));
        yaws.extend(ramp(-0.33, 0.03, 5));
        let (s, _) = feed(&mut c, 0, &yaws);
        assert_eq!(s, LiveStatus::Passed);
        // Finished stays finished.
        assert_eq!(c.observe(99_999, None, None), LiveStatus::Passed);
    }

    #[test]
    fn guidance_follows_the_steps() {
        let mut c = check(&[Turn::Right]);
        let (s, t) = feed(&mut c, 0, &[0.0, -0.05]);
        assert!(
            matches!(s, LiveStatus::Running { guidance: Guidance::TurnRight, progress } if progress == 0.0)
        );
        let (s, _) = feed(&mut c, t, &[-0.3]);
        assert!(
            matches!(s, LiveStatus::Running { guidance: Guidance::LookStraight, progress } if progress == 0.5),
            "{s:?}"
        );
    }

    #[test]
    fn a_mirrored_camera_swaps_the_sign() {
        let cfg = ChallengeConfig {
            mirrored: true,
            ..ChallengeConfig::default()
        };
        let mut c = LivenessCheck::new(cfg, Challenge(vec![Turn::Left]), 0.0);
        let (s, _) = feed(&mut c, 0, &[-0.1, -0.3, -0.1, 0.0]);
        assert_eq!(s, LiveStatus::Passed);
    }

    #[test]
    fn a_still_photo_times_out() {
        let mut c = check(&[Turn::Left, Turn::Left]);
        // A print wobbling in the hand: small yaw noise for 10 s.
        let yaws: Vec<f32> = (0..100)
            .map(|i| 0.02 + 0.04 * ((i as f32) * 0.7).sin())
            .collect();
        let (s, _) = feed(&mut c, 0, &yaws);
        assert_eq!(s, LiveStatus::Failed(LivenessFailure::TimedOut));
    }

    #[test]
    fn a_picture_turned_in_step_fails_as_flat() {
        // The landmarks say the head turned (the shape predictor is fooled), but the nose
        // texture follows the eyes: no parallax.
        let mut c = check(&[Turn::Left, Turn::Right]);
        let (s, _) = feed_with(&mut c, 0, &ramp(0.02, 0.35, 8), 0.0);
        assert_eq!(s, LiveStatus::Failed(LivenessFailure::FlatFace));
        // Parallax the wrong way round is no better.
        let mut c = check(&[Turn::Left]);
        let (s, _) = feed_with(&mut c, 0, &ramp(0.02, 0.35, 8), -0.6);
        assert_eq!(s, LiveStatus::Failed(LivenessFailure::FlatFace));
        // A poor match does not count either.
        let mut c = check(&[Turn::Left]);
        for (i, y) in ramp(0.02, 0.35, 8).into_iter().enumerate() {
            let p = Parallax {
                shift: 0.3,
                score: 0.1,
            };
            c.observe(i as u64 * 100, pose(y), Some(p));
        }
        assert_eq!(
            c.observe(900, pose(0.35), None),
            LiveStatus::Failed(LivenessFailure::FlatFace)
        );
    }

    #[test]
    fn turning_the_wrong_way_fails_at_once() {
        let mut c = check(&[Turn::Left, Turn::Right]);
        let (s, _) = feed(&mut c, 0, &ramp(0.02, -0.3, 4));
        assert_eq!(s, LiveStatus::Failed(LivenessFailure::WrongWay));
    }

    #[test]
    fn a_looping_replay_fails_unless_it_matches_every_step() {
        // A recording that turns left, back, right, back, forever.
        let mut lap = ramp(0.0, 0.35, 5);
        lap.extend(ramp(0.35, 0.0, 5));
        lap.extend(ramp(0.0, -0.35, 5));
        lap.extend(ramp(-0.35, 0.0, 5));
        let film: Vec<f32> = lap.iter().copied().cycle().take(200).collect();
        let mut passed = 0;
        for turns in [
            [Turn::Left, Turn::Left],
            [Turn::Left, Turn::Right],
            [Turn::Right, Turn::Left],
            [Turn::Right, Turn::Right],
        ] {
            let mut c =
                LivenessCheck::new(ChallengeConfig::default(), Challenge(turns.to_vec()), 0.0);
            if feed(&mut c, 0, &film).0 == LiveStatus::Passed {
                passed += 1;
            }
        }
        assert_eq!(passed, 1, "only the challenge that matches the film passes");
    }

    #[test]
    fn losing_the_face_fails() {
        let mut c = check(&[Turn::Left]);
        assert!(matches!(
            c.observe(0, pose(0.0), None),
            LiveStatus::Running { .. }
        ));
        assert!(matches!(
            c.observe(1_000, None, None),
            LiveStatus::Running { .. }
        ));
        assert_eq!(
            c.observe(1_600, None, None),
            LiveStatus::Failed(LivenessFailure::FaceLost)
        );
    }

    #[test]
    fn random_challenges_use_both_directions() {
        let mut rng = rand::rng();
        let mut seen_left = false;
        let mut seen_right = false;
        for _ in 0..64 {
            let c = Challenge::random(&mut rng, 2);
            assert_eq!(c.0.len(), 2);
            seen_left |= c.0.contains(&Turn::Left);
            seen_right |= c.0.contains(&Turn::Right);
        }
        assert!(seen_left && seen_right);
        assert_eq!(Challenge::random(&mut rng, 0).0.len(), 1);
    }
}
