//! `/metrics` in the Prometheus text format (version 0.0.4), hand-written: a few counters, one
//! histogram and gauges read from the store at scrape time do not justify a metrics crate.
//!
//! Counters are per replica (Prometheus sums them across replicas); the gauges come from the
//! shared store, so every replica reports the same forward queue and kiosk numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::forward::{ForwardMetrics, Verdict};
use crate::store::Gauges;

/// Upper bounds of the latency histogram's buckets, seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The replica's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (route, status) -> requests.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Per bucket of [`BUCKETS`], then +Inf.
    latency: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_us: AtomicU64,
    rate_limited: AtomicU64,
    handshakes_refused: AtomicU64,
    connections_refused: AtomicU64,
    forward_done: AtomicU64,
    forward_retry: AtomicU64,
    forward_dead: AtomicU64,
}

/// The route label of a path (bounded: never a dossier code).
#[must_use]
pub fn route(path: &str) -> &'static str {
    match path {
        "/v1/submissions" => "/v1/submissions",
        "/v1/enrolment" => "/v1/enrolment",
        "/v1/enrolment/renew" => "/v1/enrolment/renew",
        "/v1/catalog" => "/v1/catalog",
        "/v1/heartbeat" => "/v1/heartbeat",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        p if p.starts_with("/v1/submissions/") => "/v1/submissions/{MaHoSo}",
        _ => "other",
    }
}

impl Metrics {
    /// One request answered.
    pub fn request(&self, path: &str, status: u16, took: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((route(path), status))
            .or_default() += 1;
        let secs = took.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        if let Some(b) = self.latency.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_sum_us.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// One request refused by the per-kiosk rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// One TLS connection refused (bad or revoked certificate).
    pub fn handshake_refused(&self) {
        self.handshakes_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// One connection closed at once: [`crate::Limits::max_connections`] were open.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The text for a scrape, with the store's `gauges` at `now_ms`.
    #[must_use]
    pub fn render(&self, gauges: Option<&Gauges>, now_ms: i64) -> String {
        let mut o = String::new();
        let mut line = |s: String| {
            o.push_str(&s);
            o.push('\n');
        };
        line(
            "# HELP kiosk_gateway_requests_total HTTP requests answered, by route and status."
                .into(),
        );
        line("# TYPE kiosk_gateway_requests_total counter".into());
        for ((r, s), n) in self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            line(format!(
                "kiosk_gateway_requests_total{{route=\"{r}\",status=\"{s}\"}} {n}"
            ));
        }
        line("# HELP kiosk_gateway_request_duration_seconds Time to answer a request.".into());
        line("# TYPE kiosk_gateway_request_duration_seconds histogram".into());
        let mut cumulative = 0u64;
        for (i, b) in self.latency.iter().enumerate() {
            cumulative = cumulative.saturating_add(b.load(Ordering::Relaxed));
            let le = BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), ToString::to_string);
            line(format!(
                "kiosk_gateway_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            ));
        }
        #[allow(clippy::cast_precision_loss)]
        let sum = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        line(format!("kiosk_gateway_request_duration_seconds_sum {sum}"));
        line(format!(
            "kiosk_gateway_request_duration_seconds_count {cumulative}"
        ));
        for (name, help, v) in [
            (
                "kiosk_gateway_rate_limited_total",
                "Requests refused by the per-kiosk rate limit.",
                &self.rate_limited,
            ),
            (
                "kiosk_gateway_tls_refused_total",
                "TLS connections refused: a certificate from another CA, revoked, or none that fits.",
                &self.handshakes_refused,
            ),
            (
                "kiosk_gateway_connections_refused_total",
                "Connections closed at once because the most allowed were open.",
                &self.connections_refused,
            ),
            (
                "kiosk_gateway_forwarded_total",
                "Dossiers the one-stop system took.",
                &self.forward_done,
            ),
            (
                "kiosk_gateway_forward_retries_total",
                "Forwarding attempts to be retried.",
                &self.forward_retry,
            ),
            (
                "kiosk_gateway_forward_rejected_total",
                "Forwarding attempts refused for good.",
                &self.forward_dead,
            ),
        ] {
            line(format!("# HELP {name} {help}"));
            line(format!("# TYPE {name} counter"));
            line(format!("{name} {}", v.load(Ordering::Relaxed)));
        }
        let Some(g) = gauges else {
            return o;
        };
        for (name, help, v) in [
            (
                "kiosk_gateway_forward_queue_depth",
                "Dossiers waiting to be forwarded (all replicas).",
                g.forward_pending,
            ),
            (
                "kiosk_gateway_forward_dead_letters",
                "Dossiers given up on: an operator must look.",
                g.forward_dead,
            ),
            (
                "kiosk_gateway_kiosks_seen_5m",
                "Kiosks heard from (heartbeat or submission) in the last 5 minutes.",
                g.kiosks_seen,
            ),
        ] {
            line(format!("# HELP {name} {help}"));
            line(format!("# TYPE {name} gauge"));
            line(format!("{name} {v}"));
        }
        line("# HELP kiosk_gateway_certificate_days_left Days until the kiosk's newest valid client certificate expires.".into());
        line("# TYPE kiosk_gateway_certificate_days_left gauge".into());
        for (kiosk, not_after) in &g.cert_not_after {
            #[allow(clippy::cast_precision_loss)]
            let days = not_after.saturating_sub(now_ms) as f64 / 86_400_000.0;
            // Kiosk ids are [A-Za-z0-9._-] (checked at enrolment): nothing to escape.
            let _ = writeln!(
                o,
                "kiosk_gateway_certificate_days_left{{kiosk=\"{kiosk}\"}} {days:.2}"
            );
        }
        o
    }
}

impl ForwardMetrics for Metrics {
    fn attempt(&self, verdict: Verdict) {
        let c = match verdict {
            Verdict::Done => &self.forward_done,
            Verdict::Retry => &self.forward_retry,
            Verdict::Dead => &self.forward_dead,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_has_counters_histogram_and_gauges() {
        let m = Metrics::default();
        m.request("/v1/submissions", 201, Duration::from_millis(3));
        m.request(
            "/v1/submissions/000.00.01.H29-260105-0001",
            200,
            Duration::from_secs(20),
        );
        m.attempt(Verdict::Retry);
        let g = Gauges {
            forward_pending: 4,
            forward_dead: 1,
            kiosks_seen: 2,
            cert_not_after: vec![("kiosk-01".into(), 86_400_000 * 10)],
        };
        let text = m.render(Some(&g), 0);
        for want in [
            "kiosk_gateway_requests_total{route=\"/v1/submissions\",status=\"201\"} 1\n",
            "kiosk_gateway_requests_total{route=\"/v1/submissions/{MaHoSo}\",status=\"200\"} 1\n",
            "kiosk_gateway_request_duration_seconds_bucket{le=\"0.005\"} 1\n",
            "kiosk_gateway_request_duration_seconds_bucket{le=\"10\"} 1\n",
            "kiosk_gateway_request_duration_seconds_bucket{le=\"+Inf\"} 2\n",
            "kiosk_gateway_request_duration_seconds_count 2\n",
            "kiosk_gateway_forward_retries_total 1\n",
            "kiosk_gateway_forward_queue_depth 4\n",
            "kiosk_gateway_forward_dead_letters 1\n",
            "kiosk_gateway_kiosks_seen_5m 2\n",
            "kiosk_gateway_certificate_days_left{kiosk=\"kiosk-01\"} 10.00\n",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
        assert!(!text.contains("260105"), "no dossier codes as labels");
    }
}
