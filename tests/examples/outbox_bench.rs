//! Outbox benchmark: `cargo run -p kiosk-tests --example outbox_bench [--release]`.
//!
//! Prints a Markdown table for docs/BENCHMARKS.md: enqueue commit latency (WAL,
//! synchronous=FULL, SQLCipher, 2 KB payloads), local claim+ack throughput, drain throughput
//! against the demo gateway on loopback, and lease recovery time with 10,000 leased rows.
//! The database lives in the current directory's file system (`OUTBOX_BENCH_DIR` to change),
//! since fsync cost is what is measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_app::gateway::outbox::LoopbackTransport;
use kiosk_app::gateway::{GatewayClient, SubmissionKind, SubmissionRequest};
use kiosk_gateway::Gateway as DemoGateway;
use kiosk_outbox::{
    Backoff, Blocking, Kind, NewItem, OpenOptions, Outbox, QueueKey, SystemClock, Uuid,
    WorkerConfig,
};

fn payload(id: Uuid) -> Vec<u8> {
    let r = SubmissionRequest {
        // The longest name the gateway accepts (512 characters): about 1 KB of JSON.
        procedure_name: "Đăng ký tạm trú ".repeat(32).trim_end().to_owned(),
        ..SubmissionRequest::synthetic(&id.to_string(), SubmissionKind::Tthc)
    };
    serde_json::to_vec(&r).expect("json")
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn now() -> i64 {
    kiosk_outbox::Clock::now_ms(&SystemClock)
}

fn main() {
    let base = std::env::var_os("OUTBOX_BENCH_DIR")
        .map_or_else(|| std::env::current_dir().expect("cwd"), Into::into);
    let dir = tempfile::tempdir_in(base).expect("tempdir");
    let key = QueueKey::from_bytes([3; 32]);
    let open = |name: &str| {
        Arc::new(Outbox::open(&dir.path().join(name), &key, &OpenOptions::default()).expect("open"))
    };

    // 1. Enqueue commit latency.
    let o = open("enqueue.db");
    let n = 500;
    let mut lat = Vec::with_capacity(n);
    // 2 KB rows for the latency figure (the outbox does not look inside).
    let p = vec![b'x'; 2048];
    for i in 0..n {
        let id = Outbox::new_id();
        let t = Instant::now();
        o.enqueue(
            NewItem {
                id,
                kind: Kind::Tthc,
                partition: &format!("P{}", i % 50),
                payload: &p,
            },
            now(),
        )
        .expect("enqueue");
        lat.push(t.elapsed());
    }
    lat.sort();
    let size = p.len();

    // 2. Local claim + ack throughput: one row per claim (two commits a row), and claims of
    // 8 as the worker makes them with 8 sends in flight (1 + 1/8 commits a row).
    let claim_ack = |batch: usize, rows: usize| {
        let t = Instant::now();
        let mut done = 0usize;
        while done < rows {
            let c = o.claim_due(now(), 60_000, batch).expect("claim");
            if c.is_empty() {
                break;
            }
            for c in &c {
                o.ack(c.id, b"{\"MaHoSo\":\"x\"}", now()).expect("ack");
            }
            done += c.len();
        }
        done as f64 / t.elapsed().as_secs_f64()
    };
    let single = claim_ack(1, 250);
    let batched = claim_ack(8, 250);

    // 3. Drain through the worker to the demo gateway on loopback.
    let o = open("drain.db");
    let rows = 500;
    for i in 0..rows {
        let id = Outbox::new_id();
        o.enqueue(
            NewItem {
                id,
                kind: Kind::Tthc,
                partition: &format!("P{i}"),
                payload: &payload(id),
            },
            now(),
        )
        .expect("enqueue");
    }
    let gw = DemoGateway::start().expect("gateway");
    let client = GatewayClient::new(&gw.url(), Duration::from_secs(5)).expect("client");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let drain = rt.block_on(async {
        let t = Instant::now();
        let h = kiosk_outbox::worker::spawn(
            Arc::clone(&o),
            Arc::new(Blocking(Arc::new(LoopbackTransport::new(client)))),
            WorkerConfig {
                max_in_flight: 8,
                backoff: Backoff {
                    base: Duration::from_millis(10),
                    cap: Duration::from_secs(1),
                },
                ..WorkerConfig::default()
            },
            Arc::new(SystemClock),
        )
        .expect("worker");
        loop {
            let s = o.stats().expect("stats");
            assert_eq!(s.dead, 0, "a row was refused: see `kioskctl queue dead`");
            if s.delivered == rows {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let secs = t.elapsed().as_secs_f64();
        h.shutdown().await;
        rows as f64 / secs
    });
    assert_eq!(gw.received() as u64, rows);

    // 4. Lease recovery with 10,000 leased rows (as after a crash mid-drain).
    let o = open("recover.db");
    {
        let c = rusqlite::Connection::open(o.path()).expect("open");
        c.execute_batch(&format!("PRAGMA key = \"x'{}'\";", "03".repeat(32)))
            .expect("key");
        c.execute_batch("BEGIN").expect("begin");
        let p = payload(Uuid::nil());
        for i in 0..10_000 {
            c.execute(
                "INSERT INTO outbox (id, kind, partition_key, payload, payload_sha256, state,
                    created_at, next_attempt_at, lease_until, attempts)
                 VALUES (?1, 'tthc', ?2, ?3, zeroblob(32), 'in_flight', 0, 0, 9e15, 1)",
                rusqlite::params![Uuid::now_v7().to_string(), format!("P{i}"), p],
            )
            .expect("insert");
        }
        c.execute_batch("COMMIT").expect("commit");
    }
    let t = Instant::now();
    let recovered = o.recover_leases(now(), true).expect("recover");
    let recover_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(recovered, 10_000);
    let t = Instant::now();
    let first = o.claim_due(now(), 60_000, 8).expect("claim");
    let first_claim_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(first.len(), 8);

    println!("| measure | result | target |");
    println!("|---|---|---|");
    println!(
        "| enqueue commit, {size} B payload, WAL + FULL + SQLCipher, n={n} | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms | p99 < 15 ms |",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&lat, 1.0)
    );
    println!(
        "| local claim + ack, one row per claim / claims of 8 | {single:.0} / {batched:.0} rows/s | > 200/s |"
    );
    println!("| drain to the demo gateway on loopback, {rows} rows, 8 in flight | {drain:.0} rows/s | > 100/s |");
    println!(
        "| lease recovery, 10,000 leased rows | {recover_ms:.0} ms (then first claim {first_claim_ms:.0} ms) | < 1 s |"
    );
}
