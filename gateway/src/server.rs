//! [`Gateway`]: the service on a socket. HTTP/1.1 (hyper) on a tokio runtime of its own
//! thread, TLS (rustls) terminated here when configured; each request goes to
//! [`State::handle`] on the blocking pool with the peer identity the handshake verified.
//!
//! Requests run side by side on forks of the state when the store is pooled (PostgreSQL),
//! in turn on the one state otherwise (SQLite). Around the protocol: [`Limits`] against slow
//! and hostile clients, the revocation check of a new connection's client certificate, the
//! per-kiosk rate limit (a token bucket per kiosk, per replica), `/metrics`, the forwarding
//! worker ([`crate::forward::run`]), the retention pruning ([`crate::retention`]), and an
//! orderly stop: no new connections, open ones
//! finish their request in hand (up to [`DRAIN`]), the forwarding worker its batch.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ca::Authority;
use crate::metrics::{render_kiosks, Metrics};
use crate::state::{now_ms, KioskHealth, Peer, Request, Response, State};
use crate::store::Gauges;
use crate::{GatewayConfig, GatewayError, Tls};

/// Largest accepted request body (the default of [`Limits::max_body`]).
pub const MAX_BODY: usize = 1024 * 1024;

/// Time limits and size bounds against slow or hostile clients (a kiosk's requests are a few
/// KiB, sent at once). Where each is enforced:
///
/// - `handshake_timeout`: the TLS handshake (tokio timeout around rustls' accept); a client
///   that connects and never finishes it is cut.
/// - `header_timeout`: hyper's `header_read_timeout`: a request head (request line and
///   headers) not complete in time, as a slowloris client trickling bytes, is cut; it also
///   bounds how long a kept-alive connection may sit idle before its next request.
/// - `max_header_bytes`: hyper's `max_buf_size` (at least 8192): a head larger is answered
///   431 by hyper; more than `max_headers` header fields too.
/// - `max_body`: a `Content-Length` above it is answered 413 before the body is read; a
///   chunked body is cut at it (413) while being read (`http_body_util::Limited`).
/// - `max_connections`: connections open at once, TLS handshakes included; one beyond is
///   closed at once (the handshake timeout frees the places idle connections hold).
///
/// Malformed request lines and headers are answered 400 by hyper; a body that is not valid
/// chunked encoding 400 by the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// TLS handshake time limit (default 10 s).
    pub handshake_timeout: Duration,
    /// Request head time limit (default 10 s).
    pub header_timeout: Duration,
    /// Largest request head, bytes (default 16 KiB; at least 8192).
    pub max_header_bytes: usize,
    /// Most header fields in a request (default 64).
    pub max_headers: usize,
    /// Largest request body, bytes (default [`MAX_BODY`]).
    pub max_body: usize,
    /// Most connections open at once (default 4096).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_body: MAX_BODY,
            max_connections: 4096,
        }
    }
}
/// How long a stopping gateway waits for requests in hand.
pub const DRAIN: Duration = Duration::from_secs(10);
/// "Seen in the last 5 minutes" for the kiosks gauge.
const SEEN_WINDOW_MS: i64 = 5 * 60 * 1000;

/// A fault the gateway injects, for the outbox's tests and for demonstrating offline mode.
/// Queued faults apply to the next `POST /v1/submissions` requests, one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Close the connection without handling or answering the request.
    Refuse,
    /// Answer 500 without handling.
    ServerError,
    /// Answer 429 with `Retry-After` in seconds, without handling.
    TooManyRequests {
        /// The `Retry-After` value.
        retry_after_secs: u32,
    },
    /// Wait this long, then handle normally.
    Slow(Duration),
    /// Handle (commit) the submission, then close without answering: the client cannot know
    /// it was received and must retry; the replay must not make a second dossier.
    LoseResponse,
}

struct Shared {
    state: Arc<Mutex<State>>,
    /// Refuse every connection (the gateway or the network is down).
    down: AtomicBool,
    faults: Mutex<VecDeque<Fault>>,
    /// `POST /v1/submissions` requests that reached the service (replays included).
    posts: AtomicUsize,
    metrics: Arc<Metrics>,
    /// Per kiosk: tokens left and when they were counted.
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
    /// Burst and refill per second; `None`: no limit.
    rate_limit: Option<(u32, u32)>,
    limits: Limits,
    /// One permit per open connection ([`Limits::max_connections`]).
    connections: Arc<tokio::sync::Semaphore>,
    cancel: CancellationToken,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // `handle` never panics by design; if it ever did, the database is still consistent
    // (each submission is one transaction), so keep serving rather than poison every later
    // request.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The gateway service; stopped by [`Gateway::stop`] or on drop.
pub struct Gateway {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A demo gateway: plain HTTP on a free port of 127.0.0.1, records in memory, a CA in
    /// memory.
    ///
    /// # Errors
    ///
    /// As [`Gateway::start_with`].
    pub fn start() -> Result<Self, GatewayError> {
        Self::start_with(GatewayConfig::default())
    }

    /// Starts a gateway with `config`.
    ///
    /// # Errors
    ///
    /// [`GatewayError`]: a malformed agency code, an unusable database or CA, bad TLS
    /// material, or a socket that cannot be bound.
    pub fn start_with(config: GatewayConfig) -> Result<Self, GatewayError> {
        if !kiosk_wire::codes::is_agency_code(&config.agency) {
            return Err(GatewayError::Agency(config.agency));
        }
        let store_config = config.store();
        let store =
            store_config
                .open_pooled(config.pool)
                .map_err(|source| GatewayError::Store {
                    path: store_config.describe(),
                    source,
                })?;
        let ca = match &config.ca_dir {
            Some(dir) => Authority::load(dir)?,
            None => Authority::ephemeral("Demo deployment CA").map_err(GatewayError::Tls)?,
        };
        let ca = match config.cert_lifetime {
            Some(l) => ca.with_lifetime(l),
            None => ca,
        };
        let tls_mode = config.tls.clone();
        let listen = config.listen;
        let forward = config.forward.clone();
        let rate_limit = config.rate_limit;
        let prune = config.prune;
        let limits = config.limits;
        let state = Arc::new(Mutex::new(State::new(config, store, ca)));
        let acceptor = match tls_mode {
            Tls::Off => None,
            Tls::SelfIssued(names) => {
                let (cert, key, ca_pem) = {
                    let s = lock(&state);
                    let (cert, key) = s
                        .authority()
                        .server_certificate(&names)
                        .map_err(GatewayError::Tls)?;
                    (cert, key, s.ca_pem().to_owned())
                };
                Some(crate::tls::server_config(&cert, &key, &ca_pem).map_err(GatewayError::Tls)?)
            }
            Tls::Files { cert, key } => {
                let read = |p: &std::path::Path| {
                    std::fs::read_to_string(p)
                        .map_err(|e| GatewayError::Tls(format!("{}: {e}", p.display())))
                };
                let (cert, key) = (read(&cert)?, zeroize::Zeroizing::new(read(&key)?));
                let ca_pem = lock(&state).ca_pem().to_owned();
                Some(crate::tls::server_config(&cert, &key, &ca_pem).map_err(GatewayError::Tls)?)
            }
        }
        .map(tokio_rustls::TlsAcceptor::from);
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state,
            down: AtomicBool::new(false),
            faults: Mutex::new(VecDeque::new()),
            posts: AtomicUsize::new(0),
            metrics: Arc::new(Metrics::default()),
            buckets: Mutex::new(HashMap::new()),
            rate_limit,
            limits,
            connections: Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1))),
            cancel: CancellationToken::new(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kiosk-gateway")
            .enable_all()
            .build()?;
        let tls = acceptor.is_some();
        let thread = std::thread::Builder::new()
            .name("kiosk-gateway-main".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || {
                    runtime.block_on(async move {
                        let tracker = TaskTracker::new();
                        if let Some(forward) = forward {
                            let metrics: Arc<dyn crate::forward::ForwardMetrics> =
                                shared.metrics.clone();
                            tracker.spawn(crate::forward::run(
                                Arc::clone(&shared.state),
                                forward,
                                metrics,
                                shared.cancel.clone(),
                            ));
                        }
                        if !prune.every.is_zero() {
                            tracker.spawn(prune_loop(Arc::clone(&shared), prune));
                        }
                        accept_loop(listener, Arc::clone(&shared), acceptor, &tracker).await;
                        tracker.close();
                        if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
                            tracing::warn!("requests still open after the drain time: cut");
                        }
                    });
                    // Connections still open are cut: the kiosk retries (at-least-once, with
                    // idempotency keys), and a submission is either committed or not.
                    runtime.shutdown_timeout(Duration::from_secs(1));
                }
            })?;
        tracing::info!(%addr, tls, "kiosk gateway listening");
        Ok(Self {
            addr,
            tls,
            shared,
            thread: Some(thread),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:40123` (`https://` with TLS).
    #[must_use]
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The socket address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `doc` (a catalogue's gateway JSON) at `GET /v1/catalog?mode=<mode>`.
    ///
    /// # Errors
    ///
    /// As [`State::set_catalog`].
    pub fn set_catalog(&self, mode: &str, doc: &serde_json::Value) -> Result<(), String> {
        self.shared.lock().set_catalog(mode, doc)
    }

    /// A single-use enrolment token for `kiosk_id` at `site` (what a technician would be
    /// given), valid 15 minutes.
    ///
    /// # Errors
    ///
    /// A malformed kiosk id or site, or the database (message).
    pub fn issue_enrolment_token(&self, kiosk_id: &str, site: &str) -> Result<String, String> {
        self.shared.lock().issue_enrolment_token(
            kiosk_id,
            site,
            crate::state::TOKEN_LIFETIME_MS,
            now_ms(),
        )
    }

    /// Revokes every certificate of `kiosk_id` (as `kiosk-gateway kiosk revoke`); how many.
    ///
    /// # Errors
    ///
    /// The database (message).
    pub fn revoke_kiosk(&self, kiosk_id: &str) -> Result<usize, String> {
        let n = self
            .shared
            .lock()
            .store_mut()
            .revoke_kiosk(kiosk_id, now_ms())
            .map_err(|e| e.to_string())?;
        tracing::warn!(target: "audit", kiosk = %kiosk_id, certificates = n, "kiosk revoked");
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// The deployment CA that signs enrolled kiosks' certificates (and, with
    /// [`Tls::SelfIssued`], the gateway's own), PEM.
    #[must_use]
    pub fn enrolment_ca_pem(&self) -> String {
        self.shared.lock().ca_pem().to_owned()
    }

    /// How many distinct submissions were accepted (replays not counted).
    #[must_use]
    pub fn received(&self) -> usize {
        self.shared.lock().received()
    }

    /// Queues a fault for the next submission request.
    pub fn inject(&self, fault: Fault) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(fault);
    }

    /// Takes the gateway down (every connection is closed unanswered) or back up.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// How many submission requests reached the gateway, replays included.
    #[must_use]
    pub fn submission_requests(&self) -> usize {
        self.shared.posts.load(Ordering::SeqCst)
    }

    /// The dossier codes of the accepted submissions, by `referenceUid` (no personal data).
    #[must_use]
    pub fn dossiers(&self) -> HashMap<String, String> {
        self.shared.lock().dossiers()
    }

    /// The procedure code (`MaTTHC`) of every accepted submission, in arrival order.
    #[must_use]
    pub fn procedure_codes(&self) -> Vec<String> {
        self.shared.lock().procedure_codes()
    }

    /// The latest heartbeat of each kiosk heard from recently (as `/metrics` shows them).
    ///
    /// # Errors
    ///
    /// The database (message).
    pub fn kiosk_health(&self) -> Result<Vec<KioskHealth>, String> {
        self.shared
            .lock()
            .kiosk_health(now_ms())
            .map_err(|e| e.to_string())
    }

    /// The text `/metrics` answers now.
    #[must_use]
    pub fn metrics_text(&self) -> String {
        let now = now_ms();
        let (gauges, kiosks) = scrape(&mut self.shared.lock(), now);
        self.shared.metrics.render(gauges.as_ref(), now) + &render_kiosks(&kiosks, now)
    }

    /// Stops accepting, lets requests in hand finish (up to [`DRAIN`]) and the forwarding
    /// worker its batch, and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.cancel.cancel();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("kiosk gateway thread panicked");
            }
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Prunes what is past its retention now and every `retention.every` until stopped (every
/// replica does; the deletes are idempotent and bounded).
async fn prune_loop(shared: Arc<Shared>, retention: crate::retention::Retention) {
    let cancel = shared.cancel.clone();
    loop {
        let pruned = on_state(&shared, move |s| retention.prune(s.store_mut(), now_ms())).await;
        match pruned {
            Some(Ok(p)) if p.keys > 0 || p.receipts > 0 => tracing::info!(
                target: "audit",
                keys = p.keys,
                receipts = p.receipts,
                "pruned past their retention"
            ),
            Some(Ok(_)) => {}
            Some(Err(e)) => tracing::warn!(error = %e, "pruning failed; next run will retry"),
            None => tracing::error!("pruning panicked"),
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(retention.every) => {}
        }
    }
}

/// The store's gauges and the kiosks' latest heartbeats for a scrape (either empty when the
/// database does not answer: the counters are still served).
fn scrape(state: &mut State, now: i64) -> (Option<Gauges>, Vec<KioskHealth>) {
    let gauges = state
        .store_mut()
        .gauges(now.saturating_sub(SEEN_WINDOW_MS))
        .ok();
    let kiosks = state.kiosk_health(now).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "metrics: cannot read the kiosks' heartbeats");
        Vec::new()
    });
    (gauges, kiosks)
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    tracker: &TaskTracker,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "kiosk gateway cannot listen");
            return;
        }
    };
    let cancel = shared.cancel.clone();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    // Over the bound: closed at once (dropping the socket).
                    let Ok(permit) = Arc::clone(&shared.connections).try_acquire_owned() else {
                        shared.metrics.connection_refused();
                        tracing::warn!(%remote, "too many connections: closed");
                        continue;
                    };
                    let (shared, acceptor) = (Arc::clone(&shared), acceptor.clone());
                    tracker.spawn(async move {
                        connection(tcp, remote, shared, acceptor).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    // E.g. too many open files: back off instead of spinning on the error.
                    tracing::warn!(error = %e, "kiosk gateway accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    tracing::info!("kiosk gateway stopped");
}

async fn connection(
    tcp: tokio::net::TcpStream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    if shared.down.load(Ordering::SeqCst) {
        return;
    }
    let Some(acceptor) = acceptor else {
        let peer = Peer::default();
        serve_http(TokioIo::new(tcp), shared, peer).await;
        return;
    };
    match tokio::time::timeout(shared.limits.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => {
            let end_entity = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.clone().into_owned());
            let kiosk_id = match end_entity {
                None => None,
                Some(cert) => match admitted(&shared, &cert).await {
                    Some(kiosk) => kiosk,
                    None => {
                        shared.metrics.handshake_refused();
                        return;
                    }
                },
            };
            let peer = Peer {
                kiosk_id,
                tls: true,
            };
            serve_http(TokioIo::new(stream), shared, peer).await;
        }
        // A certificate from another CA, one that does not fit, a client that does not
        // trust us.
        Ok(Err(e)) => {
            shared.metrics.handshake_refused();
            tracing::warn!(target: "audit", %remote, error = %e, "TLS handshake refused");
        }
        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
    }
}

/// The revocation check of a verified client certificate, before the connection's first
/// request is read: `Some(kiosk id)` to serve, `None` to close (revoked, or the list cannot
/// be read: fail closed). Done here rather than inside rustls' verifier because the stores
/// block (PostgreSQL's client must not run on an async worker thread).
async fn admitted(
    shared: &Arc<Shared>,
    cert: &rustls_pki_types::CertificateDer<'static>,
) -> Option<Option<String>> {
    let (serial, cn) = crate::tls::serial_and_name(cert.as_ref())?;
    let kiosk = crate::tls::peer_identity(cert);
    let lookup = serial.clone();
    let revoked = on_state(shared, move |s| s.store_mut().is_revoked(&lookup)).await;
    match revoked {
        Some(Ok(false)) => Some(kiosk),
        Some(Ok(true)) => {
            tracing::warn!(
                target: "audit",
                kiosk = cn.as_deref().unwrap_or("?"),
                serial = %serial,
                "connection refused: revoked client certificate"
            );
            None
        }
        Some(Err(e)) => {
            tracing::error!(error = %e, "connection refused: cannot read the revocation list");
            None
        }
        None => None,
    }
}

async fn serve_http<I>(io: TokioIo<I>, shared: Arc<Shared>, peer: Peer)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = Arc::new(peer);
    let cancel = shared.cancel.clone();
    let limits = shared.limits;
    let service =
        hyper::service::service_fn(move |req| respond(Arc::clone(&shared), Arc::clone(&peer), req));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let served = tokio::select! {
        r = conn.as_mut() => r,
        () = cancel.cancelled() => {
            // Finish the request in hand, then close (keep-alive ends).
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(error = %e, "kiosk gateway connection ended");
    }
}

/// A connection closed without an answer (an injected fault, a body that broke off).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped without an answer")
    }
}

impl std::error::Error for Dropped {}

async fn respond(
    shared: Arc<Shared>,
    peer: Arc<Peer>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let answer = respond_inner(&shared, &peer, parts, body).await;
    if let Ok(r) = &answer {
        shared
            .metrics
            .request(&path, r.status().as_u16(), started.elapsed());
    }
    answer
}

/// Whether `kiosk` may make one more request now (token bucket, per replica).
fn allow(shared: &Shared, kiosk: &str) -> bool {
    let Some((burst, per_sec)) = shared.rate_limit else {
        return true;
    };
    let now = Instant::now();
    let mut buckets = shared
        .buckets
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    // Forget kiosks idle long enough to be full again, so the map stays bounded by the
    // fleet's active kiosks.
    if buckets.len() > 4096 {
        buckets.retain(|_, (_, at)| now.duration_since(*at) < Duration::from_secs(600));
    }
    let bucket = buckets
        .entry(kiosk.to_owned())
        .or_insert((f64::from(burst), now));
    take(bucket, burst, per_sec, now)
}

/// A token bucket: refill `per_sec` per second since the last count, up to `burst`; take one
/// token if there is one.
fn take(bucket: &mut (f64, Instant), burst: u32, per_sec: u32, now: Instant) -> bool {
    let (tokens, at) = bucket;
    let refill = now.saturating_duration_since(*at).as_secs_f64() * f64::from(per_sec);
    *tokens = (*tokens + refill).min(f64::from(burst));
    *at = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

async fn respond_inner(
    shared: &Arc<Shared>,
    peer: &Arc<Peer>,
    parts: hyper::http::request::Parts,
    body: Incoming,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    let shared = Arc::clone(shared);
    let peer = Arc::clone(peer);
    let max_body = shared.limits.max_body;
    let too_large = || {
        Ok(to_hyper(Response::error(
            413,
            "body_too_large",
            format!("request body larger than {max_body} bytes"),
        )))
    };
    // A declared length over the bound: answered before reading any of it.
    if usize::try_from(hyper::body::Body::size_hint(&body).lower()).map_or(true, |n| n > max_body) {
        return too_large();
    }
    let body = match Limited::new(body, max_body).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        // Not valid chunked encoding, or a body that broke off (then nobody reads this).
        Err(_) => {
            return Ok(to_hyper(Response::error(
                400,
                "invalid_body",
                "the request body is not valid HTTP/1.1 (chunked encoding or length)",
            )))
        }
    };
    let request = Request {
        method: parts.method.as_str().to_owned(),
        target: parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
    };
    if parts.uri.path() == "/metrics" && request.method == "GET" {
        let now = now_ms();
        let (gauges, kiosks) = on_state(&shared, move |s| scrape(s, now))
            .await
            .unwrap_or_default();
        let text = shared.metrics.render(gauges.as_ref(), now) + &render_kiosks(&kiosks, now);
        let r = hyper::Response::builder()
            .header("Content-Type", "text/plain; version=0.0.4")
            .body(Full::new(Bytes::from(text)));
        return Ok(r.unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()))));
    }
    if let Some(kiosk) = peer.kiosk_id.as_deref() {
        if !allow(&shared, kiosk) {
            shared.metrics.rate_limited();
            tracing::warn!(target: "audit", kiosk = %kiosk, "rate limit: request refused");
            let mut r = Response::error(429, "too_many_requests", "this kiosk sends too fast");
            r.headers.push(("Retry-After", "1".to_owned()));
            return Ok(to_hyper(r));
        }
    }
    let fault = if request.method == "POST" && request.target == "/v1/submissions" {
        shared.posts.fetch_add(1, Ordering::SeqCst);
        shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    } else {
        None
    };
    let response = match fault {
        Some(Fault::Refuse) => return Err(Dropped),
        Some(Fault::ServerError) => Response::error(500, "injected", "injected server error"),
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut r = Response::error(429, "too_many_requests", "slow down");
            r.headers
                .push(("Retry-After", retry_after_secs.to_string()));
            r
        }
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            run(shared, request, peer, body).await
        }
        Some(Fault::LoseResponse) => {
            let _committed = run(shared, request, peer, body).await;
            return Err(Dropped);
        }
        None => run(shared, request, peer, body).await,
    };
    Ok(to_hyper(response))
}

/// [`State::handle`] on the blocking pool (SQLite with `synchronous = FULL` waits for the
/// disk).
async fn run(shared: Arc<Shared>, request: Request, peer: Arc<Peer>, body: Bytes) -> Response {
    on_state(&shared, move |s| s.handle(&request, &peer, &body, now_ms()))
        .await
        .unwrap_or_else(|| Response::error(500, "internal", "the gateway failed"))
}

/// Runs `f` on the blocking pool on a [`State::fork`] (PostgreSQL: requests run side by side
/// on the pool's connections; one beyond the pool waits for a connection, then is answered
/// 503), or on the one state (SQLite: requests take turns). `None` if `f` panicked.
async fn on_state<T, F>(shared: &Arc<Shared>, f: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce(&mut State) -> T + Send + 'static,
{
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || {
        let forked = shared.lock().fork();
        match forked {
            Some(mut state) => f(&mut state),
            None => f(&mut shared.lock()),
        }
    })
    .await
    .ok()
}

fn to_hyper(r: Response) -> hyper::Response<Full<Bytes>> {
    let mut b = hyper::Response::builder().status(r.status);
    if r.status != 304 {
        b = b.header("Content-Type", "application/json");
    }
    for (n, v) in &r.headers {
        b = b.header(*n, v.as_str());
    }
    // Our own status codes and header names and values (ASCII we made): cannot fail; if it
    // ever did, a bare 500 is still an answer.
    b.body(Full::new(Bytes::from(r.body))).unwrap_or_else(|_| {
        let mut fallback = hyper::Response::new(Full::new(Bytes::new()));
        *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_allows_a_burst_then_the_refill_rate() {
        let t0 = Instant::now();
        let mut bucket = (3.0, t0);
        let allowed = (0..5).filter(|_| take(&mut bucket, 3, 2, t0)).count();
        assert_eq!(allowed, 3, "the burst");
        // Half a second at 2 per second: one more.
        let t1 = t0 + Duration::from_millis(500);
        assert!(take(&mut bucket, 3, 2, t1));
        assert!(!take(&mut bucket, 3, 2, t1));
        // A long pause refills to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        let allowed = (0..10).filter(|_| take(&mut bucket, 3, 2, t2)).count();
        assert_eq!(allowed, 3);
    }
}
