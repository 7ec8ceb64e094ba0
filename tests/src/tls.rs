//! Mutual TLS in front of a plain-HTTP peer on 127.0.0.1, with certificates made at test time:
//! the kiosk's production transport (`kiosk_outbox::https::HttpsTransport`) talks to a FHIR
//! server through it exactly as it would to a hospital's. (The kiosk gateway terminates mutual
//! TLS itself: see [`crate::gateway`].)
//!
//! [`TlsFront`] requires a client certificate from the deployment CA, forwards each request
//! (one per connection) to its backend and relays the answer. Fault: [`TlsFront::set_untrusted`]
//! makes it present a certificate from another CA, so every handshake fails on the kiosk's
//! side (a TLS error, retried like an unreachable server).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kiosk_app::gateway::http;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;

/// A certificate authority made at test time.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate, PEM.
    pub pem: String,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// A leaf certificate and its key.
#[derive(Debug)]
pub struct Leaf {
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// PKCS#8 key, PEM.
    pub key_pem: String,
    key_der: Vec<u8>,
}

impl Ca {
    /// A new self-signed CA called `name`.
    ///
    /// # Panics
    /// If rcgen fails (it does not for these parameters).
    #[must_use]
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.self_signed(&key).expect("CA certificate");
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(p, key),
        }
    }

    /// A leaf for `san` (an IP address or a name) signed by this CA.
    ///
    /// # Panics
    /// If rcgen fails.
    #[must_use]
    pub fn leaf(&self, san: &str) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let p = CertificateParams::new(vec![san.to_owned()]).expect("leaf params");
        let cert = p.signed_by(&key, &self.issuer).expect("sign");
        Leaf {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        }
    }
}

/// The kiosk's enrolment files, as `[gateway] ca_file`, `client_cert` and `client_key` name
/// them: the deployment CA and a client certificate it signed.
#[derive(Debug)]
pub struct KioskIdentity {
    /// `ca_file`.
    pub ca_file: PathBuf,
    /// `client_cert`.
    pub client_cert: PathBuf,
    /// `client_key`.
    pub client_key: PathBuf,
}

impl KioskIdentity {
    /// Writes the files into `dir`, the client certificate issued by `ca` for `kiosk_id`.
    ///
    /// # Panics
    /// When a file cannot be written.
    #[must_use]
    pub fn write(dir: &Path, ca: &Ca, kiosk_id: &str) -> Self {
        let leaf = ca.leaf(kiosk_id);
        let write = |name: &str, text: &str| {
            use std::os::unix::fs::PermissionsExt as _;
            let p = dir.join(name);
            std::fs::write(&p, text).expect("write PEM");
            // As `kioskctl enrol` writes them: the kiosk refuses a key others can read.
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                .expect("chmod PEM");
            p
        };
        Self {
            ca_file: write("ca.pem", &ca.pem),
            client_cert: write("client.pem", &leaf.cert_pem),
            client_key: write("client.key", &leaf.key_pem),
        }
    }
}

/// A mutual-TLS front on 127.0.0.1 for a plain-HTTP backend; stops when dropped.
#[derive(Debug)]
pub struct TlsFront {
    port: u16,
    stop: Arc<AtomicBool>,
    untrusted: Arc<AtomicBool>,
    forwarded: Arc<AtomicUsize>,
}

fn server_config(leaf: &Leaf, client_ca_pem: &str) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(client_ca_pem.as_bytes()).expect("CA PEM"))
        .expect("root");
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .expect("client verifier");
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![leaf.cert_der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone())),
            )
            .expect("server config"),
    )
}

impl TlsFront {
    /// Listens on a free port of 127.0.0.1 with a server certificate from `ca`, accepting
    /// clients whose certificate `ca` signed, and forwards to `backend`.
    ///
    /// # Panics
    /// When the socket cannot be bound.
    #[must_use]
    pub fn start(ca: &Ca, backend: SocketAddr) -> Self {
        Self::start_with(ca.leaf("127.0.0.1"), &ca.pem, backend)
    }

    /// Listens with the server certificate and key `cert_pem`, `key_pem` (PEM, e.g. from
    /// the deployment CA of a gateway), accepting clients whose certificate `client_ca_pem`
    /// signed, and forwards to `backend`.
    ///
    /// # Panics
    /// When the PEM does not parse or the socket cannot be bound.
    #[must_use]
    pub fn start_for(
        cert_pem: &str,
        key_pem: &str,
        client_ca_pem: &str,
        backend: SocketAddr,
    ) -> Self {
        let leaf = Leaf {
            cert_pem: cert_pem.to_owned(),
            cert_der: CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("certificate"),
            key_pem: key_pem.to_owned(),
            key_der: PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
                .expect("PKCS#8 key")
                .secret_pkcs8_der()
                .to_vec(),
        };
        Self::start_with(leaf, client_ca_pem, backend)
    }

    fn start_with(leaf: Leaf, client_ca_pem: &str, backend: SocketAddr) -> Self {
        let good = server_config(&leaf, client_ca_pem);
        let rogue = server_config(&Ca::new("Rogue CA").leaf("127.0.0.1"), client_ca_pem);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let untrusted = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let (s, u, f) = (stop.clone(), untrusted.clone(), forwarded.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let tcp = match listener.accept() {
                    Ok((tcp, _)) => tcp,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                let config = if u.load(Ordering::Relaxed) {
                    rogue.clone()
                } else {
                    good.clone()
                };
                let f = f.clone();
                std::thread::spawn(move || {
                    if relay(tcp, config, backend) {
                        f.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        Self {
            port,
            stop,
            untrusted,
            forwarded,
        }
    }

    /// `https://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Fault: present a certificate the kiosk does not trust (every handshake fails).
    pub fn set_untrusted(&self, on: bool) {
        self.untrusted.store(on, Ordering::Relaxed);
    }

    /// Requests relayed to the backend so far.
    #[must_use]
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One connection: handshake, one request forwarded, the answer relayed. `true` if forwarded.
fn relay(tcp: TcpStream, config: Arc<rustls::ServerConfig>, backend: SocketAddr) -> bool {
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return false;
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // A refused handshake (no or untrusted client certificate) ends here.
    let Ok((head, body)) = http::read_message(&mut tls, false) else {
        return false;
    };
    let Ok(mut up) = TcpStream::connect_timeout(&backend, Duration::from_secs(5)) else {
        return false;
    };
    let _ = up.set_read_timeout(Some(Duration::from_secs(30)));
    let headers: Vec<(&str, &str)> = head
        .headers
        .iter()
        .filter(|(n, _)| {
            !["host", "content-length", "connection"]
                .iter()
                .any(|h| n.eq_ignore_ascii_case(h))
        })
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request = http::write_request(
        &head.first,
        &head.second,
        &backend.to_string(),
        &headers,
        &body,
    );
    if up.write_all(&request).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    if up.read_to_end(&mut answer).is_err() {
        return false;
    }
    let _ = tls.write_all(&answer);
    tls.conn.send_close_notify();
    let _ = tls.flush();
    true
}
