//! The operator's commands, run as the real binary against a PostgreSQL the gateway shares:
//! dead letters made by the one-stop simulator's fault injection (every request answered
//! 503, two attempts) are listed without personal data, one is dropped (audit line; never
//! forwarded), the other retried and then forwarded once the one-stop system answers again;
//! `prune --dry-run` counts and deletes nothing.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kiosk_gateway::onestop_sim::{OneStopSim, SimFaults};
use kiosk_gateway::testing::PgCluster;
use kiosk_gateway::{ForwardConfig, Gateway, GatewayConfig};
use kiosk_wire::dto::{SubmissionKind, SubmissionRequest};

fn cli(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiosk-gateway"))
        .args(args)
        .env("KIOSK_GATEWAY_POSTGRES", url)
        .env("RUST_LOG", "info")
        .output()
        .expect("run kiosk-gateway")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn submit(addr: SocketAddr, uid: &str) {
    let body =
        serde_json::to_vec(&SubmissionRequest::synthetic(uid, SubmissionKind::Tthc)).expect("json");
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    let head = format!(
        "POST /v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Idempotency-Key: {uid}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).expect("head");
    tcp.write_all(&body).expect("body");
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

fn forward_to(url: String) -> ForwardConfig {
    ForwardConfig {
        timeout: Duration::from_millis(500),
        max_attempts: 2,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(50),
        idle_poll: Duration::from_millis(20),
        ..ForwardConfig::new(url)
    }
}

/// Waits (bounded: a liveness guard, not a speed assertion) until `done`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn gauge(gw: &Gateway, name: &str) -> Option<u64> {
    gw.metrics_text()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} "))?.parse().ok())
}

#[test]
fn dead_letters_are_listed_dropped_and_retried_from_the_command_line() {
    let Some(pg) = PgCluster::for_test() else {
        return;
    };
    let url = pg.database("operator").expect("database");
    let down = OneStopSim::start(
        "127.0.0.1:0".parse().expect("addr"),
        SimFaults {
            error_rate: 1.0,
            ..SimFaults::default()
        },
    )
    .expect("simulator");
    let gw = Gateway::start_with(GatewayConfig {
        postgres: Some(url.clone()),
        forward: Some(forward_to(down.url())),
        ..GatewayConfig::default()
    })
    .expect("gateway");
    let (keep, give_up) = (
        "0190f0a0-0000-7000-c000-000000000001",
        "0190f0a0-0000-7000-c000-000000000002",
    );
    submit(gw.addr(), keep);
    submit(gw.addr(), give_up);
    wait_until("two dead letters", || {
        gauge(&gw, "kiosk_gateway_forward_dead_letters") == Some(2)
    });
    gw.stop();

    let listed = cli(&url, &["forward", "dead", "list"]);
    let (out, err) = text(&listed);
    assert!(listed.status.success(), "{out}{err}");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    for r in &rows {
        // id, kiosk ("-": the demo's plain HTTP), procedure, attempts, age, body, last error.
        assert_eq!(r.get(1..4), Some(&["-", "1.004194", "2"][..]), "{out}");
        assert_eq!(r.get(5), Some(&"kept"), "{out}");
        assert!(r.get(6).is_some_and(|e| e.contains("503")), "{out}");
    }
    for personal in ["NGUYEN VAN AN", "001090123456", "01/01/1990", "0912345678"] {
        assert!(
            !out.contains(personal) && !err.contains(personal),
            "{personal}"
        );
    }
    let (first, second) = (rows[0][0].to_owned(), rows[1][0].to_owned());

    let dropped = cli(&url, &["forward", "drop", &second]);
    let (out, err) = text(&dropped);
    assert!(dropped.status.success(), "{out}{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("audit") && l.contains("dead letter dropped")),
        "{err}"
    );
    let again = cli(&url, &["forward", "drop", &second]);
    assert!(
        !again.status.success(),
        "a dropped letter is not dead any more"
    );
    assert!(!cli(&url, &["forward", "retry", &second]).status.success());

    let retried = cli(&url, &["forward", "retry", "--all"]);
    let (out, err) = text(&retried);
    assert!(retried.status.success(), "{out}{err}");
    assert!(out.contains("1 dead letter(s) back"), "{out}");
    let listed = cli(&url, &["forward", "dead", "list"]);
    assert_eq!(text(&listed).0.lines().count(), 1, "only the header left");

    // The one-stop system answers again: the retried one arrives, the dropped one never.
    let up = OneStopSim::start("127.0.0.1:0".parse().expect("addr"), SimFaults::default())
        .expect("simulator");
    let gw = Gateway::start_with(GatewayConfig {
        postgres: Some(url.clone()),
        forward: Some(forward_to(up.url())),
        ..GatewayConfig::default()
    })
    .expect("gateway");
    wait_until("the retried dossier", || up.dossiers().len() == 1);
    assert_eq!(gauge(&gw, "kiosk_gateway_forward_queue_depth"), Some(0));
    assert_eq!(gauge(&gw, "kiosk_gateway_forward_dead_letters"), Some(0));
    let arrived: Vec<String> = up.dossiers().into_keys().collect();
    assert_eq!(arrived, [keep.to_owned()], "row {first} forwarded");
    gw.stop();

    // Nothing is old enough to prune; the dry run says so and deletes nothing.
    let dry = cli(&url, &["prune", "--dry-run"]);
    let (out, err) = text(&dry);
    assert!(dry.status.success(), "{out}{err}");
    assert!(
        out.contains("would delete 0 idempotency key(s) and 0 receipt(s)"),
        "{out}"
    );
    let pruned = cli(
        &url,
        &["prune", "--receipts-days", "0", "--idempotency-days", "0"],
    );
    assert!(
        text(&pruned)
            .0
            .contains("deleted 0 idempotency key(s) and 0 receipt(s)"),
        "{:?}",
        text(&pruned)
    );
}
