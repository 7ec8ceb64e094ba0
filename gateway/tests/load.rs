//! The load test (ignored by default; `cargo xtask gateway-load` runs it in release mode):
//! simulated kiosks, each with its own enrolled client certificate, submit through HAProxy
//! (TCP mode: TLS ends at the gateway) to N `kiosk-gateway serve` replicas sharing one
//! PostgreSQL, which forward to the one-stop simulator (with a few faults). With chaos on, one
//! replica is killed (SIGKILL) and restarted a third of the way in, and PostgreSQL is
//! restarted two thirds of the way in.
//!
//! Proof, checked at the end: every submission was accepted exactly once (one row per
//! `referenceUid`, the kiosks got a receipt for each) and forwarded exactly once (one dossier
//! per `referenceUid` on the simulator's side, none missing, no dead letters).
//!
//! Knobs (environment): `LOAD_REPLICAS` (3), `LOAD_KIOSKS` (200), `LOAD_PER_KIOSK` (10),
//! `LOAD_CHAOS` (1). Prints one line `RESULT ...` with submissions/s and latency percentiles.
//! Bounded: each kiosk sends a fixed number of submissions and gives one up after 60 s of
//! retries (which fails the test).

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk_gateway::ca::Authority;
use kiosk_gateway::onestop_sim::{OneStopSim, SimFaults};
use kiosk_gateway::store::{PgStore, Store as _};
use kiosk_gateway::testing::PgCluster;
use kiosk_wire::dto::{SubmissionKind, SubmissionRequest};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

struct Replica {
    port: u16,
    args: Vec<String>,
    child: Child,
}

impl Replica {
    fn spawn(port: u16, args: Vec<String>, log: &Path) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_kiosk-gateway"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("replica");
        Self { port, args, child }
    }
}

/// Waits (bounded) until something answers TCP on `port`.
fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTPS exchange through the balancer; the status and body, or an error to retry.
fn exchange(
    config: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    request: &[u8],
) -> std::io::Result<(u16, String)> {
    let name = ServerName::try_from("127.0.0.1").map_err(std::io::Error::other)?;
    let conn =
        rustls::ClientConnection::new(Arc::clone(config), name).map_err(std::io::Error::other)?;
    let tcp = std::net::TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(request)?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer)?;
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP answer"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn post(path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn client(ca_pem: &str, identity: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca"))
        .expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    Arc::new(match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key"),
            )
            .expect("client auth"),
        None => builder.with_no_client_auth(),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
#[ignore = "load test: cargo xtask gateway-load"]
fn kiosks_through_haproxy_to_replicas_each_submission_accepted_and_forwarded_once() {
    let replicas = env("LOAD_REPLICAS", 3).max(1);
    let kiosks = env("LOAD_KIOSKS", 200).max(1);
    let per_kiosk = env("LOAD_PER_KIOSK", 10).max(1);
    let chaos = env("LOAD_CHAOS", 1) == 1;
    let total = kiosks * per_kiosk;

    let mut pg = PgCluster::start(true).expect("PostgreSQL");
    let url = pg.database("load").expect("database");
    let work = pg.dir().join("load");
    std::fs::create_dir_all(&work).expect("work dir");
    // The CA and the server certificate (from files, as in production).
    let ca_dir = work.join("ca");
    let ca = Authority::init(&ca_dir, "Load test CA").expect("ca");
    let (cert, key) = ca
        .server_certificate(&["127.0.0.1".to_owned()])
        .expect("server certificate");
    std::fs::write(work.join("server.pem"), cert).expect("cert");
    std::fs::write(work.join("server.key"), key).expect("key");
    let sim = OneStopSim::start(
        "127.0.0.1:0".parse().expect("addr"),
        SimFaults {
            error_rate: 0.03,
            timeout_rate: 0.01,
            lost_reply_rate: 0.02,
            hang: Duration::from_secs(3),
            seed: 500,
        },
    )
    .expect("simulator");
    // Tokens straight into the shared store (what `kiosk-gateway token new` does).
    let tokens: Vec<String> = {
        let mut store = PgStore::connect(&url).expect("store");
        let now = kiosk_gateway::state::now_ms();
        (0..kiosks)
            .map(|k| {
                kiosk_gateway::state::new_token(
                    &mut store,
                    &format!("kiosk-{k:04}"),
                    "HN-LOAD",
                    3_600_000,
                    now,
                )
                .expect("token")
            })
            .collect()
    };

    let log = work.join("replicas.log");
    let mut fleet: Vec<Replica> = (0..replicas)
        .map(|_| {
            let port = free_port();
            let args: Vec<String> = [
                "serve",
                "--postgres",
                &url,
                "--ca-dir",
                &ca_dir.display().to_string(),
                "--cert",
                &work.join("server.pem").display().to_string(),
                "--key",
                &work.join("server.key").display().to_string(),
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--forward-url",
                &sim.url(),
                "--forward-timeout-ms",
                "1000",
                "--forward-backoff-ms",
                "100",
                "--forward-lease-secs",
                "5",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            Replica::spawn(port, args, &log)
        })
        .collect();
    for r in &fleet {
        wait_port(r.port);
    }
    // HAProxy in TCP mode: TLS passes through to the replicas.
    let lb_port = free_port();
    let servers: String = fleet
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "    server gw{i} 127.0.0.1:{} check inter 300ms fall 1 rise 1\n",
                r.port
            )
        })
        .collect();
    let cfg = format!(
        "global\n    maxconn 4096\n\ndefaults\n    mode tcp\n    timeout connect 2s\n    \
         timeout client 30s\n    timeout server 30s\n    retries 3\n    option redispatch\n\n\
         frontend kiosks\n    bind 127.0.0.1:{lb_port}\n    default_backend gateways\n\n\
         backend gateways\n    balance roundrobin\n{servers}"
    );
    std::fs::write(work.join("haproxy.cfg"), cfg).expect("haproxy.cfg");
    let mut haproxy = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(work.join("haproxy.cfg"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("haproxy: install it with `cargo xtask setup` (apt-get install haproxy)");
    wait_port(lb_port);
    let lb = SocketAddr::from((Ipv4Addr::LOCALHOST, lb_port));
    let ca_pem = ca.ca_pem().to_owned();

    // Enrolment of the fleet (not timed).
    let anonymous = client(&ca_pem, None);
    let identities: Vec<(String, String)> = tokens
        .iter()
        .enumerate()
        .map(|(k, token)| {
            let kiosk = format!("kiosk-{k:04}");
            let key = rcgen::KeyPair::generate().expect("key");
            let mut p = rcgen::CertificateParams::default();
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.distinguished_name.push(rcgen::DnType::CommonName, &kiosk);
            let csr = p
                .serialize_request(&key)
                .and_then(|c| c.pem())
                .expect("csr");
            let body = serde_json::json!({"kioskId": kiosk, "csr": csr}).to_string();
            let req = post(
                "/v1/enrolment",
                &format!("Authorization: Bearer {token}\r\n"),
                body.as_bytes(),
            );
            let (status, answer) = exchange(&anonymous, lb, &req).expect("enrol");
            assert_eq!(status, 201, "{answer}");
            let v: serde_json::Value = serde_json::from_str(&answer).expect("json");
            (
                v["certificate"].as_str().expect("cert").to_owned(),
                key.serialize_pem(),
            )
        })
        .collect();

    // The run.
    let done = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let end_to_end = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let retries = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = identities
        .into_iter()
        .enumerate()
        .map(|(k, (cert, key))| {
            let config = client(&ca_pem, Some((&cert, &key)));
            let (done, latencies, end_to_end, retries) = (
                Arc::clone(&done),
                Arc::clone(&latencies),
                Arc::clone(&end_to_end),
                Arc::clone(&retries),
            );
            std::thread::spawn(move || -> Result<(), String> {
                for n in 0..per_kiosk {
                    let uid = format!("0190f0a0-0000-7000-{k:04x}-{n:012x}");
                    let body = serde_json::to_vec(&SubmissionRequest::synthetic(
                        &uid,
                        SubmissionKind::Tthc,
                    ))
                    .map_err(|e| e.to_string())?;
                    let req = post(
                        "/v1/submissions",
                        &format!("Idempotency-Key: {uid}\r\n"),
                        &body,
                    );
                    let first = Instant::now();
                    loop {
                        let t = Instant::now();
                        match exchange(&config, lb, &req) {
                            Ok((200 | 201, _)) => {
                                let took = t.elapsed();
                                if let Ok(mut l) = latencies.lock() {
                                    l.push(took);
                                }
                                if let Ok(mut l) = end_to_end.lock() {
                                    l.push(first.elapsed());
                                }
                                break;
                            }
                            Ok((status, body)) if !(status == 429 || status >= 500) => {
                                return Err(format!("{uid}: {status} {body}"));
                            }
                            _ => {
                                retries.fetch_add(1, Ordering::Relaxed);
                                if first.elapsed() > Duration::from_secs(60) {
                                    return Err(format!("{uid}: gave up after 60 s"));
                                }
                                std::thread::sleep(Duration::from_millis(100));
                            }
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    if chaos {
        let wait_for = |share: usize| {
            while done.load(Ordering::Relaxed) < total * share / 3 {
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait_for(1);
        let victim = fleet.len() - 1;
        let r = &mut fleet[victim];
        r.child.kill().expect("kill");
        let _ = r.child.wait();
        eprintln!(
            "chaos: replica {victim} killed at {} done",
            done.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(500));
        let again = Replica::spawn(r.port, r.args.clone(), &log);
        *r = again;
        eprintln!("chaos: replica {victim} restarted");
        wait_for(2);
        eprintln!(
            "chaos: PostgreSQL restart at {} done",
            done.load(Ordering::Relaxed)
        );
        pg.restart().expect("PostgreSQL restart");
    }
    let failures: Vec<String> = threads
        .into_iter()
        .filter_map(|t| match t.join() {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some("a kiosk thread panicked".to_owned()),
        })
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
    let elapsed = started.elapsed();

    // Forwarding drains (bounded).
    let mut store = PgStore::connect(&url).expect("store");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let g = store.gauges(0).expect("gauges");
        if g.forward_pending == 0 {
            assert_eq!(g.forward_dead, 0, "dead letters");
            break;
        }
        assert!(Instant::now() < deadline, "forwarding did not drain: {g:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let forward_elapsed = started.elapsed();

    // Exactly once, both sides.
    let mut want: Vec<String> = (0..kiosks)
        .flat_map(|k| (0..per_kiosk).map(move |n| format!("0190f0a0-0000-7000-{k:04x}-{n:012x}")))
        .collect();
    want.sort();
    let mut accepted: Vec<String> = store
        .submissions()
        .expect("rows")
        .into_iter()
        .map(|(uid, _, _)| uid)
        .collect();
    accepted.sort();
    assert_eq!(accepted.len(), total, "accepted exactly once each");
    assert_eq!(accepted, want);
    let dossiers = sim.dossiers();
    let mut forwarded: Vec<&String> = dossiers.keys().collect();
    forwarded.sort();
    assert_eq!(
        forwarded,
        want.iter().collect::<Vec<_>>(),
        "forwarded exactly once each"
    );
    let deliveries: u32 = dossiers.values().map(|d| d.deliveries).sum();

    let mut l = latencies.lock().expect("latencies").clone();
    l.sort();
    let mut e = end_to_end.lock().expect("latencies").clone();
    e.sort();
    #[allow(clippy::cast_precision_loss)]
    let rate = total as f64 / elapsed.as_secs_f64();
    println!(
        "RESULT replicas={replicas} kiosks={kiosks} submissions={total} chaos={chaos} \
         seconds={:.1} submissions_per_s={rate:.0} request_p50_ms={:.1} request_p99_ms={:.1} \
         end_to_end_p50_ms={:.1} end_to_end_p99_ms={:.1} client_retries={} \
         forwarded_all_after_s={:.1} onestop_deliveries={deliveries}",
        elapsed.as_secs_f64(),
        percentile(&l, 0.5).as_secs_f64() * 1e3,
        percentile(&l, 0.99).as_secs_f64() * 1e3,
        percentile(&e, 0.5).as_secs_f64() * 1e3,
        percentile(&e, 0.99).as_secs_f64() * 1e3,
        retries.load(Ordering::Relaxed),
        forward_elapsed.as_secs_f64(),
    );

    // SIGTERM: the replicas' orderly stop (requests in hand finish, then exit 0).
    for mut r in fleet {
        let term = Command::new("kill")
            .arg("-TERM")
            .arg(r.child.id().to_string())
            .status();
        assert!(term.is_ok_and(|s| s.success()), "kill -TERM");
        let status = r.child.wait().expect("replica exit");
        assert!(status.success(), "replica stopped with {status}");
    }
    let _ = haproxy.kill();
    let _ = haproxy.wait();
}
