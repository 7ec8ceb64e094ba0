//! Passive authentication (ICAO 9303-11 §5.1) and Active Authentication (§6.1) verdicts.

use std::collections::BTreeMap;

use crate::apdu::Command;
use crate::pki::{self, HashAlg, PublicKey};
use crate::Error;

/// The outcome of passive authentication.
///
/// Only [`PassiveVerdict::Verified`] vouches for the data. The others say why not:
/// `SignatureInvalid`, `HashMismatch`, `AlgorithmMismatch`, `EContentTypeWrong` and
/// `DsKeyUsage` mean a forged or broken SOD; `WeakAlgorithm` a SOD or chain relying on SHA-1
/// or an RSA key under 2048 bits (refused); `UnsupportedAlgorithm` one this crate cannot check
/// (a technician's matter, not the citizen's); `CscaUnknown`, `CscaNotCa` and `CscaExpired`
/// a chain that does not end in a usable trusted CSCA.
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
    /// An algorithm in the SOD or chain this crate does not implement (which, and where).
    UnsupportedAlgorithm(String),
    /// SHA-1 in the SOD or chain, or an RSA key shorter than 2048 bits (what, and where).
    WeakAlgorithm(String),
    /// Algorithms that must agree do not: the SOD's signature algorithm and the DS key type,
    /// its digest and signature hashes, or a certificate's inner and outer algorithm fields.
    AlgorithmMismatch(String),
    /// The SOD's eContentType is not `id-icao-mrtd-security-ldsSecurityObject`.
    EContentTypeWrong,
    /// The DS certificate's keyUsage lacks digitalSignature (or it has no keyUsage).
    DsKeyUsage,
    /// The trusted CSCA that signed the DS certificate is outside its validity period now.
    CscaExpired,
    /// The trusted certificate that signed the DS certificate is not a CA: no basicConstraints
    /// cA=true, or no keyUsage keyCertSign (which).
    CscaNotCa(&'static str),
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
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::WeakAlgorithm(_) => "weak_algorithm",
            Self::AlgorithmMismatch(_) => "algorithm_mismatch",
            Self::EContentTypeWrong => "econtent_type_wrong",
            Self::DsKeyUsage => "ds_key_usage",
            Self::CscaExpired => "csca_expired",
            Self::CscaNotCa(_) => "csca_not_ca",
        }
    }
}

/// The shortest RSA modulus passive authentication accepts, in bits.
const MIN_RSA_BITS: usize = 2048;

/// An [`Error`] met while checking `what`, as a verdict: an algorithm this crate does not
/// implement is "unsupported", never "invalid".
fn verdict_of(what: &str, e: &Error) -> PassiveVerdict {
    match e {
        Error::Unsupported(alg) => PassiveVerdict::UnsupportedAlgorithm(format!("{what}: {alg}")),
        e => PassiveVerdict::SignatureInvalid(format!("{what}: {e}")),
    }
}

/// SHA-1 or a short RSA key: the weakness, if any.
fn weakness(what: &str, hash: Option<HashAlg>, key: Option<&PublicKey>) -> Option<String> {
    if hash == Some(HashAlg::Sha1) {
        return Some(format!("{what} uses SHA-1"));
    }
    match key.and_then(PublicKey::rsa_bits) {
        Some(bits) if bits < MIN_RSA_BITS => Some(format!("{what} is a {bits}-bit RSA key")),
        _ => None,
    }
}

/// Passive authentication of the data groups read (`dgs`: number -> raw bytes as read) against
/// the SOD, its DS certificate and the trusted CSCA certificates (DER). `now` is
/// `YYYYMMDDHHMMSS` (UTC), passed in so the check is deterministic.
///
/// The checks, in order: the SOD parses and its eContentType is an LDS security object; the DS
/// certificate (strict DER) and key parse; no SHA-1 or RSA key under 2048 bits in the SOD or
/// DS certificate; the algorithms agree; the SOD signature verifies with the DS key; every
/// data group hash matches; the DS keyUsage allows digitalSignature; a trusted CSCA with the
/// DS issuer's name (and key identifier, when both carry one) signed the DS certificate; that
/// CSCA is a CA (basicConstraints cA, keyUsage keyCertSign), not weak, and valid now; the DS
/// certificate is valid now.
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
        Err(e) => return verdict_of("EF.SOD", &e),
    };
    if sod.econtent_type != pki::LDS_SECURITY_OBJECT {
        return PassiveVerdict::EContentTypeWrong;
    }
    let Some(ds_raw) = sod.ds_certificate else {
        return PassiveVerdict::SignatureInvalid("EF.SOD carries no DS certificate".into());
    };
    let ds = match pki::parse_certificate(ds_raw) {
        Ok(c) => c,
        Err(e) => return verdict_of("DS certificate", &e),
    };
    let ds_key = match pki::parse_spki(ds.spki) {
        Ok(k) => k,
        Err(e) => return verdict_of("DS public key", &e),
    };
    let sod_alg = match &sod.sig_alg {
        Ok(a) => *a,
        Err(e) => return verdict_of("SOD signature algorithm", e),
    };
    let ds_alg = match &ds.sig_alg {
        Ok(a) => *a,
        Err(e) => return verdict_of("DS certificate signature algorithm", e),
    };
    let weak = weakness("data group hashes", Some(sod.hash_alg), None)
        .or_else(|| weakness("SOD digest", Some(sod.signer_hash), None))
        .or_else(|| weakness("SOD signature", Some(sod_alg.hash()), Some(&ds_key)))
        .or_else(|| weakness("DS certificate signature", Some(ds_alg.hash()), None));
    if let Some(w) = weak {
        return PassiveVerdict::WeakAlgorithm(w);
    }
    if !sod_alg.fits(&ds_key) {
        return PassiveVerdict::AlgorithmMismatch(format!(
            "SOD signed with {sod_alg} but the DS key is {ds_key}"
        ));
    }
    if sod_alg.hash() != sod.signer_hash {
        return PassiveVerdict::AlgorithmMismatch(format!(
            "SOD digest {} but signature {sod_alg}",
            sod.signer_hash
        ));
    }
    if !ds.algorithms_agree {
        return PassiveVerdict::AlgorithmMismatch(
            "DS certificate's inner and outer signature algorithms differ".into(),
        );
    }
    if let Err(e) = sod.verify_signature(&ds_key) {
        return verdict_of("SOD signature", &e);
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
    if !ds.key_usage.is_some_and(|k| k.digital_signature) {
        return PassiveVerdict::DsKeyUsage;
    }
    let mut unsupported = None;
    let csca = trusted_cscas.iter().find_map(|raw| {
        let c = pki::parse_certificate(raw).ok()?;
        let ids_differ = matches!(
            (&c.subject_key_id, &ds.authority_key_id),
            (Some(s), Some(a)) if s != a
        );
        if c.subject != ds.issuer || ids_differ {
            return None;
        }
        let key = match pki::parse_spki(c.spki) {
            Ok(k) => k,
            Err(e) => {
                unsupported.get_or_insert(verdict_of("CSCA public key", &e));
                return None;
            }
        };
        match ds.verify_signed_by(&key) {
            Ok(()) => Some((c, key)),
            Err(e @ Error::Unsupported(_)) => {
                unsupported.get_or_insert(verdict_of("DS certificate signature", &e));
                None
            }
            Err(_) => None,
        }
    });
    let Some((csca, csca_key)) = csca else {
        return unsupported.unwrap_or(PassiveVerdict::CscaUnknown);
    };
    if csca.ca != Some(true) {
        return PassiveVerdict::CscaNotCa("no basicConstraints cA=true");
    }
    if !csca.key_usage.is_some_and(|k| k.key_cert_sign) {
        return PassiveVerdict::CscaNotCa("no keyUsage keyCertSign");
    }
    if let Some(w) = weakness("CSCA key", None, Some(&csca_key)) {
        return PassiveVerdict::WeakAlgorithm(w);
    }
    if !csca.valid_at(now) {
        return PassiveVerdict::CscaExpired;
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

/// Checks the chip's Active Authentication answer with the DG15 key, ECDSA keys with SHA-256.
/// Prefer [`crate::aa::verify`] with the hash from DG14 ([`crate::aa::hash_for`]), which
/// [`crate::reader::ChipRead::verify`] uses; RSA keys (ISO/IEC 9796-2) are checked by both.
pub fn verify_active_authentication(
    dg15_spki: &[u8],
    challenge: &[u8],
    signature: &[u8],
) -> ActiveVerdict {
    crate::aa::verify(dg15_spki, HashAlg::Sha256, challenge, signature)
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
    use crate::pki::SigAlg;

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
                ..Default::default()
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
                ..Default::default()
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

    /// One row: CSCA and DS algorithms (see `issue::key_and_algorithm`), defects, and the
    /// verdict code passive authentication must give.
    struct Case {
        csca: &'static str,
        ds: &'static str,
        faults: issue::ChainFaults,
        csca_not_after: &'static str,
        ds_not_after: &'static str,
        trust: Trust,
        expect: &'static str,
    }

    #[derive(Clone, Copy)]
    enum Trust {
        /// The chain's own CSCA.
        Own,
        /// None at all.
        Empty,
        /// A CSCA with the same name and another key.
        SameNameOtherKey,
        /// A CSCA with the same name whose key is on an unsupported curve (secp256k1).
        UnsupportedCurve,
    }

    fn case(csca: &'static str, ds: &'static str, expect: &'static str) -> Case {
        Case {
            csca,
            ds,
            faults: issue::ChainFaults::default(),
            csca_not_after: "20450101000000",
            ds_not_after: "20400101000000",
            trust: Trust::Own,
            expect,
        }
    }

    /// A row with chain defects.
    fn faulty(
        csca: &'static str,
        ds: &'static str,
        faults: issue::ChainFaults,
        expect: &'static str,
    ) -> Case {
        with(case(csca, ds, expect), |c| c.faults = faults)
    }

    fn with(mut c: Case, f: impl FnOnce(&mut Case)) -> Case {
        f(&mut c);
        c
    }

    fn run(c: &Case) -> (PassiveVerdict, Vec<u8>, Vec<Vec<u8>>) {
        let mut rng = issue::TestRng::new(7);
        let (csca_key, csca_alg) = issue::key_and_algorithm(c.csca, &mut rng).expect("csca");
        let (ds_key, ds_alg) = issue::key_and_algorithm(c.ds, &mut rng).expect("ds");
        let chain = issue::chain(
            &issue::ChainSpec {
                csca: (&csca_key, csca_alg),
                ds: (&ds_key, ds_alg),
                csca_validity: ("20200101000000", c.csca_not_after),
                ds_validity: ("20200101000000", c.ds_not_after),
                dgs: &dgs(),
                faults: c.faults.clone(),
            },
            &mut rng,
        )
        .expect("chain");
        let real_ski = issue::key_id(&csca_key.spki());
        let other = |spki: &[u8], ski: Option<&[u8]>| {
            let name = issue::name("CSCA Viet Nam TEST");
            issue::certificate_with(
                &issue::CertSpec {
                    serial: 9,
                    issuer: &name,
                    subject: &name,
                    not_before: "20200101000000",
                    not_after: "20450101000000",
                    spki,
                    ca: true,
                    subject_key_id: ski,
                    ..Default::default()
                },
                SigAlg::Ecdsa(HashAlg::Sha256),
                &issue::Signer::ec(Curve::P256, &[0x77; 32]).expect("key"),
                &mut rng.clone(),
            )
            .expect("other csca")
        };
        let trust = match c.trust {
            Trust::Own => vec![chain.csca.clone()],
            Trust::Empty => vec![],
            Trust::SameNameOtherKey => {
                let key = issue::Signer::ec(Curve::P256, &[0x77; 32]).expect("key");
                vec![other(&key.spki(), None)]
            }
            Trust::UnsupportedCurve => {
                let mut spki = issue::ec_spki(Curve::P256, &[0x04; 65]);
                // Swap the P-256 OID for secp256k1's (1.3.132.0.10): same length prefix aside.
                let p256 = Curve::P256.oid();
                let pos = spki
                    .windows(p256.len())
                    .position(|w| w == p256)
                    .expect("oid");
                spki.splice(
                    pos - 2..pos + p256.len(),
                    [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x0A],
                );
                spki[1] -= 3;
                spki[3] -= 3;
                // The trusted CSCA (name and key identifier of the DS's issuer) has a key
                // this crate cannot use: "unsupported", not "unknown".
                vec![other(&spki, Some(&real_ski))]
            }
        };
        let verdict = passive_authentication(Some(&chain.sod), &dgs(), &trust, NOW);
        (verdict, chain.sod, trust)
    }

    const NOW: &str = "20260101000000";

    #[test]
    fn passive_authentication_table() {
        use issue::ChainFaults as F;
        let cases = vec![
            // Genuine chains on every algorithm family, CSCA usually longer than the DS.
            case("ecdsa-bp256-sha256", "ecdsa-bp256-sha256", "verified"),
            case("ecdsa-bp384-sha384", "ecdsa-bp256-sha256", "verified"),
            case("ecdsa-bp512-sha512", "ecdsa-bp384-sha384", "verified"),
            case("ecdsa-p384-sha384", "ecdsa-p256-sha256", "verified"),
            case("ecdsa-p521-sha512", "ecdsa-p384-sha224", "verified"),
            case("ecdsa-p256-sha512", "ecdsa-bp512-sha256", "verified"),
            case("rsa-3072-pkcs1-sha256", "rsa-2048-pkcs1-sha256", "verified"),
            case("rsa-4096-pss-sha512", "rsa-2048-pss-sha256", "verified"),
            case("rsa-4096-pkcs1-sha384", "ecdsa-bp256-sha224", "verified"),
            case("ecdsa-bp384-sha384", "rsa-3072-pss-sha384", "verified"),
            faulty(
                "ecdsa-bp384-sha384",
                "ecdsa-bp384-sha384",
                F {
                    ds_explicit_parameters: true,
                    ..F::default()
                },
                "verified",
            ),
            // Trust.
            with(
                case("ecdsa-bp384-sha384", "ecdsa-bp256-sha256", "csca_unknown"),
                |c| c.trust = Trust::Empty,
            ),
            with(
                case("ecdsa-p384-sha384", "ecdsa-p256-sha256", "csca_unknown"),
                |c| c.trust = Trust::SameNameOtherKey,
            ),
            with(
                case(
                    "ecdsa-p384-sha384",
                    "ecdsa-p256-sha256",
                    "unsupported_algorithm",
                ),
                |c| c.trust = Trust::UnsupportedCurve,
            ),
            with(
                case("rsa-4096-pss-sha512", "ecdsa-p256-sha256", "csca_expired"),
                |c| c.csca_not_after = "20250101000000",
            ),
            with(
                case(
                    "ecdsa-bp384-sha384",
                    "ecdsa-bp256-sha256",
                    "ds_certificate_expired",
                ),
                |c| c.ds_not_after = "20250101000000",
            ),
            faulty(
                "ecdsa-bp384-sha384",
                "ecdsa-bp256-sha256",
                F {
                    csca_not_ca: true,
                    ..F::default()
                },
                "csca_not_ca",
            ),
            faulty(
                "ecdsa-bp384-sha384",
                "ecdsa-bp256-sha256",
                F {
                    ds_no_digital_signature: true,
                    ..F::default()
                },
                "ds_key_usage",
            ),
            // Forgeries and disagreements.
            faulty(
                "ecdsa-p384-sha384",
                "ecdsa-p256-sha256",
                F {
                    ds_inner_algorithm: Some(SigAlg::Ecdsa(HashAlg::Sha512)),
                    ..F::default()
                },
                "algorithm_mismatch",
            ),
            faulty(
                "ecdsa-p384-sha384",
                "rsa-2048-pss-sha256",
                F {
                    declared_sod_algorithm: Some(SigAlg::Ecdsa(HashAlg::Sha256)),
                    ..F::default()
                },
                "algorithm_mismatch",
            ),
            faulty(
                "ecdsa-p384-sha384",
                "ecdsa-p256-sha256",
                F {
                    sod_hash: Some(HashAlg::Sha384),
                    ..F::default()
                },
                "algorithm_mismatch",
            ),
            faulty(
                "ecdsa-p384-sha384",
                "rsa-2048-pss-sha256",
                F {
                    declared_sod_algorithm: Some(SigAlg::RsaPss(HashAlg::Sha256, usize::MAX)),
                    ..F::default()
                },
                "signature_invalid",
            ),
            faulty(
                "ecdsa-p384-sha384",
                "rsa-2048-pss-sha256",
                F {
                    declared_sod_algorithm: Some(SigAlg::RsaPss(HashAlg::Sha256, 20)),
                    ..F::default()
                },
                "signature_invalid",
            ),
            faulty(
                "ecdsa-p384-sha384",
                "ecdsa-p256-sha256",
                F {
                    // id-data, 1.2.840.113549.1.7.1
                    econtent_type: Some(vec![0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]),
                    ..F::default()
                },
                "econtent_type_wrong",
            ),
            // Weak: SHA-1 anywhere, RSA under 2048 bits.
            case("ecdsa-p384-sha384", "ecdsa-p256-sha1", "weak_algorithm"),
            case("rsa-2048-pkcs1-sha1", "ecdsa-p256-sha256", "weak_algorithm"),
            case(
                "ecdsa-p384-sha384",
                "rsa-1024-pkcs1-sha256",
                "weak_algorithm",
            ),
            case("rsa-1024-pss-sha256", "ecdsa-p256-sha256", "weak_algorithm"),
            faulty(
                "ecdsa-p384-sha384",
                "ecdsa-p256-sha256",
                F {
                    sod_hash: Some(HashAlg::Sha1),
                    ..F::default()
                },
                "weak_algorithm",
            ),
        ];
        for c in &cases {
            let (verdict, _, _) = run(c);
            assert_eq!(
                verdict.code(),
                c.expect,
                "CSCA {} DS {}: {verdict:?}",
                c.csca,
                c.ds
            );
        }
    }

    #[test]
    fn tampered_and_truncated_sods_give_clean_verdicts() {
        let (verdict, sod, trust) = run(&case(
            "rsa-4096-pss-sha512",
            "rsa-2048-pss-sha256",
            "verified",
        ));
        assert_eq!(verdict, PassiveVerdict::Verified);
        let mut tampered = dgs();
        tampered.insert(2, vec![0x76; 3000]);
        assert_eq!(
            passive_authentication(Some(&sod), &tampered, &trust, NOW),
            PassiveVerdict::HashMismatch(vec![2])
        );
        // Every truncation and a flipped bit at every 5th byte: a verdict, never a panic,
        // and never "verified".
        for cut in 0..sod.len() {
            let v = passive_authentication(Some(&sod[..cut]), &dgs(), &trust, NOW);
            assert!(!v.is_verified(), "cut at {cut}");
        }
        // Flips anywhere never panic; flips in the signed content or the signature (the
        // last bytes) are never "verified". (The SignerInfo's sid and versions are unsigned.)
        let parsed = pki::parse_sod(&sod).expect("sod");
        let start = parsed.econtent.as_ptr() as usize - sod.as_ptr() as usize;
        let signed = start..start + parsed.econtent.len();
        for pos in (0..sod.len()).step_by(3) {
            let mut bad = sod.clone();
            bad[pos] ^= 0x01;
            let v = passive_authentication(Some(&bad), &dgs(), &trust, NOW);
            if signed.contains(&pos) || pos + 40 > sod.len() {
                assert!(!v.is_verified(), "bit flipped at {pos}");
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
