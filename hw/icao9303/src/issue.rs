//! Issuing side, for the virtual card and tests: a CSCA -> Document Signer -> SOD chain with
//! ECDSA, encoded by hand in DER (no certificate library needed, and the output is exactly what
//! [`crate::pki`] parses).
//!
//! Nothing here is used on the kiosk's read path.

use std::collections::BTreeMap;

use crate::ec::Curve;
use crate::lds::encode_uint;
use crate::pki::{HashAlg, SigAlg};
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

/// A DER `Ecdsa-Sig-Value` from plain `r || s`.
pub fn ecdsa_der(plain: &[u8]) -> Vec<u8> {
    let (r, s) = plain.split_at(plain.len() / 2);
    seq(&[&int_bytes(r), &int_bytes(s)])
}

fn sign_der(curve: Curve, secret: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
    let plain = curve.ecdsa_sign_prehash(secret, &HashAlg::Sha256.digest(data))?;
    Ok(ecdsa_der(&plain))
}

/// A time as GeneralizedTime from `YYYYMMDDHHMMSS`.
fn time(t: &str) -> Vec<u8> {
    encode(0x18, format!("{t}Z").as_bytes())
}

/// What a certificate says.
#[derive(Debug, Clone)]
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
    /// Whether this is a CA certificate (basicConstraints cA, keyCertSign).
    pub ca: bool,
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
    let alg = seq(&[&oid(&SigAlg::ecdsa_oid(HashAlg::Sha256))]);
    let key_usage: &[u8] = if spec.ca {
        &[0x01, 0x06]
    } else {
        &[0x07, 0x80]
    };
    let mut exts = vec![seq(&[
        &oid(&[0x55, 0x1D, 0x0F]),
        &encode(0x01, &[0xFF]),
        &encode(0x04, &encode(0x03, key_usage)),
    ])];
    if spec.ca {
        exts.push(seq(&[
            &oid(&[0x55, 0x1D, 0x13]),
            &encode(0x01, &[0xFF]),
            &encode(0x04, &seq(&[&encode(0x01, &[0xFF])])),
        ]));
    }
    let ext_refs: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();
    let tbs = seq(&[
        &encode(0xA0, &encode_uint(2)),
        &encode_uint(spec.serial),
        &alg,
        spec.issuer,
        &seq(&[&time(spec.not_before), &time(spec.not_after)]),
        spec.subject,
        spec.spki,
        &encode(0xA3, &seq(&ext_refs)),
    ]);
    let sig = sign_der(curve, issuer_secret, &tbs)?;
    let mut bits = vec![0u8];
    bits.extend_from_slice(&sig);
    Ok(seq(&[&tbs, &alg, &encode(0x03, &bits)]))
}

/// `id-icao-mrtd-security-ldsSecurityObject`: 2.23.136.1.1.1.
const LDS_SECURITY_OBJECT: [u8; 6] = [0x67, 0x81, 0x08, 0x01, 0x01, 0x01];

/// Builds EF.SOD over `dgs` (data group number -> raw file), signed by the DS key.
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
    let sha256 = seq(&[&oid(HashAlg::Sha256.oid())]);
    let hashes: Vec<Vec<u8>> = dgs
        .iter()
        .map(|(n, raw)| {
            seq(&[
                &encode_uint(u64::from(*n)),
                &encode(0x04, &HashAlg::Sha256.digest(raw)),
            ])
        })
        .collect();
    let hash_refs: Vec<&[u8]> = hashes.iter().map(Vec::as_slice).collect();
    let lso = seq(&[&encode_uint(0), &sha256, &seq(&hash_refs)]);
    let attrs = [
        seq(&[
            &oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03]),
            &set(&[&oid(&LDS_SECURITY_OBJECT)]),
        ]),
        seq(&[
            &oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04]),
            &set(&[&encode(0x04, &HashAlg::Sha256.digest(&lso))]),
        ]),
    ]
    .concat();
    let signature = sign_der(curve, ds_secret, &encode(0x31, &attrs))?;
    let signer_info = seq(&[
        &encode_uint(1),
        &seq(&[ds_issuer, &encode_uint(ds_serial)]),
        &sha256,
        &encode(0xA0, &attrs),
        &seq(&[&oid(&SigAlg::ecdsa_oid(HashAlg::Sha256))]),
        &encode(0x04, &signature),
    ]);
    let signed_data = seq(&[
        &encode_uint(3),
        &set(&[&sha256]),
        &seq(&[
            &oid(&LDS_SECURITY_OBJECT),
            &encode(0xA0, &encode(0x04, &lso)),
        ]),
        &encode(0xA0, ds_certificate),
        &set(&[&signer_info]),
    ]);
    let content_info = seq(&[
        &oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02]),
        &encode(0xA0, &signed_data),
    ]);
    Ok(encode(0x77, &content_info))
}

/// DG15 holding an EC Active Authentication key.
pub fn dg15(curve: Curve, point: &[u8]) -> Vec<u8> {
    encode(0x6F, &ec_spki(curve, point))
}
