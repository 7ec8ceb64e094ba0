//! [`Gateway`]: the service on a socket. HTTP/1.1 (hyper) on a tokio runtime of its own
//! thread, TLS (rustls) terminated here when configured; each request goes to
//! [`State::handle`] on the blocking pool with the peer identity the handshake verified.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::ca::Authority;
use crate::state::{now_ms, Peer, Request, Response, State};
use crate::{GatewayConfig, GatewayError, Tls};

/// Largest accepted request body.
pub const MAX_BODY: usize = 1024 * 1024;
/// How long a client may take to send a request head or finish the TLS handshake.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

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
    stop: Option<tokio::sync::oneshot::Sender<()>>,
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
        let db = crate::store::open(config.db_path.as_deref()).map_err(|source| {
            GatewayError::Store {
                path: config
                    .db_path
                    .as_ref()
                    .map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string()),
                source,
            }
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
        let state = Arc::new(Mutex::new(State::new(config, db, ca)));
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
                Some(
                    crate::tls::server_config(&cert, &key, &ca_pem, state.clone())
                        .map_err(GatewayError::Tls)?,
                )
            }
            Tls::Files { cert, key } => {
                let read = |p: &std::path::Path| {
                    std::fs::read_to_string(p)
                        .map_err(|e| GatewayError::Tls(format!("{}: {e}", p.display())))
                };
                let (cert, key) = (read(&cert)?, zeroize::Zeroizing::new(read(&key)?));
                let ca_pem = lock(&state).ca_pem().to_owned();
                Some(
                    crate::tls::server_config(&cert, &key, &ca_pem, state.clone())
                        .map_err(GatewayError::Tls)?,
                )
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
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kiosk-gateway")
            .enable_all()
            .build()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let tls = acceptor.is_some();
        let thread = std::thread::Builder::new()
            .name("kiosk-gateway-main".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || {
                    runtime.block_on(accept_loop(listener, shared, acceptor, stop_rx));
                    // Connections still open are cut: the kiosk retries (at-least-once, with
                    // idempotency keys), and a submission is either committed or not.
                    runtime.shutdown_timeout(Duration::from_secs(2));
                }
            })?;
        tracing::info!(%addr, tls, "kiosk gateway listening");
        Ok(Self {
            addr,
            tls,
            shared,
            stop: Some(stop_tx),
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
        crate::store::revoke_kiosk(self.shared.lock().db_mut(), kiosk_id, now_ms())
            .map_err(|e| e.to_string())
    }

    /// Records where the accepted dossier `dossier_code` stands (what the agency's system or
    /// an operator reports), answered by the status lookup; `Ok(false)` for a dossier this
    /// gateway never accepted.
    ///
    /// # Errors
    ///
    /// The database (message).
    pub fn set_dossier_status(
        &self,
        dossier_code: &str,
        state: kiosk_wire::dto::DossierState,
    ) -> Result<bool, String> {
        crate::status::set(self.shared.lock().db(), dossier_code, state, now_ms())
            .map_err(|e| e.to_string())
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

    /// Stops accepting, cuts open connections after up to 2 s and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "kiosk gateway cannot listen");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    tokio::spawn(connection(tcp, remote, Arc::clone(&shared), acceptor.clone()));
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
    match tokio::time::timeout(CLIENT_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => {
            let kiosk_id = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(crate::tls::peer_identity);
            let peer = Peer {
                kiosk_id,
                tls: true,
            };
            serve_http(TokioIo::new(stream), shared, peer).await;
        }
        // A certificate from another CA, a revoked one, a client that does not trust us.
        Ok(Err(e)) => tracing::warn!(%remote, error = %e, "TLS handshake refused"),
        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
    }
}

async fn serve_http<I>(io: TokioIo<I>, shared: Arc<Shared>, peer: Peer)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = Arc::new(peer);
    let service =
        hyper::service::service_fn(move |req| respond(Arc::clone(&shared), Arc::clone(&peer), req));
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(CLIENT_TIMEOUT)
        .serve_connection(io, service)
        .await;
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
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Ok(to_hyper(Response::error(
                413,
                "body_too_large",
                format!("request body larger than {MAX_BODY} bytes"),
            )))
        }
        Err(_) => return Err(Dropped),
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
    tokio::task::spawn_blocking(move || shared.lock().handle(&request, &peer, &body, now_ms()))
        .await
        .unwrap_or_else(|_| Response::error(500, "internal", "the gateway failed"))
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
