//! The sync worker: drains the outbox through a [`Transport`].
//!
//! One loop task claims due rows (the head of each partition, so FIFO per partition) and
//! spawns one send task per row, up to `max_in_flight` at once (parallel across partitions).
//! A send task records the outcome (ack, retry with full-jitter backoff, dead letter) and
//! wakes the loop. The loop sleeps until the next row is due, a send finishes, [`wake`] is
//! called (a new submission, the network came back), or shutdown.
//!
//! While the gateway is unreachable the loop probes it every `probe_interval`; the first
//! answer (a probe, or a send whose backoff happened to end first) makes every row that was
//! waiting only for the network due at once, instead of after its backoff (which can reach
//! the cap, 15 minutes by default).
//!
//! The host can say sooner that the network is back: [`WorkerHandle::network_returned`] (and
//! [`Background::network_returned`]) does what a successful probe does, at once. The kiosk
//! calls it from [`crate::link::LinkWatcher`], which sees an interface come up (sysfs carrier
//! and operstate, polled every second); the probes remain for a link that never went down
//! (the gateway or the path to it was out).
//!
//! Store calls are synchronous SQLite transactions of a few milliseconds (one fsync each),
//! made directly on the runtime's threads. That is a deliberate shortcut: the worker runs on
//! its own small runtime in the kiosk, and it keeps tokio's mocked time exact in the tests
//! (no blocking-pool hand-offs for the clock to race with).
//!
//! [`wake`]: WorkerHandle::wake

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::backoff::Backoff;
use crate::store::{Claimed, ErrorClass, Outbox, OutboxError};
use crate::transport::{Outgoing, SendError, Transport};

/// Wall-clock milliseconds, injectable so tests can run a day of outage in a second.
pub trait Clock: Send + Sync + 'static {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Wall time that follows tokio's clock from a starting point: under
/// `tokio::time::pause()` it advances only with mocked time.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start_ms: i64,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// Starts at `start_ms` now.
    #[must_use]
    pub fn starting_at(start_ms: i64) -> Self {
        Self {
            start_ms,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        let e = i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.start_ms.saturating_add(e)
    }
}

/// Worker settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Retry backoff.
    pub backoff: Backoff,
    /// The transport's timeout for one send (the kiosk's `gateway.timeout`). The lease of a
    /// claimed row is derived from it ([`WorkerConfig::lease`]), and the worker abandons a
    /// send that outlives it by [`SEND_GRACE`].
    pub send_timeout: Duration,
    /// Undelivered rows older than this become dead with an alert.
    pub max_age: Duration,
    /// Dead letters keep their payload this long for a technician's retry, then it is erased.
    pub dead_retention: Duration,
    /// Delivered rows (receipt and payload hash) are deleted this long after delivery.
    pub delivered_retention: Duration,
    /// Sends at once (across partitions).
    pub max_in_flight: usize,
    /// How often to probe an unreachable gateway.
    pub probe_interval: Duration,
    /// Longest sleep when nothing is due (housekeeping: age bound, dead-letter retention).
    pub idle_interval: Duration,
    /// The earliest believable wall clock, Unix milliseconds (the kiosk's build time less a
    /// day; 0: no floor). While the clock is before it, housekeeping ages nothing: no row is
    /// dead-lettered or erased by a clock that is certainly wrong. Once it is after, rows
    /// whose times were recorded under the wrong clock are rebased
    /// ([`Outbox::rebase_clock`]).
    pub clock_floor_ms: i64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            send_timeout: Duration::from_secs(15),
            max_age: Duration::from_secs(7 * 24 * 3600),
            dead_retention: Duration::from_secs(30 * 24 * 3600),
            delivered_retention: Duration::from_secs(30 * 24 * 3600),
            max_in_flight: 4,
            probe_interval: Duration::from_secs(10),
            idle_interval: Duration::from_secs(60),
            clock_floor_ms: 0,
        }
    }
}

/// How long past [`WorkerConfig::send_timeout`] the worker waits for a send before it
/// abandons it: the transport's own timeout should fire first (its error says more).
pub const SEND_GRACE: Duration = Duration::from_secs(10);

/// The least time between the end of the longest send and the end of its row's lease: room
/// for recording the outcome (one fsync'd transaction) on a loaded kiosk.
pub const LEASE_MARGIN: Duration = Duration::from_secs(30);

impl WorkerConfig {
    /// A configuration for a transport whose sends time out after `send_timeout`, the rest
    /// defaults.
    #[must_use]
    pub fn for_send_timeout(send_timeout: Duration) -> Self {
        Self {
            send_timeout,
            ..Self::default()
        }
    }

    /// The longest a send may run before the worker abandons it:
    /// [`WorkerConfig::send_timeout`] plus [`SEND_GRACE`].
    #[must_use]
    pub fn send_limit(&self) -> Duration {
        self.send_timeout.saturating_add(SEND_GRACE)
    }

    /// How long a claimed row is leased: twice the send timeout plus [`LEASE_MARGIN`], so
    /// always at least [`LEASE_MARGIN`] past [`WorkerConfig::send_limit`]. Housekeeping hands
    /// an expired lease back to the queue; were the lease shorter than a send can last (it
    /// was a fixed 120 s while `gateway.timeout` may be 300 s), a slow gateway would see a
    /// second, concurrent send of the same row.
    #[must_use]
    pub fn lease(&self) -> Duration {
        self.send_timeout
            .saturating_mul(2)
            .saturating_add(LEASE_MARGIN)
    }
}

/// What happened to a row, for whoever waits on one (the kiosk, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerEvent {
    /// Delivered (receipt stored, payload erased).
    Delivered(Uuid),
    /// Will be retried.
    Retrying(Uuid),
    /// Dead-lettered (alert raised).
    Dead(Uuid),
}

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// Another worker holds the queue.
    #[error(
        "another process drains the queue {0} (its worker lock is held): only one kiosk \
         process may run; check `systemctl status kiosk`"
    )]
    Busy(PathBuf),
    /// The lock file cannot be created.
    #[error("cannot create the worker lock next to {path}: {source}")]
    Lock {
        /// The queue database.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The worker's runtime thread could not start.
    #[error("cannot start the outbox worker thread: {0}")]
    Runtime(String),
}

/// The exclusive right to drain one queue: an exclusive SQLite lock on `<db>.worker-lock`,
/// released by the OS when the process dies however it dies. Holding it is what makes
/// recovering every lease at start-up safe.
#[derive(Debug)]
pub struct WorkerLock {
    _conn: rusqlite::Connection,
}

impl WorkerLock {
    /// Takes the lock, or fails at once if another process has it.
    ///
    /// # Errors
    ///
    /// [`WorkerError::Busy`] if held elsewhere, [`WorkerError::Lock`] otherwise.
    pub fn acquire(db: &Path) -> Result<Self, WorkerError> {
        let mut p = db.as_os_str().to_owned();
        p.push(".worker-lock");
        let lock_err = |source| WorkerError::Lock {
            path: db.to_owned(),
            source,
        };
        let conn = rusqlite::Connection::open(PathBuf::from(p)).map_err(lock_err)?;
        // rusqlite sets a 5 s busy timeout on every connection: without this, a held lock
        // would block the caller (a runtime thread) for 5 s of real time before `Busy`.
        conn.busy_timeout(Duration::ZERO).map_err(lock_err)?;
        match conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;") {
            Ok(()) => Ok(Self { _conn: conn }),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                Err(WorkerError::Busy(db.to_owned()))
            }
            Err(e) => Err(lock_err(e)),
        }
    }
}

struct Shared<T> {
    outbox: Arc<Outbox>,
    transport: Arc<T>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
    wake: Notify,
    in_flight: AtomicUsize,
    offline: AtomicBool,
    /// A payload was erased (delivered, purged, pruned) since the last WAL checkpoint.
    erased: AtomicBool,
    events: broadcast::Sender<WorkerEvent>,
    /// Held for as long as the loop or a send task runs, not just as long as the handle.
    _lock: std::sync::Mutex<WorkerLock>,
}

/// A running worker. Dropping it without [`WorkerHandle::shutdown`] leaves the loop running
/// until the runtime stops.
pub struct WorkerHandle {
    wake: Arc<dyn Fn() + Send + Sync>,
    net: Arc<dyn Fn() + Send + Sync>,
    events: broadcast::Sender<WorkerEvent>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl WorkerHandle {
    /// Something is due now (a new submission): look at once.
    pub fn wake(&self) {
        (self.wake)();
    }

    /// The network is back (e.g. a link-up event): retry what waited for it at once.
    pub fn network_returned(&self) {
        (self.net)();
    }

    /// Events about rows (delivered, retrying, dead).
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<WorkerEvent> {
        self.events.subscribe()
    }

    /// Stops claiming, lets every send in progress finish and record its outcome, then
    /// returns. Bounded by the transport's timeout.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Starts the worker on the current tokio runtime. Takes the worker lock, then returns every
/// lease to pending (no other worker can hold one), then drains.
///
/// # Errors
///
/// [`WorkerError::Busy`] if another process drains this queue; outbox errors.
pub fn spawn<T: Transport>(
    outbox: Arc<Outbox>,
    transport: Arc<T>,
    config: WorkerConfig,
    clock: Arc<dyn Clock>,
) -> Result<WorkerHandle, WorkerError> {
    let lock = WorkerLock::acquire(outbox.path())?;
    let recovered = outbox.recover_leases(clock.now_ms(), true)?;
    if recovered > 0 {
        tracing::info!(recovered, "leases of a previous run returned to the queue");
    }
    let (events, _) = broadcast::channel(256);
    let shared = Arc::new(Shared {
        outbox,
        transport,
        clock,
        config,
        wake: Notify::new(),
        in_flight: AtomicUsize::new(0),
        offline: AtomicBool::new(false),
        // A previous run may have stopped between an erasure and its checkpoint.
        erased: AtomicBool::new(true),
        events: events.clone(),
        _lock: std::sync::Mutex::new(lock),
    });
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    tracker.spawn(run(Arc::clone(&shared), cancel.clone(), tracker.clone()));
    let w = Arc::clone(&shared);
    let n = Arc::clone(&shared);
    Ok(WorkerHandle {
        wake: Arc::new(move || w.wake.notify_one()),
        net: Arc::new(move || {
            n.offline.store(false, Ordering::SeqCst);
            reschedule_waiting_for_network(&n);
            n.wake.notify_one();
        }),
        events,
        cancel,
        tracker,
    })
}

async fn run<T: Transport>(s: Arc<Shared<T>>, cancel: CancellationToken, tracker: TaskTracker) {
    let cfg = s.config;
    let lease_ms = millis(cfg.lease());
    // Housekeeping and probes run on the monotonic clock: a wall clock set back by years
    // must not postpone them (rows' own times are wall-clock, repaired by `rebase_clock`).
    let mut next_housekeeping: Option<tokio::time::Instant> = None;
    let mut next_probe: Option<tokio::time::Instant> = None;
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let now = s.clock.now_ms();
        let mono = tokio::time::Instant::now();
        if next_housekeeping.is_none_or(|t| mono >= t) {
            housekeeping(&s, now);
            next_housekeeping = Some(mono + cfg.idle_interval);
        }
        if s.offline.load(Ordering::SeqCst) && next_probe.is_none_or(|t| mono >= t) {
            next_probe = Some(mono + cfg.probe_interval);
            if s.transport.probe().await {
                back_online(&s);
            }
        }
        // Erased payloads leave the WAL too (encrypted there, but minimisation says gone):
        // a TRUNCATE checkpoint copies the log into the database, where secure_delete has
        // zeroed the freed pages, and empties it. A reader (kioskctl) holding an old snapshot
        // keeps it from finishing: tried again at the next turn of the loop.
        if s.erased.swap(false, Ordering::SeqCst) {
            match s.outbox.checkpoint() {
                Ok(true) => {}
                Ok(false) => s.erased.store(true, Ordering::SeqCst),
                Err(e) => {
                    s.erased.store(true, Ordering::SeqCst);
                    tracing::warn!(error = %e, "cannot checkpoint the queue's log");
                }
            }
        }
        // Expired leases go back at once, not at the next housekeeping: the earliest lease
        // end is what `next_due` wakes the loop for, and leaving it in place until
        // housekeeping would make the loop spin until then. (An UPDATE that changes no row
        // writes nothing, so this costs no fsync.)
        if let Err(e) = s.outbox.recover_leases(s.clock.now_ms(), false) {
            tracing::warn!(error = %e, "cannot recover expired leases");
        }
        let free = cfg
            .max_in_flight
            .saturating_sub(s.in_flight.load(Ordering::SeqCst));
        let now = s.clock.now_ms();
        match s.outbox.claim_due(now, lease_ms, free) {
            Ok(claimed) => {
                for c in claimed {
                    s.in_flight.fetch_add(1, Ordering::SeqCst);
                    tracker.spawn(deliver(Arc::clone(&s), c));
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot claim queued submissions"),
        }
        let mut wait = cfg.idle_interval;
        match s.outbox.next_due() {
            Ok(Some(t)) => {
                let d = Duration::from_millis(u64::try_from(t - now).unwrap_or(0));
                wait = wait.min(d);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "cannot read the queue"),
        }
        // A due row that cannot be claimed because every send slot is taken: wait for a send
        // to finish (it wakes us) rather than spin.
        if wait.is_zero() && s.in_flight.load(Ordering::SeqCst) >= cfg.max_in_flight {
            wait = cfg.idle_interval;
        }
        // Offline: wake for the next probe itself. (Capping the sleep at `probe_interval`
        // instead would let a wake-up just before the probe was due push it back by up to
        // another interval.)
        if s.offline.load(Ordering::SeqCst) {
            let d = next_probe.map_or(Duration::ZERO, |t| {
                t.saturating_duration_since(tokio::time::Instant::now())
            });
            wait = wait.min(d);
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = s.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
    tracing::debug!("outbox worker loop stopped");
}

/// The gateway answered (a probe, or a send) while the worker had it as unreachable: the
/// rows backing off only for the network are due now. Without this, a send whose backoff
/// ended just after the network returned would clear `offline` (so no more probes), and
/// every other row would wait out its own backoff, up to the cap.
fn back_online<T>(s: &Shared<T>) {
    if s.offline.swap(false, Ordering::SeqCst) {
        tracing::info!("gateway reachable again: retrying queued submissions");
        reschedule_waiting_for_network(s);
    }
}

fn reschedule_waiting_for_network<T>(s: &Shared<T>) {
    if let Err(e) = s.outbox.network_returned(s.clock.now_ms()) {
        tracing::warn!(error = %e, "cannot reschedule after the network returned");
    }
}

fn housekeeping<T>(s: &Shared<T>, now: i64) {
    let cfg = s.config;
    if now < cfg.clock_floor_ms {
        tracing::error!(
            now_ms = now,
            floor_ms = cfg.clock_floor_ms,
            "the system clock is before this kiosk's build: age bound and retention paused \
             until the time is set (timedatectl); nothing is dead-lettered or erased"
        );
        return;
    }
    // The longest a pending row can legitimately wait: the backoff cap or a lease, plus the
    // housekeeping interval.
    let max_wait = millis(cfg.backoff.cap.max(cfg.lease()))
        .saturating_add(millis(cfg.idle_interval))
        .saturating_add(millis(cfg.probe_interval));
    if let Err(e) = s.outbox.rebase_clock(now, cfg.clock_floor_ms, max_wait) {
        tracing::warn!(error = %e, "cannot repair queue times after a clock jump");
    }
    match s.outbox.expire(now, millis(cfg.max_age)) {
        Ok(ids) => {
            for id in ids {
                let _ = s.events.send(WorkerEvent::Dead(id));
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot apply the age bound"),
    }
    match s.outbox.purge_dead(now, millis(cfg.dead_retention)) {
        Ok(n) if n > 0 => s.erased.store(true, Ordering::SeqCst),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot erase old dead letters"),
    }
    match s
        .outbox
        .prune_delivered(now, millis(cfg.delivered_retention))
    {
        Ok(n) if n > 0 => s.erased.store(true, Ordering::SeqCst),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot delete old delivered submissions"),
    }
}

async fn deliver<T: Transport>(s: Arc<Shared<T>>, c: Claimed) {
    let id = c.id;
    let send = s.transport.send(Outgoing {
        id,
        kind: c.kind,
        payload: c.payload,
        attempt: c.attempts,
    });
    let limit = s.config.send_limit();
    let event = match tokio::time::timeout(limit, send).await {
        // A transport that ignores its own timeout (a gateway trickling its answer byte by
        // byte past per-read timeouts). Dropping the future cancels an async request (a
        // `Blocking` transport's thread runs on until its own socket timeouts end it). The
        // row stays leased, so it is sent again only once its lease has ended, at least
        // LEASE_MARGIN from now, never alongside this attempt.
        Err(_elapsed) => {
            tracing::warn!(
                %id,
                limit_secs = limit.as_secs(),
                "send abandoned after its time limit: retried when its lease ends"
            );
            Some(WorkerEvent::Retrying(id))
        }
        Ok(Ok(d)) => {
            back_online(&s);
            match s.outbox.ack(id, &d.receipt, s.clock.now_ms()) {
                Ok(_) => {
                    s.erased.store(true, Ordering::SeqCst);
                    Some(WorkerEvent::Delivered(id))
                }
                Err(e) => {
                    // The lease expires and the row is sent again: the gateway answers the
                    // replay with the same receipt.
                    tracing::error!(%id, error = %e, "delivered but cannot record it");
                    None
                }
            }
        }
        Ok(Err(e)) => on_failure(&s, id, c.attempts, c.last_error.as_deref(), e).await,
    };
    if let Some(ev) = event {
        let _ = s.events.send(ev);
    }
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    s.wake.notify_one();
}

async fn on_failure<T: Transport>(
    s: &Shared<T>,
    id: Uuid,
    attempts: u32,
    previous: Option<&str>,
    e: SendError,
) -> Option<WorkerEvent> {
    let message = e.to_string();
    let retry_in = |attempts, retry_after| {
        let delay = s
            .config
            .backoff
            .delay(attempts, retry_after, &mut rand::rng());
        s.clock.now_ms().saturating_add(millis(delay))
    };
    let outcome = match e.class {
        ErrorClass::Unreachable => {
            let r = s
                .outbox
                .retry_later(id, e.class, &message, retry_in(attempts, None))
                .map(|()| WorkerEvent::Retrying(id));
            // Only once the row is recorded as waiting for the network: a send succeeding
            // on another thread meanwhile either sees `offline` and reschedules this row
            // too, or clears it before this store, and the probes go on.
            s.offline.store(true, Ordering::SeqCst);
            r
        }
        ErrorClass::Transient => s
            .outbox
            .retry_later(id, e.class, &message, retry_in(attempts, e.retry_after))
            .map(|()| WorkerEvent::Retrying(id)),
        // Refresh once; a second refusal in a row is a dead letter.
        ErrorClass::Unauthorized
            if previous != Some(ErrorClass::Unauthorized.as_str())
                && s.transport.refresh_credentials().await =>
        {
            s.outbox
                .retry_later(id, e.class, &message, s.clock.now_ms())
                .map(|()| WorkerEvent::Retrying(id))
        }
        class => s
            .outbox
            .dead(id, class, &message, s.clock.now_ms())
            .map(|()| WorkerEvent::Dead(id)),
    };
    tracing::info!(%id, attempts, error = %message, "submission not delivered");
    match outcome {
        Ok(ev) => Some(ev),
        Err(err) => {
            tracing::error!(%id, error = %err, "cannot record a failed attempt");
            None
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A worker on its own runtime thread, for a host without tokio (the kiosk's UI thread and
/// std worker threads). Dropping it without [`Background::shutdown`] stops the runtime
/// without waiting for sends in progress (their leases recover at the next start).
pub struct Background {
    handle: Option<WorkerHandle>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl Background {
    /// Starts a one-thread runtime and the worker on it.
    ///
    /// # Errors
    ///
    /// As [`spawn`]; [`WorkerError::Runtime`] if the thread cannot start.
    pub fn start<T: Transport>(
        outbox: Arc<Outbox>,
        transport: Arc<T>,
        config: WorkerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, WorkerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("outbox")
            .enable_all()
            .build()
            .map_err(|e| WorkerError::Runtime(e.to_string()))?;
        let handle = {
            let _guard = runtime.enter();
            spawn(outbox, transport, config, clock)?
        };
        Ok(Self {
            handle: Some(handle),
            runtime: Some(runtime),
        })
    }

    /// See [`WorkerHandle::wake`].
    pub fn wake(&self) {
        if let Some(h) = &self.handle {
            h.wake();
        }
    }

    /// See [`WorkerHandle::network_returned`]: retry what waited for the network at once.
    pub fn network_returned(&self) {
        if let Some(h) = &self.handle {
            h.network_returned();
        }
    }

    /// See [`WorkerHandle::subscribe`].
    #[must_use]
    pub fn subscribe(&self) -> Option<broadcast::Receiver<WorkerEvent>> {
        self.handle.as_ref().map(WorkerHandle::subscribe)
    }

    /// Graceful stop: sends in progress finish and record their outcome.
    pub fn shutdown(mut self) {
        if let (Some(h), Some(rt)) = (self.handle.take(), self.runtime.take()) {
            rt.block_on(h.shutdown());
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // No waiting here: a drop may run where blocking is not allowed (inside a runtime,
        // during thread-local teardown at exit). Sends cut short are recovered from their
        // leases at the next start and replayed (idempotent).
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
