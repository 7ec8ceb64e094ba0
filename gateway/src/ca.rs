//! The deployment CA: it issues the kiosks' client certificates (enrolment, renewal) and the
//! gateway's own server certificate.
//!
//! Its key and certificate are files ([`Authority::init`] creates them once, `kiosk-gateway
//! ca init`; [`Authority::load`] reads them at every start), so a restarted gateway, or
//! another replica, keeps trusting every enrolled kiosk. The key is a PEM file of mode 0600;
//! a PKCS#11 token would replace [`Authority::load`] and keep [`Authority::issue`]'s shape.
//! [`Authority::ephemeral`] is a CA in memory for the demo and tests.

use std::path::Path;

use kiosk_wire::enrol::EnrolmentResponse;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SignatureAlgorithm,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateSigningRequestDer};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::request::CertReq;
use zeroize::Zeroizing;

/// Lifetime of an issued client certificate (the brief: e.g. 30 days, renewed at two thirds).
pub const CERT_LIFETIME_DAYS: i64 = 30;
/// Lifetime of the CA made by [`Authority::init`].
const CA_LIFETIME_DAYS: i64 = 10 * 365;

/// Why the gateway refused a request: the HTTP status, a stable code and a message that
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

/// A [`Refusal`].
#[must_use]
pub const fn refuse(status: u16, code: &'static str, message: &'static str) -> Refusal {
    Refusal {
        status,
        code,
        message,
    }
}

/// Why the CA files cannot be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// A file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `ca init` would overwrite an existing CA.
    #[error(
        "{0} already exists: the CA is made once (every kiosk trusts it); remove the folder \
         only to start a new deployment"
    )]
    Exists(String),
    /// The files are not a CA key and certificate that belong together.
    #[error("{0}: run `kiosk-gateway ca init --dir DIR` to make the CA files")]
    Invalid(String),
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

/// What a PKCS#10 request says once its self-signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCsr {
    /// The uncompressed P-256 point.
    pub point: Vec<u8>,
    /// The subject's common name, if any.
    pub common_name: Option<String>,
}

/// `id-ecPublicKey` (RFC 5480).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (P-256).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `ecdsa-with-SHA256`.
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `ecdsa-with-SHA384`.
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// Parses a DER PKCS#10 request (x509-cert) and checks its self-signature (ring), proof that
/// the sender holds the key.
///
/// # Errors
///
/// A [`Refusal`] (400) when the request does not parse, is not P-256 ECDSA or its signature
/// does not verify.
pub fn check_csr(csr_der: &[u8]) -> Result<CheckedCsr, Refusal> {
    let bad = refuse(
        400,
        "invalid_csr",
        "csr is not a PKCS#10 request signed by its key",
    );
    let csr = CertReq::from_der(csr_der).map_err(|_| bad.clone())?;
    let spki = &csr.info.public_key;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let point = spki.subject_public_key.as_bytes().unwrap_or_default();
    // An uncompressed P-256 point: 0x04, then X and Y of 32 bytes each.
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY
        || curve != Some(SECP256R1)
        || point.len() != 65
        || point.first() != Some(&0x04)
    {
        return Err(refuse(
            400,
            "unsupported_key",
            "csr key must be ECDSA P-256",
        ));
    }
    let alg: &dyn ring::signature::VerificationAlgorithm = match csr.algorithm.oid {
        o if o == ECDSA_SHA256 => &ring::signature::ECDSA_P256_SHA256_ASN1,
        o if o == ECDSA_SHA384 => &ring::signature::ECDSA_P256_SHA384_ASN1,
        _ => return Err(bad),
    };
    // The signed bytes are the request info as encoded; DER has one encoding, so re-encoding
    // the parsed value gives them back.
    let info = csr.info.to_der().map_err(|_| bad.clone())?;
    let signature = csr.signature.as_bytes().ok_or_else(|| bad.clone())?;
    ring::signature::UnparsedPublicKey::new(alg, point)
        .verify(&info, signature)
        .map_err(|_| bad)?;
    Ok(CheckedCsr {
        point: point.to_vec(),
        common_name: csr
            .info
            .subject
            .common_name()
            .ok()
            .flatten()
            .map(|s| s.value().into_owned()),
    })
}

/// A certificate the CA issued, with what the gateway records of it.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The answer to the kiosk.
    pub response: EnrolmentResponse,
    /// Serial number, lower-case hex (the revocation list's key).
    pub serial: String,
    /// End of validity, Unix milliseconds.
    pub not_after_ms: i64,
}

/// The deployment CA.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
    /// Lifetime of the client certificates it issues.
    lifetime: time::Duration,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, name);
    p
}

/// Unix milliseconds as a time, clamped to the representable range.
fn at(now_ms: i64) -> Result<time::OffsetDateTime, Refusal> {
    time::OffsetDateTime::from_unix_timestamp(now_ms / 1000)
        .map_err(|_| refuse(500, "clock", "gateway clock out of range"))
}

impl Authority {
    /// A new CA in memory called `name` (demo, tests): gone with the process.
    ///
    /// # Errors
    ///
    /// Key generation or self-signing failed (message).
    pub fn ephemeral(name: &str) -> Result<Self, String> {
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let p = ca_params(name);
        let cert = p.self_signed(&key).map_err(|e| e.to_string())?;
        Ok(Self {
            ca_pem: cert.pem(),
            issuer: Issuer::new(p, key),
            lifetime: time::Duration::days(CERT_LIFETIME_DAYS),
        })
    }

    /// Makes the CA files in `dir` (created if needed): `ca.key` (mode 0600) and `ca.pem`.
    ///
    /// # Errors
    ///
    /// [`CaError::Exists`] if `ca.key` or `ca.pem` is there already; [`CaError::Io`].
    pub fn init(dir: &Path, name: &str) -> Result<Self, CaError> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let (key_path, pem_path) = (dir.join("ca.key"), dir.join("ca.pem"));
        for p in [&key_path, &pem_path] {
            if p.exists() {
                return Err(CaError::Exists(p.display().to_string()));
            }
        }
        let io = |p: &Path| {
            let path = p.display().to_string();
            move |source| CaError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let key = KeyPair::generate().map_err(|e| CaError::Invalid(e.to_string()))?;
        let mut p = ca_params(name);
        let now = time::OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::minutes(5);
        p.not_after = now + time::Duration::days(CA_LIFETIME_DAYS);
        let cert = p
            .self_signed(&key)
            .map_err(|e| CaError::Invalid(e.to_string()))?;
        let pem = Zeroizing::new(key.serialize_pem());
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_path)
            .map_err(io(&key_path))?;
        f.write_all(pem.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io(&key_path))?;
        std::fs::write(&pem_path, cert.pem()).map_err(io(&pem_path))?;
        Self::load(dir)
    }

    /// Reads the CA files of `dir` (`ca.key`, `ca.pem`), made by [`Authority::init`].
    ///
    /// # Errors
    ///
    /// [`CaError::Io`] for an unreadable file, [`CaError::Invalid`] when they are not a CA key
    /// and its certificate.
    pub fn load(dir: &Path) -> Result<Self, CaError> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|source| CaError::Io {
                path: p.display().to_string(),
                source,
            })
        };
        let key_pem = Zeroizing::new(read("ca.key")?);
        let ca_pem = read("ca.pem")?;
        let invalid = |what: &str| CaError::Invalid(format!("{}: {what}", dir.display()));
        let key = KeyPair::from_pem(&key_pem).map_err(|_| invalid("ca.key is not a key"))?;
        let der = CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(|_| invalid("ca.pem is not a certificate"))?;
        let cert = x509_cert::Certificate::from_der(der.as_ref())
            .map_err(|_| invalid("ca.pem is not a certificate"))?;
        let tbs = cert.tbs_certificate();
        let same_key = tbs
            .subject_public_key_info()
            .to_der()
            .is_ok_and(|spki| spki == key.subject_public_key_info());
        if !same_key {
            return Err(invalid("ca.key does not belong to ca.pem"));
        }
        let name = tbs
            .subject()
            .common_name()
            .ok()
            .flatten()
            .map(|s| s.value().into_owned())
            .ok_or_else(|| invalid("ca.pem has no name"))?;
        // The issuer rcgen signs with: the same name and key, hence the same issuer name and
        // authority key identifier as the certificate on file.
        Ok(Self {
            issuer: Issuer::new(ca_params(&name), key),
            ca_pem,
            lifetime: time::Duration::days(CERT_LIFETIME_DAYS),
        })
    }

    /// Issues client certificates valid for `lifetime` instead of [`CERT_LIFETIME_DAYS`]
    /// (tests of renewal).
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.lifetime = time::Duration::try_from(lifetime).unwrap_or(self.lifetime);
        self
    }

    /// The CA certificate, PEM.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A client certificate for `kiosk_id` and the key of `csr_pem`.
    ///
    /// # Errors
    ///
    /// A [`Refusal`]: 400 for a request that is not PEM, not P-256 or not signed by its key;
    /// 403 when the request names another kiosk; 500 if signing fails.
    pub fn issue(&self, kiosk_id: &str, csr_pem: &str, now_ms: i64) -> Result<Issued, Refusal> {
        let der = CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
            .map_err(|_| refuse(400, "invalid_csr", "csr is not a PEM certificate request"))?;
        let csr = check_csr(der.as_ref())?;
        if csr.common_name.as_deref() != Some(kiosk_id) {
            return Err(refuse(
                403,
                "kiosk_id_mismatch",
                "the request names another kiosk than the one authorised",
            ));
        }
        let now = at(now_ms)?;
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, kiosk_id);
        p.not_before = now - time::Duration::minutes(5);
        p.not_after = now + self.lifetime;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let serial = random_serial();
        p.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let cert = p
            .signed_by(&RequestKey(csr.point), &self.issuer)
            .map_err(|_| {
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
        Ok(Issued {
            response: EnrolmentResponse {
                certificate: cert.pem(),
                ca_certificate: Some(self.ca_pem.clone()),
                not_after,
            },
            serial: hex(&serial),
            not_after_ms: p.not_after.unix_timestamp().saturating_mul(1000),
        })
    }

    /// A server certificate for the gateway's names (DNS names or IP addresses) and its new
    /// key: (certificate PEM, PKCS#8 key PEM). Kiosks trust it through the CA they got at
    /// enrolment.
    ///
    /// # Errors
    ///
    /// A malformed name or a signing failure (message).
    pub fn server_certificate(
        &self,
        names: &[String],
    ) -> Result<(String, Zeroizing<String>), String> {
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let mut p = CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
        let now = time::OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::minutes(5);
        p.not_after = now + time::Duration::days(365);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.serial_number = Some(rcgen::SerialNumber::from_slice(&random_serial()));
        let cert = p.signed_by(&key, &self.issuer).map_err(|e| e.to_string())?;
        Ok((cert.pem(), Zeroizing::new(key.serialize_pem())))
    }
}

/// 16 random bytes with the top bit clear (a positive DER INTEGER as written).
fn random_serial() -> [u8; 16] {
    let mut serial: [u8; 16] = rand::random();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    serial
}

/// Lower-case hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr_der(cn: &str, alg: &'static SignatureAlgorithm) -> Vec<u8> {
        let key = KeyPair::generate_for(alg).expect("key");
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.serialize_request(&key).expect("csr").der().to_vec()
    }

    #[test]
    fn a_request_signed_by_its_p256_key_passes_and_names_its_kiosk() {
        let checked = check_csr(&csr_der("kiosk-hn-01", &rcgen::PKCS_ECDSA_P256_SHA256))
            .expect("valid request");
        assert_eq!(checked.common_name.as_deref(), Some("kiosk-hn-01"));
        assert_eq!(checked.point.len(), 65);
    }

    #[test]
    fn forged_foreign_and_malformed_requests_are_refused() {
        let mut der = csr_der("kiosk-hn-01", &rcgen::PKCS_ECDSA_P256_SHA256);
        // The last byte is the signature's: the request no longer verifies.
        if let Some(last) = der.last_mut() {
            *last ^= 0x01;
        }
        assert_eq!(check_csr(&der).map_err(|r| r.code), Err("invalid_csr"));
        // A byte of the signed part changed (inside the subject's name).
        let mut der = csr_der("kiosk-hn-01", &rcgen::PKCS_ECDSA_P256_SHA256);
        let at = der
            .windows(11)
            .position(|w| w == b"kiosk-hn-01")
            .expect("name in the request");
        der[at] = b'K';
        assert_eq!(check_csr(&der).map_err(|r| r.code), Err("invalid_csr"));
        // Another curve.
        let p384 = csr_der("kiosk-hn-01", &rcgen::PKCS_ECDSA_P384_SHA384);
        assert_eq!(check_csr(&p384).map_err(|r| r.code), Err("unsupported_key"));
        // Not DER at all, and every truncation of a valid request.
        let good = csr_der("kiosk-hn-01", &rcgen::PKCS_ECDSA_P256_SHA256);
        assert!(check_csr(b"not a request").is_err());
        for n in 0..good.len() {
            assert!(check_csr(&good[..n]).is_err(), "accepted {n} bytes");
        }
    }

    #[test]
    fn the_ca_on_file_loads_and_refuses_a_key_of_another_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = Authority::init(dir.path(), "Province CA").expect("init");
        let loaded = Authority::load(dir.path()).expect("load");
        assert_eq!(made.ca_pem(), loaded.ca_pem());
        assert!(matches!(
            Authority::init(dir.path(), "Province CA"),
            Err(CaError::Exists(_))
        ));
        let other = tempfile::tempdir().expect("tempdir");
        let _ = Authority::init(other.path(), "Other CA").expect("init");
        std::fs::copy(other.path().join("ca.key"), dir.path().join("ca.key")).expect("copy");
        assert!(matches!(
            Authority::load(dir.path()),
            Err(CaError::Invalid(m)) if m.contains("does not belong")
        ));
    }
}
