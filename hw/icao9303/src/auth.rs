//! Passive authentication (ICAO 9303-11 §5.1) and Active Authentication (§6.1) verdicts.

use std::collections::BTreeMap;

use crate::apdu::Command;
use crate::pki::{self, HashAlg, PublicKey};
use crate::Error;

/// The outcome of passive authentication, from worst to best.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassiveVerdict {
    /// No SOD was read (or nothing to check).
    NotAttempted(&'static str),
    /// The SOD signature (or its DS certificate) does not verify, or the SOD is malformed.
    SignatureInvalid(String),
    /// A data group read from the chip does not hash to the SOD's value: tampered or mis-read.
    HashMismatch(Vec<u8>),
    /// The SOD verifies with its DS certificate, but no trusted CSCA signed that certificate.
    CscaUnknown,
    /// Everything verifies, but the DS certificate is outside its validity period now.
    DsCertificateExpired,
    /// SOD signature, DS certificate chain to a trusted CSCA, and every data group hash match.
    Verified,
}

impl PassiveVerdict {
    /// Whether the identity can be trusted.
    pub fn is_verified(&self) -> bool {
        matches!(self, Self::Verified)
    }

    /// A short machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAttempted(_) => "not_attempted",
            Self::SignatureInvalid(_) => "signature_invalid",
            Self::HashMismatch(_) => "hash_mismatch",
            Self::CscaUnknown => "csca_unknown",
            Self::DsCertificateExpired => "ds_certificate_expired",
            Self::Verified => "verified",
        }
    }
}

/// Passive authentication of the data groups read (`dgs`: number -> raw bytes as read) against
/// the SOD, its DS certificate and the trusted CSCA certificates (DER). `now` is
/// `YYYYMMDDHHMMSS` (UTC), passed in so the check is deterministic.
pub fn passive_authentication(
    sod_raw: Option<&[u8]>,
    dgs: &BTreeMap<u8, Vec<u8>>,
    trusted_cscas: &[Vec<u8>],
    now: &str,
) -> PassiveVerdict {
    let Some(sod_raw) = sod_raw else {
        return PassiveVerdict::NotAttempted("no EF.SOD read");
    };
    let sod = match pki::parse_sod(sod_raw) {
        Ok(s) => s,
        Err(e) => return PassiveVerdict::SignatureInvalid(format!("EF.SOD does not parse: {e}")),
    };
    let Some(ds_raw) = sod.ds_certificate else {
        return PassiveVerdict::SignatureInvalid("EF.SOD carries no DS certificate".into());
    };
    let ds = match pki::parse_certificate(ds_raw) {
        Ok(c) => c,
        Err(e) => return PassiveVerdict::SignatureInvalid(format!("DS certificate: {e}")),
    };
    let ds_key = match pki::parse_spki(ds.spki) {
        Ok(k) => k,
        Err(e) => return PassiveVerdict::SignatureInvalid(format!("DS public key: {e}")),
    };
    match sod.verify_signature(&ds_key) {
        Ok(()) => {}
        // An algorithm this crate cannot check is "not attempted", never "invalid".
        Err(Error::Unsupported(what)) => return PassiveVerdict::NotAttempted(what),
        Err(e) => return PassiveVerdict::SignatureInvalid(format!("SOD signature: {e}")),
    }
    // Hashes over the raw bytes read, never a re-encoding.
    let mismatched: Vec<u8> = dgs
        .iter()
        .filter(|(n, raw)| sod.dg_hashes.get(n) != Some(&sod.hash_alg.digest(raw)))
        .map(|(n, _)| *n)
        .collect();
    if !mismatched.is_empty() {
        return PassiveVerdict::HashMismatch(mismatched);
    }
    let chained = trusted_cscas.iter().any(|csca| {
        let Ok(c) = pki::parse_certificate(csca) else {
            return false;
        };
        if c.subject != ds.issuer {
            return false;
        }
        let Ok(key) = pki::parse_spki(c.spki) else {
            return false;
        };
        ds.verify_signed_by(&key).is_ok()
    });
    if !chained {
        return PassiveVerdict::CscaUnknown;
    }
    if !ds.valid_at(now) {
        return PassiveVerdict::DsCertificateExpired;
    }
    PassiveVerdict::Verified
}

/// The outcome of Active Authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActiveVerdict {
    /// The card has no DG15, or AA was not run.
    NotAttempted(&'static str),
    /// The chip proved possession of the DG15 key: not a clone.
    Verified,
    /// The chip's signature does not verify: the chip is not the one the SOD vouches for.
    Failed(String),
}

impl ActiveVerdict {
    /// A short machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAttempted(_) => "not_attempted",
            Self::Verified => "verified",
            Self::Failed(_) => "failed",
        }
    }
}

/// `INTERNAL AUTHENTICATE` with an 8-byte challenge.
pub fn internal_authenticate(challenge: &[u8; 8]) -> Command {
    Command::new(0x00, 0x88, 0x00, 0x00)
        .with_data(challenge.to_vec())
        .with_le(256)
}

/// Checks the chip's Active Authentication answer with the DG15 key (ECDSA, plain `r || s`
/// over SHA-256 of the challenge, as BSI TR-03111 and ICAO 9303-11 §6.1 for ECDSA).
pub fn verify_active_authentication(
    dg15_spki: &[u8],
    challenge: &[u8],
    signature: &[u8],
) -> ActiveVerdict {
    let key = match pki::parse_spki(dg15_spki) {
        Ok(k) => k,
        Err(e) => return ActiveVerdict::Failed(format!("DG15 key: {e}")),
    };
    match key {
        PublicKey::Ec { curve, point } => {
            match curve.ecdsa_verify_prehash(&point, &HashAlg::Sha256.digest(challenge), signature)
            {
                Ok(()) => ActiveVerdict::Verified,
                Err(e) => ActiveVerdict::Failed(e.to_string()),
            }
        }
        PublicKey::Rsa { .. } => {
            ActiveVerdict::NotAttempted("RSA Active Authentication is not implemented")
        }
    }
}

/// Card side: the Active Authentication signature.
///
/// # Errors
///
/// [`Error::Crypto`] for an invalid key.
pub fn sign_active_authentication(
    curve: crate::ec::Curve,
    secret: &[u8],
    challenge: &[u8],
) -> Result<Vec<u8>, Error> {
    curve.ecdsa_sign_prehash(secret, &HashAlg::Sha256.digest(challenge))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec::Curve;
    use crate::issue;

    struct Pki {
        csca: Vec<u8>,
        ds: Vec<u8>,
        ds_secret: Vec<u8>,
        csca_name: Vec<u8>,
    }

    fn pki(curve: Curve, ds_not_after: &str) -> Pki {
        let csca_secret = vec![0x21; 32];
        let ds_secret = vec![0x42; 32];
        let csca_name = issue::name("CSCA Test");
        let ds_name = issue::name("DS Test");
        let csca_spki = issue::ec_spki(curve, &curve.mul_generator(&csca_secret).expect("key"));
        let ds_spki = issue::ec_spki(curve, &curve.mul_generator(&ds_secret).expect("key"));
        let csca = issue::certificate(
            &issue::CertSpec {
                serial: 1,
                issuer: &csca_name,
                subject: &csca_name,
                not_before: "20200101000000",
                not_after: "20400101000000",
                spki: &csca_spki,
                ca: true,
            },
            curve,
            &csca_secret,
        )
        .expect("csca");
        let ds = issue::certificate(
            &issue::CertSpec {
                serial: 2,
                issuer: &csca_name,
                subject: &ds_name,
                not_before: "20200101000000",
                not_after: ds_not_after,
                spki: &ds_spki,
                ca: false,
            },
            curve,
            &csca_secret,
        )
        .expect("ds");
        Pki {
            csca,
            ds,
            ds_secret,
            csca_name,
        }
    }

    fn dgs() -> BTreeMap<u8, Vec<u8>> {
        let mut m = BTreeMap::new();
        m.insert(1, b"dg1 bytes".to_vec());
        m.insert(2, vec![0x75; 3000]);
        m.insert(13, b"dg13".to_vec());
        m
    }

    #[test]
    fn verdicts() {
        for curve in [Curve::P256, Curve::BrainpoolP256r1] {
            let p = pki(curve, "20350101000000");
            let sod = issue::sod(&dgs(), &p.ds, &p.csca_name, 2, curve, &p.ds_secret).expect("sod");
            let now = "20260101000000";
            let trust = vec![p.csca.clone()];
            assert_eq!(
                passive_authentication(Some(&sod), &dgs(), &trust, now),
                PassiveVerdict::Verified
            );
            assert_eq!(
                passive_authentication(Some(&sod), &dgs(), &[], now),
                PassiveVerdict::CscaUnknown
            );
            assert_eq!(
                passive_authentication(None, &dgs(), &trust, now),
                PassiveVerdict::NotAttempted("no EF.SOD read")
            );
            let mut tampered = dgs();
            tampered.insert(2, vec![0x76; 3000]);
            assert_eq!(
                passive_authentication(Some(&sod), &tampered, &trust, now),
                PassiveVerdict::HashMismatch(vec![2])
            );
            // A flipped bit in the signed content breaks the signature.
            // (inside the signature value, the last element of the SOD)
            let pos = sod.len() - 10;
            let mut bad = sod.clone();
            bad[pos] ^= 1;
            assert!(matches!(
                passive_authentication(Some(&bad), &dgs(), &trust, now),
                PassiveVerdict::SignatureInvalid(_)
            ));
            let expired = pki(curve, "20250101000000");
            let sod2 = issue::sod(
                &dgs(),
                &expired.ds,
                &expired.csca_name,
                2,
                curve,
                &expired.ds_secret,
            )
            .expect("sod");
            assert_eq!(
                passive_authentication(
                    Some(&sod2),
                    &dgs(),
                    std::slice::from_ref(&expired.csca),
                    now
                ),
                PassiveVerdict::DsCertificateExpired
            );
            // Truncated SODs never panic.
            for cut in (0..sod.len()).step_by(7) {
                let _ = passive_authentication(Some(&sod[..cut]), &dgs(), &trust, now);
            }
        }
    }

    #[test]
    fn active_authentication() {
        let curve = Curve::BrainpoolP256r1;
        let secret = [0x33; 32];
        let dg15 = issue::dg15(curve, &curve.mul_generator(&secret).expect("key"));
        let spki = crate::lds::parse_dg15(&dg15).expect("dg15");
        let challenge = [1, 2, 3, 4, 5, 6, 7, 8];
        let sig = sign_active_authentication(curve, &secret, &challenge).expect("sign");
        assert_eq!(
            verify_active_authentication(&spki, &challenge, &sig),
            ActiveVerdict::Verified
        );
        let wrong = sign_active_authentication(curve, &[0x34; 32], &challenge).expect("sign");
        assert!(matches!(
            verify_active_authentication(&spki, &challenge, &wrong),
            ActiveVerdict::Failed(_)
        ));
    }
}
