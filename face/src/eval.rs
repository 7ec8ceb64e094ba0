//! Error rates of a verifier as ISO/IEC 19795-1 reports them. Pure: distances in, rates out.
//!
//! A comparison is a *match* when its distance is at or below the threshold. FMR is the share
//! of impostor comparisons that match; FNMR the share of genuine comparisons that do not.

/// FMR and FNMR at one threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetPoint {
    /// Distance threshold.
    pub threshold: f32,
    /// False match rate.
    pub fmr: f64,
    /// False non-match rate.
    pub fnmr: f64,
}

/// Rates at `threshold`. Empty sets give rate 0.
pub fn rates_at(genuine: &[f32], impostor: &[f32], threshold: f32) -> DetPoint {
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    DetPoint {
        threshold,
        fmr: share(
            impostor.iter().filter(|&&d| d <= threshold).count(),
            impostor.len(),
        ),
        fnmr: share(
            genuine.iter().filter(|&&d| d > threshold).count(),
            genuine.len(),
        ),
    }
}

/// The operating point at the largest threshold whose FMR does not exceed `target_fmr`
/// (at least one impostor comparison must exist). With N impostor comparisons an FMR below
/// 1/N cannot be observed: then this is the point just below the closest impostor.
pub fn at_fmr(genuine: &[f32], impostor: &[f32], target_fmr: f64) -> Option<DetPoint> {
    if impostor.is_empty() {
        return None;
    }
    let mut imp = impostor.to_vec();
    imp.sort_by(f32::total_cmp);
    // Allowed number of false matches.
    let allowed = (target_fmr * imp.len() as f64).floor() as usize;
    let threshold = if allowed >= imp.len() {
        f32::INFINITY
    } else {
        // Just below the (allowed+1)-th smallest impostor distance.
        let next = imp[allowed];
        f32::from_bits(next.to_bits().saturating_sub(1)).min(next)
    };
    Some(rates_at(genuine, impostor, threshold))
}

/// DET curve points at every distinct distance seen, ascending threshold.
pub fn det_curve(genuine: &[f32], impostor: &[f32]) -> Vec<DetPoint> {
    let mut ts: Vec<f32> = genuine.iter().chain(impostor).copied().collect();
    ts.sort_by(f32::total_cmp);
    ts.dedup();
    ts.into_iter()
        .map(|t| rates_at(genuine, impostor, t))
        .collect()
}

/// The rule of three: with zero errors in `n` trials, the 95% upper bound of the rate.
pub fn rule_of_three(n: usize) -> f64 {
    if n == 0 {
        1.0
    } else {
        (3.0 / n as f64).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_count_matches_at_or_below_the_threshold() {
        let g = [0.2, 0.3, 0.55, 0.7];
        let i = [0.5, 0.8, 0.9, 1.0];
        let p = rates_at(&g, &i, 0.5);
        assert_eq!(p.fmr, 0.25);
        assert_eq!(p.fnmr, 0.5);
        assert_eq!(rates_at(&[], &[], 0.5).fmr, 0.0);
    }

    #[test]
    fn operating_point_stays_under_the_target_fmr() {
        let g = [0.2, 0.3, 0.55, 0.7];
        let i = [0.5, 0.8, 0.9, 1.0];
        let p = at_fmr(&g, &i, 0.001).expect("impostors");
        assert_eq!(p.fmr, 0.0);
        assert!(p.threshold < 0.5 && p.threshold > 0.4999);
        assert_eq!(p.fnmr, 0.5);
        let p = at_fmr(&g, &i, 0.25).expect("impostors");
        assert_eq!(p.fmr, 0.25);
        assert!(p.threshold < 0.8);
        assert_eq!(p.fnmr, 0.0);
        assert!(at_fmr(&g, &[], 0.01).is_none());
        assert_eq!(at_fmr(&g, &i, 1.0).map(|p| p.fnmr), Some(0.0));
    }

    #[test]
    fn det_curve_is_monotone() {
        let g = [0.2, 0.3, 0.55, 0.7];
        let i = [0.5, 0.8, 0.9, 1.0];
        let c = det_curve(&g, &i);
        assert_eq!(c.len(), 8);
        for w in c.windows(2) {
            assert!(w[0].fmr <= w[1].fmr && w[0].fnmr >= w[1].fnmr);
        }
    }

    #[test]
    fn rule_of_three_bounds() {
        assert_eq!(rule_of_three(300), 0.01);
        assert_eq!(rule_of_three(0), 1.0);
        assert_eq!(rule_of_three(2), 1.0);
    }
}
