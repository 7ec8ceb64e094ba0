//! Enrolment: how a kiosk gets the client certificate it presents to the gateway.
//!
//! EST (RFC 7030) in JSON form, as `POST /v1/enrolment` in `gateway/wire/openapi/kiosk-gateway.yaml`:
//! the technician brings a short-lived, single-use token; the kiosk generates its own P-256
//! key pair (the private key never leaves it) and sends a PKCS#10 request; the gateway checks
//! the token and the request's self-signature (proof that the kiosk holds the key) and answers
//! with a client certificate issued by the deployment CA.
//!
//! - Kiosk side (`kioskctl enrol`): [`new_key_and_csr`].
//! - Gateway side (the demo gateway, tests): [`EnrolmentAuthority`], pure apart from the
//!   random token and the clock it is given.

use std::collections::HashMap;

use super::codes;
use kiosk_icao9303::pki::{self, PublicKey, SigAlg};
use kiosk_icao9303::tlv;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SignatureAlgorithm,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateSigningRequestDer;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// How long an enrolment token may be used after it is issued.
pub const TOKEN_LIFETIME_MS: i64 = 15 * 60 * 1000;
/// Lifetime of an issued client certificate (the brief: e.g. 30 days, renewed at two thirds).
pub const CERT_LIFETIME_DAYS: i64 = 30;
/// Longest accepted kiosk id.
const MAX_KIOSK_ID: usize = 64;

/// `POST /v1/enrolment` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrolmentRequest {
    /// The kiosk's asset id as printed on its case; becomes the certificate's CN.
    pub kiosk_id: String,
    /// PKCS#10 request, PEM.
    pub csr: String,
}

/// `201` answer of `POST /v1/enrolment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrolmentResponse {
    /// The client certificate (chain), PEM.
    pub certificate: String,
    /// The deployment CA, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
    /// End of validity, RFC 3339.
    pub not_after: String,
}

/// A kiosk id: 1 to 64 of `A-Z a-z 0-9 - . _` (it is printed on the case and becomes a CN).
#[must_use]
pub fn is_kiosk_id(s: &str) -> bool {
    (1..=MAX_KIOSK_ID).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// A fresh P-256 key pair and a PKCS#10 request for `kiosk_id`: (private key PEM, CSR PEM).
///
/// # Errors
///
/// The id is not a kiosk id, or key generation failed (message).
pub fn new_key_and_csr(kiosk_id: &str) -> Result<(Zeroizing<String>, String), String> {
    if !is_kiosk_id(kiosk_id) {
        return Err(format!(
            "kiosk id {kiosk_id:?}: use 1 to {MAX_KIOSK_ID} letters, digits, '-', '.' or '_' \
             (the asset id on the case)"
        ));
    }
    let key = KeyPair::generate().map_err(|e| format!("cannot generate the key: {e}"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, kiosk_id);
    let csr = params
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(|e| format!("cannot make the certificate request: {e}"))?;
    Ok((Zeroizing::new(key.serialize_pem()), csr))
}

/// Why the gateway refused an enrolment: the HTTP status, a stable code and a message that
/// names what is wrong, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// `ErrorBody.error`.
    pub code: &'static str,
    /// `ErrorBody.message`.
    pub message: &'static str,
}

const fn refuse(status: u16, code: &'static str, message: &'static str) -> Refusal {
    Refusal {
        status,
        code,
        message,
    }
}

/// A P-256 public key taken from a request, for rcgen to certify.
struct RequestKey(Vec<u8>);

impl PublicKeyData for RequestKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// The uncompressed P-256 point of a PKCS#10 request whose self-signature verifies.
///
/// # Errors
///
/// A [`Refusal`] (400) when the request does not parse, is not P-256 ECDSA or its signature
/// does not verify.
pub fn csr_public_key(csr_der: &[u8]) -> Result<Vec<u8>, Refusal> {
    let bad = refuse(
        400,
        "invalid_csr",
        "csr is not a PKCS#10 request signed by its key",
    );
    let (csr, _) = tlv::parse_one(csr_der).map_err(|_| bad.clone())?;
    let parts = csr.children().map_err(|_| bad.clone())?;
    let [info, alg, sig, ..] = parts.as_slice() else {
        return Err(bad);
    };
    let fields = info.children().map_err(|_| bad.clone())?;
    // CertificationRequestInfo { version, subject, subjectPKInfo, attributes }
    let spki = fields.get(2).ok_or_else(|| bad.clone())?;
    let key = pki::parse_spki(spki.raw).map_err(|_| bad.clone())?;
    let PublicKey::Ec {
        curve: kiosk_icao9303::ec::Curve::P256,
        point,
    } = &key
    else {
        return Err(refuse(
            400,
            "unsupported_key",
            "csr key must be ECDSA P-256",
        ));
    };
    let alg = SigAlg::from_algorithm_identifier(alg).map_err(|_| bad.clone())?;
    let signature = sig.value.get(1..).ok_or_else(|| bad.clone())?;
    pki::verify(&key, alg, info.raw, signature).map_err(|_| bad)?;
    Ok(point.clone())
}

/// The gateway side: the deployment CA and the outstanding tokens.
pub struct EnrolmentAuthority {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
    /// Lifetime of the certificates it issues.
    lifetime: time::Duration,
    /// Token -> expiry (Unix ms). Removed when used.
    tokens: HashMap<String, i64>,
}

impl std::fmt::Debug for EnrolmentAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolmentAuthority")
            .field("outstanding_tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl EnrolmentAuthority {
    /// A new deployment CA called `name`.
    ///
    /// # Errors
    ///
    /// Key generation or self-signing failed (message).
    pub fn new(name: &str) -> Result<Self, String> {
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let mut p = CertificateParams::default();
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.self_signed(&key).map_err(|e| e.to_string())?;
        Ok(Self {
            ca_pem: cert.pem(),
            issuer: Issuer::new(p, key),
            lifetime: time::Duration::days(CERT_LIFETIME_DAYS),
            tokens: HashMap::new(),
        })
    }

    /// Issues certificates valid for `lifetime` instead of [`CERT_LIFETIME_DAYS`] (tests of
    /// renewal).
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.lifetime = time::Duration::try_from(lifetime).unwrap_or(self.lifetime);
        self
    }

    /// The deployment CA certificate, PEM.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A new single-use token, valid for [`TOKEN_LIFETIME_MS`] from `now_ms`.
    pub fn issue_token(&mut self, now_ms: i64) -> String {
        let bytes: [u8; 16] = rand::random();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.tokens
            .insert(token.clone(), now_ms.saturating_add(TOKEN_LIFETIME_MS));
        token
    }

    /// Handles `POST /v1/enrolment`: `bearer` is the `Authorization: Bearer` value.
    ///
    /// # Errors
    ///
    /// A [`Refusal`]: 401 for a missing, unknown, expired or used token (the token is spent
    /// only by a successful enrolment, so a malformed request can be corrected), 400 for a
    /// malformed body or request.
    pub fn enrol(
        &mut self,
        bearer: Option<&str>,
        body: &[u8],
        now_ms: i64,
    ) -> Result<EnrolmentResponse, Refusal> {
        let bad_token = refuse(
            401,
            "invalid_token",
            "enrolment token unknown, expired or already used",
        );
        let token = bearer.ok_or_else(|| bad_token.clone())?;
        match self.tokens.get(token) {
            Some(expiry) if *expiry >= now_ms => {}
            Some(_) => {
                self.tokens.remove(token);
                return Err(bad_token);
            }
            None => return Err(bad_token),
        }
        let req: EnrolmentRequest = serde_json::from_slice(body).map_err(|_| {
            refuse(
                400,
                "invalid_body",
                "body must be {\"kioskId\": ..., \"csr\": ...}",
            )
        })?;
        if !is_kiosk_id(&req.kiosk_id) {
            return Err(refuse(400, "invalid_kiosk_id", "kioskId is malformed"));
        }
        let issued = self.issue(&req.kiosk_id, &req.csr, now_ms)?;
        self.tokens.remove(token);
        Ok(issued)
    }

    /// Handles `POST /v1/enrolment/renew`: `kiosk_id` is the common name of the client
    /// certificate the caller authenticated with (mutual TLS, checked by whatever terminates
    /// TLS), the body a fresh request for a new key.
    ///
    /// # Errors
    ///
    /// A [`Refusal`]: 401 without an authenticated kiosk, 400 for a malformed body or request.
    pub fn renew(
        &mut self,
        kiosk_id: Option<&str>,
        body: &[u8],
        now_ms: i64,
    ) -> Result<EnrolmentResponse, Refusal> {
        let kiosk_id = kiosk_id.filter(|k| is_kiosk_id(k)).ok_or(refuse(
            401,
            "client_certificate_required",
            "renewal needs the kiosk's current certificate (mutual TLS)",
        ))?;
        let req: RenewalRequest = serde_json::from_slice(body)
            .map_err(|_| refuse(400, "invalid_body", "body must be {\"csr\": ...}"))?;
        self.issue(kiosk_id, &req.csr, now_ms)
    }

    /// A client certificate for `kiosk_id` and the key of `csr_pem`.
    fn issue(
        &self,
        kiosk_id: &str,
        csr_pem: &str,
        now_ms: i64,
    ) -> Result<EnrolmentResponse, Refusal> {
        let der = CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
            .map_err(|_| refuse(400, "invalid_csr", "csr is not a PEM certificate request"))?;
        let point = csr_public_key(der.as_ref())?;
        let now = time::OffsetDateTime::from_unix_timestamp(now_ms / 1000)
            .map_err(|_| refuse(500, "clock", "gateway clock out of range"))?;
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, kiosk_id);
        p.not_before = now - time::Duration::minutes(5);
        p.not_after = now + self.lifetime;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let serial: [u8; 16] = rand::random();
        p.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let cert = p.signed_by(&RequestKey(point), &self.issuer).map_err(|_| {
            refuse(
                500,
                "signing",
                "the gateway could not issue the certificate",
            )
        })?;
        let not_after = p
            .not_after
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Ok(EnrolmentResponse {
            certificate: cert.pem(),
            ca_certificate: Some(self.ca_pem.clone()),
            not_after,
        })
    }
}

/// `POST /v1/enrolment/renew` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalRequest {
    /// PKCS#10 request for the new key, PEM.
    pub csr: String,
}

/// What the kiosk needs to know of its client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The subject's common name: the kiosk id.
    pub kiosk_id: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

impl CertificateInfo {
    /// Reads the first certificate of a PEM file's text.
    ///
    /// # Errors
    ///
    /// Not a certificate, or no common name (message).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let der = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| "no certificate in the file".to_owned())?;
        Self::from_der(der.as_ref())
    }

    /// Reads a DER certificate.
    ///
    /// # Errors
    ///
    /// As [`CertificateInfo::from_pem`].
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let cert = pki::parse_certificate(der).map_err(|e| format!("certificate: {e}"))?;
        let unix = |t: &str| {
            codes::parse_portal_time(t)
                .map(|t| t.assume_utc().unix_timestamp())
                .ok_or_else(|| "certificate validity is not a time".to_owned())
        };
        Ok(Self {
            kiosk_id: common_name(cert.subject).ok_or("certificate has no common name")?,
            not_before: unix(&cert.not_before)?,
            not_after: unix(&cert.not_after)?,
        })
    }

    /// When to renew: two thirds into the validity (the brief's rule for 30-day certificates:
    /// day 20).
    #[must_use]
    pub fn renew_at(&self) -> i64 {
        // Saturating: the times come from a certificate (a file, the network).
        let life = self.not_after.saturating_sub(self.not_before);
        self.not_before
            .saturating_add(life / 3)
            .saturating_add(life / 3)
            .saturating_add(life % 3 * 2 / 3)
    }
}

/// Whether `cert_pem`'s first certificate certifies the key in `key_pem` (a gateway's answer
/// is checked before it replaces a working identity).
#[must_use]
pub fn certifies(cert_pem: &str, key_pem: &str) -> bool {
    let Ok(der) = rustls_pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes()) else {
        return false;
    };
    let (Ok(cert), Ok(key)) = (
        pki::parse_certificate(der.as_ref()),
        KeyPair::from_pem(key_pem),
    ) else {
        return false;
    };
    matches!(
        (pki::parse_spki(cert.spki), pki::parse_spki(&key.subject_public_key_info())),
        (Ok(a), Ok(b)) if a == b
    )
}

/// Writes a private key file: created with mode 0600 under a temporary name, synced, then
/// renamed over `path`, so a crash leaves the old key or the new one, never a torn or
/// readable one.
///
/// # Errors
///
/// The file cannot be written (message naming it).
pub fn write_private_key(path: &std::path::Path, pem: &str) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("key.new");
    let _ = std::fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(pem.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes a certificate file under a temporary name, then renames it over `path`.
///
/// # Errors
///
/// The file cannot be written (message naming it).
pub fn write_certificate(path: &std::path::Path, pem: &str) -> Result<(), String> {
    let tmp = path.with_extension("pem.new");
    std::fs::write(&tmp, pem)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The first common name (2.5.4.3) of an X.501 Name, DER.
fn common_name(name: &[u8]) -> Option<String> {
    let (name, _) = tlv::parse_one(name).ok()?;
    for rdn in name.children().ok()? {
        for atv in rdn.children().ok()? {
            let parts = atv.children().ok()?;
            if let [oid, value, ..] = parts.as_slice() {
                if oid.value == [0x55, 0x04, 0x03] {
                    return String::from_utf8(value.value.to_vec()).ok();
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000; // 2026-01-01

    fn body(id: &str, csr: &str) -> Vec<u8> {
        serde_json::to_vec(&EnrolmentRequest {
            kiosk_id: id.to_owned(),
            csr: csr.to_owned(),
        })
        .expect("json")
    }

    #[test]
    fn a_token_and_a_request_give_a_client_certificate_for_the_kiosks_own_key() {
        let mut ca = EnrolmentAuthority::new("Deployment CA").expect("ca");
        let token = ca.issue_token(NOW);
        let (key_pem, csr) = new_key_and_csr("kiosk-hn-01").expect("csr");
        let r = ca
            .enrol(Some(&token), &body("kiosk-hn-01", &csr), NOW + 1000)
            .expect("enrolled");
        assert_eq!(r.ca_certificate.as_deref(), Some(ca.ca_pem()));
        assert!(r.not_after.starts_with("2026-01-31"), "{}", r.not_after);
        // The certificate certifies the kiosk's key and chains to the CA.
        let cert_der = rustls_pki_types::CertificateDer::from_pem_slice(r.certificate.as_bytes())
            .expect("pem");
        let cert = pki::parse_certificate(cert_der.as_ref()).expect("x509");
        let ca_der = rustls_pki_types::CertificateDer::from_pem_slice(ca.ca_pem().as_bytes())
            .expect("ca pem");
        let ca_cert = pki::parse_certificate(ca_der.as_ref()).expect("ca x509");
        let ca_key = pki::parse_spki(ca_cert.spki).expect("ca key");
        cert.verify_signed_by(&ca_key).expect("signed by the CA");
        let kiosk_key = KeyPair::from_pem(&key_pem).expect("key");
        assert_eq!(
            pki::parse_spki(cert.spki).expect("spki"),
            pki::parse_spki(&kiosk_key.subject_public_key_info()).expect("own spki")
        );
        // Single use.
        let again = ca.enrol(Some(&token), &body("kiosk-hn-01", &csr), NOW + 2000);
        assert_eq!(again.map(|_| ()).expect_err("refused").status, 401);
    }

    #[test]
    fn bad_tokens_and_requests_are_refused_without_spending_the_token() {
        let mut ca = EnrolmentAuthority::new("Deployment CA").expect("ca");
        let token = ca.issue_token(NOW);
        let (_, csr) = new_key_and_csr("kiosk-01").expect("csr");
        let status = |r: Result<EnrolmentResponse, Refusal>| r.map(|_| ()).expect_err("refused");
        assert_eq!(
            status(ca.enrol(None, &body("kiosk-01", &csr), NOW)).status,
            401
        );
        assert_eq!(
            status(ca.enrol(Some("nope"), &body("kiosk-01", &csr), NOW)).code,
            "invalid_token"
        );
        assert_eq!(
            status(ca.enrol(Some(&token), &body("kiosk 01", &csr), NOW)).code,
            "invalid_kiosk_id"
        );
        assert_eq!(
            status(ca.enrol(Some(&token), b"{}", NOW)).code,
            "invalid_body"
        );
        // A request whose signature does not match its key (proof of possession fails).
        let der = CertificateSigningRequestDer::from_pem_slice(csr.as_bytes()).expect("pem");
        let mut tampered = der.as_ref().to_vec();
        let last = tampered.len() - 3;
        tampered[last] ^= 0x01;
        assert_eq!(
            csr_public_key(&tampered).expect_err("refused").code,
            "invalid_csr"
        );
        assert_eq!(
            csr_public_key(b"\x30\x03\x02\x01\x00")
                .expect_err("refused")
                .status,
            400
        );
        // None of that spent the token; an expired one is refused.
        assert!(ca.enrol(Some(&token), &body("kiosk-01", &csr), NOW).is_ok());
        let late = ca.issue_token(NOW);
        let r = ca.enrol(
            Some(&late),
            &body("kiosk-01", &csr),
            NOW + TOKEN_LIFETIME_MS + 1,
        );
        assert_eq!(status(r).status, 401);
        assert!(new_key_and_csr("bad id").is_err());
    }

    #[test]
    fn renewal_certifies_a_new_key_for_the_authenticated_kiosk() {
        let mut ca = EnrolmentAuthority::new("Deployment CA").expect("ca");
        let (key_pem, csr) = new_key_and_csr("kiosk-hn-01").expect("csr");
        let body = serde_json::to_vec(&RenewalRequest { csr }).expect("json");
        // Only a caller that authenticated with its certificate.
        let r = ca.renew(None, &body, NOW);
        assert_eq!(r.expect_err("refused").status, 401);
        let r = ca.renew(Some("kiosk-hn-01"), b"{}", NOW);
        assert_eq!(r.expect_err("refused").code, "invalid_body");
        let r = ca.renew(Some("kiosk-hn-01"), &body, NOW).expect("renewed");
        let info = CertificateInfo::from_pem(&r.certificate).expect("info");
        assert_eq!(info.kiosk_id, "kiosk-hn-01");
        assert_eq!(info.not_before, NOW / 1000 - 300);
        assert_eq!(info.not_after, NOW / 1000 + 30 * 86_400);
        // Two thirds into 30 days and 5 minutes.
        assert_eq!(
            info.renew_at(),
            info.not_before + (30 * 86_400 + 300) * 2 / 3
        );
        assert!(certifies(&r.certificate, &key_pem));
        let (other_key, _) = new_key_and_csr("kiosk-hn-01").expect("another key");
        assert!(!certifies(&r.certificate, &other_key));
        assert!(!certifies("not a certificate", &key_pem));
        // A shorter lifetime for tests of renewal.
        let mut short = EnrolmentAuthority::new("CA")
            .expect("ca")
            .with_lifetime(std::time::Duration::from_secs(60));
        let r = short.renew(Some("k-1"), &body, NOW).expect("renewed");
        let info = CertificateInfo::from_pem(&r.certificate).expect("info");
        assert_eq!(info.not_after, NOW / 1000 + 60);
    }
}
