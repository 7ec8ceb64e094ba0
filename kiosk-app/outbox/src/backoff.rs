//! Full-jitter exponential backoff (pure: the random source is passed in).
//!
//! `sleep = random(0, min(cap, base * 2^(attempt-1)))`: spreads a fleet of kiosks that lost
//! the network together so they do not hammer the gateway together when it returns.

use std::time::Duration;

use rand::{Rng, RngExt};

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first ceiling (e.g. 2 s).
    pub base: Duration,
    /// The largest ceiling (e.g. 15 min).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// The ceiling after `attempt` failed attempts (1 = the first failure).
    #[must_use]
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << shift)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// The delay before the next attempt: uniform in `[0, ceiling]`, but never less than what
    /// the gateway asked for with `Retry-After` (which is itself bounded by a day, so a
    /// broken header cannot park a submission for ever).
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let ceiling = self.ceiling(attempt);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let jitter = Duration::from_millis(rng.random_range(0..=ms));
        match retry_after {
            Some(ra) => jitter.max(ra.min(Duration::from_secs(24 * 3600))),
            None => jitter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
        };
        let c: Vec<u64> = (1..=8).map(|a| b.ceiling(a).as_secs()).collect();
        assert_eq!(c, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn jitter_is_full_and_retry_after_is_a_floor() {
        let b = Backoff::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let ds: Vec<Duration> = (0..1000).map(|_| b.delay(3, None, &mut rng)).collect();
        assert!(ds.iter().all(|d| *d <= Duration::from_secs(8)));
        assert!(ds.iter().any(|d| *d < Duration::from_secs(1)));
        assert!(ds.iter().any(|d| *d > Duration::from_secs(7)));
        for _ in 0..100 {
            assert!(b.delay(1, Some(Duration::from_secs(30)), &mut rng) >= Duration::from_secs(30));
        }
        let huge = b.delay(1, Some(Duration::from_secs(10_000_000)), &mut rng);
        assert_eq!(huge, Duration::from_secs(24 * 3600));
    }
}
