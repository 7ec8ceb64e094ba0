//! Crash test: a child process enqueues and drains against the demo gateway while this test
//! kills it with SIGKILL at random moments. At the end every submission whose enqueue
//! returned is delivered, exactly once on the gateway's side.
//!
//! 30 kills by default (CI); `OUTBOX_CRASH_ITERATIONS=200 cargo test -p kiosk-tests --test
//! outbox_crash` for the long variant. The child is this same test binary, re-executed with
//! `OUTBOX_CRASH_CHILD_DIR` set, running [`crash_child`].

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_app::gateway::outbox::LoopbackTransport;
use kiosk_app::gateway::{GatewayClient, SubmissionKind, SubmissionRequest};
use kiosk_gateway::{Fault, Gateway as DemoGateway};
use kiosk_outbox::{
    Backoff, Blocking, Kind, NewItem, OpenOptions, Outbox, QueueKey, State, SystemClock, Uuid,
    WorkerConfig,
};
use rand::RngExt;

const CHILD_DIR: &str = "OUTBOX_CRASH_CHILD_DIR";
const CHILD_URL: &str = "OUTBOX_CRASH_GATEWAY_URL";
const CHILD_MODE: &str = "OUTBOX_CRASH_MODE";

fn key() -> QueueKey {
    QueueKey::from_bytes([42; 32])
}

fn request(id: Uuid) -> Vec<u8> {
    let r = SubmissionRequest::synthetic(&id.to_string(), SubmissionKind::Tthc);
    serde_json::to_vec(&r).expect("serialises")
}

fn worker_config() -> WorkerConfig {
    WorkerConfig {
        backoff: Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(200),
        },
        probe_interval: Duration::from_millis(50),
        send_timeout: Duration::from_secs(5),
        ..WorkerConfig::default()
    }
}

/// The child: in `enqueue` mode, enqueues a submission every few milliseconds and reports
/// each on stdout once `enqueue` has returned; in `drain` mode, drains and exits. A no-op
/// unless started by the parent test.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let url = std::env::var(CHILD_URL).expect("gateway url");
    let drain = std::env::var(CHILD_MODE).is_ok_and(|m| m == "drain");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let outbox = Arc::new(
            Outbox::open(
                &Path::new(&dir).join("q.db"),
                &key(),
                &OpenOptions::default(),
            )
            .expect("open"),
        );
        let client = GatewayClient::new(&url, Duration::from_secs(2)).expect("client");
        let transport = Arc::new(Blocking(Arc::new(LoopbackTransport::new(client))));
        let h = kiosk_outbox::worker::spawn(
            Arc::clone(&outbox),
            transport,
            worker_config(),
            Arc::new(SystemClock),
        )
        .expect("worker");
        let mut out = std::io::stdout();
        if drain {
            loop {
                let s = outbox.stats().expect("stats");
                if s.pending + s.in_flight == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            h.shutdown().await;
            writeln!(out, "DRAINED").expect("stdout");
            return;
        }
        loop {
            let id = Outbox::new_id();
            let payload = request(id);
            outbox
                .enqueue(
                    NewItem {
                        id,
                        kind: Kind::Tthc,
                        partition: &outbox.partition_for(b"001090123456"),
                        payload: &payload,
                    },
                    SystemClock.now_ms_for_test(),
                )
                .expect("enqueue");
            writeln!(out, "ENQUEUED {id}").expect("stdout");
            out.flush().expect("flush");
            h.wake();
            let pause = rand::rng().random_range(2..15);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    });
}

trait NowForTest {
    fn now_ms_for_test(&self) -> i64;
}

impl NowForTest for SystemClock {
    fn now_ms_for_test(&self) -> i64 {
        use kiosk_outbox::Clock as _;
        self.now_ms()
    }
}

fn spawn_child(dir: &Path, url: &str, mode: &str) -> std::process::Child {
    Command::new(std::env::current_exe().expect("exe"))
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_URL, url)
        .env(CHILD_MODE, mode)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_duplicates_nothing() {
    let iterations: usize = std::env::var("OUTBOX_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let gw = DemoGateway::start().expect("gateway");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = rand::rng();
    let mut acknowledged: Vec<Uuid> = Vec::new();
    for i in 0..iterations {
        // Now and then the nasty fault: committed, answer lost.
        if i % 3 == 0 {
            gw.inject(Fault::LoseResponse);
        }
        let mut child = spawn_child(dir.path(), &gw.url(), "enqueue");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel::<Uuid>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(id) = line.strip_prefix("ENQUEUED ").and_then(|s| s.parse().ok()) {
                    let _ = tx.send(id);
                }
            }
        });
        // Half the kills land anywhere from start-up on (opening, migrating, recovering
        // leases); the other half once the child is enqueueing, so that a loaded machine
        // still exercises the drain.
        if i % 2 == 0 {
            if let Ok(first) = rx.recv_timeout(Duration::from_secs(20)) {
                acknowledged.push(first);
            }
            std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        } else {
            std::thread::sleep(Duration::from_millis(rng.random_range(50..400)));
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        acknowledged.extend(rx.try_iter());
    }

    // Restart once more and let it drain.
    let mut child = spawn_child(dir.path(), &gw.url(), "drain");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "drain did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "drain child failed: {status}");

    let outbox =
        Outbox::open(&dir.path().join("q.db"), &key(), &OpenOptions::default()).expect("open");
    let rows = outbox.list(None, usize::MAX).expect("list");
    let in_db: HashSet<Uuid> = rows.iter().map(|r| r.id).collect();
    // None lost: every enqueue that returned is in the queue, and delivered.
    assert!(!acknowledged.is_empty());
    for id in &acknowledged {
        assert!(
            in_db.contains(id),
            "{id} was acknowledged but is not in the queue"
        );
    }
    for r in &rows {
        assert_eq!(r.state, State::Delivered, "{} not delivered", r.id);
        assert!(!r.has_payload);
    }
    // Exactly once on the gateway: one dossier per row, no other.
    let dossiers: HashMap<String, String> = gw.dossiers();
    assert_eq!(
        dossiers.len(),
        rows.len(),
        "one dossier per queued submission"
    );
    for r in &rows {
        assert!(
            dossiers.contains_key(&r.id.to_string()),
            "{} never arrived",
            r.id
        );
    }
    let codes: HashSet<&String> = dossiers.values().collect();
    assert_eq!(codes.len(), rows.len(), "distinct dossier codes");
    // The receipts stored are the gateway's.
    for r in rows.iter().take(20) {
        let rec = outbox.receipt(r.id).expect("receipt").expect("some");
        let v: serde_json::Value = serde_json::from_slice(&rec).expect("json");
        assert_eq!(
            v["MaHoSo"].as_str(),
            Some(dossiers[&r.id.to_string()].as_str())
        );
    }
    eprintln!(
        "crash test: {iterations} kills, {} submissions, {} requests to the gateway",
        rows.len(),
        gw.submission_requests()
    );
}

/// The demo gateway's fault injection, seen through the loopback transport.
#[test]
fn demo_gateway_faults_classify_as_the_worker_expects() {
    use kiosk_outbox::{BlockingTransport, ErrorClass, Outgoing};
    let gw = DemoGateway::start().expect("gateway");
    let client = GatewayClient::new(&gw.url(), Duration::from_secs(2)).expect("client");
    let t = LoopbackTransport::new(client);
    let item = || {
        let id = Outbox::new_id();
        Outgoing {
            id,
            kind: Kind::Tthc,
            payload: request(id),
            attempt: 1,
        }
    };
    let class = |r: Result<kiosk_outbox::Delivered, kiosk_outbox::SendError>| {
        r.map(|_| None)
            .unwrap_or_else(|e| Some((e.class, e.retry_after)))
    };
    // A connection closed without an answer reads as a reset or as an empty (malformed)
    // answer, depending on timing: either way it is retried.
    let retried = |c: Option<(ErrorClass, Option<Duration>)>| {
        matches!(
            c,
            Some((ErrorClass::Unreachable | ErrorClass::Transient, None))
        )
    };
    gw.inject(Fault::Refuse);
    assert!(retried(class(t.send_blocking(&item()))));
    gw.inject(Fault::ServerError);
    assert_eq!(
        class(t.send_blocking(&item())),
        Some((ErrorClass::Transient, None))
    );
    gw.inject(Fault::TooManyRequests {
        retry_after_secs: 7,
    });
    assert_eq!(
        class(t.send_blocking(&item())),
        Some((ErrorClass::Transient, Some(Duration::from_secs(7))))
    );
    gw.inject(Fault::Slow(Duration::from_millis(300)));
    let started = Instant::now();
    assert_eq!(class(t.send_blocking(&item())), None);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Lost after commit: the retry is answered from the first dossier, not a second one.
    gw.inject(Fault::LoseResponse);
    let lost = item();
    assert!(retried(class(t.send_blocking(&lost))));
    let before = gw.received();
    let replay = t.send_blocking(&lost).expect("replay");
    assert!(!replay.created);
    assert_eq!(gw.received(), before);
    gw.set_down(true);
    assert!(!t.probe_blocking());
    gw.set_down(false);
    assert!(t.probe_blocking());
    // A payload whose referenceUid is not its queue id is refused before sending.
    let mut wrong = item();
    wrong.id = Outbox::new_id();
    assert_eq!(
        class(t.send_blocking(&wrong)).map(|c| c.0),
        Some(ErrorClass::Permanent)
    );
}
