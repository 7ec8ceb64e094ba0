//! [`HttpsTransport`]: the production gateway client (feature `https`).
//!
//! reqwest over rustls with the ring provider, mutual TLS: the kiosk presents its client
//! certificate (from enrolment), trusts only the deployment's own CA (no system roots), and
//! can additionally pin the gateway's public key (SHA-256 of its SubjectPublicKeyInfo, as
//! `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum` prints it).
//!
//! TTHC rows go to `POST {base}/v1/submissions` (see `gateway/wire/openapi/kiosk-gateway.yaml`);
//! clinic rows (FHIR transaction bundles) to `POST {fhir_base}` when a FHIR base is set,
//! else to the same endpoint. Both carry `Idempotency-Key: <row id>`. Answers are returned as
//! they come, at most [`MAX_BODY`] bytes (a longer one is an error, not a truncated receipt);
//! the kiosk validates them and keeps only its receipt's fields
//! (`kiosk_app::gateway::outbox::GatewayReceipts`) before the outbox stores anything.
//! Redirects are never followed: the gateway is named by the configuration, and a redirect
//! is answered as the error status it is.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::store::Kind;
use crate::transport::{Delivered, Outgoing, SendError, Transport};

/// Largest response body read, as the loopback client's limit
/// (`kiosk_app::gateway::http::MAX_BODY`): a receipt is a few hundred bytes, a FHIR
/// transaction-response a few kilobytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// Settings of [`HttpsTransport`].
#[derive(Debug, Clone)]
pub struct HttpsConfig {
    /// The kiosk gateway, `https://host[:port][/prefix]`.
    pub base_url: String,
    /// FHIR base URL for clinic registrations; `None` sends them to `base_url` too.
    pub fhir_base_url: Option<String>,
    /// PEM file of the deployment's CA: the only trusted root.
    pub ca_pem: PathBuf,
    /// PEM file of the kiosk's client certificate chain.
    pub client_cert_pem: PathBuf,
    /// PEM file of the kiosk's private key.
    pub client_key_pem: PathBuf,
    /// SHA-256 of the gateway's SubjectPublicKeyInfo, if pinned.
    pub spki_sha256: Option<[u8; 32]>,
    /// Timeout of one request (connect included).
    pub timeout: Duration,
}

/// Why the transport could not be built. Messages name the file and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpsError {
    /// A PEM file is missing, unreadable or holds nothing usable.
    #[error("{path}: {what}; check the enrolment files named in [gateway] (ca_file, client_cert, client_key)")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The URL is not `https://`.
    #[error("{0}: the gateway URL must start with https:// (mutual TLS is required)")]
    NotHttps(String),
    /// rustls refused the configuration (e.g. key and certificate do not match).
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// reqwest refused the configuration.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// The production transport.
#[derive(Debug)]
pub struct HttpsTransport {
    /// Rebuilt by [`HttpsTransport::reload`] when the enrolment files change (renewal).
    client: std::sync::RwLock<reqwest::Client>,
    config: HttpsConfig,
    base: String,
    submissions: String,
    fhir: Option<String>,
    health: String,
}

fn pem_err(path: &Path, what: impl Into<String>) -> HttpsError {
    HttpsError::Pem {
        path: path.to_owned(),
        what: what.into(),
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, HttpsError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err(path, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err(path, e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err(path, "no CERTIFICATE block"));
    }
    Ok(certs)
}

impl HttpsTransport {
    /// Builds the client: loads the CA, the client certificate and key, sets the pin.
    ///
    /// # Errors
    ///
    /// [`HttpsError`] naming the file or setting at fault.
    pub fn new(cfg: &HttpsConfig) -> Result<Self, HttpsError> {
        for url in std::iter::once(&cfg.base_url).chain(cfg.fhir_base_url.as_ref()) {
            if !url.starts_with("https://") {
                return Err(HttpsError::NotHttps(url.clone()));
            }
        }
        let client = Self::build_client(cfg)?;
        let base = cfg.base_url.trim_end_matches('/');
        Ok(Self {
            client: std::sync::RwLock::new(client),
            config: cfg.clone(),
            base: base.to_owned(),
            submissions: format!("{base}/v1/submissions"),
            fhir: cfg
                .fhir_base_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
            health: format!("{base}/healthz"),
        })
    }

    /// Reads the enrolment files again (after a renewal replaced the certificate and key);
    /// requests after this present the new certificate.
    ///
    /// # Errors
    ///
    /// As [`HttpsTransport::new`]; the previous client stays in use.
    pub fn reload(&self) -> Result<(), HttpsError> {
        let fresh = Self::build_client(&self.config)?;
        let mut guard = self
            .client
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = fresh;
        Ok(())
    }

    /// The settings it was built with.
    #[must_use]
    pub fn config(&self) -> &HttpsConfig {
        &self.config
    }

    fn client(&self) -> reqwest::Client {
        self.client
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn build_client(cfg: &HttpsConfig) -> Result<reqwest::Client, HttpsError> {
        let (provider, verifier) = server_verifier(&cfg.ca_pem, cfg.spki_sha256)?;
        let chain = certs(&cfg.client_cert_pem)?;
        // One open, checked (owner, mode) on the open file, then read from it.
        let pem = crate::key::read_private_file(&cfg.client_key_pem)
            .map_err(|e| pem_err(&cfg.client_key_pem, e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(&pem)
            .map_err(|e| pem_err(&cfg.client_key_pem, e.to_string()))?;
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(chain, key)?;
        client(tls, cfg.timeout)
    }
}

impl HttpsTransport {
    /// `GET {base}{path_and_query}` over the same mutual TLS, for the gateway's other
    /// resources (`/v1/catalog`); blocking (its own small runtime), for start-up. Returns the
    /// status (304 included) and the body.
    ///
    /// # Errors
    ///
    /// The gateway cannot be reached ([`SendError`] of class unreachable).
    pub fn get_blocking(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), SendError> {
        self.request_blocking("GET", path_and_query, headers, Vec::new())
    }

    /// `method {base}{path_and_query}` with `body` over the same mutual TLS (renewal posts
    /// to `/v1/enrolment/renew`); blocking, from a thread outside any tokio runtime.
    ///
    /// # Errors
    ///
    /// As [`HttpsTransport::get_blocking`].
    pub fn request_blocking(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), SendError> {
        self.blocking_at(&self.base, method, path_and_query, headers, body)
    }

    /// `GET {fhir_base}{path_and_query}` over the same mutual TLS (`kioskctl selftest` asks
    /// the hospital's FHIR server for `/metadata`); blocking, like
    /// [`HttpsTransport::get_blocking`].
    ///
    /// # Errors
    ///
    /// A permanent [`SendError`] when no FHIR base is configured; else as
    /// [`HttpsTransport::get_blocking`].
    pub fn fhir_get_blocking(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), SendError> {
        let Some(fhir) = &self.fhir else {
            return Err(SendError::permanent("no FHIR base URL is configured"));
        };
        self.blocking_at(fhir, "GET", path_and_query, headers, Vec::new())
    }

    fn blocking_at(
        &self,
        base: &str,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), SendError> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| SendError::permanent("bad HTTP method"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SendError::unreachable(e.to_string()))?;
        rt.block_on(async {
            let mut req = self
                .client()
                .request(method, format!("{base}{path_and_query}"))
                .body(body);
            for (n, v) in headers {
                req = req.header(*n, *v);
            }
            let resp = req.send().await.map_err(|e| request_error(&e))?;
            let status = resp.status().as_u16();
            let body = read_body(resp).await?;
            Ok((status, body))
        })
    }
}

type Provider = Arc<rustls::crypto::CryptoProvider>;

/// The gateway's certificate checked against the deployment CA only, then the optional pin.
fn server_verifier(
    ca_pem: &Path,
    pin: Option<[u8; 32]>,
) -> Result<(Provider, Arc<PinningVerifier>), HttpsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for c in certs(ca_pem)? {
        roots.add(c).map_err(|e| pem_err(ca_pem, e.to_string()))?;
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| pem_err(ca_pem, e.to_string()))?;
    Ok((provider, Arc::new(PinningVerifier { inner: webpki, pin })))
}

fn client(tls: rustls::ClientConfig, timeout: Duration) -> Result<reqwest::Client, HttpsError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        .timeout(timeout)
        .connect_timeout(timeout)
        // reqwest follows up to 10 redirects by default: a gateway (or whoever answers in its
        // name) could send the kiosk's submission elsewhere. A 3xx is an error status here.
        .redirect(reqwest::redirect::Policy::none())
        // The gateway is named by the configuration; no proxy from the environment.
        .no_proxy()
        .build()
        .map_err(|e| HttpsError::Client(e.to_string()))
}

/// `POST {base_url}/v1/enrolment` for `kioskctl enrol`: the one call made without a client
/// certificate (the kiosk has none yet); `token` goes as `Authorization: Bearer`. The gateway
/// is trusted only through `ca_pem` (from the provisioning medium) and the optional pin.
/// Returns the status and body; blocking (its own small runtime).
///
/// # Errors
///
/// [`HttpsError`] for the configuration; a [`SendError`]'s message (in `HttpsError::Client`)
/// when the gateway cannot be reached or the TLS handshake fails.
pub fn enrol_blocking(
    base_url: &str,
    ca_pem: &Path,
    pin: Option<[u8; 32]>,
    token: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), HttpsError> {
    if !base_url.starts_with("https://") {
        return Err(HttpsError::NotHttps(base_url.to_owned()));
    }
    let (provider, verifier) = server_verifier(ca_pem, pin)?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let client = client(tls, timeout)?;
    let url = format!("{}/v1/enrolment", base_url.trim_end_matches('/'));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HttpsError::Client(e.to_string()))?;
    rt.block_on(async {
        let resp = client
            .post(url)
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| HttpsError::Client(request_error(&e).message))?;
        let status = resp.status().as_u16();
        let body = read_body(resp)
            .await
            .map_err(|e| HttpsError::Client(e.message))?;
        Ok((status, body))
    })
}

/// The body of `resp`, refused (not truncated) beyond [`MAX_BODY`]: a peer cannot make the
/// kiosk buffer more, whatever `Content-Length` says or omits.
async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, SendError> {
    let too_large = || SendError::protocol(format!("response body longer than {MAX_BODY} bytes"));
    if resp
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > MAX_BODY))
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| request_error(&e))? {
        if chunk.len() > MAX_BODY.saturating_sub(body.len()) {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn request_error(e: &reqwest::Error) -> SendError {
    // reqwest's Display may include the URL (no personal data: ids only), and the source
    // chain holds the TLS reason, which the technician needs.
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    SendError::unreachable(msg)
}

impl Transport for HttpsTransport {
    async fn send(&self, item: Outgoing) -> Result<Delivered, SendError> {
        let (url, media) = match (item.kind, &self.fhir) {
            (Kind::Clinic, Some(f)) => (f.as_str(), "application/fhir+json"),
            _ => (self.submissions.as_str(), "application/json"),
        };
        let resp = self
            .client()
            .post(url)
            .header("Idempotency-Key", item.id.to_string())
            .header("Content-Type", media)
            .header("Accept", media)
            .body(item.payload)
            .send()
            .await
            .map_err(|e| request_error(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = read_body(resp).await?;
        if (200..300).contains(&status) {
            return Ok(Delivered {
                receipt: body,
                created: status == 201,
            });
        }
        // Status and error codes only: the body's text may echo patient data.
        Err(crate::transport::status_error(status, retry_after, &body))
    }

    async fn refresh_credentials(&self) -> bool {
        // After a 401/403: the certificate may have been renewed on disk since start-up.
        match self.reload() {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "cannot reload the enrolment files");
                false
            }
        }
    }

    async fn probe(&self) -> bool {
        // A hospital kiosk sends its registrations to the FHIR base: probe that server.
        let url = match &self.fhir {
            Some(f) => format!("{f}/metadata"),
            None => self.health.clone(),
        };
        match self.client().get(url).send().await {
            Ok(r) => r.status().is_success(),
            Err(_) => false,
        }
    }
}

/// WebPKI verification against the deployment CA, then the optional SPKI pin.
#[derive(Debug)]
struct PinningVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pin: Option<[u8; 32]>,
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo (DER, with its SEQUENCE header).
///
/// # Errors
///
/// The certificate does not parse.
pub fn spki_sha256(cert_der: &[u8]) -> Result<[u8; 32], String> {
    let der = CertificateDer::from(cert_der.to_vec());
    let cert = webpki::EndEntityCert::try_from(&der).map_err(|e| e.to_string())?;
    Ok(Sha256::digest(cert.subject_public_key_info().as_ref()).into())
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if let Some(pin) = self.pin {
            let got = spki_sha256(end_entity).map_err(rustls::Error::General)?;
            if got != pin {
                return Err(rustls::Error::General(
                    "the gateway's public key does not match the configured SPKI pin".into(),
                ));
            }
        }
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
