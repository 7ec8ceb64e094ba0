//! [`QueuedSubmitter`]: submissions go through the encrypted outbox.
//!
//! The submission is committed to the outbox (fsync'd) before anything is promised; then the
//! background worker is woken and the submitter waits a short while for the gateway's
//! receipt. Delivered in time: the real receipt. Not in time (the network is down, the gateway
//! slow): [`Submitted::Queued`], the dossier is safe and the worker delivers it later; the
//! receipt screen says so (`Kiosk.receipt-offline`). If the outbox cannot store it (full disk,
//! read-only database), the submission is refused: never accept what cannot be kept.
//!
//! `app::GatewaySubmitter` turns a `Dossier` into the request and the outcome into a
//! `ReceiptInfo` (with `offline` set for [`Submitted::Queued`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_outbox::{
    Background, Blocking, Kind, NewItem, Outbox, OutboxError, State, SystemClock, Uuid,
    WorkerConfig,
};

use crate::admin_units::AdminUnits;
use crate::catalog::{CatalogEntry, EntryKind};
use crate::gateway::dto::{DossierComponent, DossierDetails};
use crate::gateway::fhir::registration_bundle;
use crate::gateway::outbox::LoopbackTransport;
use crate::gateway::{GatewayClient, SubmissionKind, SubmissionReceipt, SubmissionRequest};
use crate::session::Dossier;
use kiosk_hw::personal::Personal;

/// What became of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// The gateway answered in time.
    Delivered(SubmissionReceipt),
    /// Stored durably, not yet delivered: the worker keeps trying.
    Queued(Uuid),
    /// The gateway refused it for good (dead letter, operator alerted): staff must help.
    Rejected(Uuid),
}

/// Why a submission was refused. The citizen is told to ask staff; the technician message
/// is [`OutboxError`]'s.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitRefused {
    /// The outbox cannot keep it.
    #[error(transparent)]
    Storage(#[from] OutboxError),
    /// The request does not serialise (cannot happen for our DTOs).
    #[error("cannot serialise the submission")]
    Encoding,
}

/// The kiosk's submitter: outbox first, then the gateway through the worker.
#[derive(Debug)]
pub struct QueuedSubmitter {
    outbox: Arc<Outbox>,
    worker: Background,
    wait: Duration,
    /// Clinic registrations are queued as FHIR transaction Bundles (for a FHIR base).
    clinic_as_fhir: bool,
}

impl QueuedSubmitter {
    /// Starts the background worker over the demo's loopback client; `wait` is how long
    /// [`QueuedSubmitter::submit`] waits for the gateway before answering "queued".
    ///
    /// # Errors
    ///
    /// The worker cannot start (another process drains this queue, thread creation).
    pub fn start_loopback(
        outbox: Arc<Outbox>,
        client: GatewayClient,
        config: WorkerConfig,
        wait: Duration,
    ) -> Result<Self, kiosk_outbox::WorkerError> {
        let transport = Arc::new(Blocking(Arc::new(LoopbackTransport::new(client))));
        Self::start_with(outbox, transport, config, wait)
    }

    /// Like [`QueuedSubmitter::start_loopback`], with clinic registrations queued as FHIR
    /// transaction Bundles and posted to the FHIR base `fhir` is a client for (a hospital's
    /// FHIR server on the loopback interface, e.g. sekmet-fhir in the demo and tests).
    ///
    /// # Errors
    ///
    /// As [`QueuedSubmitter::start_loopback`].
    pub fn start_loopback_fhir(
        outbox: Arc<Outbox>,
        client: GatewayClient,
        fhir: GatewayClient,
        config: WorkerConfig,
        wait: Duration,
    ) -> Result<Self, kiosk_outbox::WorkerError> {
        let transport = LoopbackTransport::new(client).with_fhir(fhir);
        let s = Self::start_with(
            outbox,
            Arc::new(Blocking(Arc::new(transport))),
            config,
            wait,
        )?;
        Ok(s.clinic_as_fhir())
    }

    /// Queues clinic registrations as FHIR transaction Bundles
    /// ([`crate::gateway::fhir::registration_bundle`]); the transport must send them to a
    /// FHIR base and turn the answer into a receipt
    /// ([`crate::gateway::outbox::GatewayReceipts::clinic_to_fhir`] around `HttpsTransport`).
    #[must_use]
    pub fn clinic_as_fhir(mut self) -> Self {
        self.clinic_as_fhir = true;
        self
    }

    /// Starts the background worker over any transport (the production one is
    /// `kiosk_outbox::https::HttpsTransport`).
    ///
    /// # Errors
    ///
    /// The worker cannot start (another process drains this queue, thread creation).
    pub fn start_with<T: kiosk_outbox::Transport>(
        outbox: Arc<Outbox>,
        transport: Arc<T>,
        config: WorkerConfig,
        wait: Duration,
    ) -> Result<Self, kiosk_outbox::WorkerError> {
        let worker = Background::start(
            Arc::clone(&outbox),
            transport,
            config,
            Arc::new(SystemClock),
        )?;
        Ok(Self {
            outbox,
            worker,
            wait,
            clinic_as_fhir: false,
        })
    }

    /// Stores the request built by `build` (given the queue id to use as `referenceUid`)
    /// durably, then waits up to the configured time for delivery.
    ///
    /// # Errors
    ///
    /// [`SubmitRefused`] when the outbox cannot keep it: nothing was promised.
    pub fn submit(
        &self,
        build: impl FnOnce(&str) -> SubmissionRequest,
    ) -> Result<Submitted, SubmitRefused> {
        let id = Outbox::new_id();
        let request = build(&id.to_string());
        let kind = match request.kind {
            SubmissionKind::Tthc => Kind::Tthc,
            SubmissionKind::Clinic => Kind::Clinic,
        };
        let payload = if kind == Kind::Clinic && self.clinic_as_fhir {
            let bundle = registration_bundle(&request).ok_or(SubmitRefused::Encoding)?;
            serde_json::to_vec(&bundle)
        } else {
            serde_json::to_vec(&request)
        }
        .map_err(|_| SubmitRefused::Encoding)?;
        // One citizen's submissions stay in order; the key reveals nothing without the queue
        // key.
        let partition = self
            .outbox
            .partition_for(request.id_number.expose().as_bytes());
        let now = kiosk_outbox::Clock::now_ms(&SystemClock);
        self.outbox.enqueue(
            NewItem {
                id,
                kind,
                partition: &partition,
                payload: &payload,
            },
            now,
        )?;
        drop(payload);
        self.worker.wake();
        let deadline = Instant::now() + self.wait;
        loop {
            let state = self.outbox.state(id)?;
            if state == State::Dead {
                return Ok(Submitted::Rejected(id));
            }
            if state == State::Delivered {
                if let Some(r) = self.outbox.receipt(id)? {
                    if let Ok(receipt) = serde_json::from_slice::<SubmissionReceipt>(&r) {
                        return Ok(Submitted::Delivered(receipt));
                    }
                }
            }
            if Instant::now() >= deadline {
                return Ok(Submitted::Queued(id));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The network is back (a link came up): the worker retries what waited for it at once.
    pub fn network_returned(&self) {
        self.worker.network_returned();
    }

    /// The outbox (for the health screen and tests).
    #[must_use]
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Stops the worker; sends in progress finish first.
    pub fn shutdown(self) {
        self.worker.shutdown();
    }
}

/// The wire's `HoSo` of a dossier: the chip's further fields, the form's answers (the address
/// named from `units`, the typed street line first) and the procedure's components from its catalogue `entry`.
#[must_use]
pub fn dossier_details(
    dossier: &Dossier,
    entry: &CatalogEntry,
    units: &AdminUnits,
) -> DossierDetails {
    let citizen = dossier.citizen();
    let form = dossier.form();
    let text =
        |p: Option<&Personal<String>>| p.cloned().unwrap_or_else(|| Personal::new(String::new()));
    let code = |c: Option<u32>| Personal::new(c.map(|c| c.to_string()).unwrap_or_default());
    let address = match (form.province, form.ward) {
        (Some(p), Some(w)) => units.address_words(p, w, form.street.expose()),
        _ => String::new(),
    };
    let components = match &entry.kind {
        EntryKind::Procedure { components, .. } => components
            .iter()
            .map(|c| DossierComponent {
                code: c.code.clone(),
                name: c.titles.get("vi").to_owned(),
                from_chip: c.satisfied_by_identity,
            })
            .collect(),
        EntryKind::Department { .. } => Vec::new(),
    };
    DossierDetails {
        sex: citizen.sex().clone(),
        permanent_address: text(citizen.place_of_residence()),
        place_of_origin: text(citizen.details().place_of_origin.as_ref()),
        phone: form.phone.clone(),
        province_code: code(form.province),
        ward_code: code(form.ward),
        contact_address: Personal::new(address),
        delivery: form
            .delivery
            .map(|d| d.code().to_owned())
            .unwrap_or_default(),
        visit_reason: form.reason.clone().unwrap_or_default(),
        components,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_gateway::Gateway as DemoGateway;
    use kiosk_outbox::{OpenOptions, QueueKey};

    fn request(uid: &str) -> SubmissionRequest {
        SubmissionRequest::synthetic(uid, SubmissionKind::Tthc)
    }

    #[test]
    fn delivered_in_time_or_queued_then_delivered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Arc::new(
            Outbox::open(
                &dir.path().join("q.db"),
                &QueueKey::from_bytes([5; 32]),
                &OpenOptions::default(),
            )
            .expect("open"),
        );
        let gw = DemoGateway::start().expect("gateway");
        let client = GatewayClient::new(&gw.url(), Duration::from_secs(2)).expect("client");
        let config = WorkerConfig {
            probe_interval: Duration::from_millis(50),
            ..WorkerConfig::default()
        };
        let s = QueuedSubmitter::start_loopback(
            Arc::clone(&outbox),
            client,
            config,
            Duration::from_secs(5),
        )
        .expect("start");
        let Submitted::Delivered(r) = s.submit(request).expect("submit") else {
            panic!("not delivered");
        };
        assert_eq!(r.validate(), Ok(()));

        // The gateway is down: the dossier is kept and answered "queued" after the wait...
        gw.set_down(true);
        let s2 = QueuedSubmitter {
            wait: Duration::from_millis(300),
            ..s
        };
        let Submitted::Queued(id) = s2.submit(request).expect("submit") else {
            panic!("delivered while down");
        };
        assert_ne!(s2.outbox().state(id).expect("state"), State::Delivered);
        // ...and delivered once it returns (the probe notices).
        gw.set_down(false);
        let until = Instant::now() + Duration::from_secs(20);
        while s2.outbox().state(id).expect("state") != State::Delivered {
            assert!(
                Instant::now() < until,
                "not delivered after the gateway returned"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(gw.received(), 2);
        s2.shutdown();
    }

    /// A queue at its size limit refuses the submission with `Full` (the kiosk's
    /// `SubmitFailure::Storage`: "ask at the counter"); what it had accepted is kept.
    #[test]
    fn a_full_queue_refuses_submissions_and_keeps_the_accepted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = crate::config::QueueSettings {
            max_size_mb: 16,
            ..crate::config::QueueSettings::default()
        };
        let mut options = settings.open_options();
        assert_eq!(
            options.max_pages,
            Some(16 * 256),
            "queue.max_size_mb in pages"
        );
        // A few pages stand in for 16 MiB, to keep the test small.
        options.max_pages = Some(16);
        let outbox = Arc::new(
            Outbox::open(
                &dir.path().join("q.db"),
                &QueueKey::from_bytes([6; 32]),
                &options,
            )
            .expect("open"),
        );
        let gw = DemoGateway::start().expect("gateway");
        gw.set_down(true);
        let client = GatewayClient::new(&gw.url(), Duration::from_secs(2)).expect("client");
        let s = QueuedSubmitter::start_loopback(
            Arc::clone(&outbox),
            client,
            WorkerConfig::default(),
            Duration::ZERO,
        )
        .expect("start");
        let mut accepted = Vec::new();
        let refused = loop {
            match s.submit(request) {
                Ok(Submitted::Queued(id)) => accepted.push(id),
                Ok(other) => panic!("{other:?} while the gateway is down"),
                Err(e) => break e,
            }
            assert!(accepted.len() < 1000, "the size limit was never reached");
        };
        assert!(
            matches!(refused, SubmitRefused::Storage(OutboxError::Full)),
            "{refused:?}"
        );
        assert!(
            refused.to_string().contains("queue.max_size_mb"),
            "{refused}"
        );
        assert!(!accepted.is_empty());
        for id in accepted {
            assert_eq!(outbox.state(id).expect("kept"), State::Pending);
        }
        s.shutdown();
    }
}
