//! The clinic path against a real FHIR server: `sekmet-fhir` 0.1.1 (PyPI, pinned), installed
//! into a virtualenv under the target folder, started on 127.0.0.1 on a free port with its
//! own SQLite. Registrations go through the outbox and the worker as FHIR transaction
//! bundles; each bundle is also replayed (as after a lost answer); the FHIR server's own
//! search must then show the citizen's Patient once and each Encounter once.
//!
//! Opt-in (it downloads from PyPI the first time): `OUTBOX_FHIR=1 cargo test -p kiosk-outbox
//! --test fhir`.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_app::gateway::fhir::{registration_bundle, NATIONAL_ID_SYSTEM, SUBMISSION_ID_SYSTEM};
use kiosk_app::gateway::http;
use kiosk_app::gateway::{SubmissionKind, SubmissionRequest};
use kiosk_hw::personal::Personal;
use kiosk_outbox::{
    Blocking, BlockingTransport, Delivered, Kind, NewItem, OpenOptions, Outbox, Outgoing, QueueKey,
    SendError, State, SystemClock, Uuid, WorkerConfig,
};

const SEKMET: &str = "sekmet-fhir==0.1.1";

/// Plain HTTP/1.1 to the FHIR server on the loopback interface (one request per connection).
struct FhirLoopback {
    addr: SocketAddr,
}

impl FhirLoopback {
    fn exchange(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let mut s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let host = self.addr.to_string();
        s.write_all(&http::write_request(method, target, &host, headers, body))
            .map_err(|e| e.to_string())?;
        let (head, body) = http::read_message(&mut s, true).map_err(|e| e.to_string())?;
        let status = head.second.parse().map_err(|_| "bad status".to_owned())?;
        Ok((status, body))
    }

    fn count(&self, query: &str) -> usize {
        let (status, body) = self
            .exchange("GET", query, &[("Accept", "application/fhir+json")], b"")
            .expect("search");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let b: serde_json::Value = serde_json::from_slice(&body).expect("bundle");
        b["entry"].as_array().map_or(0, Vec::len)
    }
}

impl BlockingTransport for FhirLoopback {
    fn send_blocking(&self, item: &Outgoing) -> Result<Delivered, SendError> {
        let key = item.id.to_string();
        let headers = [
            ("Content-Type", "application/fhir+json"),
            ("Accept", "application/fhir+json"),
            ("Idempotency-Key", key.as_str()),
        ];
        match self.exchange("POST", "/fhir", &headers, &item.payload) {
            Ok((200..=299, body)) => Ok(Delivered {
                receipt: body,
                created: true,
            }),
            Ok((status, body)) => Err(SendError::status(
                status,
                None,
                String::from_utf8_lossy(&body[..body.len().min(200)]),
            )),
            Err(e) => Err(SendError::unreachable(e)),
        }
    }

    fn probe_blocking(&self) -> bool {
        matches!(
            self.exchange("GET", "/fhir/metadata", &[], b""),
            Ok((200, _))
        )
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn venv() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sekmet-venv");
    let bin = venv.join("bin/sekmet");
    if !bin.exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3");
        assert!(
            ok.success(),
            "python3 -m venv failed (apt install python3-venv)"
        );
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", SEKMET])
            .status()
            .expect("pip");
        assert!(ok.success(), "pip install {SEKMET} failed");
    }
    bin
}

fn clinic_request(id: Uuid, dept: &str) -> SubmissionRequest {
    SubmissionRequest {
        reference_uid: id.to_string(),
        kind: SubmissionKind::Clinic,
        procedure_code: dept.into(),
        procedure_name: "Khám bệnh".into(),
        applicant_name: Personal::new("NGUYEN VAN AN".into()),
        id_number: Personal::new("001090123456".into()),
        date_of_birth: Personal::new("01/01/1990".into()),
        face_matched: true,
        face_score: 0.9,
        liveness_passed: true,
        submitted_at: "20260105093000".into(),
    }
}

#[test]
fn registrations_exist_exactly_once_on_a_real_fhir_server() {
    if std::env::var("OUTBOX_FHIR").is_err() {
        eprintln!("skipped: set OUTBOX_FHIR=1 to run against sekmet-fhir");
        return;
    }
    let sekmet = venv();
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let data = tempfile::tempdir().expect("tempdir");
    let _server = Server(
        Command::new(&sekmet)
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sekmet"),
    );
    let fhir = FhirLoopback {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    let started = Instant::now();
    while !fhir.probe_blocking() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "sekmet did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Arc::new(
        Outbox::open(
            &dir.path().join("q.db"),
            &QueueKey::from_bytes([9; 32]),
            &OpenOptions::default(),
        )
        .expect("open"),
    );
    let mut ids = Vec::new();
    let mut bundles = Vec::new();
    for dept in ["K01", "K02", "K03"] {
        let id = Outbox::new_id();
        let bundle =
            serde_json::to_vec(&registration_bundle(&clinic_request(id, dept)).expect("b"))
                .expect("json");
        outbox
            .enqueue(
                NewItem {
                    id,
                    kind: Kind::Clinic,
                    partition: &outbox.partition_for(b"001090123456"),
                    payload: &bundle,
                },
                kiosk_outbox::Clock::now_ms(&SystemClock),
            )
            .expect("enqueue");
        ids.push(id);
        bundles.push((id, bundle));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("rt");
    let transport = Arc::new(FhirLoopback { addr: fhir.addr });
    rt.block_on(async {
        let h = kiosk_outbox::worker::spawn(
            Arc::clone(&outbox),
            Arc::new(Blocking(Arc::clone(&transport))),
            WorkerConfig::default(),
            Arc::new(SystemClock),
        )
        .expect("worker");
        let t = Instant::now();
        while outbox.stats().expect("stats").delivered < 3 {
            let s = outbox.stats().expect("stats");
            assert_eq!(s.dead, 0, "{:?}", outbox.list(Some(State::Dead), 3));
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "not delivered: {s:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        h.shutdown().await;
    });
    // Replays, as after answers lost on the way back: nothing new may be created.
    for (id, bundle) in &bundles {
        transport
            .send_blocking(&Outgoing {
                id: *id,
                kind: Kind::Clinic,
                payload: bundle.clone(),
                attempt: 2,
            })
            .expect("replay accepted");
    }
    let patients = fhir.count(&format!(
        "/fhir/Patient?identifier={NATIONAL_ID_SYSTEM}%7C001090123456"
    ));
    assert_eq!(patients, 1, "one Patient for the citizen");
    for id in ids {
        let n = fhir.count(&format!(
            "/fhir/Encounter?identifier={SUBMISSION_ID_SYSTEM}%7Curn:uuid:{id}"
        ));
        assert_eq!(n, 1, "Encounter {id} exactly once");
    }
}
