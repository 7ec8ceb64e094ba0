//! The few elliptic-curve operations PACE, Chip Authentication and ECDSA need, with points as
//! uncompressed SEC 1 bytes. PACE and Chip Authentication run on the curves CCCD chips use
//! (brainpoolP256r1, NIST P-256); ECDSA signatures (CSCA, Document Signer, Active
//! Authentication) also on the larger curves ICAO 9303 PKIs use: NIST P-384 and P-521,
//! brainpoolP384r1 and brainpoolP512r1 (the last defined in the private `bp512` module).
//!
//! Points cross this module's boundary as bytes so that the protocol code does not carry the
//! curve as a type parameter; every decoded point is checked to lie on the curve and not to be
//! the identity (an invalid-curve point from a hostile chip is refused here).

use crate::Error;

mod bp512;

/// A curve by its ICAO 9303 standardized domain parameter id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (secp256r1), parameter id 12.
    P256,
    /// brainpoolP256r1, parameter id 13: what CCCD chips declare.
    BrainpoolP256r1,
    /// NIST P-384 (secp384r1), parameter id 15.
    P384,
    /// brainpoolP384r1, parameter id 16.
    BrainpoolP384r1,
    /// brainpoolP512r1, parameter id 17.
    BrainpoolP512r1,
    /// NIST P-521 (secp521r1), parameter id 18.
    P521,
}

/// Dispatches `$call` (a function of the per-curve module) on the curve.
macro_rules! on_curve {
    ($curve:expr, $f:ident ( $($arg:expr),* )) => {
        match $curve {
            Curve::P256 => p256_ops::$f($($arg),*),
            Curve::BrainpoolP256r1 => bp256_ops::$f($($arg),*),
            Curve::P384 => p384_ops::$f($($arg),*),
            Curve::BrainpoolP384r1 => bp384_ops::$f($($arg),*),
            Curve::BrainpoolP512r1 => bp512_ops::$f($($arg),*),
            Curve::P521 => p521_ops::$f($($arg),*),
        }
    };
}

impl Curve {
    /// The curve of a standardized domain parameter id (ICAO 9303-11 Table 6).
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for other ids (DH groups, 192/224-bit curves, and the 384-521-bit
    /// curves, which this crate uses for signatures but not for PACE).
    pub fn from_parameter_id(id: u8) -> Result<Self, Error> {
        match id {
            12 => Ok(Self::P256),
            13 => Ok(Self::BrainpoolP256r1),
            _ => Err(Error::Unsupported(
                "PACE domain parameters other than P-256 and brainpoolP256r1",
            )),
        }
    }

    /// The standardized domain parameter id.
    pub fn parameter_id(self) -> u8 {
        match self {
            Self::P256 => 12,
            Self::BrainpoolP256r1 => 13,
            Self::P384 => 15,
            Self::BrainpoolP384r1 => 16,
            Self::BrainpoolP512r1 => 17,
            Self::P521 => 18,
        }
    }

    /// Every curve, smallest first.
    pub const ALL: [Self; 6] = [
        Self::P256,
        Self::BrainpoolP256r1,
        Self::P384,
        Self::BrainpoolP384r1,
        Self::BrainpoolP512r1,
        Self::P521,
    ];

    /// The curve of a named-curve OID (DER content bytes).
    pub fn from_oid(oid: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == oid)
    }

    /// The named-curve OID (DER content bytes).
    pub fn oid(self) -> &'static [u8] {
        match self {
            Self::P256 => &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
            Self::BrainpoolP256r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
            Self::P384 => &[0x2B, 0x81, 0x04, 0x00, 0x22],
            Self::BrainpoolP384r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B],
            Self::BrainpoolP512r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D],
            Self::P521 => &[0x2B, 0x81, 0x04, 0x00, 0x23],
        }
    }

    /// A short name (`P-256`, `brainpoolP384r1`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::BrainpoolP256r1 => "brainpoolP256r1",
            Self::P384 => "P-384",
            Self::BrainpoolP384r1 => "brainpoolP384r1",
            Self::BrainpoolP512r1 => "brainpoolP512r1",
            Self::P521 => "P-521",
        }
    }

    /// Bytes of a field element / scalar.
    pub fn field_len(self) -> usize {
        match self {
            Self::P256 | Self::BrainpoolP256r1 => 32,
            Self::P384 | Self::BrainpoolP384r1 => 48,
            Self::BrainpoolP512r1 => 64,
            Self::P521 => 66,
        }
    }

    /// The explicit domain parameters (SEC 1 `ECParameters` values, big-endian, each
    /// `field_len` bytes): prime `p`, coefficients `a` and `b`, the uncompressed generator,
    /// the order `n` and the cofactor. To recognise a key that carries its curve's parameters
    /// instead of its name (ICAO certificates and DG15 often do).
    pub fn domain_parameters(self) -> DomainParameters {
        let (p, a, b, gx, gy, n) = params::of(self);
        let hex = |s: &str| {
            (0..s.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
                .collect::<Vec<u8>>()
        };
        DomainParameters {
            p: hex(p),
            a: hex(a),
            b: hex(b),
            generator: [vec![0x04], hex(gx), hex(gy)].concat(),
            n: hex(n),
            cofactor: 1,
        }
    }

    /// `k * G` with the curve's generator.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if `k` is zero or not below the group order.
    pub fn mul_generator(self, k: &[u8]) -> Result<Vec<u8>, Error> {
        on_curve!(self, mul_generator(k))
    }

    /// `k * P`.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if `k` is invalid or `P` is not a valid point.
    pub fn mul(self, k: &[u8], p: &[u8]) -> Result<Vec<u8>, Error> {
        on_curve!(self, mul(k, p))
    }

    /// `P + Q`.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if a point is invalid or the sum is the identity.
    pub fn add(self, p: &[u8], q: &[u8]) -> Result<Vec<u8>, Error> {
        on_curve!(self, add(p, q))
    }

    /// Checks that `p` is a valid, non-identity point and returns its uncompressed encoding.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if it is not.
    pub fn validate(self, p: &[u8]) -> Result<Vec<u8>, Error> {
        on_curve!(self, validate(p))
    }

    /// Verifies an ECDSA signature (`r || s` plain, or DER) over a message hash.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if the key or signature is malformed or the signature is wrong.
    pub fn ecdsa_verify_prehash(self, public: &[u8], hash: &[u8], sig: &[u8]) -> Result<(), Error> {
        on_curve!(self, verify(public, hash, sig))
    }

    /// Signs a message hash with ECDSA (deterministic, RFC 6979); returns plain `r || s`.
    /// For the virtual card and test certificates.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if the secret key is invalid.
    pub fn ecdsa_sign_prehash(self, secret: &[u8], hash: &[u8]) -> Result<Vec<u8>, Error> {
        on_curve!(self, sign(secret, hash))
    }
}

macro_rules! curve_ops {
    ($module:ident, $curve:ty) => {
        mod $module {
            use ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
            use elliptic_curve::sec1::{FromSec1Point, ToSec1Point};
            use elliptic_curve::{AffinePoint, FieldBytes, NonZeroScalar, ProjectivePoint};

            use crate::Error;

            type C = $curve;

            fn scalar(k: &[u8]) -> Result<NonZeroScalar<C>, Error> {
                let mut b = FieldBytes::<C>::default();
                let pad = b
                    .len()
                    .checked_sub(k.len())
                    .ok_or(Error::Crypto("scalar longer than the group order"))?;
                b[pad..].copy_from_slice(k);
                Option::from(NonZeroScalar::<C>::from_repr(b))
                    .ok_or(Error::Crypto("scalar is zero or not below the group order"))
            }

            fn point(p: &[u8]) -> Result<ProjectivePoint<C>, Error> {
                let a = AffinePoint::<C>::from_sec1_bytes(p)
                    .map_err(|_| Error::Crypto("not a point on the curve"))?;
                let pp = ProjectivePoint::<C>::from(a);
                if bool::from(
                    <ProjectivePoint<C> as elliptic_curve::group::Group>::is_identity(&pp),
                ) {
                    return Err(Error::Crypto("point at infinity"));
                }
                Ok(pp)
            }

            fn encode(p: ProjectivePoint<C>) -> Result<Vec<u8>, Error> {
                if bool::from(<ProjectivePoint<C> as elliptic_curve::group::Group>::is_identity(&p))
                {
                    return Err(Error::Crypto("point at infinity"));
                }
                Ok(p.to_affine().to_sec1_point(false).as_bytes().to_vec())
            }

            pub fn mul_generator(k: &[u8]) -> Result<Vec<u8>, Error> {
                let k = scalar(k)?;
                encode(<ProjectivePoint<C> as elliptic_curve::group::Group>::generator() * *k)
            }

            pub fn mul(k: &[u8], p: &[u8]) -> Result<Vec<u8>, Error> {
                let k = scalar(k)?;
                encode(point(p)? * *k)
            }

            pub fn add(p: &[u8], q: &[u8]) -> Result<Vec<u8>, Error> {
                encode(point(p)? + point(q)?)
            }

            pub fn validate(p: &[u8]) -> Result<Vec<u8>, Error> {
                encode(point(p)?)
            }

            pub fn verify(public: &[u8], hash: &[u8], sig: &[u8]) -> Result<(), Error> {
                let key = ecdsa::VerifyingKey::<C>::from_sec1_bytes(public)
                    .map_err(|_| Error::Crypto("bad ECDSA public key"))?;
                let sig = ecdsa::Signature::<C>::from_slice(sig)
                    .or_else(|_| ecdsa::Signature::<C>::from_der(sig))
                    .map_err(|_| Error::Crypto("malformed ECDSA signature"))?;
                key.verify_prehash(hash, &sig)
                    .map_err(|_| Error::Crypto("ECDSA signature does not verify"))
            }

            pub fn sign(secret: &[u8], hash: &[u8]) -> Result<Vec<u8>, Error> {
                let key = ecdsa::SigningKey::<C>::from_slice(secret)
                    .map_err(|_| Error::Crypto("bad ECDSA secret key"))?;
                let sig: ecdsa::Signature<C> = key
                    .sign_prehash(hash)
                    .map_err(|_| Error::Crypto("ECDSA signing failed"))?;
                Ok(sig.to_bytes().to_vec())
            }
        }
    };
}

curve_ops!(p256_ops, p256::NistP256);
curve_ops!(bp256_ops, bp256::BrainpoolP256r1);
curve_ops!(p384_ops, p384::NistP384);
curve_ops!(bp384_ops, bp384::BrainpoolP384r1);
curve_ops!(bp512_ops, super::bp512::BrainpoolP512r1);
curve_ops!(p521_ops, p521::NistP521);

/// Explicit domain parameters of a curve (see [`Curve::domain_parameters`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainParameters {
    /// The field prime.
    pub p: Vec<u8>,
    /// Coefficient `a`.
    pub a: Vec<u8>,
    /// Coefficient `b`.
    pub b: Vec<u8>,
    /// The generator, uncompressed (`04 || x || y`).
    pub generator: Vec<u8>,
    /// The group order.
    pub n: Vec<u8>,
    /// The cofactor.
    pub cofactor: u8,
}

mod params {
    //! SEC 2 (NIST curves) and RFC 5639 (Brainpool) domain parameters as hex, `field_len`
    //! bytes each. The tests check each generator against the curve crate's own generator.
    use super::Curve;

    type Hex = &'static str;

    pub(super) fn of(curve: Curve) -> (Hex, Hex, Hex, Hex, Hex, Hex) {
        match curve {
            Curve::P256 => (
                "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
                "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
                "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
                "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
                "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
                "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
            ),
            Curve::BrainpoolP256r1 => (
                "a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377",
                "7d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9",
                "26dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b6",
                "8bd2aeb9cb7e57cb2c4b482ffc81b7afb9de27e1e3bd23c23a4453bd9ace3262",
                "547ef835c3dac4fd97f8461a14611dc9c27745132ded8e545c1d54c72f046997",
                "a9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a7",
            ),
            Curve::P384 => (
                "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
                "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc",
                "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
                "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
                "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
                "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
            ),
            Curve::BrainpoolP384r1 => (
                "8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53",
                "7bc382c63d8c150c3c72080ace05afa0c2bea28e4fb22787139165efba91f90f8aa5814a503ad4eb04a8c7dd22ce2826",
                "04a8c7dd22ce28268b39b55416f0447c2fb77de107dcd2a62e880ea53eeb62d57cb4390295dbc9943ab78696fa504c11",
                "1d1c64f068cf45ffa2a63a81b7c13f6b8847a3e77ef14fe3db7fcafe0cbd10e8e826e03436d646aaef87b2e247d4af1e",
                "8abe1d7520f9c2a45cb1eb8e95cfd55262b70b29feec5864e19c054ff99129280e4646217791811142820341263c5315",
                "8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b31f166e6cac0425a7cf3ab6af6b7fc3103b883202e9046565",
            ),
            Curve::BrainpoolP512r1 => (
                "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3",
                "7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94ca",
                "3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723",
                "81aee4bdd82ed9645a21322e9c4c6a9385ed9f70b5d916c1b43b62eef4d0098eff3b1f78e2d0d48d50d1687b93b97d5f7c6d5047406a5e688b352209bcb9f822",
                "7dde385d566332ecc0eabfa9cf7822fdf209f70024a57b1aa000c55b881f8111b2dcde494a5f485e5bca4bd88a2763aed1ca2b2fa8f0540678cd1e0f3ad80892",
                "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330870553e5c414ca92619418661197fac10471db1d381085ddaddb58796829ca90069",
            ),
            Curve::P521 => (
                "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc",
                "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
                "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66",
                "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650",
                "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::HashAlg;

    #[test]
    fn domain_parameters_match_the_curve_arithmetic() {
        for curve in Curve::ALL {
            let d = curve.domain_parameters();
            let len = curve.field_len();
            assert_eq!(
                (d.p.len(), d.a.len(), d.b.len(), d.n.len()),
                (len, len, len, len),
                "{curve:?}"
            );
            // The table's generator is the crate's generator ...
            assert_eq!(
                curve.mul_generator(&[1]).expect("G"),
                d.generator,
                "{curve:?}"
            );
            // ... and has the table's order: (n-1)G = -G, so (n-1)G + G is the identity.
            let mut n_minus_1 = d.n.clone();
            if let Some(last) = n_minus_1.last_mut() {
                *last -= 1;
            }
            let neg_g = curve.mul_generator(&n_minus_1).expect("(n-1)G");
            assert!(curve.add(&neg_g, &d.generator).is_err(), "{curve:?}");
            assert!(curve.mul_generator(&d.n).is_err(), "n is not below n");
            assert_eq!(Curve::from_oid(curve.oid()), Some(curve));
        }
    }

    #[test]
    fn ecdsa_on_every_curve_with_every_hash() {
        for curve in Curve::ALL {
            let secret = vec![0x5A; curve.field_len() - 1];
            let public = curve.mul_generator(&secret).expect("key");
            for hash in [
                HashAlg::Sha224,
                HashAlg::Sha256,
                HashAlg::Sha384,
                HashAlg::Sha512,
            ] {
                // Hashes shorter and longer than the order: the ecdsa crate truncates.
                let h = hash.digest(b"message");
                let sig = curve.ecdsa_sign_prehash(&secret, &h).expect("sign");
                assert_eq!(sig.len(), 2 * curve.field_len());
                curve
                    .ecdsa_verify_prehash(&public, &h, &sig)
                    .unwrap_or_else(|e| panic!("{curve:?} {hash:?}: {e}"));
                let other = hash.digest(b"other");
                assert!(curve.ecdsa_verify_prehash(&public, &other, &sig).is_err());
            }
            let mut off_curve = public.clone();
            if let Some(last) = off_curve.last_mut() {
                *last ^= 1;
            }
            assert!(curve.validate(&off_curve).is_err(), "{curve:?}");
        }
    }
}
