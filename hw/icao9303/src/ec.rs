//! The few elliptic-curve operations PACE, Chip Authentication and ECDSA need, over the curves
//! CCCD chips use (brainpoolP256r1, NIST P-256), with points as uncompressed SEC 1 bytes.
//!
//! Points cross this module's boundary as bytes so that the protocol code does not carry the
//! curve as a type parameter; every decoded point is checked to lie on the curve and not to be
//! the identity (an invalid-curve point from a hostile chip is refused here).

use crate::Error;

/// A curve by its ICAO 9303 standardized domain parameter id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (secp256r1), parameter id 12.
    P256,
    /// brainpoolP256r1, parameter id 13: what CCCD chips declare.
    BrainpoolP256r1,
}

impl Curve {
    /// The curve of a standardized domain parameter id (ICAO 9303-11 Table 6).
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for other ids (DH groups, 192/224/384/512-bit curves).
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
        }
    }

    /// The curve of a named-curve OID (DER content bytes).
    pub fn from_oid(oid: &[u8]) -> Option<Self> {
        match oid {
            [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07] => Some(Self::P256),
            [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07] => Some(Self::BrainpoolP256r1),
            _ => None,
        }
    }

    /// The named-curve OID (DER content bytes).
    pub fn oid(self) -> &'static [u8] {
        match self {
            Self::P256 => &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
            Self::BrainpoolP256r1 => &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
        }
    }

    /// Bytes of a field element / scalar.
    pub fn field_len(self) -> usize {
        32
    }

    /// `k * G` with the curve's generator.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if `k` is zero or not below the group order.
    pub fn mul_generator(self, k: &[u8]) -> Result<Vec<u8>, Error> {
        match self {
            Self::P256 => p256_ops::mul_generator(k),
            Self::BrainpoolP256r1 => bp256_ops::mul_generator(k),
        }
    }

    /// `k * P`.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if `k` is invalid or `P` is not a valid point.
    pub fn mul(self, k: &[u8], p: &[u8]) -> Result<Vec<u8>, Error> {
        match self {
            Self::P256 => p256_ops::mul(k, p),
            Self::BrainpoolP256r1 => bp256_ops::mul(k, p),
        }
    }

    /// `P + Q`.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if a point is invalid or the sum is the identity.
    pub fn add(self, p: &[u8], q: &[u8]) -> Result<Vec<u8>, Error> {
        match self {
            Self::P256 => p256_ops::add(p, q),
            Self::BrainpoolP256r1 => bp256_ops::add(p, q),
        }
    }

    /// Checks that `p` is a valid, non-identity point and returns its uncompressed encoding.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if it is not.
    pub fn validate(self, p: &[u8]) -> Result<Vec<u8>, Error> {
        match self {
            Self::P256 => p256_ops::validate(p),
            Self::BrainpoolP256r1 => bp256_ops::validate(p),
        }
    }

    /// Verifies an ECDSA signature (`r || s` plain, or DER) over a message hash.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if the key or signature is malformed or the signature is wrong.
    pub fn ecdsa_verify_prehash(self, public: &[u8], hash: &[u8], sig: &[u8]) -> Result<(), Error> {
        match self {
            Self::P256 => p256_ops::verify(public, hash, sig),
            Self::BrainpoolP256r1 => bp256_ops::verify(public, hash, sig),
        }
    }

    /// Signs a message hash with ECDSA (deterministic, RFC 6979); returns plain `r || s`.
    /// For the virtual card and test certificates.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if the secret key is invalid.
    pub fn ecdsa_sign_prehash(self, secret: &[u8], hash: &[u8]) -> Result<Vec<u8>, Error> {
        match self {
            Self::P256 => p256_ops::sign(secret, hash),
            Self::BrainpoolP256r1 => bp256_ops::sign(secret, hash),
        }
    }
}

macro_rules! curve_ops {
    ($module:ident, $krate:ident, $curve:ty) => {
        mod $module {
            use ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
            use $krate::elliptic_curve::sec1::{FromSec1Point, ToSec1Point};
            use $krate::elliptic_curve::{AffinePoint, NonZeroScalar, ProjectivePoint};

            use crate::Error;

            type C = $curve;

            fn scalar(k: &[u8]) -> Result<NonZeroScalar<C>, Error> {
                if k.len() > 32 {
                    return Err(Error::Crypto("scalar longer than the group order"));
                }
                let mut b = [0u8; 32];
                b[32 - k.len()..].copy_from_slice(k);
                Option::from(NonZeroScalar::<C>::from_repr(b.into()))
                    .ok_or(Error::Crypto("scalar is zero or not below the group order"))
            }

            fn point(p: &[u8]) -> Result<ProjectivePoint<C>, Error> {
                let a = AffinePoint::<C>::from_sec1_bytes(p)
                    .map_err(|_| Error::Crypto("not a point on the curve"))?;
                let pp = ProjectivePoint::<C>::from(a);
                if bool::from(
                    <ProjectivePoint<C> as $krate::elliptic_curve::group::Group>::is_identity(&pp),
                ) {
                    return Err(Error::Crypto("point at infinity"));
                }
                Ok(pp)
            }

            fn encode(p: ProjectivePoint<C>) -> Result<Vec<u8>, Error> {
                if bool::from(
                    <ProjectivePoint<C> as $krate::elliptic_curve::group::Group>::is_identity(&p),
                ) {
                    return Err(Error::Crypto("point at infinity"));
                }
                Ok(p.to_affine().to_sec1_point(false).as_bytes().to_vec())
            }

            pub fn mul_generator(k: &[u8]) -> Result<Vec<u8>, Error> {
                let k = scalar(k)?;
                encode(
                    <ProjectivePoint<C> as $krate::elliptic_curve::group::Group>::generator() * *k,
                )
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

curve_ops!(p256_ops, p256, p256::NistP256);
curve_ops!(bp256_ops, bp256, bp256::BrainpoolP256r1);
