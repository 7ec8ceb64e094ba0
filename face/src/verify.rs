//! One face check, from the first frame to the decision. Pure: per frame, the quality
//! [`Assessment`] and (when asked for) the distance of that frame's embedding to the chip
//! portrait go in; guidance or the outcome comes out.
//!
//! 1. **Best shots**: wait for `shots` frames that pass every quality gate, at least
//!    `shot_spacing_ms` apart, and embed each. The fused score is the median distance. A
//!    median above the threshold ends the check (not matched) without a liveness challenge.
//! 2. **Liveness**: the random head-turn challenge ([`crate::liveness`]), with the median yaw
//!    of the best shots as the frontal baseline.
//! 3. **Same person**: after the challenge, one more good frame is embedded and must match too,
//!    so a photo cannot pass the match and a different live person the challenge.

use crate::liveness::{Challenge, ChallengeConfig, LiveStatus, LivenessCheck, LivenessFailure};
use crate::parallax::Parallax;
use crate::quality::{Assessment, Guidance, QualityConfig};

/// Settings of a face check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifyConfig {
    /// Quality gates.
    pub quality: QualityConfig,
    /// Largest embedding distance that counts as the same person (dlib: Euclidean, 128-D).
    pub threshold: f32,
    /// Best shots to collect.
    pub shots: usize,
    /// Least time between two best shots.
    pub shot_spacing_ms: u64,
    /// Time allowed to collect the best shots (failure to acquire after it).
    pub acquire_timeout_ms: u64,
    /// Liveness challenge thresholds.
    pub challenge: ChallengeConfig,
    /// Number of turns in the challenge (0 disables liveness: for evaluation only).
    pub turns: usize,
    /// Time allowed for the final same-person frame.
    pub confirm_timeout_ms: u64,
}

/// The threshold chosen from the evaluation (docs/BENCHMARKS.md, face section).
pub const DEFAULT_THRESHOLD: f32 = 0.5;

impl Default for VerifyConfig {
    fn default() -> Self {
        Self {
            quality: QualityConfig::default(),
            threshold: DEFAULT_THRESHOLD,
            shots: 4,
            shot_spacing_ms: 300,
            acquire_timeout_ms: 20_000,
            challenge: ChallengeConfig::default(),
            turns: 2,
            confirm_timeout_ms: 4_000,
        }
    }
}

/// Why a check did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFailure {
    /// No usable face within the time allowed (failure to acquire).
    NoGoodFace,
    /// The live face does not match the chip portrait.
    NotMatched,
    /// The liveness challenge failed.
    Liveness(LivenessFailure),
    /// The face after the challenge is not the one that matched.
    ChangedPerson,
}

/// The decision. Holds no image and no template: only what the outbox may record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The face matched the chip portrait.
    pub matched: bool,
    /// The liveness challenge passed.
    pub live: bool,
    /// Fused distance (median of the best shots); `f32::INFINITY` when none was taken.
    pub distance: f32,
    /// Why it failed, if it did.
    pub failure: Option<CheckFailure>,
}

impl Outcome {
    /// Matched and live.
    pub fn verified(&self) -> bool {
        self.matched && self.live && self.failure.is_none()
    }
}

/// Where a check is after a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Status {
    /// Keep going; show `guidance` and a progress bar at `progress` (0..1).
    Working {
        /// What the citizen should do.
        guidance: Guidance,
        /// 0..1.
        progress: f32,
    },
    /// Decided.
    Done(Outcome),
}

/// A seam for a passive presentation-attack check (an IR or depth camera's verdict, or a
/// texture model). None ships: the packaged models are toy-grade (docs/face.md).
pub trait PassiveCheck {
    /// `true` if the frame looks like a live face.
    fn live(&mut self, assessment: &Assessment) -> bool;
}

#[derive(Debug, Clone)]
enum Phase {
    Acquire,
    Challenge(LivenessCheck),
    Confirm { since: u64 },
    Done(Outcome),
}

/// A running face check.
#[derive(Debug, Clone)]
pub struct FaceCheck {
    cfg: VerifyConfig,
    challenge: Challenge,
    phase: Phase,
    started: Option<u64>,
    last_shot: Option<u64>,
    distances: Vec<f32>,
    yaws: Vec<f32>,
}

fn median(v: &[f32]) -> f32 {
    if v.is_empty() {
        return f32::INFINITY;
    }
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

impl FaceCheck {
    /// A check that will ask for `challenge`.
    pub fn new(cfg: VerifyConfig, challenge: Challenge) -> Self {
        Self {
            cfg,
            challenge,
            phase: Phase::Acquire,
            started: None,
            last_shot: None,
            distances: Vec::new(),
            yaws: Vec::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &VerifyConfig {
        &self.cfg
    }

    /// Whether this frame should be embedded (it is expensive: only best shots and the final
    /// same-person frame are).
    pub fn wants_embedding(&self, t_ms: u64, a: &Assessment) -> bool {
        if !a.is_good() {
            return false;
        }
        match self.phase {
            Phase::Acquire => self
                .last_shot
                .is_none_or(|l| t_ms.saturating_sub(l) >= self.cfg.shot_spacing_ms),
            Phase::Confirm { .. } => true,
            Phase::Challenge(_) | Phase::Done(_) => false,
        }
    }

    fn done(&mut self, o: Outcome) -> Status {
        self.phase = Phase::Done(o);
        Status::Done(o)
    }

    /// Whether the nose parallax of this frame against the frontal best shot is needed (during
    /// the liveness challenge).
    pub fn wants_parallax(&self) -> bool {
        matches!(self.phase, Phase::Challenge(_))
    }

    /// Feeds one frame. `distance` is the embedding distance of this frame's face to the chip
    /// portrait, when [`FaceCheck::wants_embedding`] said so and the embedding worked;
    /// `parallax` the nose parallax when [`FaceCheck::wants_parallax`] said so.
    pub fn update(
        &mut self,
        t_ms: u64,
        a: &Assessment,
        distance: Option<f32>,
        parallax: Option<Parallax>,
    ) -> Status {
        let started = *self.started.get_or_insert(t_ms);
        let fused = median(&self.distances);
        match &mut self.phase {
            Phase::Done(o) => Status::Done(*o),
            Phase::Acquire => {
                if let (Some(d), Some(m)) = (distance, a.main.filter(|_| a.is_good())) {
                    self.last_shot = Some(t_ms);
                    self.distances.push(d);
                    self.yaws.push(m.pose.yaw);
                }
                let n = self.distances.len();
                if n >= self.cfg.shots.max(1) {
                    let fused = median(&self.distances);
                    if fused > self.cfg.threshold {
                        return self.done(Outcome {
                            matched: false,
                            live: false,
                            distance: fused,
                            failure: Some(CheckFailure::NotMatched),
                        });
                    }
                    if self.cfg.turns == 0 {
                        return self.done(Outcome {
                            matched: true,
                            live: false,
                            distance: fused,
                            failure: None,
                        });
                    }
                    let baseline = median(&self.yaws);
                    let check =
                        LivenessCheck::new(self.cfg.challenge, self.challenge.clone(), baseline);
                    self.phase = Phase::Challenge(check);
                    let guidance = self
                        .challenge
                        .0
                        .first()
                        .map_or(Guidance::LookStraight, |t| match t {
                            crate::liveness::Turn::Left => Guidance::TurnLeft,
                            crate::liveness::Turn::Right => Guidance::TurnRight,
                        });
                    return Status::Working {
                        guidance,
                        progress: 0.4,
                    };
                }
                if t_ms.saturating_sub(started) > self.cfg.acquire_timeout_ms {
                    return self.done(Outcome {
                        matched: false,
                        live: false,
                        distance: median(&self.distances),
                        failure: Some(CheckFailure::NoGoodFace),
                    });
                }
                Status::Working {
                    guidance: a.guidance,
                    progress: 0.4 * n as f32 / self.cfg.shots.max(1) as f32,
                }
            }
            Phase::Challenge(check) => {
                match check.observe(t_ms, a.main.map(|m| m.pose), parallax) {
                    LiveStatus::Running { guidance, progress } => Status::Working {
                        guidance,
                        progress: 0.4 + 0.5 * progress,
                    },
                    LiveStatus::Passed => {
                        self.phase = Phase::Confirm { since: t_ms };
                        Status::Working {
                            guidance: Guidance::LookStraight,
                            progress: 0.9,
                        }
                    }
                    LiveStatus::Failed(f) => self.done(Outcome {
                        matched: true,
                        live: false,
                        distance: fused,
                        failure: Some(CheckFailure::Liveness(f)),
                    }),
                }
            }
            Phase::Confirm { since } => {
                let since = *since;
                if let Some(d) = distance {
                    let same = d <= self.cfg.threshold;
                    return self.done(Outcome {
                        matched: same,
                        live: true,
                        distance: fused,
                        failure: (!same).then_some(CheckFailure::ChangedPerson),
                    });
                }
                if t_ms.saturating_sub(since) > self.cfg.confirm_timeout_ms {
                    return self.done(Outcome {
                        matched: true,
                        live: true,
                        distance: fused,
                        failure: Some(CheckFailure::NoGoodFace),
                    });
                }
                Status::Working {
                    guidance: if a.is_good() {
                        Guidance::LookStraight
                    } else {
                        a.guidance
                    },
                    progress: 0.9,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{FaceBox, Landmarks5, Point, Pose};
    use crate::liveness::Turn;
    use crate::quality::{FaceObservation, FaceQuality};

    fn good(yaw: f32) -> Assessment {
        let guidance = if yaw.abs() > 0.16 {
            Guidance::FaceCamera
        } else {
            Guidance::Good
        };
        Assessment {
            guidance,
            main: Some(FaceQuality {
                face: FaceObservation {
                    face: FaceBox::default(),
                    landmarks: Landmarks5([Point::default(); 5]),
                },
                pose: Pose {
                    yaw,
                    pitch: 0.6,
                    roll_deg: 0.0,
                    interocular: 80.0,
                },
                sharpness: 200.0,
                mean_luma: 120.0,
            }),
        }
    }

    fn none() -> Assessment {
        Assessment {
            guidance: Guidance::NoFace,
            main: None,
        }
    }

    /// Drives a check: each yaw is one frame 100 ms apart; embedded frames get `dist`.
    fn run(c: &mut FaceCheck, t0: u64, yaws: &[f32], dist: f32) -> (Status, u64) {
        let mut t = t0;
        let mut s = Status::Working {
            guidance: Guidance::NoFace,
            progress: 0.0,
        };
        for &y in yaws {
            let a = if y.is_nan() { none() } else { good(y) };
            let d = c.wants_embedding(t, &a).then_some(dist);
            // A real head: the nose slides about 0.6 of the yaw.
            let p = c.wants_parallax().then_some(Parallax {
                shift: 0.6 * y,
                score: 0.8,
            });
            s = c.update(t, &a, d, p);
            t += 100;
        }
        (s, t)
    }

    fn live_turn_left() -> Vec<f32> {
        let mut v = vec![0.0; 12];
        v.extend([0.1, 0.2, 0.3, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0]);
        v
    }

    #[test]
    fn genuine_and_live_verifies() {
        let cfg = VerifyConfig {
            turns: 1,
            ..VerifyConfig::default()
        };
        let mut c = FaceCheck::new(cfg, Challenge(vec![Turn::Left]));
        let (s, _) = run(&mut c, 0, &live_turn_left(), 0.35);
        let Status::Done(o) = s else {
            panic!("not done: {s:?}")
        };
        assert!(o.verified(), "{o:?}");
        assert!((o.distance - 0.35).abs() < 1e-6);
    }

    #[test]
    fn best_shots_are_spaced_and_decided_early() {
        let mut c = FaceCheck::new(VerifyConfig::default(), Challenge(vec![Turn::Left]));
        let mut embedded = 0;
        let mut t = 0;
        // 4 shots 300 ms apart: frames every 100 ms, so the 4th shot is at 900 ms.
        while !matches!(c.phase, Phase::Challenge(_)) {
            let a = good(0.0);
            let want = c.wants_embedding(t, &a);
            embedded += usize::from(want);
            c.update(t, &a, want.then_some(0.3), None);
            t += 100;
            assert!(t < 5_000);
        }
        assert_eq!(embedded, 4);
        assert_eq!(t, 1_000);
    }

    #[test]
    fn an_impostor_is_rejected_without_a_challenge() {
        let mut c = FaceCheck::new(VerifyConfig::default(), Challenge(vec![Turn::Left]));
        let (s, t) = run(&mut c, 0, &[0.0; 10], 0.8);
        assert_eq!(
            s,
            Status::Done(Outcome {
                matched: false,
                live: false,
                distance: 0.8,
                failure: Some(CheckFailure::NotMatched)
            })
        );
        assert!(t <= 1_000);
    }

    #[test]
    fn a_still_photo_fails_liveness() {
        let mut c = FaceCheck::new(
            VerifyConfig::default(),
            Challenge(vec![Turn::Left, Turn::Right]),
        );
        let (s, _) = run(&mut c, 0, &[0.01; 120], 0.2);
        let Status::Done(o) = s else {
            panic!("not done: {s:?}")
        };
        assert!(o.matched && !o.live && !o.verified());
        assert_eq!(
            o.failure,
            Some(CheckFailure::Liveness(LivenessFailure::TimedOut))
        );
    }

    #[test]
    fn another_face_after_the_challenge_is_caught() {
        let cfg = VerifyConfig {
            turns: 1,
            ..VerifyConfig::default()
        };
        let mut c = FaceCheck::new(cfg, Challenge(vec![Turn::Left]));
        let yaws = live_turn_left();
        let (s, t) = run(&mut c, 0, &yaws[..yaws.len() - 3], 0.3);
        assert!(matches!(s, Status::Working { .. }), "{s:?}");
        let (s, _) = run(&mut c, t, &[0.0], 0.9);
        let Status::Done(o) = s else {
            panic!("not done: {s:?}")
        };
        assert_eq!(o.failure, Some(CheckFailure::ChangedPerson));
        assert!(!o.verified());
    }

    #[test]
    fn nobody_in_front_is_a_failure_to_acquire() {
        let mut c = FaceCheck::new(VerifyConfig::default(), Challenge(vec![Turn::Left]));
        let (s, _) = run(&mut c, 0, &[f32::NAN; 202], 0.3);
        let Status::Done(o) = s else {
            panic!("not done: {s:?}")
        };
        assert_eq!(o.failure, Some(CheckFailure::NoGoodFace));
        assert!(o.distance.is_infinite());
    }

    #[test]
    fn guidance_passes_through_while_acquiring() {
        let mut c = FaceCheck::new(VerifyConfig::default(), Challenge(vec![Turn::Left]));
        let s = c.update(0, &good(0.3), None, None);
        assert_eq!(
            s,
            Status::Working {
                guidance: Guidance::FaceCamera,
                progress: 0.0
            }
        );
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[0.3, 0.1, 0.2]), 0.2);
        assert!((median(&[0.4, 0.1, 0.2, 0.3]) - 0.25).abs() < 1e-6);
        assert!(median(&[]).is_infinite());
    }
}
