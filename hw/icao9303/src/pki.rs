//! The slice of X.509 and CMS that passive and active authentication need: certificates,
//! public keys, signature algorithms, the SOD's SignedData, and signature verification.
//!
//! The SOD's CMS is parsed with this crate's tolerant [`tlv`] reader: real chips emit SET OF
//! out of DER order, and every hash must be over the exact bytes read. CSCA and Document
//! Signer certificates are parsed strictly as well, with `x509-cert` (RustCrypto), for their
//! extensions (basicConstraints, keyUsage, key identifiers); the tolerant reader only slices
//! out the raw bytes that signatures cover.
//!
//! Signatures (every ICAO 9303 algorithm): ECDSA over P-256, P-384, P-521, brainpoolP256r1,
//! brainpoolP384r1 and brainpoolP512r1 (named or explicit curve parameters) through the
//! `ecdsa` crate; RSA PKCS#1 v1.5 and RSASSA-PSS through the `rsa` crate's verifiers; with
//! SHA-1/224/256/384/512. Whether SHA-1 or a short RSA key is acceptable is the caller's
//! decision (passive authentication refuses both).

use std::collections::BTreeMap;

use sha2::Digest;

use crate::ec::Curve;
use crate::tlv::{self, Tlv};
use crate::Error;

/// A hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// From a hash algorithm OID (content bytes).
    pub fn from_oid(oid: &[u8]) -> Option<Self> {
        match oid {
            [0x2B, 0x0E, 0x03, 0x02, 0x1A] => Some(Self::Sha1),
            [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, n] => match n {
                1 => Some(Self::Sha256),
                2 => Some(Self::Sha384),
                3 => Some(Self::Sha512),
                4 => Some(Self::Sha224),
                _ => None,
            },
            _ => None,
        }
    }

    /// The OID (content bytes).
    pub fn oid(self) -> &'static [u8] {
        match self {
            Self::Sha1 => &[0x2B, 0x0E, 0x03, 0x02, 0x1A],
            Self::Sha256 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
            Self::Sha384 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
            Self::Sha512 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
            Self::Sha224 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04],
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

impl std::fmt::Display for HashAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sha1 => "SHA-1",
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        })
    }
}

/// A signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigAlg {
    /// ECDSA with the hash.
    Ecdsa(HashAlg),
    /// RSA PKCS#1 v1.5 with the hash.
    RsaPkcs1(HashAlg),
    /// RSASSA-PSS with the hash (MGF1 with the same hash) and salt length.
    RsaPss(HashAlg, usize),
}

/// `id-mgf1`: 1.2.840.113549.1.1.8.
const ID_MGF1: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08];

/// The hash of a hash AlgorithmIdentifier (`SEQUENCE { OID, NULL? }`).
fn hash_of_algorithm_identifier(alg: &Tlv<'_>) -> Result<HashAlg, Error> {
    let oid = alg
        .children()?
        .into_iter()
        .next()
        .filter(|t| t.tag == 0x06)
        .ok_or(Error::Malformed("hash AlgorithmIdentifier"))?;
    HashAlg::from_oid(oid.value).ok_or(Error::Unsupported("hash algorithm"))
}

/// A non-negative INTEGER that must fit a `usize`, with checked arithmetic (a chip's salt
/// length of 2^200 is malformed, never an overflow).
fn small_uint(int: &Tlv<'_>, what: &'static str) -> Result<usize, Error> {
    if int.tag != 0x02 || int.value.first().is_none_or(|b| b & 0x80 != 0) {
        return Err(Error::Malformed(what));
    }
    strip_int(int.value).iter().try_fold(0usize, |acc, b| {
        acc.checked_mul(256)
            .and_then(|v| v.checked_add(usize::from(*b)))
            .ok_or(Error::Malformed(what))
    })
}

/// `ecdsa-with-SHA256` and friends: `1.2.840.10045.4.x`.
const ECDSA_PREFIX: [u8; 6] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04];

impl SigAlg {
    /// From a signature algorithm OID.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for anything unrecognised.
    pub fn from_oid(oid: &[u8]) -> Result<Self, Error> {
        match oid {
            [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01] => Ok(Self::Ecdsa(HashAlg::Sha1)),
            [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, n] => match n {
                1 => Ok(Self::Ecdsa(HashAlg::Sha224)),
                2 => Ok(Self::Ecdsa(HashAlg::Sha256)),
                3 => Ok(Self::Ecdsa(HashAlg::Sha384)),
                4 => Ok(Self::Ecdsa(HashAlg::Sha512)),
                _ => Err(Error::Unsupported("ECDSA hash")),
            },
            [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, n] => match n {
                0x05 => Ok(Self::RsaPkcs1(HashAlg::Sha1)),
                0x0B => Ok(Self::RsaPkcs1(HashAlg::Sha256)),
                0x0C => Ok(Self::RsaPkcs1(HashAlg::Sha384)),
                0x0D => Ok(Self::RsaPkcs1(HashAlg::Sha512)),
                0x0E => Ok(Self::RsaPkcs1(HashAlg::Sha224)),
                // PSS without parameters: the RFC 4055 defaults.
                0x0A => Ok(Self::RsaPss(HashAlg::Sha1, 20)),
                _ => Err(Error::Unsupported("RSA signature algorithm")),
            },
            _ => Err(Error::Unsupported("signature algorithm")),
        }
    }

    /// From an AlgorithmIdentifier (OID and parameters; PSS takes its hash and salt length
    /// from the parameters).
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] / [`Error::Malformed`].
    pub fn from_algorithm_identifier(alg: &Tlv<'_>) -> Result<Self, Error> {
        let parts = alg.children()?;
        let oid = parts
            .first()
            .filter(|t| t.tag == 0x06)
            .ok_or(Error::Malformed("AlgorithmIdentifier"))?;
        let base = Self::from_oid(oid.value)?;
        let (Self::RsaPss(mut hash, mut salt), Some(params)) = (base, parts.get(1)) else {
            return Ok(base);
        };
        // RSASSA-PSS-params (RFC 4055): [0] hash, [1] MGF1 with a hash, [2] salt length,
        // [3] trailer field; every one optional with SHA-1 / MGF1-SHA-1 / 20 / 1 as defaults.
        let mut mgf_hash = HashAlg::Sha1;
        if params.tag == 0x30 {
            for p in params.children()? {
                let (inner, _) = tlv::parse_one(p.value)?;
                match p.tag {
                    0xA0 => hash = hash_of_algorithm_identifier(&inner)?,
                    0xA1 => {
                        let mgf = inner.children()?;
                        match mgf.as_slice() {
                            [oid, h, ..] if oid.value == ID_MGF1 => {
                                mgf_hash = hash_of_algorithm_identifier(h)?;
                            }
                            _ => {
                                return Err(Error::Unsupported(
                                    "RSA-PSS mask generation other than MGF1",
                                ))
                            }
                        }
                    }
                    0xA2 => salt = small_uint(&inner, "RSA-PSS salt length")?,
                    0xA3 => {
                        if small_uint(&inner, "RSA-PSS trailer field")? != 1 {
                            return Err(Error::Unsupported("RSA-PSS trailer field other than 1"));
                        }
                    }
                    _ => return Err(Error::Malformed("RSA-PSS parameters")),
                }
            }
        }
        if mgf_hash != hash {
            return Err(Error::Unsupported(
                "RSA-PSS with an MGF1 hash other than the signature hash",
            ));
        }
        Ok(Self::RsaPss(hash, salt))
    }

    /// Whether `key` is of the type this algorithm signs with (EC for ECDSA, RSA for both
    /// RSA schemes).
    pub fn fits(self, key: &PublicKey) -> bool {
        matches!(
            (self, key),
            (Self::Ecdsa(_), PublicKey::Ec { .. })
                | (Self::RsaPkcs1(_) | Self::RsaPss(..), PublicKey::Rsa { .. })
        )
    }

    /// The hash the signature is computed over.
    pub fn hash(self) -> HashAlg {
        match self {
            Self::Ecdsa(h) | Self::RsaPkcs1(h) | Self::RsaPss(h, _) => h,
        }
    }

    /// The OID of an ECDSA algorithm.
    pub fn ecdsa_oid(hash: HashAlg) -> Vec<u8> {
        let mut v = ECDSA_PREFIX.to_vec();
        match hash {
            HashAlg::Sha1 => v.push(0x01),
            HashAlg::Sha224 => v.extend_from_slice(&[0x03, 0x01]),
            HashAlg::Sha256 => v.extend_from_slice(&[0x03, 0x02]),
            HashAlg::Sha384 => v.extend_from_slice(&[0x03, 0x03]),
            HashAlg::Sha512 => v.extend_from_slice(&[0x03, 0x04]),
        }
        v
    }
}

impl std::fmt::Display for SigAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ecdsa(h) => write!(f, "ECDSA with {h}"),
            Self::RsaPkcs1(h) => write!(f, "RSA PKCS#1 v1.5 with {h}"),
            Self::RsaPss(h, salt) => write!(f, "RSA-PSS with {h} (salt {salt} bytes)"),
        }
    }
}

/// A public key from a SubjectPublicKeyInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// An EC point on a supported curve.
    Ec {
        /// The curve.
        curve: Curve,
        /// Uncompressed point.
        point: Vec<u8>,
    },
    /// An RSA key.
    Rsa {
        /// Modulus, big-endian, no leading zeros.
        n: Vec<u8>,
        /// Public exponent, big-endian.
        e: Vec<u8>,
    },
}

impl PublicKey {
    /// The modulus length in bits of an RSA key; `None` for EC keys.
    pub fn rsa_bits(&self) -> Option<usize> {
        match self {
            Self::Rsa { n, .. } => {
                let lead = n.first().map_or(8, |b| b.leading_zeros() as usize);
                Some((n.len() * 8).saturating_sub(lead))
            }
            Self::Ec { .. } => None,
        }
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ec { curve, .. } => write!(f, "EC {}", curve.name()),
            Self::Rsa { .. } => write!(f, "RSA-{}", self.rsa_bits().unwrap_or(0)),
        }
    }
}

const ID_EC_PUBLIC_KEY: [u8; 7] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const RSA_ENCRYPTION: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

pub(crate) fn strip_int(v: &[u8]) -> &[u8] {
    let skip = v.iter().take_while(|b| **b == 0).count();
    &v[skip.min(v.len().saturating_sub(1))..]
}

fn curve_of_params(params: &Tlv<'_>) -> Result<Curve, Error> {
    match params.tag {
        0x06 => Curve::from_oid(params.value).ok_or(Error::Unsupported(
            "EC curve other than P-256/384/521 or brainpoolP256r1/384r1/512r1",
        )),
        0x30 => curve_of_explicit_params(params),
        _ => Err(Error::Malformed("EC parameters")),
    }
}

/// `prime-field`: 1.2.840.10045.1.1.
const PRIME_FIELD: [u8; 7] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01];

/// Explicit `ECParameters { version, fieldID { prime-field, p }, curve { a, b, seed? }, base,
/// order, cofactor? }` (SEC 1 §C.2), matched against the known curves by every parameter
/// (a prime alone would let a key on another curve over the same field pass as known).
fn curve_of_explicit_params(params: &Tlv<'_>) -> Result<Curve, Error> {
    let parts = params.children()?;
    let [_version, field, coefficients, base, order, rest @ ..] = parts.as_slice() else {
        return Err(Error::Malformed("EC parameters"));
    };
    let field = field.children()?;
    let [field_type, prime, ..] = field.as_slice() else {
        return Err(Error::Malformed("EC field"));
    };
    if field_type.value != PRIME_FIELD {
        return Err(Error::Unsupported("EC curve over a binary field"));
    }
    let ab = coefficients.children()?;
    let [a, b, ..] = ab.as_slice() else {
        return Err(Error::Malformed("EC curve coefficients"));
    };
    let cofactor = match rest.first() {
        Some(h) => strip_int(h.value),
        None => &[1],
    };
    let unsupported = Error::Unsupported("EC domain parameters of no supported curve");
    let curve = Curve::ALL
        .into_iter()
        .find(|c| {
            let d = c.domain_parameters();
            strip_int(prime.value) == strip_int(&d.p)
                && strip_int(a.value) == strip_int(&d.a)
                && strip_int(b.value) == strip_int(&d.b)
                && strip_int(order.value) == strip_int(&d.n)
                && cofactor == [d.cofactor]
        })
        .ok_or(unsupported)?;
    // The base point may be compressed: compare it decoded.
    let generator = curve
        .validate(base.value)
        .map_err(|_| Error::Unsupported("EC domain parameters of no supported curve"))?;
    if generator != curve.domain_parameters().generator {
        return Err(Error::Unsupported(
            "EC domain parameters of no supported curve",
        ));
    }
    Ok(curve)
}

/// Parses a SubjectPublicKeyInfo.
///
/// # Errors
///
/// [`Error::Malformed`] / [`Error::Unsupported`].
pub fn parse_spki(spki: &[u8]) -> Result<PublicKey, Error> {
    let (spki, _) = tlv::parse_one(spki)?;
    let parts = spki.children()?;
    let (Some(alg), Some(bits)) = (parts.first(), parts.get(1)) else {
        return Err(Error::Malformed("SubjectPublicKeyInfo"));
    };
    let alg = alg.children()?;
    let oid = alg
        .first()
        .filter(|t| t.tag == 0x06)
        .ok_or(Error::Malformed("SPKI algorithm"))?;
    let key = bits
        .value
        .get(1..)
        .ok_or(Error::Malformed("SPKI bit string"))?;
    if oid.value == ID_EC_PUBLIC_KEY {
        let params = alg
            .get(1)
            .ok_or(Error::Malformed("EC parameters missing"))?;
        let curve = curve_of_params(params)?;
        let point = curve.validate(key)?;
        Ok(PublicKey::Ec { curve, point })
    } else if oid.value == RSA_ENCRYPTION {
        let (seq, _) = tlv::parse_one(key)?;
        let parts = seq.children()?;
        let [n, e, ..] = parts.as_slice() else {
            return Err(Error::Malformed("RSA key"));
        };
        Ok(PublicKey::Rsa {
            n: strip_int(n.value).to_vec(),
            e: strip_int(e.value).to_vec(),
        })
    } else {
        Err(Error::Unsupported("public key algorithm"))
    }
}

/// Verifies `sig` over `message` with `key` and `alg`.
///
/// # Errors
///
/// [`Error::Crypto`] if it does not verify or the key does not fit the algorithm.
pub fn verify(key: &PublicKey, alg: SigAlg, message: &[u8], sig: &[u8]) -> Result<(), Error> {
    let hash = alg.hash().digest(message);
    match (key, alg) {
        (PublicKey::Ec { curve, point }, SigAlg::Ecdsa(_)) => {
            curve.ecdsa_verify_prehash(point, &hash, sig)
        }
        (PublicKey::Rsa { n, e }, SigAlg::RsaPkcs1(h)) => {
            let key = rsa_key(n, e)?;
            let sig = pad_to_modulus(&key, sig)?;
            // The rsa crate's verifier with the DigestInfo prefix of `h`; some signers omit
            // the NULL parameters, so both encodings are accepted.
            let ok = [true, false].into_iter().any(|with_null| {
                let scheme = rsa::Pkcs1v15Sign {
                    hash_len: Some(hash.len()),
                    prefix: digest_info_prefix(h, hash.len(), with_null).into_boxed_slice(),
                };
                key.verify(scheme, &hash, &sig).is_ok()
            });
            ok.then_some(())
                .ok_or(Error::Crypto("RSA PKCS#1 v1.5 signature does not verify"))
        }
        (PublicKey::Rsa { n, e }, SigAlg::RsaPss(h, salt_len)) => {
            let key = rsa_key(n, e)?;
            let sig = pad_to_modulus(&key, sig)?;
            // The rsa crate's PSS verifier checks emLen >= hLen + sLen + 2 with checked
            // arithmetic, so any salt length from the chip is safe here.
            let result = with_pss!(h, salt_len, |pss| key.verify(pss, &hash, &sig));
            result.map_err(|_| Error::Crypto("RSA-PSS signature does not verify"))
        }
        _ => Err(Error::Crypto(
            "key type does not match the signature algorithm",
        )),
    }
}

/// `$body` with `$pss` bound to the `rsa` crate's PSS scheme for hash `$h` and salt length
/// `$salt` (the scheme's digest is a type parameter, hence the dispatch).
macro_rules! with_pss {
    ($h:expr, $salt:expr, |$pss:ident| $body:expr) => {
        match $h {
            HashAlg::Sha1 => {
                let $pss = rsa::Pss::<sha1::Sha1>::new_with_salt($salt);
                $body
            }
            HashAlg::Sha224 => {
                let $pss = rsa::Pss::<sha2::Sha224>::new_with_salt($salt);
                $body
            }
            HashAlg::Sha256 => {
                let $pss = rsa::Pss::<sha2::Sha256>::new_with_salt($salt);
                $body
            }
            HashAlg::Sha384 => {
                let $pss = rsa::Pss::<sha2::Sha384>::new_with_salt($salt);
                $body
            }
            HashAlg::Sha512 => {
                let $pss = rsa::Pss::<sha2::Sha512>::new_with_salt($salt);
                $body
            }
        }
    };
}
pub(crate) use with_pss;

/// The `DigestInfo` DER that precedes the hash in a PKCS#1 v1.5 signature.
pub(crate) fn digest_info_prefix(h: HashAlg, hash_len: usize, with_null: bool) -> Vec<u8> {
    let mut alg = tlv::encode(0x06, h.oid());
    if with_null {
        alg.extend_from_slice(&[0x05, 0x00]);
    }
    let alg = tlv::encode(0x30, &alg);
    let mut full = tlv::encode(0x30, &[alg, tlv::encode(0x04, &vec![0; hash_len])].concat());
    full.truncate(full.len() - hash_len);
    full
}

/// The smallest and largest RSA moduli [`verify`] and [`rsa_public`] accept, in bits. ICAO
/// 9303 keys in the field are 2048-4096 bits; 1024 is accepted here because old Active
/// Authentication keys and test material use it. Passive authentication refuses anything
/// below 2048 bits with its own verdict (see `auth`).
const RSA_BITS: std::ops::RangeInclusive<usize> = 1024..=8192;

/// An RSA public key from big-endian modulus and exponent.
fn rsa_key(n: &[u8], e: &[u8]) -> Result<rsa::PublicKey, Error> {
    let n = rsa::BoxedUint::from_be_slice_vartime(strip_int(n));
    let e = rsa::BoxedUint::from_be_slice_vartime(strip_int(e));
    rsa::PublicKey::new_with_size_limits(n, e, RSA_BITS)
        .map_err(|_| Error::Crypto("bad RSA public key"))
}

/// The signature left-padded to the modulus length (some signers drop leading zero bytes).
fn pad_to_modulus(key: &rsa::PublicKey, sig: &[u8]) -> Result<Vec<u8>, Error> {
    use rsa::traits::PublicKeyParts;
    let size = key.size();
    let pad = size
        .checked_sub(sig.len())
        .ok_or(Error::Crypto("RSA signature longer than the modulus"))?;
    let mut out = vec![0u8; pad];
    out.extend_from_slice(sig);
    Ok(out)
}

/// Raw RSA: `sig^e mod n`, left-padded to the modulus length. For ISO/IEC 9796-2 message
/// recovery (RSA Active Authentication), which has no verifier in the `rsa` crate.
///
/// # Errors
///
/// [`Error::Crypto`] for a key outside 1024-8192 bits or an even modulus, or a signature not
/// below the modulus.
#[allow(
    dead_code,
    reason = "RSA Active Authentication (ISO/IEC 9796-2) calls it; tests use it now"
)]
pub(crate) fn rsa_public(n: &[u8], e: &[u8], sig: &[u8]) -> Result<Vec<u8>, Error> {
    use rsa::traits::PublicKeyParts;
    let key = rsa_key(n, e)?;
    let sig = pad_to_modulus(&key, sig)?;
    let s = rsa::BoxedUint::from_be_slice(&sig, key.n_bits_precision())
        .map_err(|_| Error::Crypto("RSA signature out of range"))?;
    if s >= *key.n().as_ref() {
        return Err(Error::Crypto("RSA signature out of range"));
    }
    let m =
        rsa::hazmat::rsa_encrypt(&key, &s).map_err(|_| Error::Crypto("RSA operation failed"))?;
    let bytes = m.to_be_bytes();
    let size = key.size();
    // m < n, so every byte before the modulus length is zero.
    let start = bytes.len().saturating_sub(size);
    let mut out = vec![0u8; size.saturating_sub(bytes.len())];
    out.extend_from_slice(&bytes[start..]);
    Ok(out)
}

/// An X.509 certificate, borrowing from its DER.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Certificate<'a> {
    /// The whole certificate.
    pub raw: &'a [u8],
    /// The signed part.
    pub tbs: &'a [u8],
    /// Signature algorithm.
    pub sig_alg: Result<SigAlg, Error>,
    /// Signature bits.
    pub signature: &'a [u8],
    /// Issuer name, raw DER (compared byte for byte).
    pub issuer: &'a [u8],
    /// Subject name, raw DER.
    pub subject: &'a [u8],
    /// Validity start as `YYYYMMDDHHMMSS`.
    pub not_before: String,
    /// Validity end as `YYYYMMDDHHMMSS`.
    pub not_after: String,
    /// Subject public key info, raw DER.
    pub spki: &'a [u8],
    /// Whether the signature AlgorithmIdentifier inside the signed part equals the outer one
    /// byte for byte (RFC 5280 §4.1.1.2).
    pub algorithms_agree: bool,
    /// basicConstraints cA; `None` when the extension is absent.
    pub ca: Option<bool>,
    /// keyUsage; `None` when the extension is absent.
    pub key_usage: Option<KeyUsage>,
    /// subjectKeyIdentifier.
    pub subject_key_id: Option<Vec<u8>>,
    /// authorityKeyIdentifier's keyIdentifier.
    pub authority_key_id: Option<Vec<u8>>,
}

/// The keyUsage bits passive authentication looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyUsage {
    /// digitalSignature: what a Document Signer needs.
    pub digital_signature: bool,
    /// keyCertSign: what a CSCA needs.
    pub key_cert_sign: bool,
}

/// The extensions of a certificate, decoded strictly with `x509-cert`.
struct Extensions {
    ca: Option<bool>,
    key_usage: Option<KeyUsage>,
    subject_key_id: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
}

fn strict_extensions(raw: &[u8]) -> Result<Extensions, Error> {
    use der::Decode as _;
    use x509_cert::ext::pkix::{
        AuthorityKeyIdentifier, BasicConstraints, KeyUsage as X509KeyUsage, SubjectKeyIdentifier,
    };
    let bad = |_| Error::Malformed("certificate is not DER X.509");
    let cert = x509_cert::Certificate::from_der(raw).map_err(bad)?;
    let tbs = cert.tbs_certificate();
    let ext_bad = |_| Error::Malformed("certificate extension is not DER");
    Ok(Extensions {
        ca: tbs
            .get_extension::<BasicConstraints>()
            .map_err(ext_bad)?
            .map(|(_, bc)| bc.ca),
        key_usage: tbs
            .get_extension::<X509KeyUsage>()
            .map_err(ext_bad)?
            .map(|(_, ku)| KeyUsage {
                digital_signature: ku.digital_signature(),
                key_cert_sign: ku.key_cert_sign(),
            }),
        subject_key_id: tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(ext_bad)?
            .map(|(_, ski)| ski.0.as_bytes().to_vec()),
        authority_key_id: tbs
            .get_extension::<AuthorityKeyIdentifier>()
            .map_err(ext_bad)?
            .and_then(|(_, aki)| aki.key_identifier.map(|k| k.as_bytes().to_vec())),
    })
}

fn time_of(t: &Tlv<'_>) -> Result<String, Error> {
    let s = std::str::from_utf8(t.value).map_err(|_| Error::Malformed("certificate time"))?;
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    match (t.tag, digits.len()) {
        (0x17, 12) => {
            let yy: u32 = digits[..2]
                .parse()
                .map_err(|_| Error::Malformed("UTCTime"))?;
            let century = if yy >= 50 { "19" } else { "20" };
            Ok(format!("{century}{digits}"))
        }
        (0x18, 14) => Ok(digits),
        _ => Err(Error::Malformed("certificate time")),
    }
}

/// Parses a certificate: strictly (DER X.509, with `x509-cert`), and slices out the raw
/// signed part, names and key.
///
/// # Errors
///
/// [`Error::Malformed`] if it is not a DER X.509 certificate.
pub fn parse_certificate(raw: &[u8]) -> Result<Certificate<'_>, Error> {
    let (cert, _) = tlv::parse_one(raw)?;
    let parts = cert.children()?;
    let [tbs, alg, sig, ..] = parts.as_slice() else {
        return Err(Error::Malformed("certificate"));
    };
    let fields = tbs.children()?;
    // Skip the optional [0] version.
    let f: Vec<&Tlv<'_>> = fields.iter().filter(|t| t.tag != 0xA0).collect();
    let [_serial, inner_alg, issuer, validity, subject, spki, ..] = f.as_slice() else {
        return Err(Error::Malformed("TBSCertificate"));
    };
    let v = validity.children()?;
    let [nb, na] = v.as_slice() else {
        return Err(Error::Malformed("validity"));
    };
    let ext = strict_extensions(cert.raw)?;
    Ok(Certificate {
        algorithms_agree: inner_alg.raw == alg.raw,
        ca: ext.ca,
        key_usage: ext.key_usage,
        subject_key_id: ext.subject_key_id,
        authority_key_id: ext.authority_key_id,
        raw: cert.raw,
        tbs: tbs.raw,
        sig_alg: SigAlg::from_algorithm_identifier(alg),
        signature: sig
            .value
            .get(1..)
            .ok_or(Error::Malformed("signature bits"))?,
        issuer: issuer.raw,
        subject: subject.raw,
        not_before: time_of(nb)?,
        not_after: time_of(na)?,
        spki: spki.raw,
    })
}

impl Certificate<'_> {
    /// Verifies this certificate's signature with `issuer_key`.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] / [`Error::Unsupported`].
    pub fn verify_signed_by(&self, issuer_key: &PublicKey) -> Result<(), Error> {
        verify(issuer_key, self.sig_alg.clone()?, self.tbs, self.signature)
    }

    /// Whether `now` (`YYYYMMDDHHMMSS`) is within the validity period.
    pub fn valid_at(&self, now: &str) -> bool {
        self.not_before.as_str() <= now && now <= self.not_after.as_str()
    }
}

/// The parsed EF.SOD.
#[derive(Debug, Clone)]
pub struct Sod<'a> {
    /// Hash algorithm of the data group hashes.
    pub hash_alg: HashAlg,
    /// Data group number -> hash.
    pub dg_hashes: BTreeMap<u8, Vec<u8>>,
    /// The encapsulated LDSSecurityObject (what messageDigest covers).
    pub econtent: &'a [u8],
    /// eContentType (OID content bytes): `id-icao-mrtd-security-ldsSecurityObject` on a
    /// genuine SOD.
    pub econtent_type: &'a [u8],
    /// Signed attributes (content of the `[0]`), if present.
    pub signed_attrs: Option<Tlv<'a>>,
    /// Digest algorithm of the signer.
    pub signer_hash: HashAlg,
    /// Signature algorithm of the signer.
    pub sig_alg: Result<SigAlg, Error>,
    /// The signature.
    pub signature: &'a [u8],
    /// The Document Signer certificate embedded in the SOD.
    pub ds_certificate: Option<&'a [u8]>,
}

/// `id-icao-mrtd-security-ldsSecurityObject`: 2.23.136.1.1.1.
pub const LDS_SECURITY_OBJECT: [u8; 6] = [0x67, 0x81, 0x08, 0x01, 0x01, 0x01];

/// The SignerInfo's signatureAlgorithm. CMS signers often name only the key type there
/// (`rsaEncryption`, `id-ecPublicKey`); the hash is then the digestAlgorithm's.
fn signer_sig_alg(alg: &Tlv<'_>, signer_hash: HashAlg) -> Result<SigAlg, Error> {
    let oid = alg
        .children()?
        .into_iter()
        .next()
        .filter(|t| t.tag == 0x06)
        .ok_or(Error::Malformed("AlgorithmIdentifier"))?;
    match oid.value {
        v if v == RSA_ENCRYPTION => Ok(SigAlg::RsaPkcs1(signer_hash)),
        v if v == ID_EC_PUBLIC_KEY => Ok(SigAlg::Ecdsa(signer_hash)),
        _ => SigAlg::from_algorithm_identifier(alg),
    }
}

/// `id-signedData`: 1.2.840.113549.1.7.2.
const ID_SIGNED_DATA: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];

/// `id-messageDigest`: 1.2.840.113549.1.9.4.
const ID_MESSAGE_DIGEST: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04];

/// Parses EF.SOD: `77 { ContentInfo { signedData, [0] SignedData } }`.
///
/// # Errors
///
/// [`Error::Malformed`] / [`Error::Unsupported`].
pub fn parse_sod(raw: &[u8]) -> Result<Sod<'_>, Error> {
    let (sod, _) = tlv::parse_one(raw)?;
    if sod.tag != 0x77 {
        return Err(Error::Malformed("EF.SOD tag is not 77"));
    }
    let (ci, _) = tlv::parse_one(sod.value)?;
    let ci = ci.children()?;
    if ci.first().map(|t| t.value) != Some(&ID_SIGNED_DATA[..]) {
        return Err(Error::Malformed("EF.SOD is not CMS SignedData"));
    }
    let signed = ci.get(1).ok_or(Error::Malformed("ContentInfo"))?;
    let (sd, _) = tlv::parse_one(signed.value)?;
    let sd = sd.children()?;
    let encap = sd
        .iter()
        .find(|t| t.tag == 0x30)
        .ok_or(Error::Malformed("encapContentInfo"))?;
    let econtent_type = encap
        .children()?
        .into_iter()
        .next()
        .filter(|t| t.tag == 0x06)
        .ok_or(Error::Malformed("eContentType"))?
        .value;
    let econtent_wrap = encap.child(0xA0)?;
    let econtent = econtent_wrap.child(0x04)?.value;
    let certificates = sd.iter().find(|t| t.tag == 0xA0);
    let signer_infos = sd
        .iter()
        .rfind(|t| t.tag == 0x31)
        .ok_or(Error::Malformed("signerInfos"))?;
    let signer = signer_infos
        .children()?
        .into_iter()
        .next()
        .ok_or(Error::Malformed("no SignerInfo"))?;
    let si = signer.children()?;
    // version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature.
    let digest_alg = si.get(2).ok_or(Error::Malformed("SignerInfo"))?;
    let mut rest = &si[3..];
    let signed_attrs = match rest.first() {
        Some(t) if t.tag == 0xA0 => {
            rest = &rest[1..];
            Some(*t)
        }
        _ => None,
    };
    let [sig_alg, signature, ..] = rest else {
        return Err(Error::Malformed("SignerInfo"));
    };
    let oid_of = |t: &Tlv<'_>| -> Result<Vec<u8>, Error> {
        Ok(t.children()?
            .into_iter()
            .next()
            .ok_or(Error::Malformed("AlgorithmIdentifier"))?
            .value
            .to_vec())
    };
    let signer_hash =
        HashAlg::from_oid(&oid_of(digest_alg)?).ok_or(Error::Unsupported("digest algorithm"))?;

    // LDSSecurityObject { version, hashAlgorithm, dataGroupHashValues }.
    let (lso, _) = tlv::parse_one(econtent)?;
    let lso = lso.children()?;
    let hash_alg = HashAlg::from_oid(&oid_of(
        lso.get(1).ok_or(Error::Malformed("LDSSecurityObject"))?,
    )?)
    .ok_or(Error::Unsupported("data group hash algorithm"))?;
    let mut dg_hashes = BTreeMap::new();
    for dgh in lso
        .get(2)
        .ok_or(Error::Malformed("LDSSecurityObject"))?
        .children()?
    {
        let p = dgh.children()?;
        let [n, h] = p.as_slice() else {
            return Err(Error::Malformed("DataGroupHash"));
        };
        let n = match n.value {
            [n] if (1..=16).contains(n) => *n,
            _ => return Err(Error::Malformed("data group number")),
        };
        dg_hashes.insert(n, h.value.to_vec());
    }
    Ok(Sod {
        hash_alg,
        dg_hashes,
        econtent,
        signed_attrs,
        signer_hash,
        sig_alg: signer_sig_alg(sig_alg, signer_hash),
        econtent_type,
        signature: signature.value,
        ds_certificate: certificates
            .and_then(|c| tlv::parse_one(c.value).ok())
            .map(|(t, _)| t.raw),
    })
}

impl Sod<'_> {
    /// Checks the signer's signature with the DS key (and the messageDigest attribute).
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if anything does not match; [`Error::Unsupported`] for RSA.
    pub fn verify_signature(&self, ds_key: &PublicKey) -> Result<(), Error> {
        let signed = match &self.signed_attrs {
            Some(attrs) => {
                let digest = self.signer_hash.digest(self.econtent);
                let mut found = false;
                for attr in attrs.children()? {
                    let a = attr.children()?;
                    if a.first().is_some_and(|o| o.value == ID_MESSAGE_DIGEST) {
                        let v = a.get(1).ok_or(Error::Malformed("messageDigest"))?;
                        let md = v.child(0x04)?;
                        if md.value != digest.as_slice() {
                            return Err(Error::Crypto("messageDigest does not match the content"));
                        }
                        found = true;
                    }
                }
                if !found {
                    return Err(Error::Crypto("no messageDigest attribute"));
                }
                // The signature covers the attributes re-tagged as a SET (RFC 5652 §5.4).
                let mut der = attrs.raw.to_vec();
                der[0] = 0x31;
                der
            }
            None => self.econtent.to_vec(),
        };
        verify(ds_key, self.sig_alg.clone()?, &signed, self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_pkcs1_and_pss_verify_and_reject() {
        use rsa::traits::PublicKeyParts;
        let mut rng = crate::issue::TestRng::new(0x9E37_79B9_7F4A_7C15);
        let private = rsa::PrivateKey::new(&mut rng, 1024).expect("keygen");
        let n = private.n_bytes().to_vec();
        let e = private.e_bytes().to_vec();
        let key = PublicKey::Rsa {
            n: strip_int(&n).to_vec(),
            e: strip_int(&e).to_vec(),
        };
        let msg = b"LDS security object";
        let hash = HashAlg::Sha256.digest(msg);

        let sig = private
            .sign_with_rng(&mut rng, rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hash)
            .expect("sign");
        let alg = SigAlg::RsaPkcs1(HashAlg::Sha256);
        assert!(verify(&key, alg, msg, &sig).is_ok());
        assert!(verify(&key, alg, b"other", &sig).is_err());
        assert!(verify(&key, SigAlg::RsaPkcs1(HashAlg::Sha384), msg, &sig).is_err());

        // Raw RSA recovers the PKCS#1 v1.5 encoding: 00 01 FF .. FF 00 DigestInfo hash.
        let em = rsa_public(&n, &e, &sig).expect("raw");
        assert_eq!(em.len(), 128);
        assert_eq!(&em[..3], &[0x00, 0x01, 0xFF]);
        assert!(em.ends_with(&hash));
        assert!(rsa_public(&n, &e, &n).is_err(), "s = n is out of range");

        let sig = private
            .sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha256>::new_with_salt(32), &hash)
            .expect("sign");
        let alg = SigAlg::RsaPss(HashAlg::Sha256, 32);
        assert!(verify(&key, alg, msg, &sig).is_ok());
        assert!(verify(&key, alg, b"other", &sig).is_err());
        assert!(verify(&key, SigAlg::RsaPss(HashAlg::Sha256, 20), msg, &sig).is_err());
        // A salt longer than the encoding, up to usize::MAX: a clean error, never a panic.
        for salt in [95, 96, 200, usize::MAX / 2, usize::MAX] {
            assert!(verify(&key, SigAlg::RsaPss(HashAlg::Sha256, salt), msg, &sig).is_err());
        }
    }
}
