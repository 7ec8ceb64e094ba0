//! Issuing side, for the virtual card and tests: a CSCA -> Document Signer -> SOD chain with
//! any ICAO 9303 signature algorithm (ECDSA on the six curves of [`Curve`], RSA PKCS#1 v1.5
//! and PSS), encoded by hand in DER so that forgeries (a huge PSS salt, a wrong eContentType,
//! disagreeing algorithm fields) can be made as easily as genuine documents.
//!
//! Nothing here is used on the kiosk's read path. Keys made here are TEST keys.

use std::collections::BTreeMap;

use crate::ec::Curve;
use crate::lds::encode_uint;
use crate::pki::{self, HashAlg, PublicKey, SigAlg};
use crate::tlv::encode;
use crate::Error;

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    encode(0x30, &parts.concat())
}

fn set(parts: &[&[u8]]) -> Vec<u8> {
    encode(0x31, &parts.concat())
}

fn oid(v: &[u8]) -> Vec<u8> {
    encode(0x06, v)
}

fn int_bytes(v: &[u8]) -> Vec<u8> {
    let skip = v
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(v.len().saturating_sub(1));
    let mut value = v[skip..].to_vec();
    if value.first().is_some_and(|b| b & 0x80 != 0) {
        value.insert(0, 0);
    }
    encode(0x02, &value)
}

/// A distinguished name `C=VN, O=..., CN=cn`.
pub fn name(cn: &str) -> Vec<u8> {
    let rdn =
        |attr: &[u8], tag: u32, v: &str| set(&[&seq(&[&oid(attr), &encode(tag, v.as_bytes())])]);
    seq(&[
        &rdn(&[0x55, 0x04, 0x06], 0x13, "VN"),
        &rdn(&[0x55, 0x04, 0x0A], 0x0C, "CCCD Kiosk Test PKI"),
        &rdn(&[0x55, 0x04, 0x03], 0x0C, cn),
    ])
}

/// An EC SubjectPublicKeyInfo with a named curve.
pub fn ec_spki(curve: Curve, point: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    seq(&[
        &seq(&[
            &oid(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]),
            &oid(curve.oid()),
        ]),
        &encode(0x03, &bits),
    ])
}

/// An EC SubjectPublicKeyInfo with explicit domain parameters (SEC 1 `ECParameters`), as
/// many ICAO certificates and DG15 carry them.
pub fn ec_spki_explicit(curve: Curve, point: &[u8]) -> Vec<u8> {
    let d = curve.domain_parameters();
    let params = seq(&[
        &encode_uint(1),
        &seq(&[
            &oid(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01]),
            &int_bytes(&d.p),
        ]),
        &seq(&[&encode(0x04, &d.a), &encode(0x04, &d.b)]),
        &encode(0x04, &d.generator),
        &int_bytes(&d.n),
        &encode_uint(u64::from(d.cofactor)),
    ]);
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    seq(&[
        &seq(&[&oid(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]), &params]),
        &encode(0x03, &bits),
    ])
}

/// An RSA SubjectPublicKeyInfo.
pub fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(&seq(&[&int_bytes(n), &int_bytes(e)]));
    seq(&[
        &seq(&[
            &oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]),
            &[0x05, 0x00],
        ]),
        &encode(0x03, &bits),
    ])
}

/// A DER `Ecdsa-Sig-Value` from plain `r || s`.
pub fn ecdsa_der(plain: &[u8]) -> Vec<u8> {
    let (r, s) = plain.split_at(plain.len() / 2);
    seq(&[&int_bytes(r), &int_bytes(s)])
}

/// A hash AlgorithmIdentifier with NULL parameters.
fn hash_alg_id(h: HashAlg) -> Vec<u8> {
    seq(&[&oid(h.oid()), &[0x05, 0x00]])
}

/// The DER AlgorithmIdentifier of a signature algorithm (PSS with its RFC 4055 parameters:
/// MGF1 with the signature hash, and the salt length).
pub fn algorithm_identifier(alg: SigAlg) -> Vec<u8> {
    const PKCS1: [u8; 8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01];
    match alg {
        SigAlg::RsaPkcs1(h) => {
            let n = match h {
                HashAlg::Sha1 => 0x05,
                HashAlg::Sha224 => 0x0E,
                HashAlg::Sha256 => 0x0B,
                HashAlg::Sha384 => 0x0C,
                HashAlg::Sha512 => 0x0D,
            };
            seq(&[&oid(&[&PKCS1[..], &[n]].concat()), &[0x05, 0x00]])
        }
        SigAlg::RsaPss(h, salt) => {
            let mgf1 = seq(&[&oid(&[&PKCS1[..], &[0x08]].concat()), &hash_alg_id(h)]);
            let salt = u64::try_from(salt).unwrap_or(u64::MAX);
            seq(&[
                &oid(&[&PKCS1[..], &[0x0A]].concat()),
                &seq(&[
                    &encode(0xA0, &hash_alg_id(h)),
                    &encode(0xA1, &mgf1),
                    &encode(0xA2, &int_bytes(&salt.to_be_bytes())),
                ]),
            ])
        }
        // SigAlg is non-exhaustive for callers only; ECDSA and anything later name no params.
        _ => seq(&[&oid(&SigAlg::ecdsa_oid(alg.hash()))]),
    }
}

/// A deterministic byte stream (xorshift64) for TEST key generation and PSS salts, so a
/// profile gives the same keys on every start. Not a cryptographic RNG: never for real keys.
#[derive(Debug, Clone)]
pub struct TestRng(u64);

impl TestRng {
    /// A stream from `seed` (zero is replaced: xorshift has no zero state).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
}

impl rsa::rand_core::TryRng for TestRng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Ok(self.0)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dest.chunks_mut(8) {
            let v = self.try_next_u64()?.to_be_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

// The marker the rsa crate asks for; the stream is deterministic on purpose (test keys only).
impl rsa::rand_core::TryCryptoRng for TestRng {}

/// A TEST signing key for the issuing side.
#[derive(Clone)]
#[non_exhaustive]
pub enum Signer {
    /// An EC key.
    Ec {
        /// The curve.
        curve: Curve,
        /// The secret scalar, big-endian.
        secret: Vec<u8>,
    },
    /// An RSA key.
    Rsa(Box<rsa::PrivateKey>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.public_key())
    }
}

impl Signer {
    /// An EC key from its secret scalar.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if the scalar is zero or not below the order.
    pub fn ec(curve: Curve, secret: &[u8]) -> Result<Self, Error> {
        curve.mul_generator(secret)?;
        Ok(Self::Ec {
            curve,
            secret: secret.to_vec(),
        })
    }

    /// A fresh EC key, deterministic in `rng`.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] only if the stream never yields a valid scalar.
    pub fn ec_generate(curve: Curve, rng: &mut TestRng) -> Result<Self, Error> {
        use rsa::rand_core::Rng as _;
        for _ in 0..64 {
            let mut k = vec![0u8; curve.field_len()];
            rng.fill_bytes(&mut k);
            if curve == Curve::P521 {
                k[0] &= 0x01;
            }
            if let Ok(s) = Self::ec(curve, &k) {
                return Ok(s);
            }
        }
        Err(Error::Crypto("no valid EC scalar"))
    }

    /// A fresh RSA key of `bits` with e = 65537, deterministic in `rng`. Slow for 3072 and
    /// 4096 bits in a debug build: see [`Signer::test_only_rsa`].
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if generation fails.
    pub fn rsa_generate(bits: usize, rng: &mut TestRng) -> Result<Self, Error> {
        rsa::PrivateKey::new(rng, bits)
            .map(|k| Self::Rsa(Box::new(k)))
            .map_err(|_| Error::Crypto("RSA key generation failed"))
    }

    /// An RSA key from PKCS#8 DER.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] if it is not an RSA PKCS#8 key.
    pub fn rsa_from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        use rsa::pkcs8::DecodePrivateKey as _;
        rsa::PrivateKey::from_pkcs8_der(der)
            .map(|k| Self::Rsa(Box::new(k)))
            .map_err(|_| Error::Malformed("RSA PKCS#8 key"))
    }

    /// One of the fixed TEST RSA keys of 2048, 3072 or 4096 bits in `hw/icao9303/testdata`
    /// (public, test-only: generating a 4096-bit key costs about a second per card start in a
    /// debug build).
    ///
    /// # Errors
    ///
    /// [`Error::BadInput`] for another size.
    pub fn test_only_rsa(bits: usize) -> Result<Self, Error> {
        let der: &[u8] = match bits {
            2048 => include_bytes!("../testdata/test-only-rsa-2048.pk8"),
            3072 => include_bytes!("../testdata/test-only-rsa-3072.pk8"),
            4096 => include_bytes!("../testdata/test-only-rsa-4096.pk8"),
            _ => return Err(Error::BadInput("test RSA keys are 2048, 3072 or 4096 bits")),
        };
        Self::rsa_from_pkcs8_der(der)
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Ec { curve, secret } => PublicKey::Ec {
                curve: *curve,
                point: curve.mul_generator(secret).unwrap_or_default(),
            },
            Self::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                PublicKey::Rsa {
                    n: pki::strip_int(&k.n_bytes()).to_vec(),
                    e: pki::strip_int(&k.e_bytes()).to_vec(),
                }
            }
        }
    }

    /// The SubjectPublicKeyInfo (EC keys with a named curve).
    pub fn spki(&self) -> Vec<u8> {
        match self.public_key() {
            PublicKey::Ec { curve, point } => ec_spki(curve, &point),
            PublicKey::Rsa { n, e } => rsa_spki(&n, &e),
        }
    }

    /// Signs `data` (hashing it with the algorithm's hash): ECDSA as a DER `Ecdsa-Sig-Value`,
    /// RSA as the modulus-length signature. PSS salts come from `rng`.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if the key does not fit the algorithm or signing fails.
    pub fn sign(&self, alg: SigAlg, data: &[u8], rng: &mut TestRng) -> Result<Vec<u8>, Error> {
        let hash = alg.hash().digest(data);
        let failed = |_| Error::Crypto("RSA signing failed");
        match (self, alg) {
            (Self::Ec { curve, secret }, SigAlg::Ecdsa(_)) => {
                Ok(ecdsa_der(&curve.ecdsa_sign_prehash(secret, &hash)?))
            }
            (Self::Rsa(k), SigAlg::RsaPkcs1(h)) => {
                let scheme = rsa::Pkcs1v15Sign {
                    hash_len: Some(hash.len()),
                    prefix: pki::digest_info_prefix(h, hash.len(), true).into_boxed_slice(),
                };
                k.sign_with_rng(rng, scheme, &hash).map_err(failed)
            }
            (Self::Rsa(k), SigAlg::RsaPss(h, salt)) => {
                pki::with_pss!(h, salt, |pss| k.sign_with_rng(rng, pss, &hash)).map_err(failed)
            }
            _ => Err(Error::Crypto(
                "key type does not match the signature algorithm",
            )),
        }
    }
}

/// A time from `YYYYMMDDHHMMSS`: UTCTime before 2050, GeneralizedTime after (RFC 5280).
fn time(t: &str) -> Vec<u8> {
    match t.get(..4).and_then(|y| y.parse::<u32>().ok()) {
        Some(y) if (1950..2050).contains(&y) => encode(0x17, format!("{}Z", &t[2..]).as_bytes()),
        _ => encode(0x18, format!("{t}Z").as_bytes()),
    }
}

/// A key identifier: the first 20 bytes of SHA-256 over the SubjectPublicKeyInfo.
pub fn key_id(spki: &[u8]) -> Vec<u8> {
    let mut h = HashAlg::Sha256.digest(spki);
    h.truncate(20);
    h
}

/// What a certificate says.
#[derive(Debug, Clone, Default)]
pub struct CertSpec<'a> {
    /// Serial number.
    pub serial: u64,
    /// Issuer DN (DER).
    pub issuer: &'a [u8],
    /// Subject DN (DER).
    pub subject: &'a [u8],
    /// `YYYYMMDDHHMMSS`.
    pub not_before: &'a str,
    /// `YYYYMMDDHHMMSS`.
    pub not_after: &'a str,
    /// Subject public key info (DER).
    pub spki: &'a [u8],
    /// Whether this is a CA certificate: basicConstraints cA and keyUsage keyCertSign +
    /// cRLSign; otherwise keyUsage digitalSignature and no basicConstraints.
    pub ca: bool,
    /// The keyUsage BIT STRING contents instead of the default (`[unused bits, bits..]`);
    /// `Some(&[])` leaves keyUsage out.
    pub key_usage: Option<&'a [u8]>,
    /// The issuer's SubjectPublicKeyInfo, for authorityKeyIdentifier (left out when `None`).
    pub issuer_spki: Option<&'a [u8]>,
    /// The subjectKeyIdentifier instead of [`key_id`] of `spki` (always present).
    pub subject_key_id: Option<&'a [u8]>,
    /// A different AlgorithmIdentifier inside the signed part (a forgery's disagreement).
    pub inner_algorithm: Option<SigAlg>,
}

/// Issues a certificate: `spec` signed with `alg` by `issuer`.
///
/// # Errors
///
/// [`Error::Crypto`] if the key does not fit the algorithm.
pub fn certificate_with(
    spec: &CertSpec<'_>,
    alg: SigAlg,
    issuer: &Signer,
    rng: &mut TestRng,
) -> Result<Vec<u8>, Error> {
    let outer = algorithm_identifier(alg);
    let inner = spec
        .inner_algorithm
        .map_or(outer.clone(), algorithm_identifier);
    let default_usage: &[u8] = if spec.ca {
        &[0x01, 0x06]
    } else {
        &[0x07, 0x80]
    };
    let key_usage = spec.key_usage.unwrap_or(default_usage);
    let mut exts = Vec::new();
    if !key_usage.is_empty() {
        exts.push(seq(&[
            &oid(&[0x55, 0x1D, 0x0F]),
            &encode(0x01, &[0xFF]),
            &encode(0x04, &encode(0x03, key_usage)),
        ]));
    }
    if spec.ca {
        exts.push(seq(&[
            &oid(&[0x55, 0x1D, 0x13]),
            &encode(0x01, &[0xFF]),
            &encode(0x04, &seq(&[&encode(0x01, &[0xFF])])),
        ]));
    }
    exts.push(seq(&[
        &oid(&[0x55, 0x1D, 0x0E]),
        &encode(
            0x04,
            &encode(
                0x04,
                &spec
                    .subject_key_id
                    .map_or_else(|| key_id(spec.spki), <[u8]>::to_vec),
            ),
        ),
    ]));
    if let Some(issuer_spki) = spec.issuer_spki {
        exts.push(seq(&[
            &oid(&[0x55, 0x1D, 0x23]),
            &encode(0x04, &seq(&[&encode(0x80, &key_id(issuer_spki))])),
        ]));
    }
    let ext_refs: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();
    let tbs = seq(&[
        &encode(0xA0, &encode_uint(2)),
        &encode_uint(spec.serial),
        &inner,
        spec.issuer,
        &seq(&[&time(spec.not_before), &time(spec.not_after)]),
        spec.subject,
        spec.spki,
        &encode(0xA3, &seq(&ext_refs)),
    ]);
    let sig = issuer.sign(alg, &tbs, rng)?;
    let mut bits = vec![0u8];
    bits.extend_from_slice(&sig);
    Ok(seq(&[&tbs, &outer, &encode(0x03, &bits)]))
}

/// Issues a certificate signed with ECDSA-SHA256 by `issuer_secret` on `curve`.
///
/// # Errors
///
/// [`Error::Crypto`] for an invalid key.
pub fn certificate(
    spec: &CertSpec<'_>,
    curve: Curve,
    issuer_secret: &[u8],
) -> Result<Vec<u8>, Error> {
    certificate_with(
        spec,
        SigAlg::Ecdsa(HashAlg::Sha256),
        &Signer::ec(curve, issuer_secret)?,
        &mut TestRng::new(1),
    )
}

/// `id-icao-mrtd-security-ldsSecurityObject`: 2.23.136.1.1.1.
const LDS_SECURITY_OBJECT: [u8; 6] = pki::LDS_SECURITY_OBJECT;

/// What an EF.SOD says and how it is signed.
#[derive(Debug, Clone)]
pub struct SodSpec<'a> {
    /// Data group number -> raw file.
    pub dgs: &'a BTreeMap<u8, Vec<u8>>,
    /// The DS certificate (DER), embedded in the SOD.
    pub ds_certificate: &'a [u8],
    /// The DS certificate's issuer DN and serial (the SignerInfo's sid).
    pub ds_issuer: &'a [u8],
    /// See `ds_issuer`.
    pub ds_serial: u64,
    /// The data group hash and SignerInfo digest algorithm.
    pub hash: HashAlg,
    /// The signature algorithm (its hash should be `hash`).
    pub sig_alg: SigAlg,
    /// A different signatureAlgorithm to write into the SignerInfo than the one used to sign
    /// (a forgery, e.g. a PSS salt length of 2^63).
    pub declared_sig_alg: Option<SigAlg>,
    /// The eContentType OID (content bytes); `None` for the LDS security object.
    pub econtent_type: Option<&'a [u8]>,
}

impl<'a> SodSpec<'a> {
    /// A genuine SOD's spec: `hash` everywhere and `sig_alg` for the signature.
    pub fn new(
        dgs: &'a BTreeMap<u8, Vec<u8>>,
        ds_certificate: &'a [u8],
        ds_issuer: &'a [u8],
        ds_serial: u64,
        sig_alg: SigAlg,
    ) -> Self {
        Self {
            dgs,
            ds_certificate,
            ds_issuer,
            ds_serial,
            hash: sig_alg.hash(),
            sig_alg,
            declared_sig_alg: None,
            econtent_type: None,
        }
    }
}

/// Builds EF.SOD from `spec`, signed by the DS key.
///
/// # Errors
///
/// [`Error::Crypto`] if the key does not fit the algorithm.
pub fn sod_with(spec: &SodSpec<'_>, ds: &Signer, rng: &mut TestRng) -> Result<Vec<u8>, Error> {
    let hash = spec.hash;
    let hash_id = hash_alg_id(hash);
    let hashes: Vec<Vec<u8>> = spec
        .dgs
        .iter()
        .map(|(n, raw)| {
            seq(&[
                &encode_uint(u64::from(*n)),
                &encode(0x04, &hash.digest(raw)),
            ])
        })
        .collect();
    let hash_refs: Vec<&[u8]> = hashes.iter().map(Vec::as_slice).collect();
    let lso = seq(&[&encode_uint(0), &hash_id, &seq(&hash_refs)]);
    let econtent_type = spec.econtent_type.unwrap_or(&LDS_SECURITY_OBJECT);
    let attrs = [
        seq(&[
            &oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03]),
            &set(&[&oid(econtent_type)]),
        ]),
        seq(&[
            &oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04]),
            &set(&[&encode(0x04, &hash.digest(&lso))]),
        ]),
    ]
    .concat();
    let signature = ds.sign(spec.sig_alg, &encode(0x31, &attrs), rng)?;
    let signer_info = seq(&[
        &encode_uint(1),
        &seq(&[spec.ds_issuer, &encode_uint(spec.ds_serial)]),
        &hash_id,
        &encode(0xA0, &attrs),
        &algorithm_identifier(spec.declared_sig_alg.unwrap_or(spec.sig_alg)),
        &encode(0x04, &signature),
    ]);
    let signed_data = seq(&[
        &encode_uint(3),
        &set(&[&hash_id]),
        &seq(&[&oid(econtent_type), &encode(0xA0, &encode(0x04, &lso))]),
        &encode(0xA0, spec.ds_certificate),
        &set(&[&signer_info]),
    ]);
    let content_info = seq(&[
        &oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02]),
        &encode(0xA0, &signed_data),
    ]);
    Ok(encode(0x77, &content_info))
}

/// Builds EF.SOD over `dgs` (data group number -> raw file) with SHA-256 and ECDSA, signed by
/// the DS key.
///
/// # Errors
///
/// [`Error::Crypto`] for an invalid key.
pub fn sod(
    dgs: &BTreeMap<u8, Vec<u8>>,
    ds_certificate: &[u8],
    ds_issuer: &[u8],
    ds_serial: u64,
    curve: Curve,
    ds_secret: &[u8],
) -> Result<Vec<u8>, Error> {
    let spec = SodSpec::new(
        dgs,
        ds_certificate,
        ds_issuer,
        ds_serial,
        SigAlg::Ecdsa(HashAlg::Sha256),
    );
    sod_with(&spec, &Signer::ec(curve, ds_secret)?, &mut TestRng::new(1))
}

/// DG15 holding an EC Active Authentication key.
pub fn dg15(curve: Curve, point: &[u8]) -> Vec<u8> {
    encode(0x6F, &ec_spki(curve, point))
}

/// A key and signature algorithm by name, for profiles and tests: `ecdsa-CURVE-HASH` with
/// CURVE one of `p256`, `p384`, `p521`, `bp256`, `bp384`, `bp512`, or `rsa-BITS-SCHEME-HASH`
/// with BITS 2048, 3072 or 4096 (the fixed TEST keys; 1024 is generated, for weak-key tests),
/// SCHEME `pkcs1` or `pss` (salt as long as the hash); HASH `sha1`, `sha224`, `sha256`, `sha384`
/// or `sha512`. Example: `rsa-4096-pss-sha512`, `ecdsa-bp384-sha384`.
///
/// # Errors
///
/// [`Error::BadInput`] for a name outside that grammar.
pub fn key_and_algorithm(name: &str, rng: &mut TestRng) -> Result<(Signer, SigAlg), Error> {
    let bad = || Error::BadInput("algorithm name: see issue::key_and_algorithm");
    let parts: Vec<&str> = name.split('-').collect();
    let hash_of = |h: &str| match h {
        "sha1" => Some(HashAlg::Sha1),
        "sha224" => Some(HashAlg::Sha224),
        "sha256" => Some(HashAlg::Sha256),
        "sha384" => Some(HashAlg::Sha384),
        "sha512" => Some(HashAlg::Sha512),
        _ => None,
    };
    match parts.as_slice() {
        ["ecdsa", curve, hash] => {
            let curve = match *curve {
                "p256" => Curve::P256,
                "p384" => Curve::P384,
                "p521" => Curve::P521,
                "bp256" => Curve::BrainpoolP256r1,
                "bp384" => Curve::BrainpoolP384r1,
                "bp512" => Curve::BrainpoolP512r1,
                _ => return Err(bad()),
            };
            let hash = hash_of(hash).ok_or_else(bad)?;
            Ok((Signer::ec_generate(curve, rng)?, SigAlg::Ecdsa(hash)))
        }
        ["rsa", bits, scheme, hash] => {
            let hash = hash_of(hash).ok_or_else(bad)?;
            let alg = match *scheme {
                "pkcs1" => SigAlg::RsaPkcs1(hash),
                "pss" => SigAlg::RsaPss(hash, hash.digest(&[]).len()),
                _ => return Err(bad()),
            };
            let key = match *bits {
                "1024" => Signer::rsa_generate(1024, rng)?,
                "2048" => Signer::test_only_rsa(2048)?,
                "3072" => Signer::test_only_rsa(3072)?,
                "4096" => Signer::test_only_rsa(4096)?,
                _ => return Err(bad()),
            };
            Ok((key, alg))
        }
        _ => Err(bad()),
    }
}

/// Deliberate defects in a [`ChainSpec`]'s chain (all off by default: a genuine chain).
#[derive(Debug, Clone, Default)]
pub struct ChainFaults {
    /// The CSCA certificate is not a CA: no basicConstraints, keyUsage digitalSignature.
    pub csca_not_ca: bool,
    /// The DS certificate's keyUsage is keyEncipherment only (no digitalSignature).
    pub ds_no_digital_signature: bool,
    /// The DS certificate's inner AlgorithmIdentifier differs from the outer one.
    pub ds_inner_algorithm: Option<SigAlg>,
    /// The SOD's SignerInfo names this algorithm, not the one it is signed with.
    pub declared_sod_algorithm: Option<SigAlg>,
    /// The SOD's eContentType (OID content bytes) instead of the LDS security object.
    pub econtent_type: Option<Vec<u8>>,
    /// The SOD's data group hash and digest algorithm instead of the signature's hash.
    pub sod_hash: Option<HashAlg>,
    /// An EC DS key carries explicit domain parameters instead of the curve's name.
    pub ds_explicit_parameters: bool,
}

/// A test PKI: CSCA -> Document Signer -> EF.SOD.
#[derive(Debug, Clone)]
pub struct ChainSpec<'a> {
    /// The CSCA key, and the algorithm it signs its own and the DS certificate with.
    pub csca: (&'a Signer, SigAlg),
    /// The DS key, and the algorithm it signs the SOD with.
    pub ds: (&'a Signer, SigAlg),
    /// The CSCA certificate's validity, `YYYYMMDDHHMMSS` each.
    pub csca_validity: (&'a str, &'a str),
    /// The DS certificate's validity.
    pub ds_validity: (&'a str, &'a str),
    /// Data group number -> raw file.
    pub dgs: &'a BTreeMap<u8, Vec<u8>>,
    /// Defects to build in.
    pub faults: ChainFaults,
}

/// What [`chain`] makes (DER each).
#[derive(Debug, Clone)]
pub struct Chain {
    /// The CSCA certificate (self-signed).
    pub csca: Vec<u8>,
    /// The Document Signer certificate.
    pub ds: Vec<u8>,
    /// EF.SOD, with the DS certificate inside.
    pub sod: Vec<u8>,
}

/// Builds a CSCA certificate, a DS certificate it signs (with authority and subject key
/// identifiers) and an EF.SOD the DS signs over `spec.dgs`.
///
/// # Errors
///
/// [`Error::Crypto`] if a key does not fit its algorithm.
pub fn chain(spec: &ChainSpec<'_>, rng: &mut TestRng) -> Result<Chain, Error> {
    let (csca_key, csca_alg) = spec.csca;
    let (ds_key, sod_alg) = spec.ds;
    let f = &spec.faults;
    let csca_name = name("CSCA Viet Nam TEST");
    let ds_name = name("Document Signer TEST");
    let csca_spki = csca_key.spki();
    let ds_spki = match ds_key.public_key() {
        PublicKey::Ec { curve, point } if f.ds_explicit_parameters => {
            ec_spki_explicit(curve, &point)
        }
        _ => ds_key.spki(),
    };
    let csca = certificate_with(
        &CertSpec {
            serial: 1,
            issuer: &csca_name,
            subject: &csca_name,
            not_before: spec.csca_validity.0,
            not_after: spec.csca_validity.1,
            spki: &csca_spki,
            ca: !f.csca_not_ca,
            issuer_spki: Some(&csca_spki),
            ..CertSpec::default()
        },
        csca_alg,
        csca_key,
        rng,
    )?;
    let ds = certificate_with(
        &CertSpec {
            serial: 2,
            issuer: &csca_name,
            subject: &ds_name,
            not_before: spec.ds_validity.0,
            not_after: spec.ds_validity.1,
            spki: &ds_spki,
            ca: false,
            key_usage: f.ds_no_digital_signature.then_some(&[0x05, 0x20][..]),
            issuer_spki: Some(&csca_spki),
            inner_algorithm: f.ds_inner_algorithm,
            ..CertSpec::default()
        },
        csca_alg,
        csca_key,
        rng,
    )?;
    let mut sod_spec = SodSpec::new(spec.dgs, &ds, &csca_name, 2, sod_alg);
    sod_spec.hash = f.sod_hash.unwrap_or(sod_alg.hash());
    sod_spec.declared_sig_alg = f.declared_sod_algorithm;
    sod_spec.econtent_type = f.econtent_type.as_deref();
    let sod = sod_with(&sod_spec, ds_key, rng)?;
    Ok(Chain { csca, ds, sod })
}
