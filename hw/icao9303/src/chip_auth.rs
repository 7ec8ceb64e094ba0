//! Chip Authentication with ECDH (ICAO 9303-11 §6.2, BSI TR-03110 part 3 §3.4): the terminal
//! agrees new secure-messaging keys with the chip's static DG14 key. Only the chip that holds
//! the private key can speak the new keys, so a clone fails at the next protected exchange.
//!
//! The terminal walks typed states: [`ChipAuthTerminal`] -> [`AwaitSetAt`] -> (AES:
//! [`AwaitKeyAgreement`]) -> [`Unconfirmed`]; each transition consumes the previous state.
//! With AES the commands are `MSE:Set AT` (`80` protocol OID, `84` key id) then `GENERAL
//! AUTHENTICATE` with `7C { 80 ephemeral public key }`; with 3DES a single `MSE:Set KAT` (`91`
//! ephemeral public key, `84` key id). Both travel under the current secure messaging; the
//! chip answers the last one under the old keys, then both sides switch to `KS_Enc`/`KS_MAC`
//! from the x-coordinate of the ECDH shared point (the PACE KDF with the CA cipher) and SSC 0.
//! Success is implicit: the caller confirms [`Unconfirmed`] when the first exchange under the
//! new keys verifies (see [`crate::reader`]).
//!
//! [`ChipAuthChip`] is the chip side, for the virtual card and tests.

use std::fmt;

use zeroize::Zeroizing;

use crate::apdu::{Command, Response};
use crate::crypto::Cipher;
use crate::dg14::{
    int_content as key_ref, ChipAuthInfo, ChipAuthPublicKey, SecurityInfos, CA_ECDH_3DES,
};
use crate::ec::Curve;
use crate::sm::SecureChannel;
use crate::tlv;
use crate::Error;

/// What Chip Authentication gave, recorded in [`crate::reader::ChipRead`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChipAuthOutcome {
    /// The chip spoke the new keys: it holds the DG14 private key.
    Verified,
    /// The keys were switched and the chip could not speak them: a clone (or a broken chip).
    Failed(String),
    /// The chip answered MSE or GENERAL AUTHENTICATE with this error status.
    Refused(u16),
    /// DG14 offers Chip Authentication in a form this crate cannot run.
    Unsupported(&'static str),
}

impl ChipAuthOutcome {
    /// A short machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Failed(_) => "failed",
            Self::Refused(_) => "refused",
            Self::Unsupported(_) => "unsupported",
        }
    }
}

/// Chip Authentication not started: the protocol and the chip's static key from DG14.
pub struct ChipAuthTerminal {
    info: ChipAuthInfo,
    cipher: Cipher,
    key: ChipAuthPublicKey,
}

impl fmt::Debug for ChipAuthTerminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChipAuthTerminal")
            .field("cipher", &self.cipher)
            .field("curve", &self.key.curve)
            .finish_non_exhaustive()
    }
}

impl ChipAuthTerminal {
    /// Chooses a supported protocol and its key from DG14: the first `ChipAuthenticationInfo`
    /// with an ECDH cipher whose key id matches a key (a sole key matches any info); without
    /// any `ChipAuthenticationInfo` (CA version 1), 3DES with the sole key.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] when DG14 offers no Chip Authentication this crate can run (DH,
    /// unknown cipher or curve, no matching key).
    pub fn new(infos: &SecurityInfos) -> Result<Self, Error> {
        let keys = &infos.chip_auth_keys;
        let key_for = |id: Option<u32>| match (id, keys.as_slice()) {
            (_, [only]) => Some(only.clone()),
            (Some(id), _) => keys.iter().find(|k| k.key_id == Some(id)).cloned(),
            (None, _) => None,
        };
        if infos.chip_auth.is_empty() {
            let key = key_for(None).ok_or(Error::Unsupported(
                infos
                    .unsupported_keys
                    .first()
                    .copied()
                    .unwrap_or("no usable Chip Authentication key in DG14"),
            ))?;
            let info = ChipAuthInfo {
                oid: CA_ECDH_3DES.to_vec(),
                version: 1,
                key_id: key.key_id,
            };
            return Self::with(info, key);
        }
        let mut why = "no Chip Authentication key in DG14 matches its protocol";
        for info in &infos.chip_auth {
            if let Err(Error::Unsupported(w)) = info.cipher() {
                why = w;
                continue;
            }
            if let Some(key) = key_for(info.key_id) {
                return Self::with(info.clone(), key);
            }
        }
        Err(Error::Unsupported(
            infos.unsupported_keys.first().copied().unwrap_or(why),
        ))
    }

    fn with(info: ChipAuthInfo, key: ChipAuthPublicKey) -> Result<Self, Error> {
        let cipher = info.cipher()?;
        Ok(Self { info, cipher, key })
    }

    /// The curve of the chip's key (the terminal's ephemeral key is drawn on it).
    pub fn curve(&self) -> Curve {
        self.key.curve
    }

    /// Sends the terminal's ephemeral public key `sk_eph * G`: `MSE:Set AT` first for AES,
    /// `MSE:Set KAT` (which carries the key) for 3DES.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] for an invalid `sk_eph` or a chip key not on its curve.
    pub fn start(self, sk_eph: &[u8]) -> Result<(Command, AwaitSetAt), Error> {
        let curve = self.key.curve;
        let pk_eph = curve.mul_generator(sk_eph)?;
        let shared = Zeroizing::new(curve.mul(sk_eph, &self.key.point)?);
        let x = shared
            .get(1..1 + curve.field_len())
            .ok_or(Error::Crypto("shared point too short"))?;
        let channel = SecureChannel::from_seed(self.cipher, x, 0);
        let key_id = self
            .info
            .key_id
            .map(|id| tlv::encode(0x84, &key_ref(id)))
            .unwrap_or_default();
        let cmd = match self.cipher {
            Cipher::Des3 => Command::new(0x00, 0x22, 0x41, 0xA6)
                .with_data([tlv::encode(0x91, &pk_eph), key_id].concat()),
            Cipher::Aes(_) => Command::new(0x00, 0x22, 0x41, 0xA4)
                .with_data([tlv::encode(0x80, &self.info.oid), key_id].concat()),
        };
        Ok((
            cmd,
            AwaitSetAt {
                des: self.cipher == Cipher::Des3,
                pk_eph,
                channel,
            },
        ))
    }
}

/// Waiting for the answer to `MSE:Set AT` (AES) or `MSE:Set KAT` (3DES).
pub struct AwaitSetAt {
    des: bool,
    pk_eph: Vec<u8>,
    channel: SecureChannel,
}

impl fmt::Debug for AwaitSetAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwaitSetAt")
    }
}

/// After `MSE`: another command (AES) or the key switch (3DES).
#[derive(Debug)]
pub enum AfterSetAt {
    /// Send this `GENERAL AUTHENTICATE`, then [`AwaitKeyAgreement::on_response`].
    KeyAgreement(Command, AwaitKeyAgreement),
    /// 3DES: switch to these keys now.
    Switch(Unconfirmed),
}

fn refused(resp: &Response) -> Result<(), Error> {
    if resp.sw == 0x9000 {
        Ok(())
    } else {
        Err(Error::Status(resp.sw))
    }
}

impl AwaitSetAt {
    /// Processes the chip's answer.
    ///
    /// # Errors
    ///
    /// [`Error::Status`] if the chip refused.
    pub fn on_response(self, resp: &Response) -> Result<AfterSetAt, Error> {
        refused(resp)?;
        if self.des {
            return Ok(AfterSetAt::Switch(Unconfirmed {
                channel: self.channel,
            }));
        }
        let cmd = Command::new(0x00, 0x86, 0x00, 0x00)
            .with_data(tlv::encode(0x7C, &tlv::encode(0x80, &self.pk_eph)))
            .with_le(256);
        Ok(AfterSetAt::KeyAgreement(
            cmd,
            AwaitKeyAgreement {
                channel: self.channel,
            },
        ))
    }
}

/// Waiting for the answer to `GENERAL AUTHENTICATE`.
pub struct AwaitKeyAgreement {
    channel: SecureChannel,
}

impl fmt::Debug for AwaitKeyAgreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwaitKeyAgreement")
    }
}

impl AwaitKeyAgreement {
    /// Processes the chip's answer (`7C` with no mandatory content in CA versions 1 and 2).
    ///
    /// # Errors
    ///
    /// [`Error::Status`] if the chip refused, [`Error::Malformed`] for an answer that is not
    /// `7C`.
    pub fn on_response(self, resp: &Response) -> Result<Unconfirmed, Error> {
        refused(resp)?;
        if !resp.data.is_empty() {
            let (t, _) = tlv::parse_one(&resp.data)?;
            if t.tag != 0x7C {
                return Err(Error::Malformed("GENERAL AUTHENTICATE answer is not 7C"));
            }
        }
        Ok(Unconfirmed {
            channel: self.channel,
        })
    }
}

/// The new keys, not yet confirmed: use [`Unconfirmed::channel`] for the next exchange; if it
/// verifies, Chip Authentication succeeded.
pub struct Unconfirmed {
    /// Secure messaging under the Chip Authentication keys, SSC 0.
    pub channel: SecureChannel,
}

impl fmt::Debug for Unconfirmed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unconfirmed")
    }
}

/// The chip side of Chip Authentication, for the virtual card.
pub struct ChipAuthChip {
    curve: Curve,
    secret: Zeroizing<Vec<u8>>,
    key_id: Option<u32>,
    selected: Option<Cipher>,
}

impl fmt::Debug for ChipAuthChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChipAuthChip")
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

impl ChipAuthChip {
    /// A chip with this static private key (and key id, if DG14 names one).
    pub fn new(curve: Curve, secret: &[u8], key_id: Option<u32>) -> Self {
        Self {
            curve,
            secret: Zeroizing::new(secret.to_vec()),
            key_id,
            selected: None,
        }
    }

    fn check_key_id(&self, items: &[tlv::Tlv<'_>]) -> Result<(), Error> {
        match items.iter().find(|t| t.tag == 0x84) {
            Some(t) if Some(t.value) != self.key_id.map(key_ref).as_deref() => {
                Err(Error::Status(0x6A88))
            }
            _ => Ok(()),
        }
    }

    fn derive(&self, cipher: Cipher, pk_ifd: &[u8]) -> Result<SecureChannel, Error> {
        let shared = Zeroizing::new(self.curve.mul(&self.secret, pk_ifd)?);
        let x = shared
            .get(1..1 + self.curve.field_len())
            .ok_or(Error::Crypto("shared point too short"))?;
        Ok(SecureChannel::from_seed(cipher, x, 0))
    }

    /// `MSE:Set AT` (P1P2 `41A4`): selects the protocol.
    ///
    /// # Errors
    ///
    /// [`Error::Status`] with the status word to answer.
    pub fn set_at(&mut self, data: &[u8]) -> Result<(), Error> {
        let items = tlv::parse_all(data).map_err(|_| Error::Status(0x6A80))?;
        self.check_key_id(&items)?;
        let oid = items
            .iter()
            .find(|t| t.tag == 0x80)
            .ok_or(Error::Status(0x6A80))?;
        let info = ChipAuthInfo {
            oid: oid.value.to_vec(),
            version: 1,
            key_id: None,
        };
        match info.cipher() {
            Ok(c @ Cipher::Aes(_)) => {
                self.selected = Some(c);
                Ok(())
            }
            _ => Err(Error::Status(0x6A80)),
        }
    }

    /// `GENERAL AUTHENTICATE` after `MSE:Set AT`: returns the answer data and the channel to
    /// switch to after answering (under the old keys).
    ///
    /// # Errors
    ///
    /// [`Error::Status`] with the status word to answer.
    pub fn general_authenticate(&mut self, data: &[u8]) -> Result<(Vec<u8>, SecureChannel), Error> {
        let cipher = self.selected.take().ok_or(Error::Status(0x6985))?;
        let (dyn_auth, _) = tlv::parse_one(data).map_err(|_| Error::Status(0x6A80))?;
        let pk = dyn_auth
            .child(0x80)
            .map_err(|_| Error::Status(0x6A80))?
            .value;
        let pk = self.curve.validate(pk).map_err(|_| Error::Status(0x6A80))?;
        let channel = self.derive(cipher, &pk)?;
        Ok((tlv::encode(0x7C, &[]), channel))
    }

    /// `MSE:Set KAT` (P1P2 `41A6`, 3DES): the channel to switch to after answering.
    ///
    /// # Errors
    ///
    /// [`Error::Status`] with the status word to answer.
    pub fn set_kat(&mut self, data: &[u8]) -> Result<SecureChannel, Error> {
        let items = tlv::parse_all(data).map_err(|_| Error::Status(0x6A80))?;
        self.check_key_id(&items)?;
        let pk = items
            .iter()
            .find(|t| t.tag == 0x91)
            .ok_or(Error::Status(0x6A80))?;
        let pk = self
            .curve
            .validate(pk.value)
            .map_err(|_| Error::Status(0x6A80))?;
        self.derive(Cipher::Des3, &pk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dg14::CA_ECDH_AES_128;

    fn infos(curve: Curve, oid: &[u8], point: Vec<u8>, key_id: Option<u32>) -> SecurityInfos {
        SecurityInfos {
            chip_auth: vec![ChipAuthInfo {
                oid: oid.to_vec(),
                version: 1,
                key_id,
            }],
            chip_auth_keys: vec![ChipAuthPublicKey {
                curve,
                point,
                key_id,
            }],
            ..Default::default()
        }
    }

    fn ok(data: Vec<u8>) -> Response {
        Response { data, sw: 0x9000 }
    }

    /// Runs terminal and chip; returns both new channels.
    fn run(
        infos: &SecurityInfos,
        chip: &mut ChipAuthChip,
    ) -> Result<(SecureChannel, SecureChannel), Error> {
        let t = ChipAuthTerminal::new(infos)?;
        let (cmd, st) = t.start(&[0x5A; 32])?;
        let unconfirmed;
        let chip_channel;
        if cmd.p2 == 0xA6 {
            chip_channel = chip.set_kat(&cmd.data)?;
            let AfterSetAt::Switch(u) = st.on_response(&ok(vec![]))? else {
                return Err(Error::Crypto("3DES needs no GENERAL AUTHENTICATE"));
            };
            unconfirmed = u;
        } else {
            assert_eq!((cmd.cla, cmd.ins, cmd.p1, cmd.p2), (0x00, 0x22, 0x41, 0xA4));
            chip.set_at(&cmd.data)?;
            let AfterSetAt::KeyAgreement(ga, st) = st.on_response(&ok(vec![]))? else {
                return Err(Error::Crypto("AES needs GENERAL AUTHENTICATE"));
            };
            assert_eq!(ga.data[..3], [0x7C, ga.data.len() as u8 - 2, 0x80]);
            let (answer, ch) = chip.general_authenticate(&ga.data)?;
            chip_channel = ch;
            unconfirmed = st.on_response(&ok(answer))?;
        }
        Ok((unconfirmed.channel, chip_channel))
    }

    fn agree(mut t: SecureChannel, mut c: SecureChannel) -> bool {
        let Ok(wire) = t.protect(&Command::new(0, 0xB0, 0x81, 0).with_le(4)) else {
            return false;
        };
        let Ok(cmd) = Command::parse(&wire) else {
            return false;
        };
        c.unprotect_command(&cmd).is_ok()
    }

    #[test]
    fn genuine_chips_agree_and_clones_do_not() {
        for curve in [Curve::BrainpoolP256r1, Curve::P256] {
            for (oid, key_id) in [
                (CA_ECDH_AES_128.to_vec(), Some(1)),
                (CA_ECDH_AES_128.to_vec(), None),
                ([&crate::dg14::ID_CA_ECDH[..], &[4]].concat(), Some(7)),
                (CA_ECDH_3DES.to_vec(), None),
            ] {
                let secret = [0x42; 32];
                let point = curve.mul_generator(&secret).expect("key");
                let i = infos(curve, &oid, point, key_id);
                let mut chip = ChipAuthChip::new(curve, &secret, key_id);
                let (t, c) = run(&i, &mut chip).expect("CA runs");
                assert!(agree(t, c), "{curve:?} {oid:02X?}");
                // A clone: DG14 holds the genuine key, the chip another private key.
                let mut clone = ChipAuthChip::new(curve, &[0x43; 32], key_id);
                let (t, c) = run(&i, &mut clone).expect("CA runs");
                assert!(!agree(t, c), "a clone must not speak the new keys");
            }
        }
    }

    #[test]
    fn unsupported_and_refused() {
        let curve = Curve::BrainpoolP256r1;
        let point = curve.mul_generator(&[0x42; 32]).expect("key");
        // No key at all, DH only, a key id that matches no key among several.
        assert!(ChipAuthTerminal::new(&SecurityInfos::default()).is_err());
        let dh = SecurityInfos {
            unsupported_keys: vec!["Chip Authentication with DH"],
            ..Default::default()
        };
        assert_eq!(
            ChipAuthTerminal::new(&dh).err(),
            Some(Error::Unsupported("Chip Authentication with DH"))
        );
        let mut two = infos(curve, &CA_ECDH_AES_128, point.clone(), Some(3));
        two.chip_auth_keys.push(ChipAuthPublicKey {
            curve,
            point: point.clone(),
            key_id: Some(4),
        });
        two.chip_auth[0].key_id = Some(5);
        assert!(ChipAuthTerminal::new(&two).is_err());
        // Only a public key (CA version 1): 3DES.
        let v1 = SecurityInfos {
            chip_auth_keys: vec![ChipAuthPublicKey {
                curve,
                point: point.clone(),
                key_id: None,
            }],
            ..Default::default()
        };
        let (cmd, _) = ChipAuthTerminal::new(&v1)
            .expect("v1")
            .start(&[1; 32])
            .expect("start");
        assert_eq!(cmd.p2, 0xA6);
        // The chip refuses MSE:Set AT.
        let i = infos(curve, &CA_ECDH_AES_128, point, None);
        let (_, st) = ChipAuthTerminal::new(&i)
            .expect("ok")
            .start(&[1; 32])
            .expect("start");
        let r = st.on_response(&Response {
            data: vec![],
            sw: 0x6A80,
        });
        assert!(matches!(r, Err(Error::Status(0x6A80))));
        // The chip side refuses a wrong key id and a GENERAL AUTHENTICATE without MSE.
        let mut chip = ChipAuthChip::new(curve, &[0x42; 32], Some(1));
        let set_at = [tlv::encode(0x80, &CA_ECDH_AES_128), tlv::encode(0x84, &[2])].concat();
        assert_eq!(chip.set_at(&set_at), Err(Error::Status(0x6A88)));
        assert!(chip.general_authenticate(&[0x7C, 0x00]).is_err());
    }
}
