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

use kiosk_wire::dto::DeviceStatus;

use crate::forward::{ForwardMetrics, Verdict};
use crate::state::KioskHealth;
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

/// A label value as the text format wants it: `\`, `"` and line breaks escaped. Kiosk ids
/// need none (checked at enrolment); the rest of a heartbeat's text is the kiosk's.
fn label(value: &str) -> String {
    let mut o = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

/// The per-kiosk series from the kiosks' latest heartbeats (see [`crate::state::KioskHealth`]):
/// how many kiosks report a failed device, and per kiosk its versions, outbox, devices,
/// certificate and the heartbeat's age at `now_ms`. Bounded: one series per kiosk and device
/// (at most [`kiosk_wire::dto::Heartbeat::MAX_DEVICES`] devices).
#[must_use]
pub fn render_kiosks(kiosks: &[KioskHealth], now_ms: i64) -> String {
    let mut o = String::new();
    let failing = kiosks
        .iter()
        .filter(|k| k.heartbeat.has_failed_device())
        .count();
    let head = |o: &mut String, name: &str, help: &str| {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} gauge");
    };
    head(
        &mut o,
        "kiosk_gateway_kiosks_device_failed",
        "Kiosks whose latest heartbeat reports a failed device (out of service).",
    );
    let _ = writeln!(o, "kiosk_gateway_kiosks_device_failed {failing}");
    head(
        &mut o,
        "kiosk_gateway_kiosk_info",
        "A kiosk's software, OS and configuration hash, from its latest heartbeat.",
    );
    for k in kiosks {
        let b = &k.heartbeat;
        let _ = writeln!(
            o,
            "kiosk_gateway_kiosk_info{{kiosk=\"{}\",app_version=\"{}\",os_version=\"{}\",config_sha256=\"{}\"}} 1",
            k.kiosk,
            label(&b.app_version),
            label(&b.os_version),
            b.config_sha256.as_deref().unwrap_or("")
        );
    }
    type Value = fn(&KioskHealth, i64) -> Option<f64>;
    #[allow(clippy::cast_precision_loss)]
    let series: [(&str, &str, Value); 5] = [
        (
            "kiosk_gateway_kiosk_queue_depth",
            "Submissions waiting in the kiosk's outbox.",
            |k, _| Some(f64::from(k.heartbeat.queue_depth)),
        ),
        (
            "kiosk_gateway_kiosk_dead_letters",
            "Submissions the kiosk's outbox gave up on.",
            |k, _| Some(f64::from(k.heartbeat.dead_letters)),
        ),
        (
            "kiosk_gateway_kiosk_heartbeat_age_seconds",
            "Seconds since the kiosk's latest heartbeat arrived.",
            |k, now| Some(now.saturating_sub(k.received_ms) as f64 / 1000.0),
        ),
        (
            "kiosk_gateway_kiosk_uptime_seconds",
            "The kiosk program's uptime when it sent its latest heartbeat.",
            |k, _| Some(k.heartbeat.uptime_secs as f64),
        ),
        (
            "kiosk_gateway_kiosk_certificate_days_left",
            "Days left on the kiosk's client certificate, as the kiosk reads it.",
            |k, _| k.heartbeat.cert_days_left.map(f64::from),
        ),
    ];
    for (name, help, value) in series {
        head(&mut o, name, help);
        for k in kiosks {
            if let Some(v) = value(k, now_ms) {
                let _ = writeln!(o, "{name}{{kiosk=\"{}\"}} {v}", k.kiosk);
            }
        }
    }
    head(
        &mut o,
        "kiosk_gateway_kiosk_device_up",
        "1 when the kiosk reports the device ok or degraded, 0 when failed.",
    );
    for k in kiosks {
        for d in &k.heartbeat.devices {
            let up = u8::from(d.status != DeviceStatus::Failed);
            let _ = writeln!(
                o,
                "kiosk_gateway_kiosk_device_up{{kiosk=\"{}\",device=\"{}\"}} {up}",
                k.kiosk,
                label(&d.device)
            );
        }
    }
    o
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

    #[test]
    fn kiosks_health_series_from_heartbeats() {
        use kiosk_wire::dto::{DeviceHealth, Heartbeat};
        let beat = |devices: Vec<DeviceHealth>| Heartbeat {
            app_version: "0.1.0".into(),
            os_version: "Debian \"13\"".into(),
            queue_depth: 3,
            dead_letters: 1,
            devices,
            sent_at: "20260105093000".into(),
            config_sha256: Some("ab".repeat(32)),
            cert_days_left: Some(12),
            uptime_secs: 600,
        };
        let dev = |name: &str, status| DeviceHealth {
            device: name.into(),
            status,
            detail: None,
        };
        let kiosks = [
            KioskHealth {
                kiosk: "kiosk-01".into(),
                received_ms: 10_000,
                heartbeat: beat(vec![
                    dev("card-reader", DeviceStatus::Ok),
                    dev("printer", DeviceStatus::Failed),
                ]),
            },
            KioskHealth {
                kiosk: "kiosk-02".into(),
                received_ms: 40_000,
                heartbeat: beat(vec![dev("printer", DeviceStatus::Degraded)]),
            },
        ];
        let text = render_kiosks(&kiosks, 70_000);
        for want in [
            "kiosk_gateway_kiosks_device_failed 1\n",
            "kiosk_gateway_kiosk_queue_depth{kiosk=\"kiosk-01\"} 3\n",
            "kiosk_gateway_kiosk_dead_letters{kiosk=\"kiosk-02\"} 1\n",
            "kiosk_gateway_kiosk_heartbeat_age_seconds{kiosk=\"kiosk-01\"} 60\n",
            "kiosk_gateway_kiosk_heartbeat_age_seconds{kiosk=\"kiosk-02\"} 30\n",
            "kiosk_gateway_kiosk_uptime_seconds{kiosk=\"kiosk-01\"} 600\n",
            "kiosk_gateway_kiosk_certificate_days_left{kiosk=\"kiosk-02\"} 12\n",
            "kiosk_gateway_kiosk_device_up{kiosk=\"kiosk-01\",device=\"printer\"} 0\n",
            "kiosk_gateway_kiosk_device_up{kiosk=\"kiosk-01\",device=\"card-reader\"} 1\n",
            "kiosk_gateway_kiosk_device_up{kiosk=\"kiosk-02\",device=\"printer\"} 1\n",
            "os_version=\"Debian \\\"13\\\"\"",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
        assert_eq!(
            render_kiosks(&[], 0)
                .lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            ["kiosk_gateway_kiosks_device_failed 0"]
        );
    }
}
