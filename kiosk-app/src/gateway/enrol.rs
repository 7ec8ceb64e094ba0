//! Enrolment, the kiosk's side: how a kiosk gets the client certificate it presents to the
//! gateway.
//!
//! EST (RFC 7030) in JSON form, as `POST /v1/enrolment` in `gateway/wire/openapi/kiosk-gateway.yaml`:
//! the technician brings a short-lived, single-use token bound to the kiosk id; the kiosk
//! generates its own P-256 key pair (the private key never leaves it) and sends a PKCS#10
//! request ([`new_key_and_csr`]); the gateway (`kiosk-gateway`) checks the token and the
//! request's self-signature and answers with a client certificate from the deployment CA.
//! The kiosk reads what it was given ([`CertificateInfo`], [`certifies`]) and writes the files
//! ([`write_private_key`], [`write_certificate`]). The messages are `kiosk-wire`'s.

use super::codes;
use kiosk_icao9303::pki;
use kiosk_icao9303::tlv;
pub use kiosk_wire::enrol::{
    is_kiosk_id, EnrolmentRequest, EnrolmentResponse, RenewalRequest, MAX_KIOSK_ID,
};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData as _};
use rustls_pki_types::pem::PemObject;
use zeroize::Zeroizing;

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

    #[test]
    fn the_request_names_the_kiosk_and_carries_the_kiosks_key() {
        let (key_pem, csr) = new_key_and_csr("kiosk-hn-01").expect("csr");
        assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        assert!(key_pem.contains("PRIVATE KEY"));
        assert!(new_key_and_csr("kiosk 01").is_err());
        assert!(new_key_and_csr("").is_err());
    }

    #[test]
    fn a_certificate_certifies_its_own_key_only() {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, "kiosk-hn-02");
        let cert = p.self_signed(&key).expect("cert").pem();
        assert!(certifies(&cert, &key.serialize_pem()));
        let other = KeyPair::generate().expect("key");
        assert!(!certifies(&cert, &other.serialize_pem()));
        assert!(!certifies("not a certificate", &key.serialize_pem()));
        let info = CertificateInfo::from_pem(&cert).expect("info");
        assert_eq!(info.kiosk_id, "kiosk-hn-02");
        assert!(info.renew_at() > info.not_before && info.renew_at() < info.not_after);
    }
}
