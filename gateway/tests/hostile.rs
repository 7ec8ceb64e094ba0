//! Hostile raw HTTP against the real server over real TLS, with a valid client certificate
//! and without one: a slowloris client is cut at the header timeout while another kiosk is
//! served; oversized heads and bodies get 431/413; a malformed request line and invalid
//! chunked encoding get 400; a flood of idle connections does not keep a kiosk out and is
//! cut at the handshake timeout; connections over the bound are closed at once; a handshake
//! that never completes is dropped. The server answers a kiosk after each (it stays up).
//!
//! Time limits are short ones set through [`Limits`]; every wait is bounded by a socket
//! timeout that only guards against a hang (no timed assertions).

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use kiosk_gateway::ca::Authority;
use kiosk_gateway::{Gateway, GatewayConfig, Limits, Tls};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A socket read that takes longer than this means the server neither answered nor closed.
const GUARD: Duration = Duration::from_secs(15);

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

struct Setup {
    gw: Gateway,
    /// With the kiosk's client certificate, and without one.
    clients: [(&'static str, Arc<rustls::ClientConfig>); 2],
    _dir: tempfile::TempDir,
}

fn start(limits: Limits) -> Setup {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Authority::init(dir.path(), "Hostile test CA").expect("ca");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "kiosk-01");
    let csr = p
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .expect("csr");
    let issued = ca
        .issue("kiosk-01", &csr, kiosk_gateway::state::now_ms())
        .expect("certificate");
    let gw = Gateway::start_with(GatewayConfig {
        tls: Tls::SelfIssued(vec!["127.0.0.1".to_owned()]),
        ca_dir: Some(dir.path().to_owned()),
        rate_limit: None,
        limits,
        ..GatewayConfig::default()
    })
    .expect("gateway");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.ca_pem().as_bytes()).expect("ca"))
        .expect("root");
    let builder = || {
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots.clone())
    };
    let with_cert = builder()
        .with_client_auth_cert(
            vec![
                CertificateDer::from_pem_slice(issued.response.certificate.as_bytes())
                    .expect("cert"),
            ],
            PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).expect("key"),
        )
        .expect("client auth");
    Setup {
        gw,
        clients: [
            ("with a client certificate", Arc::new(with_cert)),
            (
                "without a client certificate",
                Arc::new(builder().with_no_client_auth()),
            ),
        ],
        _dir: dir,
    }
}

fn short() -> Limits {
    Limits {
        handshake_timeout: Duration::from_secs(1),
        header_timeout: Duration::from_secs(1),
        max_header_bytes: 8192,
        max_headers: 32,
        max_body: 64 * 1024,
        ..Limits::default()
    }
}

/// A TLS connection with its handshake done.
fn connect(s: &Setup, client: &Arc<rustls::ClientConfig>) -> TlsStream {
    let tcp = TcpStream::connect(s.gw.addr()).expect("connect");
    tcp.set_read_timeout(Some(GUARD)).expect("timeout");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let conn = rustls::ClientConnection::new(Arc::clone(client), name).expect("conn");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("handshake");
    }
    tls
}

/// Sends `request` (a write the server cut short is fine: it may answer before reading all
/// of it), then reads until the server closes; what it answered.
fn exchange(tls: &mut TlsStream, request: &[u8]) -> String {
    let _ = tls.write_all(request).and_then(|()| tls.flush());
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) => {
                assert_ne!(e.kind(), ErrorKind::WouldBlock, "no answer, no close");
                assert_ne!(e.kind(), ErrorKind::TimedOut, "no answer, no close");
                break;
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// A kiosk's heartbeat with its certificate: the server is up and serves kiosks.
fn kiosk_is_served(s: &Setup) {
    let body = r#"{"appVersion":"0.1.0","queueDepth":0,"sentAt":"20260105093000"}"#;
    let request = format!(
        "POST /v1/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = exchange(&mut connect(s, &s.clients[0].1), request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
}

/// Whether the server closed `tls` (EOF or reset) rather than leaving it open: bounded by
/// the socket's read timeout.
fn closed_by_server(mut r: impl std::io::Read) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => return !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        }
    }
}

#[test]
fn a_slowloris_client_is_cut_at_the_header_timeout_while_a_kiosk_is_served() {
    let s = start(short());
    let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n\r\n";
    for (mode, client) in &s.clients {
        let mut tls = connect(&s, client);
        tls.sock
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let mut sent = 0;
        let mut cut = false;
        for (i, byte) in head.iter().enumerate() {
            if i == 5 {
                // Meanwhile a kiosk comes and is served.
                kiosk_is_served(&s);
            }
            if tls.write_all(&[*byte]).and_then(|()| tls.flush()).is_err() {
                cut = true;
                break;
            }
            sent += 1;
            // About 100 ms a byte: the head would take ~9 s; the limit is 1 s.
            let mut buf = [0u8; 256];
            match tls.read(&mut buf) {
                Ok(_) => {
                    cut = true;
                    break;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {
                    cut = true;
                    break;
                }
            }
        }
        assert!(
            cut && sent < head.len(),
            "{mode}: not cut ({sent} bytes sent)"
        );
    }
    kiosk_is_served(&s);
}

#[test]
fn oversized_heads_and_bodies_get_431_and_413_malformed_requests_400_and_it_stays_up() {
    let s = start(short());
    let big_head = format!(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    let many_headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n",
        (0..40)
            .map(|i| format!("X-H{i}: 1\r\n"))
            .collect::<String>()
    );
    let long_body = "POST /v1/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
        .to_owned();
    let long_chunk = format!(
        "POST /v1/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{}\r\n0\r\n\r\n",
        64 * 1024 + 1,
        "b".repeat(64 * 1024 + 1)
    );
    let bad_line = "GARBAGE\r\n\r\n".to_owned();
    let bad_version = "GET /healthz HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n".to_owned();
    let bad_chunks = "POST /v1/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Transfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n"
        .to_owned();
    let cases = [
        ("a head over the limit", &big_head, "431"),
        ("too many header fields", &many_headers, "431"),
        ("a declared body over the limit", &long_body, "413"),
        ("a chunked body over the limit", &long_chunk, "413"),
        ("a malformed request line", &bad_line, "400"),
        ("an unknown HTTP version", &bad_version, "400"),
        ("invalid chunked encoding", &bad_chunks, "400"),
    ];
    for (mode, client) in &s.clients {
        for (what, request, status) in &cases {
            let answer = exchange(&mut connect(&s, client), request.as_bytes());
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status}")),
                "{what} {mode}: {answer:?}"
            );
            kiosk_is_served(&s);
        }
    }
}

#[test]
fn an_idle_connection_flood_keeps_no_kiosk_out_and_is_cut_at_the_handshake_timeout() {
    let s = start(Limits {
        handshake_timeout: Duration::from_secs(2),
        ..short()
    });
    // 300 connections that never start TLS, or start it and stop in the middle of the
    // ClientHello.
    let flood: Vec<TcpStream> = (0..300)
        .map(|i| {
            let mut tcp = TcpStream::connect(s.gw.addr()).expect("flood connect");
            tcp.set_read_timeout(Some(GUARD)).expect("timeout");
            if i % 2 == 0 {
                // A TLS record header announcing a ClientHello that never comes.
                tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
                    .expect("partial hello");
            }
            tcp
        })
        .collect();
    kiosk_is_served(&s);
    let answer = exchange(
        &mut connect(&s, &s.clients[1].1),
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Every flood connection is dropped by the server (handshake timeout).
    for (i, tcp) in flood.iter().enumerate() {
        assert!(closed_by_server(tcp), "flood connection {i} still open");
    }
    kiosk_is_served(&s);
}

#[test]
fn connections_over_the_bound_are_closed_at_once_until_places_free_up() {
    let s = start(Limits {
        max_connections: 5,
        handshake_timeout: Duration::from_secs(1),
        ..short()
    });
    let idle: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(s.gw.addr()).expect("connect"))
        .collect();
    // The sixth is accepted by the kernel, then closed by the gateway without a handshake.
    let sixth = TcpStream::connect(s.gw.addr()).expect("connect");
    sixth.set_read_timeout(Some(GUARD)).expect("timeout");
    assert!(closed_by_server(&sixth));
    assert!(s
        .gw
        .metrics_text()
        .lines()
        .any(|l| l.starts_with("kiosk_gateway_connections_refused_total ") && !l.ends_with(" 0")));
    // The handshake timeout frees the places the idle ones held.
    for tcp in &idle {
        tcp.set_read_timeout(Some(GUARD)).expect("timeout");
        assert!(closed_by_server(tcp));
    }
    kiosk_is_served(&s);
}

#[test]
fn a_handshake_that_never_completes_is_dropped() {
    let s = start(short());
    for (mode, client) in &s.clients {
        // The ClientHello's first half, then silence.
        let name = ServerName::try_from("127.0.0.1").expect("name");
        let mut conn = rustls::ClientConnection::new(Arc::clone(client), name).expect("conn");
        let mut hello = Vec::new();
        conn.write_tls(&mut hello).expect("hello");
        let mut tcp = TcpStream::connect(s.gw.addr()).expect("connect");
        tcp.set_read_timeout(Some(GUARD)).expect("timeout");
        tcp.write_all(hello.get(..hello.len() / 2).unwrap_or_default())
            .expect("half a hello");
        assert!(closed_by_server(&tcp), "{mode}: still open");
    }
    kiosk_is_served(&s);
}
