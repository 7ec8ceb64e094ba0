//! The worker against an in-process gateway fake, on tokio's mocked clock: a day-long outage,
//! a lost response, Retry-After, dead letters, the age bound, graceful shutdown.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiosk_outbox::{
    Backoff, Delivered, ErrorClass, Kind, NewItem, OpenOptions, Outbox, Outgoing, QueueKey,
    SendError, State, TokioClock, Transport, Uuid, WorkerConfig, WorkerEvent,
};

/// One injected behaviour for the next send.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The gateway commits, then the response never arrives.
    LoseResponse,
    /// HTTP status with an optional Retry-After in seconds.
    Status(u16, Option<u64>),
}

#[derive(Default)]
struct GwState {
    down: bool,
    faults: VecDeque<Fault>,
    /// Committed submissions in arrival order: (id, partition from the payload).
    committed: Vec<(Uuid, String)>,
    by_key: HashMap<Uuid, usize>,
    sends: usize,
    send_times: Vec<tokio::time::Instant>,
    probe_times: Vec<tokio::time::Instant>,
}

/// A gateway fake with idempotency on the key, like the real one.
#[derive(Default, Clone)]
struct FakeGateway(Arc<Mutex<GwState>>);

impl FakeGateway {
    fn with<R>(&self, f: impl FnOnce(&mut GwState) -> R) -> R {
        f(&mut self.0.lock().expect("lock"))
    }
}

impl Transport for FakeGateway {
    async fn send(&self, item: Outgoing) -> Result<Delivered, SendError> {
        // A network round trip of 20 ms (mocked).
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.with(|s| {
            s.sends += 1;
            s.send_times.push(tokio::time::Instant::now());
            if s.down {
                return Err(SendError::unreachable("connection refused"));
            }
            let fault = s.faults.pop_front();
            if let Some(Fault::Status(code, ra)) = fault {
                return Err(SendError::status(
                    code,
                    ra.map(Duration::from_secs),
                    "injected",
                ));
            }
            let created = !s.by_key.contains_key(&item.id);
            if created {
                let partition = String::from_utf8_lossy(&item.payload)
                    .split('|')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                s.by_key.insert(item.id, s.committed.len());
                s.committed.push((item.id, partition));
            }
            if let Some(Fault::LoseResponse) = fault {
                return Err(SendError::unreachable("connection reset after commit"));
            }
            Ok(Delivered {
                receipt: format!("receipt-{}", s.by_key[&item.id]).into_bytes(),
                created,
            })
        })
    }

    async fn probe(&self) -> bool {
        self.with(|s| {
            s.probe_times.push(tokio::time::Instant::now());
            !s.down
        })
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    outbox: Arc<Outbox>,
    gw: FakeGateway,
    clock: TokioClock,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Arc::new(
        Outbox::open(
            &dir.path().join("q.db"),
            &QueueKey::from_bytes([1; 32]),
            &OpenOptions::default(),
        )
        .expect("open"),
    );
    Rig {
        _dir: dir,
        outbox,
        gw: FakeGateway::default(),
        clock: TokioClock::starting_at(1_767_225_600_000),
    }
}

fn config() -> WorkerConfig {
    WorkerConfig {
        backoff: Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
        },
        probe_interval: Duration::from_secs(30),
        ..WorkerConfig::default()
    }
}

fn enqueue(r: &Rig, partition: &str, n: usize) -> Uuid {
    use kiosk_outbox::Clock as _;
    let id = Outbox::new_id();
    r.outbox
        .enqueue(
            NewItem {
                id,
                kind: Kind::Tthc,
                partition,
                payload: format!("{partition}|{n}").as_bytes(),
            },
            r.clock.now_ms(),
        )
        .expect("enqueue");
    id
}

async fn wait_for(r: &Rig, mut done: impl FnMut(&Rig) -> bool) {
    for _ in 0..100_000 {
        if done(r) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not reached");
}

fn delivered(r: &Rig) -> u64 {
    r.outbox.stats().expect("stats").delivered
}

#[tokio::test(start_paused = true)]
async fn outage_of_a_day_then_everything_in_order_exactly_once() {
    let r = rig();
    r.gw.with(|s| s.down = true);
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        config(),
        Arc::new(r.clock),
    )
    .expect("spawn");
    // A day of citizens: one submission every 15 minutes, 8 partitions; every one is
    // accepted locally (durable) while the gateway is unreachable.
    let mut order: HashMap<String, Vec<Uuid>> = HashMap::new();
    for n in 0..96 {
        let p = format!("P{}", n % 8);
        let id = enqueue(&r, &p, n);
        order.entry(p).or_default().push(id);
        h.wake();
        tokio::time::sleep(Duration::from_secs(15 * 60)).await;
    }
    let st = r.outbox.stats().expect("stats");
    assert_eq!(st.pending + st.in_flight, 96, "all kept");
    assert_eq!(st.delivered, 0);
    assert!(r.gw.with(|s| s.committed.is_empty()));
    let sends_during_outage = r.gw.with(|s| s.sends);
    // Backoff and probes keep the traffic low: far fewer sends than one per row per minute.
    assert!(
        sends_during_outage < 96 * 20,
        "{sends_during_outage} sends during the outage"
    );
    // Probes keep to their interval: a loop wake-up just before a probe is due (a row's
    // backoff ending) must not push the probe back.
    let probes = r.gw.with(|s| s.probe_times.clone());
    assert!(probes.len() > 2000, "{} probes in a day", probes.len());
    let longest = probes.windows(2).map(|w| w[1] - w[0]).max();
    assert_eq!(
        longest,
        Some(Duration::from_secs(30)),
        "probe interval kept"
    );

    // The gateway returns: the probe notices within its interval and everything drains,
    // whatever the backoffs (random) left due in the meantime.
    r.gw.with(|s| s.down = false);
    let back = tokio::time::Instant::now();
    wait_for(&r, |r| delivered(r) == 96).await;
    let took = back.elapsed();
    assert!(
        took <= Duration::from_secs(40),
        "drained {took:?} after the network returned"
    );

    r.gw.with(|s| {
        assert_eq!(s.committed.len(), 96, "exactly once");
        for (p, ids) in &order {
            let got: Vec<Uuid> = s
                .committed
                .iter()
                .filter(|(_, q)| q == p)
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(&got, ids, "FIFO in partition {p}");
        }
    });
    h.shutdown().await;
}

/// A send that succeeds before the next probe (its backoff ended just after the network
/// returned) must release the rows backing off for the network too, not just itself.
#[tokio::test(start_paused = true)]
async fn first_delivery_after_an_outage_releases_every_row_waiting_for_the_network() {
    let r = rig();
    r.gw.with(|s| s.down = true);
    let cfg = WorkerConfig {
        // Long backoffs, and probes too rare to help within this test.
        backoff: Backoff {
            base: Duration::from_secs(3600),
            cap: Duration::from_secs(3600),
        },
        probe_interval: Duration::from_secs(6 * 3600),
        ..config()
    };
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        cfg,
        Arc::new(r.clock),
    )
    .expect("spawn");
    let waiting: Vec<Uuid> = (0..4).map(|n| enqueue(&r, &format!("P{n}"), n)).collect();
    h.wake();
    wait_for(&r, |r| {
        r.gw.with(|s| s.sends >= 4 && !s.probe_times.is_empty())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(r.outbox.stats().expect("stats").pending, 4, "backing off");

    // The network returns; a new submission (due at once) is the first to get through.
    r.gw.with(|s| s.down = false);
    let back = tokio::time::Instant::now();
    enqueue(&r, "Q", 9);
    h.wake();
    wait_for(&r, |r| delivered(r) == 5).await;
    assert!(
        back.elapsed() <= Duration::from_secs(1),
        "drained {:?} after the network returned",
        back.elapsed()
    );
    for id in waiting {
        assert_eq!(r.outbox.state(id).expect("state"), State::Delivered);
    }
    assert_eq!(r.gw.with(|s| s.probe_times.len()), 1, "no probe needed");
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn lost_response_is_retried_without_duplicate() {
    let r = rig();
    r.gw.with(|s| s.faults.push_back(Fault::LoseResponse));
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        config(),
        Arc::new(r.clock),
    )
    .expect("spawn");
    let mut events = h.subscribe();
    let id = enqueue(&r, "A", 1);
    h.wake();
    assert_eq!(
        events.recv().await.expect("event"),
        WorkerEvent::Retrying(id)
    );
    assert_eq!(
        events.recv().await.expect("event"),
        WorkerEvent::Delivered(id)
    );
    r.gw.with(|s| {
        assert_eq!(s.sends, 2, "sent twice");
        assert_eq!(s.committed.len(), 1, "committed once");
    });
    assert_eq!(
        r.outbox.receipt(id).expect("receipt").as_deref(),
        Some(&b"receipt-0"[..])
    );
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_rejections_dead_letter() {
    let r = rig();
    r.gw.with(|s| {
        s.faults.push_back(Fault::Status(429, Some(120)));
        s.faults.push_back(Fault::Status(503, None));
    });
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        config(),
        Arc::new(r.clock),
    )
    .expect("spawn");
    let a = enqueue(&r, "A", 1);
    h.wake();
    wait_for(&r, |r| delivered(r) == 1).await;
    let times = r.gw.with(|s| s.send_times.clone());
    assert_eq!(times.len(), 3, "429, 503, then accepted");
    assert!(
        times[1] - times[0] >= Duration::from_secs(120),
        "Retry-After honoured"
    );
    assert_eq!(r.outbox.state(a).expect("state"), State::Delivered);

    // 422: dead at once, with an alert; no retry.
    r.gw.with(|s| s.faults.push_back(Fault::Status(422, None)));
    let b = enqueue(&r, "B", 2);
    h.wake();
    wait_for(&r, |r| r.outbox.stats().expect("stats").dead == 1).await;
    assert_eq!(r.outbox.state(b).expect("state"), State::Dead);
    let alerts = r.outbox.alerts(10).expect("alerts");
    assert_eq!(alerts[0].item_id, b.to_string());
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(r.gw.with(|s| s.sends), 4);
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn age_bound_turns_undeliverable_rows_dead() {
    let r = rig();
    r.gw.with(|s| s.down = true);
    let cfg = WorkerConfig {
        max_age: Duration::from_secs(3600),
        idle_interval: Duration::from_secs(60),
        ..config()
    };
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        cfg,
        Arc::new(r.clock),
    )
    .expect("spawn");
    let id = enqueue(&r, "A", 1);
    h.wake();
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert_eq!(r.outbox.state(id).expect("state"), State::Dead);
    let a = r.outbox.alerts(10).expect("alerts");
    assert!(a[0].reason.contains("age bound"), "{a:?}");
    let l = r.outbox.list(Some(State::Dead), 1).expect("list");
    assert_eq!(
        l[0].last_error_kind.as_deref(),
        Some(ErrorClass::Expired.as_str())
    );
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn parallel_across_partitions_and_one_worker_per_queue() {
    let r = rig();
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        WorkerConfig {
            max_in_flight: 4,
            ..config()
        },
        Arc::new(r.clock),
    )
    .expect("spawn");
    // A second worker on the same queue is refused.
    let second = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        config(),
        Arc::new(r.clock),
    );
    assert!(
        matches!(second, Err(kiosk_outbox::WorkerError::Busy(_))),
        "{second:?}"
    );
    for n in 0..8 {
        enqueue(&r, &format!("P{n}"), n);
    }
    let start = tokio::time::Instant::now();
    h.wake();
    wait_for(&r, |r| delivered(r) == 8).await;
    // 8 sends of 20 ms, 4 at a time: about 40 ms, not 160.
    assert!(
        start.elapsed() < Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
    h.shutdown().await;
}

/// The OS hook end to end, in real time: a fake sysfs interface comes up, the link watcher
/// calls `Background::network_returned`, and a row backing off for an hour is delivered at
/// once (no probe is due for hours either).
#[test]
fn a_link_coming_up_retries_at_once_through_the_background_worker() {
    use kiosk_outbox::{Background, LinkWatcher, SystemClock};
    use std::time::Instant;

    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Arc::new(
        Outbox::open(
            &dir.path().join("q.db"),
            &QueueKey::from_bytes([2; 32]),
            &OpenOptions::default(),
        )
        .expect("open"),
    );
    let gw = FakeGateway::default();
    gw.with(|s| s.down = true);
    let cfg = WorkerConfig {
        backoff: Backoff {
            base: Duration::from_secs(3600),
            cap: Duration::from_secs(3600),
        },
        probe_interval: Duration::from_secs(6 * 3600),
        ..config()
    };
    let worker = Arc::new(
        Background::start(
            Arc::clone(&outbox),
            Arc::new(gw.clone()),
            cfg,
            Arc::new(SystemClock),
        )
        .expect("start"),
    );
    let wait = |what: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !what() {
            assert!(Instant::now() < deadline, "condition not reached");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let id = Outbox::new_id();
    let now = kiosk_outbox::Clock::now_ms(&SystemClock);
    outbox
        .enqueue(
            NewItem {
                id,
                kind: Kind::Tthc,
                partition: "P",
                payload: b"P|1",
            },
            now,
        )
        .expect("enqueue");
    worker.wake();
    wait(&|| gw.with(|s| s.sends >= 1 && !s.probe_times.is_empty()));
    assert_eq!(
        outbox.state(id).expect("state"),
        State::Pending,
        "backing off"
    );

    let net = dir.path().join("sys/class/net/eth0");
    std::fs::create_dir_all(&net).expect("mkdir");
    std::fs::write(net.join("carrier"), "0\n").expect("write");
    std::fs::write(net.join("operstate"), "down\n").expect("write");
    let w = Arc::clone(&worker);
    let _watcher = LinkWatcher::start(
        dir.path().join("sys"),
        Duration::from_millis(20),
        move || w.network_returned(),
    )
    .expect("watch");
    std::thread::sleep(Duration::from_millis(100));
    gw.with(|s| s.down = false);
    let back = Instant::now();
    std::fs::write(net.join("carrier"), "1\n").expect("write");
    std::fs::write(net.join("operstate"), "up\n").expect("write");
    wait(&|| outbox.state(id).expect("state") == State::Delivered);
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "delivered {:?} after the link came up",
        back.elapsed()
    );
    assert_eq!(
        gw.with(|s| s.probe_times.len()),
        1,
        "no second probe needed"
    );
}

/// A gateway that takes `delay` to answer each send (`None`: never answers), counting the
/// sends of one row that run at the same time.
#[derive(Clone)]
struct SlowGateway {
    delay: Option<Duration>,
    state: Arc<Mutex<SlowState>>,
}

#[derive(Default)]
struct SlowState {
    running: usize,
    most_at_once: usize,
    starts: Vec<tokio::time::Instant>,
}

/// Counts a send as running until its future ends or is dropped (abandoned by the worker).
struct Running(Arc<Mutex<SlowState>>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.lock().expect("lock").running -= 1;
    }
}

impl Transport for SlowGateway {
    async fn send(&self, _item: Outgoing) -> Result<Delivered, SendError> {
        let _running = {
            let mut s = self.state.lock().expect("lock");
            s.running += 1;
            s.most_at_once = s.most_at_once.max(s.running);
            s.starts.push(tokio::time::Instant::now());
            Running(Arc::clone(&self.state))
        };
        match self.delay {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending::<()>().await,
        }
        Ok(Delivered {
            receipt: b"receipt".to_vec(),
            created: true,
        })
    }

    async fn probe(&self) -> bool {
        true
    }
}

/// `gateway.timeout` may be 300 s: a gateway answering just inside it must see each row once
/// at a time. (With the old fixed 120 s lease, housekeeping handed the live lease back after
/// two minutes and a second send of the same row started.)
#[tokio::test(start_paused = true)]
async fn a_slow_gateway_near_the_timeout_never_sees_a_second_concurrent_send() {
    let r = rig();
    let timeout = Duration::from_secs(300);
    let gw = SlowGateway {
        delay: Some(timeout - Duration::from_secs(1)),
        state: Arc::default(),
    };
    let cfg = WorkerConfig::for_send_timeout(timeout);
    assert!(cfg.lease() > cfg.send_limit() && cfg.send_limit() > timeout);
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(gw.clone()),
        cfg,
        Arc::new(r.clock),
    )
    .expect("spawn");
    let ids: Vec<Uuid> = (0..3).map(|n| enqueue(&r, &format!("P{n}"), n)).collect();
    h.wake();
    wait_for(&r, |r| delivered(r) == 3).await;
    let (most_at_once, starts) = {
        let s = gw.state.lock().expect("lock");
        (s.most_at_once, s.starts.clone())
    };
    assert_eq!(most_at_once, 3, "one send per row, in parallel across rows");
    assert_eq!(starts.len(), 3, "each row sent once: {starts:?}");
    for id in ids {
        assert_eq!(r.outbox.state(id).expect("state"), State::Delivered);
    }
    h.shutdown().await;
}

/// A transport that ignores its own timeout is abandoned at the send limit; its row is sent
/// again only after its lease has ended, never while the first attempt runs.
#[tokio::test(start_paused = true)]
async fn a_send_past_its_limit_is_abandoned_and_retried_only_after_its_lease() {
    let r = rig();
    let gw = SlowGateway {
        delay: None,
        state: Arc::default(),
    };
    let cfg = WorkerConfig::for_send_timeout(Duration::from_secs(60));
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(gw.clone()),
        cfg,
        Arc::new(r.clock),
    )
    .expect("spawn");
    let mut events = h.subscribe();
    let id = enqueue(&r, "P", 0);
    h.wake();
    assert_eq!(
        events.recv().await.expect("event"),
        WorkerEvent::Retrying(id)
    );
    assert_eq!(gw.state.lock().expect("lock").running, 0, "abandoned");
    wait_for(&r, |_| gw.state.lock().expect("lock").starts.len() >= 3).await;
    {
        let s = gw.state.lock().expect("lock");
        assert_eq!(s.most_at_once, 1);
        for w in s.starts.windows(2) {
            assert!(w[1] - w[0] >= cfg.lease(), "{:?} < lease", w[1] - w[0]);
        }
    }
    h.shutdown().await;
}

fn wal_len(r: &Rig) -> u64 {
    let wal = r.outbox.path().with_extension("db-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// A delivered payload leaves the WAL at once (a TRUNCATE checkpoint), and the delivered row
/// itself is deleted after its retention.
#[tokio::test(start_paused = true)]
async fn delivered_payloads_leave_the_log_and_rows_are_pruned_after_retention() {
    let r = rig();
    let cfg = WorkerConfig {
        delivered_retention: Duration::from_secs(2 * 24 * 3600),
        idle_interval: Duration::from_secs(3600),
        ..config()
    };
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        cfg,
        Arc::new(r.clock),
    )
    .expect("spawn");
    let mut events = h.subscribe();
    let id = enqueue(&r, "P", 0);
    assert!(wal_len(&r) > 0, "the enqueue is in the log");
    h.wake();
    assert_eq!(
        events.recv().await.expect("event"),
        WorkerEvent::Delivered(id)
    );
    wait_for(&r, |r| wal_len(r) == 0).await;
    assert_eq!(r.outbox.state(id).expect("kept a while"), State::Delivered);

    tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    assert_eq!(
        r.outbox.state(id).expect("within retention"),
        State::Delivered
    );
    tokio::time::sleep(Duration::from_secs(2 * 3600 + 24 * 3600)).await;
    assert!(
        matches!(
            r.outbox.state(id),
            Err(kiosk_outbox::OutboxError::NotFound(_))
        ),
        "pruned after retention"
    );
    assert_eq!(r.outbox.stats().expect("stats").delivered, 0);
    assert_eq!(wal_len(&r), 0, "the deletion left the log too");
    h.shutdown().await;
}

/// The rig's clock shifted by an offset a test can change: a wall clock that is wrong, then
/// set.
#[derive(Clone)]
struct JumpClock {
    base: TokioClock,
    offset: Arc<std::sync::atomic::AtomicI64>,
}

impl kiosk_outbox::Clock for JumpClock {
    fn now_ms(&self) -> i64 {
        self.base
            .now_ms()
            .saturating_add(self.offset.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// The rig's clock is 2026-01-01; the floor (a build date) a day before it.
const FLOOR_MS: i64 = 1_767_225_600_000 - 86_400_000;

fn enqueue_at(r: &Rig, partition: &str, now_ms: i64) -> Uuid {
    let id = Outbox::new_id();
    r.outbox
        .enqueue(
            NewItem {
                id,
                kind: Kind::Tthc,
                partition,
                payload: format!("{partition}|1").as_bytes(),
            },
            now_ms,
        )
        .expect("enqueue");
    id
}

/// A kiosk that boots believing it is 1970 queues a dossier: nothing is dead-lettered while
/// the clock is before the build, and once the time is set the age bound counts from then,
/// not from 1970.
#[tokio::test(start_paused = true)]
async fn a_clock_before_the_build_never_dead_letters_a_dossier() {
    use kiosk_outbox::Clock as _;
    let r = rig();
    let offset = Arc::new(std::sync::atomic::AtomicI64::new(-1_700_000_000_000));
    let clock = JumpClock {
        base: r.clock,
        offset: Arc::clone(&offset),
    };
    r.gw.with(|s| s.down = true);
    let cfg = WorkerConfig {
        max_age: Duration::from_secs(3600),
        idle_interval: Duration::from_secs(60),
        clock_floor_ms: FLOOR_MS,
        ..config()
    };
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        cfg,
        Arc::new(clock.clone()),
    )
    .expect("spawn");
    let id = enqueue_at(&r, "A", clock.now_ms());
    h.wake();
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert_eq!(r.outbox.state(id).expect("state"), State::Pending);
    // Network time arrives: the clock jumps 54 years forward.
    offset.store(0, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1800)).await;
    assert_eq!(
        r.outbox.state(id).expect("state"),
        State::Pending,
        "the age counts from the first believable time"
    );
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert_eq!(
        r.outbox.state(id).expect("state"),
        State::Dead,
        "the bound still holds"
    );
    h.shutdown().await;
}

/// A kiosk whose clock ran 14 years ahead schedules a retry in 2040; when the clock is set
/// back the retry is not parked until 2040: it goes out within minutes.
#[tokio::test(start_paused = true)]
async fn a_clock_that_was_ahead_does_not_park_a_retry() {
    use kiosk_outbox::Clock as _;
    let r = rig();
    let offset = Arc::new(std::sync::atomic::AtomicI64::new(14 * 365 * 86_400_000));
    let clock = JumpClock {
        base: r.clock,
        offset: Arc::clone(&offset),
    };
    r.gw.with(|s| s.faults.push_back(Fault::Status(503, None)));
    let cfg = WorkerConfig {
        idle_interval: Duration::from_secs(60),
        clock_floor_ms: FLOOR_MS,
        ..config()
    };
    let h = kiosk_outbox::worker::spawn(
        Arc::clone(&r.outbox),
        Arc::new(r.gw.clone()),
        cfg,
        Arc::new(clock.clone()),
    )
    .expect("spawn");
    enqueue_at(&r, "A", clock.now_ms());
    h.wake();
    wait_for(&r, |r| r.gw.with(|s| s.sends) >= 1).await;
    offset.store(0, std::sync::atomic::Ordering::SeqCst);
    let set_back = tokio::time::Instant::now();
    wait_for(&r, |r| delivered(r) == 1).await;
    assert!(
        set_back.elapsed() < Duration::from_secs(5 * 60),
        "delivered {:?} after the clock was set back",
        set_back.elapsed()
    );
    h.shutdown().await;
}
