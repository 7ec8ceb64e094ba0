//! The gateway's protocol: a request, the caller's verified identity and the time in, a
//! response out. No sockets: [`crate::server`] feeds it.

use std::collections::HashMap;
use std::sync::Arc;

use kiosk_wire::codes;
use kiosk_wire::dto::{
    ErrorBody, Heartbeat, SubmissionKind, SubmissionReceipt, SubmissionRequest, SubmissionStatus,
};
use kiosk_wire::enrol::{is_kiosk_id, EnrolmentRequest, RenewalRequest};
use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::{Digest as _, Sha256};

use crate::ca::{Authority, Refusal};
use crate::store::{self, Accepted, CertRecord, NewSubmission, ReceiptRow, Store, StoreError};
use crate::GatewayConfig;

/// Longest accepted `Idempotency-Key`.
const MAX_KEY_LEN: usize = 128;
/// How long a token made by [`State::issue_enrolment_token`] is valid by default.
pub const TOKEN_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// A request as the protocol sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, e.g. `/v1/catalog?mode=hospital`.
    pub target: String,
    /// Header names and values (names compared case-insensitively).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Who is calling, as the transport established it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    /// The kiosk id: the common name of the client certificate verified in the TLS
    /// handshake (chained to the deployment CA, not revoked). Never taken from a header.
    pub kiosk_id: Option<String>,
    /// Whether the connection is TLS (then every endpoint but `/healthz` and
    /// `/v1/enrolment` requires a verified client certificate).
    pub tls: bool,
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Extra headers beside `Content-Type` and `Content-Length`.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body (empty for 304).
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON answer.
    pub fn json(status: u16, value: &impl serde::Serialize) -> Self {
        // Serialising our own DTOs (strings, numbers, no maps with non-string keys) cannot fail;
        // should it ever, an empty object still keeps the response well-formed.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Self {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// An [`ErrorBody`] answer.
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self::json(
            status,
            &ErrorBody {
                error: code.to_owned(),
                message: message.into(),
            },
        )
    }

    fn refusal(r: &Refusal) -> Self {
        Self::error(r.status, r.code, r.message)
    }
}

/// Unix milliseconds of the real clock (tokens and certificate validity follow it).
#[must_use]
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The protocol state: the configuration, the CA and the records. Nothing that matters is
/// kept in memory: every replica sharing the store answers alike.
pub struct State {
    config: Arc<GatewayConfig>,
    rng: StdRng,
    store: Box<dyn Store>,
    ca: Arc<Authority>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl State {
    /// The state over an open store and a CA.
    #[must_use]
    pub fn new(config: GatewayConfig, store: Box<dyn Store>, ca: Authority) -> Self {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng(),
        };
        Self {
            config: Arc::new(config),
            rng,
            store,
            ca: Arc::new(ca),
        }
    }

    /// Another state on the same configuration, CA and records that can serve a request at
    /// the same time as this one (its own lookup-code generator, seeded from this one's), if
    /// the store can be shared ([`Store::try_clone`]: PostgreSQL's pool); `None` with SQLite,
    /// where requests take turns on this state.
    pub fn fork(&mut self) -> Option<Self> {
        let store = self.store.try_clone()?;
        Some(Self {
            config: Arc::clone(&self.config),
            rng: StdRng::from_rng(&mut self.rng),
            store,
            ca: Arc::clone(&self.ca),
        })
    }

    /// The records (the server's revocation check and forwarding, admin operations in
    /// process, tests).
    pub fn store_mut(&mut self) -> &mut dyn Store {
        &mut *self.store
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// The deployment CA certificate, PEM.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        self.ca.ca_pem()
    }

    /// The CA (server certificates for tests and the demo).
    #[must_use]
    pub fn authority(&self) -> &Authority {
        &self.ca
    }

    /// How many distinct submissions were accepted.
    #[must_use]
    pub fn received(&mut self) -> usize {
        self.store
            .count_submissions()
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// `(referenceUid, MaHoSo, MaTTHC)` of every accepted submission, in arrival order.
    fn submissions(&mut self) -> Vec<(String, String, String)> {
        self.store.submissions().unwrap_or_else(|e| {
            tracing::error!(error = %e, "gateway cannot read its database");
            Vec::new()
        })
    }

    /// `referenceUid` to dossier code of every accepted submission.
    #[must_use]
    pub fn dossiers(&mut self) -> HashMap<String, String> {
        self.submissions()
            .into_iter()
            .map(|(uid, code, _)| (uid, code))
            .collect()
    }

    /// The procedure code (`MaTTHC`) of every accepted submission, in arrival order.
    #[must_use]
    pub fn procedure_codes(&mut self) -> Vec<String> {
        self.submissions().into_iter().map(|(_, _, p)| p).collect()
    }

    /// Serves `doc` (the catalogue's gateway JSON, `{"entries": [...]}`) at
    /// `GET /v1/catalog?mode=<mode>` from now on; its version (the ETag) is a hash of the
    /// entries, the same on every replica.
    ///
    /// # Errors
    ///
    /// `mode` is not `one-stop-shop` or `hospital`, `doc` has no `entries` array, or the
    /// database (message).
    pub fn set_catalog(&mut self, mode: &str, doc: &serde_json::Value) -> Result<(), String> {
        if !matches!(mode, "one-stop-shop" | "hospital") {
            return Err(format!("mode {mode:?}: use one-stop-shop or hospital"));
        }
        let entries = doc
            .get("entries")
            .filter(|e| e.is_array())
            .ok_or("the catalogue has no \"entries\" array")?;
        let bytes = serde_json::to_vec(entries).map_err(|e| e.to_string())?;
        let version = crate::ca::hex(Sha256::digest(&bytes).get(..8).unwrap_or_default());
        let served = serde_json::json!({ "version": version, "entries": entries });
        let json = serde_json::to_vec(&served).map_err(|e| e.to_string())?;
        self.store
            .set_catalog(mode, &store::Catalog { json, version })
            .map_err(|e| format!("cannot store the catalogue: {e}"))
    }

    /// A single-use enrolment token bound to `kiosk_id` and `site`, valid for `lifetime_ms`
    /// from `now_ms`; only its hash is stored.
    ///
    /// # Errors
    ///
    /// A malformed kiosk id or site, or the database (message).
    pub fn issue_enrolment_token(
        &mut self,
        kiosk_id: &str,
        site: &str,
        lifetime_ms: i64,
        now_ms: i64,
    ) -> Result<String, String> {
        new_token(&mut *self.store, kiosk_id, site, lifetime_ms, now_ms)
    }

    /// Answers one request from `peer` at `now_ms`.
    pub fn handle(&mut self, req: &Request, peer: &Peer, body: &[u8], now_ms: i64) -> Response {
        let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
        let method = req.method.as_str();
        let open = matches!(path, "/healthz" | "/readyz" | "/metrics" | "/v1/enrolment");
        if peer.tls && peer.kiosk_id.is_none() && !open {
            tracing::warn!(target: "audit", path, "refused: no client certificate on a TLS connection");
            return Response::error(
                401,
                "client_certificate_required",
                "this endpoint needs the kiosk's client certificate (mutual TLS)",
            );
        }
        match path {
            "/healthz" if method == "GET" => {
                Response::json(200, &serde_json::json!({"status": "ok"}))
            }
            "/readyz" if method == "GET" => match self.store.ping() {
                Ok(()) => Response::json(200, &serde_json::json!({"status": "ready"})),
                Err(e) => {
                    tracing::warn!(error = %e, "not ready: the database does not answer");
                    Response::error(503, "not_ready", "the gateway's database does not answer")
                }
            },
            "/v1/heartbeat" if method == "POST" => self.heartbeat(peer, body, now_ms),
            "/v1/submissions" if method == "POST" => self.submit(req, peer, body, now_ms),
            "/v1/enrolment" if method == "POST" => self.enrol(req, body, now_ms),
            "/v1/enrolment/renew" if method == "POST" => self.renew(peer, body, now_ms),
            "/v1/catalog" if method == "GET" => self.catalog(req, query),
            "/v1/enrolment" | "/v1/enrolment/renew" | "/v1/submissions" | "/v1/heartbeat" => {
                method_not_allowed("POST")
            }
            "/healthz" | "/readyz" | "/v1/catalog" => method_not_allowed("GET"),
            _ if path.starts_with("/v1/submissions/") && method == "GET" => {
                self.lookup(&path["/v1/submissions/".len()..], query)
            }
            _ if path.starts_with("/v1/submissions/") => method_not_allowed("GET"),
            _ => Response::error(404, "not_found", "no such endpoint"),
        }
    }

    /// `POST /v1/enrolment`: a technician's token and the kiosk's CSR for a client certificate.
    fn enrol(&mut self, req: &Request, body: &[u8], now_ms: i64) -> Response {
        match self.try_enrol(req, body, now_ms) {
            Ok(r) => r,
            Err(e) => store_failure(&e, "the gateway cannot record the enrolment"),
        }
    }

    fn try_enrol(
        &mut self,
        req: &Request,
        body: &[u8],
        now_ms: i64,
    ) -> Result<Response, StoreError> {
        const BAD_TOKEN: Refusal = crate::ca::refuse(
            401,
            "invalid_token",
            "enrolment token unknown, expired, revoked or already used",
        );
        let Some(token) = req
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            tracing::warn!(target: "audit", "enrolment refused: no token");
            return Ok(Response::refusal(&BAD_TOKEN));
        };
        let hash = store::token_hash(token);
        let Some(store::TokenCheck {
            kiosk,
            site,
            expires_ms,
            used,
            revoked,
        }) = self.store.find_token(&hash)?
        else {
            tracing::warn!(target: "audit", "enrolment refused: unknown token");
            return Ok(Response::refusal(&BAD_TOKEN));
        };
        let why = if used {
            Some("token already used")
        } else if revoked {
            Some("token revoked")
        } else if expires_ms < now_ms {
            Some("token expired")
        } else {
            None
        };
        if let Some(why) = why {
            tracing::warn!(target: "audit", kiosk = %kiosk, "enrolment refused: {why}");
            return Ok(Response::refusal(&BAD_TOKEN));
        }
        // The token is spent only by a successful enrolment, so a malformed request can be
        // corrected.
        let Ok(request) = serde_json::from_slice::<EnrolmentRequest>(body) else {
            return Ok(Response::error(
                400,
                "invalid_body",
                "body must be {\"kioskId\": ..., \"csr\": ...}",
            ));
        };
        if !is_kiosk_id(&request.kiosk_id) {
            return Ok(Response::error(
                400,
                "invalid_kiosk_id",
                "kioskId is malformed",
            ));
        }
        if request.kiosk_id != kiosk {
            tracing::warn!(
                target: "audit",
                token_kiosk = %kiosk,
                requested = %request.kiosk_id,
                "enrolment refused: the token belongs to another kiosk"
            );
            return Ok(Response::error(
                403,
                "token_for_another_kiosk",
                "this enrolment token was issued for another kiosk id",
            ));
        }
        let issued = match self.ca.issue(&kiosk, &request.csr, now_ms) {
            Ok(i) => i,
            Err(r) => {
                tracing::warn!(target: "audit", kiosk = %kiosk, code = r.code, "enrolment refused");
                return Ok(Response::refusal(&r));
            }
        };
        // Spend the token and record the certificate together; the `used_ms IS NULL` guard
        // makes a token presented twice at once (two replicas) succeed once.
        let cert = cert_record(&issued, &kiosk, &site, now_ms);
        if !self.store.spend_token(&hash, &cert, now_ms)? {
            tracing::warn!(target: "audit", kiosk = %kiosk, "enrolment refused: token already used");
            return Ok(Response::refusal(&BAD_TOKEN));
        }
        tracing::info!(target: "audit", kiosk = %kiosk, site = %site, serial = %issued.serial, "kiosk enrolled");
        Ok(Response::json(201, &issued.response))
    }

    /// `POST /v1/enrolment/renew`: the caller is the kiosk of the client certificate verified
    /// in the handshake; the request must name that same kiosk.
    fn renew(&mut self, peer: &Peer, body: &[u8], now_ms: i64) -> Response {
        let Some(kiosk) = peer.kiosk_id.as_deref() else {
            tracing::warn!(target: "audit", "renewal refused: no client certificate");
            return Response::error(
                401,
                "client_certificate_required",
                "renewal needs the kiosk's current certificate (mutual TLS)",
            );
        };
        let Ok(request) = serde_json::from_slice::<RenewalRequest>(body) else {
            return Response::error(400, "invalid_body", "body must be {\"csr\": ...}");
        };
        let issued = match self.ca.issue(kiosk, &request.csr, now_ms) {
            Ok(i) => i,
            Err(r) => {
                tracing::warn!(target: "audit", kiosk = %kiosk, code = r.code, "renewal refused");
                return Response::refusal(&r);
            }
        };
        let site = self
            .store
            .latest_site(kiosk)
            .ok()
            .flatten()
            .unwrap_or_default();
        if let Err(e) = self
            .store
            .record_certificate(&cert_record(&issued, kiosk, &site, now_ms))
        {
            return store_failure(&e, "the gateway cannot record the renewal");
        }
        tracing::info!(target: "audit", kiosk = %kiosk, serial = %issued.serial, "kiosk certificate renewed");
        Response::json(201, &issued.response)
    }

    /// `GET /v1/catalog?mode=...`: the catalogue for the mode, its version as ETag; 304 for
    /// `If-None-Match` with the current version.
    fn catalog(&mut self, req: &Request, query: &str) -> Response {
        let mode = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("mode="))
            .unwrap_or_default();
        if !matches!(mode, "one-stop-shop" | "hospital") {
            return Response::error(
                400,
                "invalid_mode",
                "mode must be one-stop-shop or hospital",
            );
        }
        let catalog = match self.store.catalog(mode) {
            Ok(Some(c)) => c,
            Ok(None) => return Response::error(404, "no_catalog", "no catalogue for this mode"),
            Err(e) => return store_failure(&e, "the gateway cannot read its records"),
        };
        let etag = format!("\"{}\"", catalog.version);
        if req.header("if-none-match") == Some(etag.as_str()) {
            return Response {
                status: 304,
                headers: vec![("ETag", etag)],
                body: Vec::new(),
            };
        }
        Response {
            status: 200,
            headers: vec![("ETag", etag)],
            body: catalog.json,
        }
    }

    fn submit(&mut self, req: &Request, peer: &Peer, body: &[u8], now_ms: i64) -> Response {
        match self.try_submit(req, peer, body, now_ms) {
            Ok(r) => r,
            Err(e) => store_failure(&e, "the gateway cannot store the submission"),
        }
    }

    fn try_submit(
        &mut self,
        req: &Request,
        peer: &Peer,
        body: &[u8],
        now_ms: i64,
    ) -> Result<Response, StoreError> {
        let key = match req.header("idempotency-key") {
            None | Some("") => {
                return Ok(Response::error(
                    400,
                    "missing_idempotency_key",
                    "POST /v1/submissions requires an Idempotency-Key header",
                ))
            }
            Some(k) if k.len() > MAX_KEY_LEN => {
                return Ok(Response::error(
                    400,
                    "invalid_idempotency_key",
                    "Idempotency-Key too long",
                ))
            }
            Some(k) => k.to_owned(),
        };
        let kiosk = peer.kiosk_id.as_deref().unwrap_or("-");
        // The key first: a replay is answered from the database without parsing again.
        if let Some(first) = self.store.by_key(kiosk, &key)? {
            return Ok(replay(
                &first,
                body,
                "idempotency_key_reused",
                "Idempotency-Key",
            ));
        }
        let request: SubmissionRequest = match serde_json::from_slice(body) {
            Ok(r) => r,
            // serde's message may quote the offending value, which may be personal: report
            // the position and category only.
            Err(e) => {
                return Ok(Response::error(
                    400,
                    "invalid_json",
                    format!(
                        "body is not a valid submission ({:?} error at line {} column {})",
                        e.classify(),
                        e.line(),
                        e.column()
                    ),
                ))
            }
        };
        if let Err(e) = request.validate() {
            return Ok(Response::error(400, "invalid_field", e.to_string()));
        }
        let now = self.config.fixed_now.unwrap_or_else(codes::now_vietnam);
        let day = now.date().to_string();
        let kind = match request.kind {
            SubmissionKind::Tthc => "tthc",
            SubmissionKind::Clinic => "clinic",
        };
        let new = NewSubmission {
            kiosk,
            key: &key,
            reference_uid: &request.reference_uid,
            kind,
            procedure_code: &request.procedure_code,
            procedure_name: &request.procedure_name,
            body,
            day: &day,
            queue_department: (request.kind == SubmissionKind::Clinic)
                .then_some(request.procedure_code.as_str()),
            // Clinic registrations go kiosk -> HIS (FHIR); TTHC dossiers to the one-stop
            // system, when the gateway forwards; a technician's test submission stays here.
            forward: request.kind == SubmissionKind::Tthc
                && request.procedure_code != kiosk_wire::dto::TEST_PROCEDURE_CODE
                && self.config.forward.is_some(),
            now_ms,
        };
        // A few rounds: a conflict is either the same submission accepted meanwhile (then
        // it is a replay) or a lookup code drawn twice (then draw again).
        for _ in 0..4 {
            // The business key: the same submission under a new idempotency key (the kiosk
            // lost its key store, or the gateway forgot an old key) must not make a second
            // dossier.
            if let Some(first) = self.store.by_uid(&request.reference_uid)? {
                let response = replay(&first, body, "reference_uid_reused", "referenceUid");
                if response.status == 200 {
                    self.store.add_key(kiosk, &key, first.id)?;
                }
                return Ok(response);
            }
            let (config, rng) = (&self.config, &mut self.rng);
            let mut make = |seq: u32, queue_number: Option<u32>| {
                new_receipt(config, rng, &request, now, seq, queue_number)
            };
            match self.store.accept(&new, &mut make)? {
                Accepted::New(receipt) => {
                    tracing::info!(
                        target: "audit",
                        kiosk = %kiosk,
                        procedure = %request.procedure_code,
                        "submission accepted"
                    );
                    return Ok(Response {
                        status: 201,
                        headers: Vec::new(),
                        body: receipt,
                    });
                }
                Accepted::Conflict => {
                    if let Some(first) = self.store.by_key(kiosk, &key)? {
                        return Ok(replay(
                            &first,
                            body,
                            "idempotency_key_reused",
                            "Idempotency-Key",
                        ));
                    }
                }
            }
        }
        Err(StoreError::Schema(
            "no free lookup code after four draws".to_owned(),
        ))
    }

    fn lookup(&mut self, dossier: &str, query: &str) -> Response {
        let code = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("code="))
            .filter(|c| !c.is_empty());
        let Some(code) = code else {
            return Response::error(400, "missing_code", "add ?code=<MaTraCuu> to the request");
        };
        // One answer for "no such dossier" and "wrong code", so the endpoint does not reveal
        // which dossier codes exist.
        let found = match self.store.status(dossier, code) {
            Ok(f) => f,
            Err(e) => return store_failure(&e, "the gateway cannot read its records"),
        };
        // The receipt was written by this gateway from values it made.
        let parsed = found.and_then(|row| {
            let receipt = serde_json::from_slice::<SubmissionReceipt>(&row.receipt).ok()?;
            Some((row, receipt))
        });
        match parsed {
            Some((row, receipt)) => Response::json(
                200,
                &SubmissionStatus {
                    dossier_code: receipt.dossier_code,
                    status: row.status,
                    procedure_name: row.procedure_name,
                    received_at: receipt.received_at,
                    appointment: receipt.appointment,
                    queue_number: receipt.queue_number,
                    collect_place: row.collect_place,
                    collect_at: row.collect_at,
                },
            ),
            None => Response::error(
                404,
                "not_found",
                "no dossier with this code and lookup code",
            ),
        }
    }

    /// `POST /v1/heartbeat`: a kiosk's versions, device health and queue depth, recorded in
    /// the kiosk registry.
    fn heartbeat(&mut self, peer: &Peer, body: &[u8], now_ms: i64) -> Response {
        let Some(kiosk) = peer.kiosk_id.as_deref() else {
            return Response::error(
                401,
                "client_certificate_required",
                "heartbeats come from enrolled kiosks (mutual TLS)",
            );
        };
        let Ok(beat) = serde_json::from_slice::<Heartbeat>(body) else {
            return Response::error(400, "invalid_body", "body must be a Heartbeat");
        };
        if let Err(e) = beat.validate() {
            return Response::error(400, "invalid_field", e.to_string());
        }
        // Re-serialised from the parsed value: only the known fields are stored, with the time
        // this gateway received it (the kiosk's `sentAt` is the kiosk's clock).
        let json = serde_json::to_vec(&StoredHeartbeat {
            received_ms: now_ms,
            heartbeat: beat,
        })
        .unwrap_or_default();
        match self.store.heartbeat(kiosk, &json, now_ms) {
            Ok(()) => Response {
                status: 204,
                headers: Vec::new(),
                body: Vec::new(),
            },
            Err(e) => store_failure(&e, "the gateway cannot record the heartbeat"),
        }
    }
}

/// Seconds a kiosk is asked to wait when the database is busy or restarting.
pub const BUSY_RETRY_AFTER_SECS: u32 = 2;

/// The answer when the store failed: 503 with `Retry-After` for a passing failure (no
/// connection in time, PostgreSQL restarting: the kiosk keeps the request and retries), 500
/// otherwise. Logged either way (the error names the database, never a citizen's value).
fn store_failure(e: &StoreError, what: &str) -> Response {
    if e.is_unavailable() {
        tracing::warn!(error = %e, "gateway database busy or unreachable: 503");
        let mut r = Response::error(503, "unavailable", format!("{what} now; retry later"));
        r.headers
            .push(("Retry-After", BUSY_RETRY_AFTER_SECS.to_string()));
        r
    } else {
        tracing::error!(error = %e, "gateway cannot use its database");
        Response::error(500, "internal", what)
    }
}

/// How a heartbeat is kept in the kiosk registry: as received, with the time it arrived.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredHeartbeat {
    received_ms: i64,
    heartbeat: Heartbeat,
}

/// A kiosk's latest heartbeat, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskHealth {
    /// The kiosk id (from its certificate).
    pub kiosk: String,
    /// When the gateway received the heartbeat, Unix ms.
    pub received_ms: i64,
    /// The heartbeat as the kiosk sent it (validated).
    pub heartbeat: Heartbeat,
}

/// How long a kiosk's last heartbeat stays in `/metrics`: twice the longest interval a kiosk
/// may be configured with (`gateway.heartbeat_interval_s` up to an hour). A kiosk silent for
/// longer drops out of the per-kiosk series (and `kiosks_seen_5m` already says it is gone).
pub const HEALTH_WINDOW_MS: i64 = 2 * 3600 * 1000;

impl State {
    /// The latest heartbeat of every kiosk heard from within [`HEALTH_WINDOW_MS`] of `now_ms`,
    /// by kiosk id. A row this gateway cannot read (written by an older version) is skipped.
    ///
    /// # Errors
    ///
    /// The database.
    pub fn kiosk_health(&mut self, now_ms: i64) -> Result<Vec<KioskHealth>, StoreError> {
        let since = now_ms.saturating_sub(HEALTH_WINDOW_MS);
        Ok(self
            .store
            .heartbeats(since)?
            .into_iter()
            .filter_map(|(kiosk, json)| {
                let s: StoredHeartbeat = serde_json::from_slice(&json).ok()?;
                (s.received_ms >= since).then_some(KioskHealth {
                    kiosk,
                    received_ms: s.received_ms,
                    heartbeat: s.heartbeat,
                })
            })
            .collect())
    }
}

/// The answer to a submission already accepted: its receipt if the body is the same (by
/// hash: the body itself is erased after forwarding), 422 if not.
fn replay(first: &store::Stored, body: &[u8], code: &str, what: &str) -> Response {
    if first.body_hash == store::sha256_hex(body) {
        Response {
            status: 200,
            headers: Vec::new(),
            body: first.receipt.clone(),
        }
    } else {
        Response::error(
            422,
            code,
            format!("{what} already used for a different submission"),
        )
    }
}

/// A new token for `kiosk_id` at `site` (the admin CLI and [`State::issue_enrolment_token`]).
///
/// # Errors
///
/// A malformed kiosk id or site, or the database (message).
pub fn new_token(
    store: &mut dyn Store,
    kiosk_id: &str,
    site: &str,
    lifetime_ms: i64,
    now_ms: i64,
) -> Result<String, String> {
    if !is_kiosk_id(kiosk_id) {
        return Err(format!(
            "kiosk id {kiosk_id:?}: use 1 to 64 letters, digits, '-', '.' or '_'"
        ));
    }
    if !is_kiosk_id(site) {
        return Err(format!(
            "site {site:?}: use 1 to 64 letters, digits, '-', '.' or '_'"
        ));
    }
    let bytes: [u8; 16] = rand::random();
    let token = crate::ca::hex(&bytes);
    store
        .insert_token(
            &store::token_hash(&token),
            kiosk_id,
            site,
            now_ms,
            now_ms.saturating_add(lifetime_ms),
        )
        .map_err(|e| format!("cannot record the token: {e}"))?;
    Ok(token)
}

fn cert_record(issued: &crate::ca::Issued, kiosk: &str, site: &str, now_ms: i64) -> CertRecord {
    CertRecord {
        serial: issued.serial.clone(),
        kiosk: kiosk.to_owned(),
        site: site.to_owned(),
        issued_ms: now_ms,
        not_after_ms: issued.not_after_ms,
    }
}

/// The receipt for the day's dossier number `seq` (and the clinic queue number).
fn new_receipt(
    config: &GatewayConfig,
    rng: &mut StdRng,
    request: &SubmissionRequest,
    now: time::PrimitiveDateTime,
    seq: u32,
    queue_number: Option<u32>,
) -> ReceiptRow {
    let receipt = SubmissionReceipt {
        dossier_code: codes::dossier_code(&config.agency, now.date(), seq),
        received_at: codes::format_portal_time(now),
        appointment: codes::format_portal_time(codes::appointment(
            now,
            request.kind,
            config.working_days,
        )),
        lookup_code: codes::generate_lookup_code(rng),
        queue_number,
    };
    ReceiptRow {
        json: Response::json(201, &receipt).body,
        dossier_code: receipt.dossier_code,
        lookup_code: receipt.lookup_code,
    }
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = Response::error(405, "method_not_allowed", format!("use {allow}"));
    r.headers.push(("Allow", allow.to_owned()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000; // 2026-01-01

    fn state() -> State {
        let config = GatewayConfig {
            fixed_now: Some(time::macros::datetime!(2026-01-09 16:00)),
            seed: Some(7),
            ..GatewayConfig::default()
        };
        let ca = Authority::ephemeral("Test CA").expect("ca");
        let db = store::SqliteStore::open(None).expect("db");
        State::new(config, Box::new(db), ca)
    }

    fn csr(cn: &str) -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p.serialize_request(&key)
            .and_then(|c| c.pem())
            .expect("csr")
    }

    fn req(method: &str, target: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn enrol(s: &mut State, token: &str, kiosk: &str) -> Response {
        let body = serde_json::json!({"kioskId": kiosk, "csr": csr(kiosk)}).to_string();
        let auth = format!("Bearer {token}");
        s.handle(
            &req("POST", "/v1/enrolment", &[("Authorization", &auth)]),
            &Peer::default(),
            body.as_bytes(),
            NOW,
        )
    }

    fn code(r: &Response) -> String {
        serde_json::from_slice::<ErrorBody>(&r.body)
            .map(|e| e.error)
            .unwrap_or_default()
    }

    #[test]
    fn tokens_are_bound_to_one_kiosk_single_use_and_expiring() {
        let mut s = state();
        let token = s
            .issue_enrolment_token("kiosk-01", "HN-01", TOKEN_LIFETIME_MS, NOW)
            .expect("token");
        // A token for kiosk-01 cannot enrol kiosk-02, and that does not spend it.
        let r = enrol(&mut s, &token, "kiosk-02");
        assert_eq!(
            (r.status, code(&r).as_str()),
            (403, "token_for_another_kiosk")
        );
        let r = enrol(&mut s, &token, "kiosk-01");
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        // Reused.
        let r = enrol(&mut s, &token, "kiosk-01");
        assert_eq!((r.status, code(&r).as_str()), (401, "invalid_token"));
        // Unknown, and expired.
        assert_eq!(enrol(&mut s, "0123", "kiosk-01").status, 401);
        let late = s
            .issue_enrolment_token("kiosk-03", "HN-01", 1000, NOW - 2000)
            .expect("token");
        assert_eq!(enrol(&mut s, &late, "kiosk-03").status, 401);
        // The certificate was recorded for the revocation list; revoking the kiosk marks it.
        assert_eq!(
            s.store_mut().revoke_kiosk("kiosk-01", NOW).expect("revoke"),
            1
        );
    }

    #[test]
    fn heartbeats_are_bounded_recorded_under_the_certificates_kiosk_and_read_back() {
        let mut s = state();
        let post = |s: &mut State, peer: &Peer, body: &str| {
            s.handle(
                &req("POST", "/v1/heartbeat", &[("X-Client-Cert-CN", "kiosk-99")]),
                peer,
                body.as_bytes(),
                NOW,
            )
        };
        let k1 = Peer {
            kiosk_id: Some("kiosk-01".to_owned()),
            tls: true,
        };
        let beat = r#"{"appVersion":"0.1.0","queueDepth":2,"deadLetters":1,"sentAt":"20260101080000",
            "devices":[{"device":"printer","status":"failed","detail":"paper-out"}],
            "uptimeSecs":42,"certDaysLeft":29}"#;
        // No certificate, no heartbeat, whatever a header says.
        assert_eq!(post(&mut s, &Peer::default(), beat).status, 401);
        let long = beat.replace("paper-out", &"x".repeat(257));
        let r = post(&mut s, &k1, &long);
        assert_eq!((r.status, code(&r).as_str()), (400, "invalid_field"));
        let extra = beat.replace("\"uptimeSecs\"", "\"name\":\"A\",\"uptimeSecs\"");
        assert_eq!(
            post(&mut s, &k1, &extra).status,
            400,
            "unknown fields refused"
        );
        assert_eq!(post(&mut s, &k1, beat).status, 204);
        let health = s.kiosk_health(NOW + 1000).expect("health");
        assert_eq!(health.len(), 1);
        assert_eq!(
            (
                health[0].kiosk.as_str(),
                health[0].received_ms,
                health[0].heartbeat.queue_depth,
                health[0].heartbeat.has_failed_device()
            ),
            ("kiosk-01", NOW, 2, true)
        );
        // Past the window it drops out.
        assert!(s
            .kiosk_health(NOW + HEALTH_WINDOW_MS + 1)
            .expect("health")
            .is_empty());
    }

    #[test]
    fn renewal_only_for_the_verified_kiosk_and_never_from_a_header() {
        let mut s = state();
        let body = |cn: &str| serde_json::json!({"csr": csr(cn)}).to_string();
        let forged = req(
            "POST",
            "/v1/enrolment/renew",
            &[("X-Client-Cert-CN", "kiosk-01")],
        );
        // No certificate on a TLS connection: refused whatever the header says.
        let no_cert = Peer {
            kiosk_id: None,
            tls: true,
        };
        let r = s.handle(&forged, &no_cert, body("kiosk-01").as_bytes(), NOW);
        assert_eq!(
            (r.status, code(&r).as_str()),
            (401, "client_certificate_required")
        );
        // The same on plain HTTP (the demo): no identity, no renewal.
        let r = s.handle(&forged, &Peer::default(), body("kiosk-01").as_bytes(), NOW);
        assert_eq!(r.status, 401);
        // Kiosk 02, verified, asking for kiosk 01's certificate (header and request): refused.
        let k2 = Peer {
            kiosk_id: Some("kiosk-02".to_owned()),
            tls: true,
        };
        let r = s.handle(&forged, &k2, body("kiosk-01").as_bytes(), NOW);
        assert_eq!((r.status, code(&r).as_str()), (403, "kiosk_id_mismatch"));
        let r = s.handle(&forged, &k2, body("kiosk-02").as_bytes(), NOW);
        assert_eq!(r.status, 201);
        // Submissions on TLS need a certificate too; health does not.
        let r = s.handle(&req("POST", "/v1/submissions", &[]), &no_cert, b"{}", NOW);
        assert_eq!(r.status, 401);
        assert_eq!(
            s.handle(&req("GET", "/healthz", &[]), &no_cert, b"", NOW)
                .status,
            200
        );
    }

    #[test]
    fn a_pruned_dossier_is_an_unknown_code_not_an_error() {
        let mut s = state();
        let uid = "0190f0a0-0000-7000-d000-000000000001";
        let body = serde_json::to_vec(&SubmissionRequest::synthetic(uid, SubmissionKind::Tthc))
            .expect("json");
        let post = req("POST", "/v1/submissions", &[("Idempotency-Key", uid)]);
        let r = s.handle(&post, &Peer::default(), &body, NOW);
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let receipt: SubmissionReceipt = serde_json::from_slice(&r.body).expect("receipt");
        let lookup = req(
            "GET",
            &format!(
                "/v1/submissions/{}?code={}",
                receipt.dossier_code, receipt.lookup_code
            ),
            &[],
        );
        assert_eq!(s.handle(&lookup, &Peer::default(), b"", NOW).status, 200);
        // A year and a day later the receipts retention (365 days) has passed.
        let later = NOW + 366 * 24 * 3600 * 1000;
        let pruned = crate::retention::Retention::default()
            .prune(s.store_mut(), later)
            .expect("prune");
        assert_eq!((pruned.receipts, pruned.keys), (1, 0));
        let r = s.handle(&lookup, &Peer::default(), b"", later);
        assert_eq!((r.status, code(&r).as_str()), (404, "not_found"));
    }
}
