//! DG14: the chip's `SecurityInfos` (ICAO 9303-11 §9.2, BSI TR-03110 part 3 §A.1.1): Chip
//! Authentication (`ChipAuthenticationInfo`, `ChipAuthenticationPublicKeyInfo`) and the hash of
//! ECDSA Active Authentication (`ActiveAuthenticationInfo`).
//!
//! DG14 is `6E { SET OF SecurityInfo }`, each `SEQUENCE { OID protocol, ... }`. The parser is
//! tolerant in what real chips vary (SET OF out of DER order, unknown SecurityInfos such as
//! PACEInfo or TerminalAuthenticationInfo are skipped) and strict in what it keeps: a known
//! SecurityInfo with a broken body is an error, never silently dropped, because dropping it
//! could hide a clone check. Hand-written over [`tlv`] like the rest of the LDS: a strict DER
//! library would refuse the non-DER SET OF ordering some chips emit.

use crate::crypto::Cipher;
use crate::ec::Curve;
use crate::pki::{self, HashAlg, PublicKey, SigAlg};
use crate::tlv::{self, Tlv};
use crate::Error;

/// `id-CA-ECDH`: 0.4.0.127.0.7.2.2.3.2; the cipher is the next arc (1 3DES, 2-4 AES-128/192/256).
pub const ID_CA_ECDH: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02];
/// `id-CA-DH`: 0.4.0.127.0.7.2.2.3.1 (recognised, not implemented).
pub const ID_CA_DH: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x01];
/// `id-PK-ECDH`: 0.4.0.127.0.7.2.2.1.2, the protocol of an ECDH Chip Authentication key.
pub const ID_PK_ECDH: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01, 0x02];
/// `id-PK-DH`: 0.4.0.127.0.7.2.2.1.1 (recognised, not implemented).
pub const ID_PK_DH: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01, 0x01];
/// `id-icao-mrtd-security-aaProtocolObject`: 2.23.136.1.1.5.
pub const ID_AA: [u8; 6] = [0x67, 0x81, 0x08, 0x01, 0x01, 0x05];

/// `id-CA-ECDH-AES-CBC-CMAC-128`, what CCCD chips declare.
pub const CA_ECDH_AES_128: [u8; 10] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02];
/// `id-CA-ECDH-3DES-CBC-CBC`.
pub const CA_ECDH_3DES: [u8; 10] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x01];

/// One `ChipAuthenticationInfo`: a protocol the chip offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthInfo {
    /// The protocol OID (DER content bytes), `id-CA-ECDH-*` or `id-CA-DH-*`.
    pub oid: Vec<u8>,
    /// The version (1 or 2).
    pub version: u32,
    /// Which key (when the chip has several).
    pub key_id: Option<u32>,
}

impl ChipAuthInfo {
    /// The secure messaging cipher after Chip Authentication.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for DH or an unknown cipher.
    pub fn cipher(&self) -> Result<Cipher, Error> {
        match self.oid.split_at_checked(9) {
            Some((head, [c])) if head == ID_CA_ECDH => match c {
                1 => Ok(Cipher::Des3),
                2 => Ok(Cipher::Aes(16)),
                3 => Ok(Cipher::Aes(24)),
                4 => Ok(Cipher::Aes(32)),
                _ => Err(Error::Unsupported("unknown Chip Authentication cipher")),
            },
            Some((head, _)) if head == ID_CA_DH => {
                Err(Error::Unsupported("Chip Authentication with DH"))
            }
            _ => Err(Error::Unsupported("unknown Chip Authentication protocol")),
        }
    }

    /// The DER `SecurityInfo` (for the virtual card and tests).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = [tlv::encode(0x06, &self.oid), int(self.version)].concat();
        if let Some(id) = self.key_id {
            body.extend_from_slice(&int(id));
        }
        tlv::encode(0x30, &body)
    }
}

/// One `ChipAuthenticationPublicKeyInfo` with an ECDH key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthPublicKey {
    /// The curve (named or given by explicit domain parameters in the key).
    pub curve: Curve,
    /// The chip's static public point, uncompressed.
    pub point: Vec<u8>,
    /// Which key, matched against [`ChipAuthInfo::key_id`].
    pub key_id: Option<u32>,
}

impl ChipAuthPublicKey {
    /// The DER `SecurityInfo` with a named-curve key (for the virtual card and tests).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = [
            tlv::encode(0x06, &ID_PK_ECDH),
            crate::issue::ec_spki(self.curve, &self.point),
        ]
        .concat();
        if let Some(id) = self.key_id {
            body.extend_from_slice(&int(id));
        }
        tlv::encode(0x30, &body)
    }
}

/// `ActiveAuthenticationInfo`: the signature algorithm of ECDSA Active Authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveAuthInfo {
    /// The version (1).
    pub version: u32,
    /// The hash named by the `ecdsa-with-*` signature algorithm.
    pub hash: HashAlg,
}

impl ActiveAuthInfo {
    /// The DER `SecurityInfo` (for the virtual card and tests).
    pub fn encode(&self) -> Vec<u8> {
        tlv::encode(
            0x30,
            &[
                tlv::encode(0x06, &ID_AA),
                int(self.version),
                tlv::encode(0x06, &SigAlg::ecdsa_oid(self.hash)),
            ]
            .concat(),
        )
    }
}

/// What DG14 says about Chip and Active Authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityInfos {
    /// The Chip Authentication protocols offered (ECDH and DH; only ECDH is implemented).
    pub chip_auth: Vec<ChipAuthInfo>,
    /// The Chip Authentication ECDH public keys.
    pub chip_auth_keys: Vec<ChipAuthPublicKey>,
    /// A Chip Authentication key this crate cannot use (DH, unknown curve): why.
    pub unsupported_keys: Vec<&'static str>,
    /// The ECDSA Active Authentication hash, if DG14 names it.
    pub active_auth: Option<ActiveAuthInfo>,
}

impl SecurityInfos {
    /// Whether the chip offers Chip Authentication (any protocol info or public key).
    pub fn offers_chip_auth(&self) -> bool {
        !self.chip_auth.is_empty()
            || !self.chip_auth_keys.is_empty()
            || !self.unsupported_keys.is_empty()
    }
}

/// DER INTEGER of `v`.
fn int(v: u32) -> Vec<u8> {
    crate::lds::encode_uint(u64::from(v))
}

/// The content bytes of the INTEGER `v` (data object `84` of MSE carries a key id so).
pub(crate) fn int_content(v: u32) -> Vec<u8> {
    int(v).split_off(2)
}

/// A non-negative INTEGER of at most 4 value bytes (after a leading zero).
fn small_int(t: &Tlv<'_>) -> Result<u32, Error> {
    if t.tag != 0x02 || t.value.is_empty() || t.value[0] & 0x80 != 0 {
        return Err(Error::Malformed("SecurityInfo INTEGER"));
    }
    let v = pki::strip_int(t.value);
    if v.len() > 4 {
        return Err(Error::Malformed("SecurityInfo INTEGER too large"));
    }
    Ok(v.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
}

/// Parses DG14 (`6E { SET OF SecurityInfo }`).
///
/// # Errors
///
/// [`Error::Malformed`] if the file, or a Chip/Active Authentication SecurityInfo in it, does
/// not parse; [`Error::Unsupported`] if `ActiveAuthenticationInfo` names no ECDSA algorithm.
pub fn parse_dg14(raw: &[u8]) -> Result<SecurityInfos, Error> {
    let (dg14, _) = tlv::parse_one(raw)?;
    if dg14.tag != 0x6E {
        return Err(Error::Malformed("DG14 tag is not 6E"));
    }
    parse_security_infos(dg14.value)
}

/// Parses a `SET OF SecurityInfo` (DG14's content; EF.CardAccess has the same form).
///
/// # Errors
///
/// As [`parse_dg14`].
pub fn parse_security_infos(set: &[u8]) -> Result<SecurityInfos, Error> {
    let (set, _) = tlv::parse_one(set)?;
    if set.tag != 0x31 {
        return Err(Error::Malformed("SecurityInfos is not a SET"));
    }
    let mut out = SecurityInfos::default();
    for info in set.children()? {
        if info.tag != 0x30 {
            continue;
        }
        let items = info.children()?;
        let Some((oid, rest)) = items.split_first() else {
            continue;
        };
        if oid.tag != 0x06 {
            continue;
        }
        let o = oid.value;
        if o.len() == 10 && (o[..9] == ID_CA_ECDH || o[..9] == ID_CA_DH) {
            let [version, key_id @ ..] = rest else {
                return Err(Error::Malformed("ChipAuthenticationInfo"));
            };
            out.chip_auth.push(ChipAuthInfo {
                oid: o.to_vec(),
                version: small_int(version)?,
                key_id: key_id.first().map(small_int).transpose()?,
            });
        } else if o == ID_PK_ECDH || o == ID_PK_DH {
            let [spki, key_id @ ..] = rest else {
                return Err(Error::Malformed("ChipAuthenticationPublicKeyInfo"));
            };
            let key_id = key_id.first().map(small_int).transpose()?;
            if o == ID_PK_DH {
                out.unsupported_keys.push("Chip Authentication with DH");
                continue;
            }
            match pki::parse_spki(spki.raw) {
                Ok(PublicKey::Ec { curve, point }) => out.chip_auth_keys.push(ChipAuthPublicKey {
                    curve,
                    point,
                    key_id,
                }),
                Ok(PublicKey::Rsa { .. }) => {
                    return Err(Error::Malformed(
                        "RSA key in ChipAuthenticationPublicKeyInfo",
                    ))
                }
                Err(Error::Unsupported(why)) => out.unsupported_keys.push(why),
                Err(e) => return Err(e),
            }
        } else if o == ID_AA {
            let [version, alg, ..] = rest else {
                return Err(Error::Malformed("ActiveAuthenticationInfo"));
            };
            if alg.tag != 0x06 {
                return Err(Error::Malformed("ActiveAuthenticationInfo algorithm"));
            }
            let SigAlg::Ecdsa(hash) = SigAlg::from_oid(alg.value)? else {
                return Err(Error::Unsupported(
                    "ActiveAuthenticationInfo names no ECDSA algorithm",
                ));
            };
            out.active_auth = Some(ActiveAuthInfo {
                version: small_int(version)?,
                hash,
            });
        }
    }
    Ok(out)
}

/// Builds DG14 from encoded SecurityInfos, in the given order (for the virtual card and tests).
pub fn encode_dg14(infos: &[Vec<u8>]) -> Vec<u8> {
    tlv::encode(0x6E, &tlv::encode(0x31, &infos.concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("hex")
    }

    fn point(curve: Curve) -> Vec<u8> {
        curve.mul_generator(&[0x07; 32]).expect("point")
    }

    #[test]
    fn a_cccd_shaped_dg14_in_any_order_with_unknown_infos() {
        let pace = h("3012060A04007F0007020204020202010202010D");
        // TerminalAuthenticationInfo (id-TA, version 2): unknown here, skipped.
        let ta = h("300D060804007F00070202020201 02".replace(' ', "").as_str());
        let ca = ChipAuthInfo {
            oid: CA_ECDH_AES_128.to_vec(),
            version: 1,
            key_id: Some(1),
        };
        let key = ChipAuthPublicKey {
            curve: Curve::BrainpoolP256r1,
            point: point(Curve::BrainpoolP256r1),
            key_id: Some(1),
        };
        let aa = ActiveAuthInfo {
            version: 1,
            hash: HashAlg::Sha384,
        };
        // Not in DER order (the key info is longest and comes first).
        let dg14 = encode_dg14(&[key.encode(), aa.encode(), ta, pace, ca.encode()]);
        let infos = parse_dg14(&dg14).expect("parses");
        assert_eq!(infos.chip_auth, vec![ca.clone()]);
        assert_eq!(infos.chip_auth_keys, vec![key]);
        assert_eq!(infos.active_auth, Some(aa));
        assert!(infos.offers_chip_auth());
        assert_eq!(ca.cipher(), Ok(Cipher::Aes(16)));
        // Truncations never panic and never pass as a complete DG14 silently.
        for cut in 0..dg14.len() {
            let _ = parse_dg14(&dg14[..cut]);
        }
    }

    #[test]
    fn explicit_parameters_dh_and_broken_infos() {
        let curve = Curve::P256;
        let spki = crate::issue::ec_spki_explicit(curve, &point(curve));
        let info = tlv::encode(0x30, &[tlv::encode(0x06, &ID_PK_ECDH), spki].concat());
        let infos = parse_dg14(&encode_dg14(&[info])).expect("parses");
        assert_eq!(infos.chip_auth_keys[0].curve, curve);
        assert_eq!(infos.chip_auth_keys[0].key_id, None);

        // A DH key is recorded as unsupported: the chip still offers CA.
        let dh = tlv::encode(
            0x30,
            &[tlv::encode(0x06, &ID_PK_DH), h("3003020100")].concat(),
        );
        let infos = parse_dg14(&encode_dg14(&[dh])).expect("parses");
        assert!(infos.offers_chip_auth());
        assert!(infos.chip_auth_keys.is_empty());

        // A ChipAuthenticationInfo without version, an AA info naming RSA: errors.
        let no_version = tlv::encode(0x30, &tlv::encode(0x06, &CA_ECDH_AES_128));
        assert!(parse_dg14(&encode_dg14(&[no_version])).is_err());
        let rsa_aa = tlv::encode(
            0x30,
            &[
                tlv::encode(0x06, &ID_AA),
                h("020101"),
                tlv::encode(0x06, &h("2A864886F70D01010B")),
            ]
            .concat(),
        );
        assert!(parse_dg14(&encode_dg14(&[rsa_aa])).is_err());
        assert!(parse_dg14(&h("6F00")).is_err());
        let des = ChipAuthInfo {
            oid: CA_ECDH_3DES.to_vec(),
            version: 1,
            key_id: None,
        };
        assert_eq!(des.cipher(), Ok(Cipher::Des3));
        let dh_info = ChipAuthInfo {
            oid: [&ID_CA_DH[..], &[2]].concat(),
            ..des
        };
        assert!(dh_info.cipher().is_err());
    }
}
