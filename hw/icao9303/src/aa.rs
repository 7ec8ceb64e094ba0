//! Active Authentication (ICAO 9303-11 §6.1): the chip signs the terminal's 8-byte challenge
//! with the private key of the DG15 public key, proving it is the chip the SOD vouches for.
//!
//! - ECDSA keys: the hash is the one DG14's `ActiveAuthenticationInfo` names
//!   ([`crate::dg14::ActiveAuthInfo`]); SHA-256 only when DG14 names none (and the caller
//!   says so, see [`hash_for`]). The signature is plain `r || s` (BSI TR-03111) or DER.
//! - RSA keys: ISO/IEC 9796-2 digital signature scheme 1 with partial message recovery. The
//!   recovered representative is `6A || M1 || D || T` with `D = H(M1 || challenge)`; the trailer
//!   `T` is `BC` (SHA-1) or two bytes `xx CC` naming the hash. The `rsa` crate has no 9796-2
//!   verifier, so the decoding is written out here over [`crate::pki`]'s raw RSA operation,
//!   with every length checked.
//!
//! [`sign`] is the chip side, for the virtual card and tests.

use crate::crypto;
use crate::issue::Signer;
use crate::pki::{self, HashAlg, PublicKey};
use crate::Error;

pub use crate::auth::ActiveVerdict;

/// ISO/IEC 9796-2 header of a representative with partial message recovery (and the padding
/// nibble `A`): what ICAO 9303 chips emit.
const HEADER: u8 = 0x6A;
/// One-byte trailer: implicitly SHA-1.
const TRAILER_SHA1: u8 = 0xBC;
/// Second byte of a two-byte trailer; the first names the hash (ISO/IEC 10118 identifiers).
const TRAILER_EXPLICIT: u8 = 0xCC;

/// The hash identifier of a two-byte trailer.
fn trailer_id(hash: HashAlg) -> u8 {
    match hash {
        HashAlg::Sha1 => 0x33,
        HashAlg::Sha256 => 0x34,
        HashAlg::Sha512 => 0x35,
        HashAlg::Sha384 => 0x36,
        HashAlg::Sha224 => 0x38,
    }
}

fn hash_of_trailer_id(id: u8) -> Option<HashAlg> {
    [
        HashAlg::Sha1,
        HashAlg::Sha224,
        HashAlg::Sha256,
        HashAlg::Sha384,
        HashAlg::Sha512,
    ]
    .into_iter()
    .find(|h| trailer_id(*h) == id)
}

/// Where the ECDSA Active Authentication hash came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashSource {
    /// DG14's `ActiveAuthenticationInfo`.
    Dg14,
    /// DG14 names none (or was not read): SHA-256 assumed.
    DefaultSha256,
}

/// The ECDSA hash from DG14's `ActiveAuthenticationInfo` (`dg14`: the parsed DG14, if read),
/// else SHA-256 with [`HashSource::DefaultSha256`].
pub fn hash_for(dg14: Option<&crate::dg14::SecurityInfos>) -> (HashAlg, HashSource) {
    match dg14.and_then(|i| i.active_auth) {
        Some(info) => (info.hash, HashSource::Dg14),
        None => (HashAlg::Sha256, HashSource::DefaultSha256),
    }
}

/// Checks the chip's answer to INTERNAL AUTHENTICATE with the DG15 key (`dg15_spki`).
/// `ecdsa_hash` is the hash for an ECDSA key (from [`hash_for`]); an RSA signature names its
/// own hash in its trailer.
pub fn verify(
    dg15_spki: &[u8],
    ecdsa_hash: HashAlg,
    challenge: &[u8],
    signature: &[u8],
) -> ActiveVerdict {
    let key = match pki::parse_spki(dg15_spki) {
        Ok(k) => k,
        Err(Error::Unsupported(why)) => return ActiveVerdict::NotAttempted(why),
        Err(e) => return ActiveVerdict::Failed(format!("DG15 key: {e}")),
    };
    let result = match &key {
        PublicKey::Ec { curve, point } => {
            curve.ecdsa_verify_prehash(point, &ecdsa_hash.digest(challenge), signature)
        }
        PublicKey::Rsa { n, e } => verify_iso9796_2(n, e, challenge, signature).map(|_| ()),
    };
    match result {
        Ok(()) => ActiveVerdict::Verified,
        Err(e) => ActiveVerdict::Failed(e.to_string()),
    }
}

/// ISO/IEC 9796-2 scheme 1 verification of an RSA Active Authentication signature; returns
/// the hash the trailer named.
///
/// # Errors
///
/// [`Error::Crypto`] for a signature that does not verify (wrong key, header, trailer,
/// length or digest) and for an unusable key.
pub fn verify_iso9796_2(
    n: &[u8],
    e: &[u8],
    challenge: &[u8],
    signature: &[u8],
) -> Result<HashAlg, Error> {
    let m = pki::rsa_public(n, e, signature)?;
    // A modulus whose length is not a multiple of 8 bits leaves one leading zero byte.
    let m = match m.split_first() {
        Some((0, rest)) => rest,
        _ => &m[..],
    };
    let (&header, body) = m
        .split_first()
        .ok_or(Error::Crypto("RSA AA: empty representative"))?;
    if header != HEADER {
        return Err(Error::Crypto(
            "RSA AA: wrong ISO/IEC 9796-2 header (wrong key or not partial recovery)",
        ));
    }
    let (hash, trailer_len) = match body {
        [.., TRAILER_SHA1] => (HashAlg::Sha1, 1),
        [.., id, TRAILER_EXPLICIT] => (
            hash_of_trailer_id(*id).ok_or(Error::Crypto("RSA AA: unknown hash in the trailer"))?,
            2,
        ),
        _ => return Err(Error::Crypto("RSA AA: unknown ISO/IEC 9796-2 trailer")),
    };
    let digest_len = hash.digest(&[]).len();
    let m1_len = body
        .len()
        .checked_sub(digest_len)
        .and_then(|l| l.checked_sub(trailer_len))
        .filter(|l| *l > 0)
        .ok_or(Error::Crypto("RSA AA: representative too short"))?;
    let (m1, rest) = body.split_at(m1_len);
    let d = &rest[..digest_len];
    let expect = hash.digest(&[m1, challenge].concat());
    if crypto::ct_eq(&expect, d) {
        Ok(hash)
    } else {
        Err(Error::Crypto("RSA AA: digest does not match the challenge"))
    }
}

/// The ISO/IEC 9796-2 scheme 1 representative `6A || M1 || H(M1 || challenge) || trailer` of
/// `size` bytes; `two_byte_trailer` chooses `xx CC` over `BC` (which only SHA-1 may use).
fn representative(
    size: usize,
    hash: HashAlg,
    two_byte_trailer: bool,
    challenge: &[u8],
    rand: &mut dyn FnMut(&mut [u8]),
) -> Result<Vec<u8>, Error> {
    let trailer = if two_byte_trailer || hash != HashAlg::Sha1 {
        vec![trailer_id(hash), TRAILER_EXPLICIT]
    } else {
        vec![TRAILER_SHA1]
    };
    let digest_len = hash.digest(&[]).len();
    let m1_len = size
        .checked_sub(1 + digest_len + trailer.len())
        .filter(|l| *l > 0)
        .ok_or(Error::Crypto("RSA key too short for ISO/IEC 9796-2"))?;
    let mut m1 = vec![0u8; m1_len];
    rand(&mut m1);
    let d = hash.digest(&[&m1[..], challenge].concat());
    Ok([&[HEADER][..], &m1, &d, &trailer].concat())
}

/// Chip side: the Active Authentication signature over `challenge` with `key`: ECDSA (plain
/// `r || s`) over `hash`, or ISO/IEC 9796-2 scheme 1 with `hash` (trailer `BC` for SHA-1,
/// else `xx CC`). `rand` fills the message part M1 that RSA recovers.
///
/// # Errors
///
/// [`Error::Crypto`] for an invalid or too short key.
pub fn sign(
    key: &Signer,
    hash: HashAlg,
    challenge: &[u8],
    rand: &mut dyn FnMut(&mut [u8]),
) -> Result<Vec<u8>, Error> {
    match key {
        Signer::Ec { curve, secret } => curve.ecdsa_sign_prehash(secret, &hash.digest(challenge)),
        Signer::Rsa(k) => rsa_private(k, &representative_for(k, hash, false, challenge, rand)?),
    }
}

fn representative_for(
    k: &rsa::PrivateKey,
    hash: HashAlg,
    two_byte_trailer: bool,
    challenge: &[u8],
    rand: &mut dyn FnMut(&mut [u8]),
) -> Result<Vec<u8>, Error> {
    use rsa::traits::PublicKeyParts;
    // One byte less than the modulus when its top byte could be below the header.
    let size = k.size() - usize::from(k.n_bytes().first().is_none_or(|b| *b <= HEADER));
    representative(size, hash, two_byte_trailer, challenge, rand)
}

/// A second fixed TEST RSA-2048 key (`testdata/test-only-rsa-2048-clone.pk8`): the key a
/// cloned chip signs with while DG15 holds [`Signer::test_only_rsa`]`(2048)`. Public, test-only.
///
/// # Errors
///
/// Not expected (the key is compiled in).
pub fn test_only_clone_rsa_2048() -> Result<Signer, Error> {
    Signer::rsa_from_pkcs8_der(include_bytes!("../testdata/test-only-rsa-2048-clone.pk8"))
}

/// `m^d mod n`, modulus-length big-endian. No blinding: this runs in the virtual card only,
/// where timing side channels do not matter.
fn rsa_private(k: &rsa::PrivateKey, m: &[u8]) -> Result<Vec<u8>, Error> {
    use rsa::traits::PublicKeyParts;
    let c = rsa::BoxedUint::from_be_slice(m, k.n_bits_precision())
        .map_err(|_| Error::Crypto("RSA representative out of range"))?;
    let s = rsa::hazmat::rsa_decrypt_and_check::<crate::issue::TestRng>(k, None, &c)
        .map_err(|_| Error::Crypto("RSA signing failed"))?;
    let bytes = s.to_be_bytes();
    let size = k.size();
    let start = bytes.len().saturating_sub(size);
    let mut out = vec![0u8; size.saturating_sub(bytes.len())];
    out.extend_from_slice(&bytes[start..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec::Curve;

    fn rand(buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
    }

    fn rsa_parts(k: &Signer) -> (Vec<u8>, Vec<u8>) {
        match k.public_key() {
            PublicKey::Rsa { n, e } => (n, e),
            PublicKey::Ec { .. } => panic!("an RSA key"),
        }
    }

    const CHALLENGE: [u8; 8] = [0xF1, 0x73, 0x58, 0x99, 0x74, 0xBF, 0x40, 0xC6];

    #[test]
    fn rsa_9796_2_genuine_for_every_trailer_and_clones_refused() {
        let key = Signer::test_only_rsa(2048).expect("key");
        let (n, e) = rsa_parts(&key);
        let spki = key.spki();
        let Signer::Rsa(k) = &key else { panic!("rsa") };
        for (hash, two_byte) in [
            (HashAlg::Sha1, false),
            (HashAlg::Sha1, true),
            (HashAlg::Sha224, true),
            (HashAlg::Sha256, true),
            (HashAlg::Sha384, true),
            (HashAlg::Sha512, true),
        ] {
            let m = representative_for(k, hash, two_byte, &CHALLENGE, &mut rand).expect("m");
            assert_eq!(m[0], 0x6A);
            assert_eq!(m.len(), 256);
            let sig = rsa_private(k, &m).expect("sign");
            assert_eq!(
                verify_iso9796_2(&n, &e, &CHALLENGE, &sig),
                Ok(hash),
                "{hash:?}"
            );
            // The ECDSA hash argument does not matter for RSA.
            assert_eq!(
                verify(&spki, HashAlg::Sha512, &CHALLENGE, &sig),
                ActiveVerdict::Verified
            );
            // Another challenge (a replayed answer) fails.
            assert!(verify_iso9796_2(&n, &e, &[0; 8], &sig).is_err());
        }
        // The trailer of the public sign() path: BC for SHA-1, 34CC for SHA-256.
        for hash in [HashAlg::Sha1, HashAlg::Sha256] {
            let sig = sign(&key, hash, &CHALLENGE, &mut rand).expect("sign");
            assert_eq!(verify_iso9796_2(&n, &e, &CHALLENGE, &sig), Ok(hash));
            let m = pki::rsa_public(&n, &e, &sig).expect("open");
            let tail = if hash == HashAlg::Sha1 {
                &m[255..]
            } else {
                &m[254..]
            };
            assert_eq!(
                tail,
                if hash == HashAlg::Sha1 {
                    &[0xBC][..]
                } else {
                    &[0x34, 0xCC]
                }
            );
        }

        // A clone: another RSA-2048 key (the chip does not hold DG15's key).
        let clone = test_only_clone_rsa_2048().expect("key");
        let sig = sign(&clone, HashAlg::Sha256, &CHALLENGE, &mut rand).expect("sign");
        assert!(matches!(
            verify(&spki, HashAlg::Sha256, &CHALLENGE, &sig),
            ActiveVerdict::Failed(_)
        ));
        let genuine = sign(&key, HashAlg::Sha256, &CHALLENGE, &mut rand).expect("sign");
        // Truncated answers: never a panic, never verified.
        for cut in 0..genuine.len() {
            assert!(verify_iso9796_2(&n, &e, &CHALLENGE, &genuine[..cut]).is_err());
        }
        // Flipped signature bits.
        for i in [0, 100, 255] {
            let mut bad = genuine.clone();
            bad[i] ^= 0x01;
            assert!(verify_iso9796_2(&n, &e, &CHALLENGE, &bad).is_err());
        }
        // Signature >= n, longer than n.
        assert!(verify_iso9796_2(&n, &e, &CHALLENGE, &vec![0xFF; 256]).is_err());
        assert!(verify_iso9796_2(&n, &e, &CHALLENGE, &vec![0x01; 257]).is_err());
    }

    #[test]
    fn rsa_9796_2_wrong_header_trailer_and_lengths() {
        let key = Signer::test_only_rsa(2048).expect("key");
        let (n, e) = rsa_parts(&key);
        let Signer::Rsa(k) = &key else { panic!("rsa") };
        let good = representative_for(k, HashAlg::Sha256, true, &CHALLENGE, &mut rand).expect("m");
        let check = |m: &[u8]| {
            let sig = rsa_private(k, m).expect("sign");
            verify_iso9796_2(&n, &e, &CHALLENGE, &sig)
        };
        assert_eq!(check(&good), Ok(HashAlg::Sha256));
        let with = |i: usize, v: u8| {
            let mut m = good.clone();
            m[i] = v;
            m
        };
        // Header 4A (full recovery) or 6B; trailer unknown (37CC), not xC at all (BD).
        assert!(check(&with(0, 0x4A)).is_err());
        assert!(check(&with(0, 0x6B)).is_err());
        assert!(check(&with(254, 0x37)).is_err());
        assert!(check(&with(255, 0xBD)).is_err());
        // A trailer that names another hash than the one used.
        assert!(check(&with(254, 0x33)).is_err());
        // A digest byte changed.
        assert!(check(&with(240, good[240] ^ 1)).is_err());
        // A representative with no room for M1: 6A || D || 34CC over a small "modulus" is
        // refused by length before any digest comparison.
        let tiny = [&[0x6A][..], &[0u8; 32], &[0x34, 0xCC]].concat();
        let padded = [vec![0u8; 256 - tiny.len()], tiny].concat();
        assert!(check(&padded).is_err());
    }

    #[test]
    fn ecdsa_with_the_dg14_hash() {
        for curve in [Curve::BrainpoolP256r1, Curve::P256, Curve::P384] {
            let key = Signer::ec(curve, &[0x33; 32]).expect("key");
            let spki = key.spki();
            for hash in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
                let sig = sign(&key, hash, &CHALLENGE, &mut rand).expect("sign");
                assert_eq!(
                    verify(&spki, hash, &CHALLENGE, &sig),
                    ActiveVerdict::Verified
                );
                // DER form too.
                let der = crate::issue::ecdsa_der(&sig);
                assert_eq!(
                    verify(&spki, hash, &CHALLENGE, &der),
                    ActiveVerdict::Verified
                );
                // The wrong hash (DG14 ignored) fails.
                let other = if hash == HashAlg::Sha256 {
                    HashAlg::Sha384
                } else {
                    HashAlg::Sha256
                };
                assert!(matches!(
                    verify(&spki, other, &CHALLENGE, &sig),
                    ActiveVerdict::Failed(_)
                ));
            }
            let clone = Signer::ec(curve, &[0x34; 32]).expect("key");
            let sig = sign(&clone, HashAlg::Sha256, &CHALLENGE, &mut rand).expect("sign");
            assert!(matches!(
                verify(&spki, HashAlg::Sha256, &CHALLENGE, &sig),
                ActiveVerdict::Failed(_)
            ));
        }
        let infos = crate::dg14::SecurityInfos {
            active_auth: Some(crate::dg14::ActiveAuthInfo {
                version: 1,
                hash: HashAlg::Sha512,
            }),
            ..Default::default()
        };
        assert_eq!(hash_for(Some(&infos)), (HashAlg::Sha512, HashSource::Dg14));
        assert_eq!(hash_for(None), (HashAlg::Sha256, HashSource::DefaultSha256));
    }
}
