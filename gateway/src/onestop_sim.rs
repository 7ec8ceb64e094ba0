//! A simulator of the provincial one-stop system's OpenCPS-style intake, with fault injection:
//! what [`crate::forward`] is tested against (its tests, the load test, and
//! `kiosk-gateway onestop-sim` by hand).
//!
//! `POST /o/rest/v2/dossiers` with the intake JSON creates a dossier, once per `referenceUid`
//! (a second delivery answers 200 with the same dossier: the idempotency the gateway relies
//! on). Faults, drawn per request from a seeded generator:
//! - `error_rate`: 503 without taking the dossier;
//! - `timeout_rate`: take the dossier, but answer only after `hang` (longer than the
//!   gateway's timeout: the gateway retries, a duplicate delivery arrives);
//! - `lost_reply_rate`: take the dossier and close the connection unanswered (a duplicate
//!   delivery too).
//!
//! `GET /o/rest/v2/dossiers/{referenceUid}` answers where a dossier stands:
//! `{"referenceUid", "dossierNo", "dossierStatus", "releasePlace"?, "releaseDate"?}` with
//! OpenCPS-style codes (`new` when taken in); 404 for a dossier it does not hold. The office's
//! work is simulated by [`OneStopSim::advance`] (a test hook) or its admin endpoint
//! `POST /sim/dossiers/{referenceUid}/status` with `{"dossierStatus", "releasePlace"?,
//! "releaseDate"?}`; [`OneStopSim::fail_status_polls`] makes the next status requests answer
//! 503 (fault injection on the report back).
//!
//! With [`OneStopSim::require_client`] it wants OAuth2 client credentials as an LGSP or iGate
//! would: `POST /oauth/token` (form `grant_type=client_credentials`, `client_id`,
//! `client_secret`) issues bearer tokens with a lifetime, and every other call without a live
//! token answers 401; [`OneStopSim::expire_tokens`] ends every token at once.
//!
//! It keeps only `referenceUid`, the service code, delivery counts and the status: no personal
//! data.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};

use crate::forward::DOSSIERS_PATH;

/// The faults to inject (rates from 0 to 1; their sum at most 1).
#[derive(Debug, Clone, PartialEq)]
pub struct SimFaults {
    /// Share of requests answered 503 unprocessed.
    pub error_rate: f64,
    /// Share processed but answered only after `hang`.
    pub timeout_rate: f64,
    /// Share processed and closed unanswered.
    pub lost_reply_rate: f64,
    /// How long a "timeout" request hangs.
    pub hang: Duration,
    /// Seed of the fault draws.
    pub seed: u64,
}

impl Default for SimFaults {
    /// No faults.
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            timeout_rate: 0.0,
            lost_reply_rate: 0.0,
            hang: Duration::from_secs(30),
            seed: 1,
        }
    }
}

/// One dossier the simulator holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimDossier {
    /// The one-stop system's own number.
    pub id: u64,
    /// `serviceCode`.
    pub service_code: String,
    /// The gateway's `dossierNo`.
    pub dossier_no: String,
    /// How many times it was delivered (1 + duplicates).
    pub deliveries: u32,
    /// Its status code (OpenCPS-style: `new`, `processing`, `waiting`, `releasing`, `done`...).
    pub status: String,
    /// Where to collect the result, once set.
    pub release_place: Option<String>,
    /// From when, `yyyyMMddHHmmss`, once set.
    pub release_date: Option<String>,
}

struct SimShared {
    faults: SimFaults,
    rng: Mutex<StdRng>,
    dossiers: Mutex<HashMap<String, SimDossier>>,
    requests: AtomicU64,
    next_id: AtomicU64,
    /// Status requests still to answer 503.
    failing_status: AtomicU64,
    /// Client credentials wanted, and the tokens issued (token -> end of life).
    auth: Mutex<Option<SimAuth>>,
    token_requests: AtomicU64,
}

/// The credentials the simulator wants and its live tokens.
struct SimAuth {
    client_id: String,
    secret: String,
    ttl: Duration,
    tokens: HashMap<String, std::time::Instant>,
}

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/oauth/token";

/// The running simulator; stopped on drop.
pub struct OneStopSim {
    addr: SocketAddr,
    shared: Arc<SimShared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for OneStopSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneStopSim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

enum Reply {
    Answer(u16, Vec<u8>),
    Hang(u16, Vec<u8>),
    Drop,
}

impl SimShared {
    /// Handles one request; pure apart from the shared records.
    fn handle(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(uid) = path
            .strip_prefix(DOSSIERS_PATH)
            .and_then(|p| p.strip_prefix('/'))
        {
            if method == "GET" {
                return self.status(uid);
            }
        }
        if let Some(uid) = path
            .strip_prefix("/sim/dossiers/")
            .and_then(|p| p.strip_suffix("/status"))
        {
            if method == "POST" {
                return self.set_status(uid, body);
            }
        }
        if method != "POST" || path != DOSSIERS_PATH {
            return Reply::Answer(404, br#"{"error":"not_found"}"#.to_vec());
        }
        let roll: f64 = self
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .random();
        let f = &self.faults;
        if roll < f.error_rate {
            return Reply::Answer(503, br#"{"error":"unavailable"}"#.to_vec());
        }
        let v: serde_json::Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return Reply::Answer(400, br#"{"error":"invalid_json"}"#.to_vec()),
        };
        let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
        let (uid, service, no) = (
            field("referenceUid"),
            field("serviceCode"),
            field("dossierNo"),
        );
        if uid.is_empty() || service.is_empty() || field("applicantIdNo").is_empty() {
            return Reply::Answer(400, br#"{"error":"missing_field"}"#.to_vec());
        }
        let (status, id) = {
            let mut d = self.dossiers.lock().unwrap_or_else(PoisonError::into_inner);
            match d.get_mut(uid) {
                Some(existing) => {
                    existing.deliveries = existing.deliveries.saturating_add(1);
                    (200, existing.id)
                }
                None => {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    d.insert(
                        uid.to_owned(),
                        SimDossier {
                            id,
                            service_code: service.to_owned(),
                            dossier_no: no.to_owned(),
                            deliveries: 1,
                            status: "new".to_owned(),
                            release_place: None,
                            release_date: None,
                        },
                    );
                    (201, id)
                }
            }
        };
        let answer = serde_json::json!({"dossierId": id, "referenceUid": uid}).to_string();
        if roll < f.error_rate + f.timeout_rate {
            Reply::Hang(status, answer.into_bytes())
        } else if roll < f.error_rate + f.timeout_rate + f.lost_reply_rate {
            Reply::Drop
        } else {
            Reply::Answer(status, answer.into_bytes())
        }
    }
}

impl SimShared {
    /// A request with its `Authorization` header: the token endpoint, or the token check
    /// before [`SimShared::handle`].
    fn handle_authorized(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Reply {
        if method == "POST" && path == TOKEN_PATH {
            return self.issue_token(body);
        }
        let mut auth = self.auth.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = auth.as_mut() {
            let now = std::time::Instant::now();
            a.tokens.retain(|_, until| *until > now);
            let live = authorization
                .and_then(|h| h.strip_prefix("Bearer "))
                .is_some_and(|t| a.tokens.contains_key(t));
            if !live {
                self.requests.fetch_add(1, Ordering::Relaxed);
                return Reply::Answer(401, br#"{"error":"invalid_token"}"#.to_vec());
            }
        }
        drop(auth);
        self.handle(method, path, body)
    }

    /// `POST /oauth/token`.
    fn issue_token(&self, body: &[u8]) -> Reply {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let form = String::from_utf8_lossy(body);
        let field = |k: &str| {
            form.split('&')
                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
                .map(percent_decode)
        };
        let mut auth = self.auth.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(a) = auth.as_mut() else {
            return Reply::Answer(404, br#"{"error":"not_found"}"#.to_vec());
        };
        let ok = field("grant_type").as_deref() == Some("client_credentials")
            && field("client_id").as_deref() == Some(a.client_id.as_str())
            && field("client_secret").as_deref() == Some(a.secret.as_str());
        if !ok {
            return Reply::Answer(401, br#"{"error":"invalid_client"}"#.to_vec());
        }
        let n: u128 = self
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .random();
        let token = format!("{n:032x}");
        a.tokens
            .insert(token.clone(), std::time::Instant::now() + a.ttl);
        let answer = serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": a.ttl.as_secs(),
        });
        Reply::Answer(200, answer.to_string().into_bytes())
    }

    /// `GET .../dossiers/{uid}`.
    fn status(&self, uid: &str) -> Reply {
        let failing = self
            .failing_status
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Reply::Answer(503, br#"{"error":"unavailable"}"#.to_vec());
        }
        let d = self.dossiers.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(dossier) = d.get(uid) else {
            return Reply::Answer(404, br#"{"error":"not_found"}"#.to_vec());
        };
        let mut answer = serde_json::json!({
            "referenceUid": uid,
            "dossierId": dossier.id,
            "dossierNo": dossier.dossier_no,
            "dossierStatus": dossier.status,
        });
        if let Some(p) = &dossier.release_place {
            answer["releasePlace"] = p.as_str().into();
        }
        if let Some(t) = &dossier.release_date {
            answer["releaseDate"] = t.as_str().into();
        }
        Reply::Answer(200, answer.to_string().into_bytes())
    }

    /// `POST /sim/dossiers/{uid}/status`.
    fn set_status(&self, uid: &str, body: &[u8]) -> Reply {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Reply::Answer(400, br#"{"error":"invalid_json"}"#.to_vec());
        };
        let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
        let Some(status) = field("dossierStatus").filter(|s| !s.is_empty()) else {
            return Reply::Answer(400, br#"{"error":"missing_field"}"#.to_vec());
        };
        if self.advance(uid, status, field("releasePlace"), field("releaseDate")) {
            Reply::Answer(204, Vec::new())
        } else {
            Reply::Answer(404, br#"{"error":"not_found"}"#.to_vec())
        }
    }

    fn advance(&self, uid: &str, status: &str, place: Option<&str>, date: Option<&str>) -> bool {
        let mut d = self.dossiers.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(dossier) = d.get_mut(uid) else {
            return false;
        };
        status.clone_into(&mut dossier.status);
        if let Some(p) = place {
            dossier.release_place = Some(p.to_owned());
        }
        if let Some(t) = date {
            dossier.release_date = Some(t.to_owned());
        }
        true
    }
}

impl OneStopSim {
    /// Starts the simulator on `listen` (e.g. `127.0.0.1:0`).
    ///
    /// # Errors
    ///
    /// The socket or the runtime.
    pub fn start(listen: SocketAddr, faults: SimFaults) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(SimShared {
            rng: Mutex::new(StdRng::seed_from_u64(faults.seed)),
            faults,
            dossiers: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            failing_status: AtomicU64::new(0),
            auth: Mutex::new(None),
            token_requests: AtomicU64::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("onestop-sim")
            .enable_all()
            .build()?;
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("onestop-sim-main".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || {
                    runtime.block_on(async move {
                        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                            return;
                        };
                        loop {
                            tokio::select! {
                                _ = &mut stop_rx => break,
                                a = listener.accept() => {
                                    if let Ok((tcp, _)) = a {
                                        tokio::spawn(serve(tcp, Arc::clone(&shared)));
                                    }
                                }
                            }
                        }
                    });
                    runtime.shutdown_timeout(Duration::from_millis(200));
                }
            })?;
        Ok(Self {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, the base URL for [`crate::ForwardConfig`].
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The dossiers by `referenceUid`.
    #[must_use]
    pub fn dossiers(&self) -> HashMap<String, SimDossier> {
        self.shared
            .dossiers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The office moved the dossier `reference_uid` on: its status code (OpenCPS-style, e.g.
    /// `processing`, `waiting`, `releasing`, `done`) and, if given, where and from when the
    /// result can be collected. `false` if the simulator does not hold that dossier.
    pub fn advance(
        &self,
        reference_uid: &str,
        status: &str,
        release_place: Option<&str>,
        release_date: Option<&str>,
    ) -> bool {
        self.shared
            .advance(reference_uid, status, release_place, release_date)
    }

    /// From now on every call needs a bearer token from `POST /oauth/token` with these client
    /// credentials; tokens live `ttl`.
    pub fn require_client(&self, client_id: &str, secret: &str, ttl: Duration) {
        *self
            .shared
            .auth
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(SimAuth {
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
            ttl,
            tokens: HashMap::new(),
        });
    }

    /// Ends every token issued so far (they expired, or the IdP restarted).
    pub fn expire_tokens(&self) {
        if let Some(a) = self
            .shared
            .auth
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            a.tokens.clear();
        }
    }

    /// Token requests received (granted or not).
    #[must_use]
    pub fn token_requests(&self) -> u64 {
        self.shared.token_requests.load(Ordering::Relaxed)
    }

    /// The next `n` status requests answer 503 (the one-stop system's status call failing).
    pub fn fail_status_polls(&self, n: u64) {
        self.shared.failing_status.store(n, Ordering::SeqCst);
    }

    /// Requests received (all deliveries and faults).
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }
}

impl Drop for OneStopSim {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A form value with `%XX` and `+` decoded (bytes that do not decode are kept).
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reply dropped (injected)")
    }
}

impl std::error::Error for Dropped {}

async fn serve(tcp: tokio::net::TcpStream, shared: Arc<SimShared>) {
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let shared = Arc::clone(&shared);
        async move {
            let (parts, body) = req.into_parts();
            let body = Limited::new(body, 1024 * 1024)
                .collect()
                .await
                .map_err(|_| Dropped)?
                .to_bytes();
            let authorization = parts
                .headers
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            let reply = shared.handle_authorized(
                parts.method.as_str(),
                parts.uri.path(),
                authorization,
                &body,
            );
            let (status, body) = match reply {
                Reply::Answer(s, b) => (s, b),
                Reply::Hang(s, b) => {
                    tokio::time::sleep(shared.faults.hang).await;
                    (s, b)
                }
                Reply::Drop => return Err(Dropped),
            };
            let mut r = hyper::Response::new(Full::new(Bytes::from(body)));
            *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
            Ok::<_, Dropped>(r)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(tcp), service)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intake(uid: &str) -> Vec<u8> {
        serde_json::json!({"referenceUid": uid, "serviceCode": "1.004194",
            "dossierNo": "D-1", "applicantIdNo": "001090123456"})
        .to_string()
        .into_bytes()
    }

    fn shared(faults: SimFaults) -> SimShared {
        SimShared {
            rng: Mutex::new(StdRng::seed_from_u64(faults.seed)),
            faults,
            dossiers: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            failing_status: AtomicU64::new(0),
            auth: Mutex::new(None),
            token_requests: AtomicU64::new(0),
        }
    }

    #[test]
    fn one_dossier_per_reference_uid_and_faults_as_drawn() {
        let s = shared(SimFaults::default());
        assert!(matches!(
            s.handle("POST", DOSSIERS_PATH, &intake("a")),
            Reply::Answer(201, _)
        ));
        assert!(matches!(
            s.handle("POST", DOSSIERS_PATH, &intake("a")),
            Reply::Answer(200, _)
        ));
        assert!(matches!(
            s.handle("POST", DOSSIERS_PATH, b"{}"),
            Reply::Answer(400, _)
        ));
        assert!(matches!(s.handle("GET", "/", b""), Reply::Answer(404, _)));
        let d = s.dossiers.lock().expect("lock");
        assert_eq!((d.len(), d.get("a").map(|x| x.deliveries)), (1, Some(2)));
        drop(d);
        let all_errors = shared(SimFaults {
            error_rate: 1.0,
            ..SimFaults::default()
        });
        assert!(matches!(
            all_errors.handle("POST", DOSSIERS_PATH, &intake("b")),
            Reply::Answer(503, _)
        ));
        assert!(all_errors.dossiers.lock().expect("lock").is_empty());
        let lost = shared(SimFaults {
            lost_reply_rate: 1.0,
            ..SimFaults::default()
        });
        assert!(matches!(
            lost.handle("POST", DOSSIERS_PATH, &intake("c")),
            Reply::Drop
        ));
        assert_eq!(
            lost.dossiers.lock().expect("lock").len(),
            1,
            "taken, reply lost"
        );
    }

    #[test]
    fn the_status_call_answers_what_the_office_did_and_fails_on_demand() {
        let s = shared(SimFaults::default());
        let path = format!("{DOSSIERS_PATH}/a");
        assert!(matches!(s.handle("GET", &path, b""), Reply::Answer(404, _)));
        assert!(matches!(
            s.handle("POST", DOSSIERS_PATH, &intake("a")),
            Reply::Answer(201, _)
        ));
        let status = |s: &SimShared| match s.handle("GET", &path, b"") {
            Reply::Answer(200, b) => serde_json::from_slice::<serde_json::Value>(&b).expect("json"),
            _ => serde_json::Value::Null,
        };
        assert_eq!(status(&s)["dossierStatus"], "new");
        let advance = br#"{"dossierStatus":"releasing","releasePlace":"Quay 3","releaseDate":"20260106080000"}"#;
        assert!(matches!(
            s.handle("POST", "/sim/dossiers/a/status", advance),
            Reply::Answer(204, _)
        ));
        assert!(matches!(
            s.handle("POST", "/sim/dossiers/zz/status", advance),
            Reply::Answer(404, _)
        ));
        assert!(matches!(
            s.handle("POST", "/sim/dossiers/a/status", b"{}"),
            Reply::Answer(400, _)
        ));
        let v = status(&s);
        assert_eq!(
            (&v["dossierStatus"], &v["releasePlace"], &v["releaseDate"]),
            (
                &serde_json::json!("releasing"),
                &serde_json::json!("Quay 3"),
                &serde_json::json!("20260106080000")
            )
        );
        s.failing_status.store(2, Ordering::SeqCst);
        assert!(matches!(s.handle("GET", &path, b""), Reply::Answer(503, _)));
        assert!(matches!(s.handle("GET", &path, b""), Reply::Answer(503, _)));
        assert_eq!(status(&s)["dossierStatus"], "releasing");
    }
}
