//! Client certificate renewal: the kiosk's enrolled certificate (30 days) is replaced two
//! thirds into its life, over mutual TLS with the current one (`POST /v1/enrolment/renew`), by
//! a certificate for a new key made on the kiosk. The kiosk checks at start-up and every few
//! hours; `kioskctl enrol --renew` does it on demand.
//!
//! The new key and certificate are checked to belong together, then installed as one pair
//! ([`pair::install`]: a new folder, fsync'd, swapped in by one rename of a `current`
//! symlink), and the transport reloads them; the old pair is kept until the new one loads. A
//! crash at any point leaves a pair that connects. A failed renewal changes nothing: the
//! current certificate keeps working until it expires, and the next check tries again.

pub mod pair;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use kiosk_outbox::https::HttpsTransport;

use crate::gateway::enrol::{
    certifies, new_key_and_csr, CertificateInfo, EnrolmentResponse, RenewalRequest,
};

/// What [`renew_if_due`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// Not yet: renewal is due at this Unix time.
    NotDue {
        /// Unix seconds.
        renew_at: i64,
    },
    /// Renewed; the new certificate is valid until this time (RFC 3339).
    Renewed {
        /// From the gateway's answer.
        not_after: String,
    },
}

/// Renews the client certificate named in `transport`'s configuration if two thirds of its
/// life have passed at `now` (Unix seconds), or at once with `force`.
///
/// # Errors
///
/// A message for the technician: unreadable files, an unreachable gateway, a refusal, or an
/// answer whose certificate does not fit the new key. Nothing is replaced then.
pub fn renew_if_due(transport: &HttpsTransport, now: i64, force: bool) -> Result<Renewal, String> {
    let cfg = transport.config();
    let current = std::fs::read_to_string(&cfg.client_cert_pem)
        .map_err(|e| format!("{}: {e}", cfg.client_cert_pem.display()))?;
    let info = CertificateInfo::from_pem(&current)
        .map_err(|e| format!("{}: {e}", cfg.client_cert_pem.display()))?;
    if !force && now < info.renew_at() {
        return Ok(Renewal::NotDue {
            renew_at: info.renew_at(),
        });
    }
    let (key_pem, csr) = new_key_and_csr(&info.kiosk_id)?;
    let body = serde_json::to_vec(&RenewalRequest { csr }).map_err(|e| e.to_string())?;
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let (status, answer) = transport
        .request_blocking("POST", "/v1/enrolment/renew", &headers, body)
        .map_err(|e| format!("the gateway cannot be reached: {}", e.message))?;
    if !matches!(status, 200 | 201) {
        return Err(format!(
            "the gateway refused the renewal ({status}); enrol again with a new token if the \
             certificate has expired"
        ));
    }
    let r: EnrolmentResponse = serde_json::from_slice(&answer)
        .map_err(|_| "the gateway's answer is not an enrolment response".to_owned())?;
    let issued = CertificateInfo::from_pem(&r.certificate)?;
    if issued.kiosk_id != info.kiosk_id || !certifies(&r.certificate, &key_pem) {
        return Err("the gateway's certificate does not fit this kiosk's new key".to_owned());
    }
    pair::install(
        &cfg.client_key_pem,
        &cfg.client_cert_pem,
        &key_pem,
        &r.certificate,
        || {
            transport.reload().map_err(|e| {
                format!("renewed, but the new files do not load (the old ones stay): {e}")
            })
        },
    )?;
    Ok(Renewal::Renewed {
        not_after: r.not_after,
    })
}

/// The kiosk's renewal check: at start and then every `interval`, on its own thread (the
/// worker's runtime is not blocked). Stops when dropped.
#[derive(Debug)]
pub struct RenewalThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RenewalThread {
    /// Starts checking `transport`'s certificate.
    ///
    /// # Errors
    ///
    /// The thread cannot be spawned.
    pub fn start(transport: Arc<HttpsTransport>, interval: Duration) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("cert-renewal".to_owned())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    match renew_if_due(&transport, now, false) {
                        Ok(Renewal::NotDue { .. }) => {}
                        Ok(Renewal::Renewed { not_after }) => {
                            tracing::info!(%not_after, "client certificate renewed");
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "client certificate renewal failed");
                        }
                    }
                    // Sleep in short steps so that dropping the kiosk is quick.
                    let mut slept = Duration::ZERO;
                    while slept < interval && !s.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(200));
                        slept += Duration::from_millis(200);
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for RenewalThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
