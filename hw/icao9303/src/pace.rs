//! PACE with generic mapping over elliptic curves (ICAO 9303-11 §4.4), terminal and chip sides.
//!
//! The terminal walks typed states: [`PaceTerminal`] -> [`AwaitNonce`] -> [`AwaitMapping`] ->
//! [`AwaitKey`] -> [`AwaitToken`] -> [`PaceEstablished`]; each transition consumes the previous
//! state, so a step cannot be skipped or repeated. Ephemeral secret keys are passed in (random in
//! production, the ICAO Appendix G values in tests). The chip side, [`PaceChip`], serves the
//! virtual card and round-trip tests.

use std::fmt;

use zeroize::Zeroizing;

use crate::apdu::{Command, Response};
use crate::crypto::{self, Cipher};
use crate::ec::Curve;
use crate::sm::SecureChannel;
use crate::tlv;
use crate::Error;

/// `id-PACE`: 0.4.0.127.0.7.2.2.4.
pub const ID_PACE: [u8; 8] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04];

/// `id-PACE-ECDH-GM-AES-CBC-CMAC-128`, what CCCD chips declare.
pub const ECDH_GM_AES_128: [u8; 10] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02];

/// One `PACEInfo` from EF.CardAccess (or DG14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaceInfo {
    /// The protocol OID (DER content bytes).
    pub oid: Vec<u8>,
    /// The PACE version (2 on current chips).
    pub version: u32,
    /// The standardized domain parameter id, if given.
    pub parameter_id: Option<u8>,
}

impl PaceInfo {
    /// Whether this is ECDH generic mapping, which this module implements.
    pub fn is_ecdh_gm(&self) -> bool {
        self.oid.len() == 10 && self.oid[..8] == ID_PACE && self.oid[8] == 2
    }

    /// The secure messaging cipher the protocol OID names.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for an unknown or non-ECDH-GM OID.
    pub fn cipher(&self) -> Result<Cipher, Error> {
        if !self.is_ecdh_gm() {
            return Err(Error::Unsupported(
                "PACE mapping other than ECDH generic mapping",
            ));
        }
        match self.oid[9] {
            1 => Ok(Cipher::Des3),
            2 => Ok(Cipher::Aes(16)),
            3 => Ok(Cipher::Aes(24)),
            4 => Ok(Cipher::Aes(32)),
            _ => Err(Error::Unsupported("unknown PACE cipher")),
        }
    }

    /// The curve, from the parameter id (brainpoolP256r1 when absent, as on CCCD chips).
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for curves this crate does not implement.
    pub fn curve(&self) -> Result<Curve, Error> {
        Curve::from_parameter_id(self.parameter_id.unwrap_or(13))
    }

    /// The CCCD's PACE offer: ECDH-GM, AES-128, brainpoolP256r1.
    pub fn cccd_default() -> Self {
        Self {
            oid: ECDH_GM_AES_128.to_vec(),
            version: 2,
            parameter_id: Some(13),
        }
    }
}

/// The PACE password.
#[derive(Clone)]
pub enum Password {
    /// Card access number (CCCD: the last 6 digits of the ID number).
    Can(Zeroizing<String>),
    /// The MRZ information (document number, DOB, expiry with check digits).
    Mrz(Zeroizing<String>),
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Can(_) => "Password::Can(<redacted>)",
            Self::Mrz(_) => "Password::Mrz(<redacted>)",
        })
    }
}

impl Password {
    /// The CAN of a CCCD from its 12-digit ID number: the last 6 digits.
    ///
    /// # Errors
    ///
    /// [`Error::BadInput`] if `id` is not 12 ASCII digits.
    pub fn can_from_id(id: &str) -> Result<Self, Error> {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::BadInput("the ID number must be 12 digits"));
        }
        Ok(Self::Can(Zeroizing::new(id[6..].to_string())))
    }

    /// A 6-digit CAN.
    ///
    /// # Errors
    ///
    /// [`Error::BadInput`] if `can` is not 6 ASCII digits.
    pub fn can(can: &str) -> Result<Self, Error> {
        if can.len() != 6 || !can.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::BadInput("the CAN must be 6 digits"));
        }
        Ok(Self::Can(Zeroizing::new(can.to_string())))
    }

    /// The password reference of MSE:Set AT (1 MRZ, 2 CAN).
    pub fn reference(&self) -> u8 {
        match self {
            Self::Mrz(_) => 1,
            Self::Can(_) => 2,
        }
    }

    /// `K = f(π)`: SHA-1 of the MRZ information, or the CAN itself.
    fn key_material(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Self::Mrz(info) => Zeroizing::new(crypto::sha1(info.as_bytes()).to_vec()),
            Self::Can(can) => Zeroizing::new(can.as_bytes().to_vec()),
        }
    }
}

/// Parses EF.CardAccess (a SET OF SecurityInfo) and returns its `PACEInfo`s. Unknown
/// SecurityInfos are skipped; SET OF order is not checked (real chips are not always DER).
///
/// # Errors
///
/// [`Error::Malformed`] if the file does not parse.
pub fn parse_pace_infos(card_access: &[u8]) -> Result<Vec<PaceInfo>, Error> {
    let (set, _) = tlv::parse_one(card_access)?;
    if set.tag != 0x31 {
        return Err(Error::Malformed("EF.CardAccess is not a SET"));
    }
    let mut out = Vec::new();
    for info in set.children()? {
        if info.tag != 0x30 {
            continue;
        }
        let items = info.children()?;
        let Some(oid) = items.first().filter(|t| t.tag == 0x06) else {
            continue;
        };
        if oid.value.len() != 10 || oid.value[..8] != ID_PACE {
            continue;
        }
        let int = |t: Option<&tlv::Tlv<'_>>| {
            t.filter(|t| t.tag == 0x02 && !t.value.is_empty() && t.value.len() <= 4)
                .map(|t| t.value.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
        };
        let version = int(items.get(1)).ok_or(Error::Malformed("PACEInfo version"))?;
        let parameter_id = int(items.get(2)).and_then(|v| u8::try_from(v).ok());
        out.push(PaceInfo {
            oid: oid.value.to_vec(),
            version,
            parameter_id,
        });
    }
    Ok(out)
}

fn ga_command(last: bool, tag: u32, value: &[u8]) -> Command {
    let body = if value.is_empty() && tag == 0 {
        Vec::new()
    } else {
        tlv::encode(tag, value)
    };
    Command::new(if last { 0x00 } else { 0x10 }, 0x86, 0x00, 0x00)
        .with_data(tlv::encode(0x7C, &body))
        .with_le(256)
}

fn ga_response(resp: &Response, tag: u32) -> Result<Vec<u8>, Error> {
    match resp.sw {
        0x9000 => {}
        sw if sw & 0xFFF0 == 0x63C0 || sw == 0x6300 || sw == 0x6982 || sw == 0x6983 => {
            return Err(Error::AccessDenied(sw))
        }
        sw => return Err(Error::Status(sw)),
    }
    let (dyn_auth, _) = tlv::parse_one(&resp.data)?;
    if dyn_auth.tag != 0x7C {
        return Err(Error::Malformed("GENERAL AUTHENTICATE answer is not 7C"));
    }
    Ok(dyn_auth.child(tag)?.value.to_vec())
}

/// The authentication token: MAC over `7F49 { 06 OID, 86 point }`.
fn token(cipher: Cipher, k_mac: &[u8], oid: &[u8], point: &[u8]) -> Result<[u8; 8], Error> {
    let inner = [tlv::encode(0x06, oid), tlv::encode(0x86, point)].concat();
    let data = tlv::encode(0x7F49, &inner);
    match cipher {
        Cipher::Des3 => crypto::mac(cipher, k_mac, &crypto::pad(&data, 8)),
        Cipher::Aes(_) => crypto::mac(cipher, k_mac, &data),
    }
}

fn decrypt_nonce(cipher: Cipher, k_pi: &[u8], z: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let iv = vec![0u8; cipher.block()];
    Ok(Zeroizing::new(crypto::cbc_decrypt(cipher, k_pi, &iv, z)?))
}

/// PACE not started: the chosen protocol and password key.
pub struct PaceTerminal {
    oid: Vec<u8>,
    cipher: Cipher,
    curve: Curve,
    parameter_id: Option<u8>,
    password_ref: u8,
    k_pi: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for PaceTerminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaceTerminal")
            .field("cipher", &self.cipher)
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

impl PaceTerminal {
    /// Prepares PACE for `info` with `password`.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for a mapping, cipher or curve this crate does not implement.
    pub fn new(info: &PaceInfo, password: &Password) -> Result<Self, Error> {
        let cipher = info.cipher()?;
        let curve = info.curve()?;
        Ok(Self {
            oid: info.oid.clone(),
            cipher,
            curve,
            parameter_id: info.parameter_id,
            password_ref: password.reference(),
            k_pi: crypto::kdf(cipher, &password.key_material(), crypto::KDF_PI),
        })
    }

    /// `MSE:Set AT` selecting the protocol, the password and (when known) the parameter id.
    pub fn mse_set_at(&self) -> Command {
        let mut data = tlv::encode(0x80, &self.oid);
        data.extend_from_slice(&tlv::encode(0x83, &[self.password_ref]));
        if let Some(id) = self.parameter_id {
            data.extend_from_slice(&tlv::encode(0x84, &[id]));
        }
        Command::new(0x00, 0x22, 0xC1, 0xA4).with_data(data)
    }

    /// The first `GENERAL AUTHENTICATE`, asking for the encrypted nonce.
    pub fn request_nonce(self) -> (Command, AwaitNonce) {
        (ga_command(false, 0, &[]), AwaitNonce { t: self })
    }
}

/// Waiting for the encrypted nonce.
#[derive(Debug)]
pub struct AwaitNonce {
    t: PaceTerminal,
}

impl AwaitNonce {
    /// Decrypts the nonce and sends the terminal's mapping key `sk_map * G`.
    ///
    /// # Errors
    ///
    /// [`Error::AccessDenied`] / [`Error::Status`] for an error status, [`Error::Malformed`] for
    /// a bad answer, [`Error::Crypto`] for an invalid `sk_map`.
    pub fn on_nonce(
        self,
        resp: &Response,
        sk_map: &[u8],
    ) -> Result<(Command, AwaitMapping), Error> {
        let z = ga_response(resp, 0x80)?;
        let s = decrypt_nonce(self.t.cipher, &self.t.k_pi, &z)?;
        let pk_map = self.t.curve.mul_generator(sk_map)?;
        Ok((
            ga_command(false, 0x81, &pk_map),
            AwaitMapping {
                t: self.t,
                s,
                sk_map: Zeroizing::new(sk_map.to_vec()),
                pk_map,
            },
        ))
    }
}

/// Waiting for the chip's mapping key.
pub struct AwaitMapping {
    t: PaceTerminal,
    s: Zeroizing<Vec<u8>>,
    sk_map: Zeroizing<Vec<u8>>,
    pk_map: Vec<u8>,
}

impl fmt::Debug for AwaitMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwaitMapping")
    }
}

/// `G^ = s * G + H` with `H = sk * PK` (generic mapping).
fn mapped_generator(curve: Curve, s: &[u8], sk: &[u8], pk_other: &[u8]) -> Result<Vec<u8>, Error> {
    let h = curve.mul(sk, pk_other)?;
    curve.add(&curve.mul_generator(s)?, &h)
}

impl AwaitMapping {
    /// Computes the mapped generator and sends the terminal's ephemeral key `sk_eph * G^`.
    ///
    /// # Errors
    ///
    /// As [`AwaitNonce::on_nonce`]; [`Error::Crypto`] if the chip's key is not a valid point or
    /// echoes the terminal's.
    pub fn on_mapping(self, resp: &Response, sk_eph: &[u8]) -> Result<(Command, AwaitKey), Error> {
        let pk_map_ic = self.t.curve.validate(&ga_response(resp, 0x82)?)?;
        if pk_map_ic == self.pk_map {
            return Err(Error::Crypto("chip echoed the terminal's mapping key"));
        }
        let g_hat = mapped_generator(self.t.curve, &self.s, &self.sk_map, &pk_map_ic)?;
        let pk_eph = self.t.curve.mul(sk_eph, &g_hat)?;
        Ok((
            ga_command(false, 0x83, &pk_eph),
            AwaitKey {
                t: self.t,
                sk_eph: Zeroizing::new(sk_eph.to_vec()),
                pk_eph,
            },
        ))
    }
}

/// Waiting for the chip's ephemeral key.
pub struct AwaitKey {
    t: PaceTerminal,
    sk_eph: Zeroizing<Vec<u8>>,
    pk_eph: Vec<u8>,
}

impl fmt::Debug for AwaitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwaitKey")
    }
}

impl AwaitKey {
    /// Derives the session keys and sends the terminal's authentication token.
    ///
    /// # Errors
    ///
    /// As [`AwaitMapping::on_mapping`].
    pub fn on_key(self, resp: &Response) -> Result<(Command, AwaitToken), Error> {
        let pk_ic = self.t.curve.validate(&ga_response(resp, 0x84)?)?;
        if pk_ic == self.pk_eph {
            return Err(Error::Crypto("chip echoed the terminal's ephemeral key"));
        }
        let shared = Zeroizing::new(self.t.curve.mul(&self.sk_eph, &pk_ic)?);
        let x = Zeroizing::new(shared[1..1 + self.t.curve.field_len()].to_vec());
        let k_enc = crypto::kdf(self.t.cipher, &x, crypto::KDF_ENC);
        let k_mac = crypto::kdf(self.t.cipher, &x, crypto::KDF_MAC);
        let t_ifd = token(self.t.cipher, &k_mac, &self.t.oid, &pk_ic)?;
        Ok((
            ga_command(true, 0x85, &t_ifd),
            AwaitToken {
                cipher: self.t.cipher,
                oid: self.t.oid,
                k_enc,
                k_mac,
                pk_eph: self.pk_eph,
                pk_ic,
            },
        ))
    }
}

/// Waiting for the chip's authentication token.
pub struct AwaitToken {
    cipher: Cipher,
    oid: Vec<u8>,
    k_enc: Zeroizing<Vec<u8>>,
    k_mac: Zeroizing<Vec<u8>>,
    pk_eph: Vec<u8>,
    pk_ic: Vec<u8>,
}

impl fmt::Debug for AwaitToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwaitToken")
    }
}

/// PACE succeeded: the secure channel and what Chip Authentication binds to.
#[derive(Debug)]
pub struct PaceEstablished {
    /// AES (or 3DES) secure messaging with SSC = 0.
    pub channel: SecureChannel,
    /// The chip's ephemeral public key (`ID_PICC` for Chip Authentication).
    pub chip_ephemeral_key: Vec<u8>,
}

impl AwaitToken {
    /// Checks the chip's token.
    ///
    /// # Errors
    ///
    /// [`Error::AccessDenied`] if the chip refused the terminal's token (wrong password) or its
    /// own token is wrong.
    pub fn finish(self, resp: &Response) -> Result<PaceEstablished, Error> {
        let t_ic = ga_response(resp, 0x86)?;
        let expect = token(self.cipher, &self.k_mac, &self.oid, &self.pk_eph)?;
        if !crypto::ct_eq(&expect, &t_ic) {
            return Err(Error::AccessDenied(resp.sw));
        }
        Ok(PaceEstablished {
            channel: SecureChannel::new(self.cipher, &self.k_enc, &self.k_mac, 0),
            chip_ephemeral_key: self.pk_ic,
        })
    }
}

enum ChipState {
    Idle,
    Nonce {
        s: Zeroizing<Vec<u8>>,
    },
    Mapped {
        g_hat: Vec<u8>,
    },
    Keyed {
        k_enc: Zeroizing<Vec<u8>>,
        k_mac: Zeroizing<Vec<u8>>,
        pk_ifd: Vec<u8>,
        pk_ic: Vec<u8>,
    },
    Failed,
}

/// The chip side of PACE, for the virtual card.
pub struct PaceChip {
    oid: Vec<u8>,
    cipher: Cipher,
    curve: Curve,
    k_pi: Zeroizing<Vec<u8>>,
    state: ChipState,
}

impl fmt::Debug for PaceChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaceChip")
            .field("cipher", &self.cipher)
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

/// What the chip answers to one `GENERAL AUTHENTICATE`.
#[derive(Debug)]
pub enum ChipStep {
    /// Response data (`7C ...`) with `9000`; PACE continues.
    Continue(Vec<u8>),
    /// The last answer with the established channel.
    Done(Vec<u8>, SecureChannel),
}

impl PaceChip {
    /// A chip that accepts `password` for `info`.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] as [`PaceTerminal::new`].
    pub fn new(info: &PaceInfo, password: &Password) -> Result<Self, Error> {
        let cipher = info.cipher()?;
        Ok(Self {
            oid: info.oid.clone(),
            cipher,
            curve: info.curve()?,
            k_pi: crypto::kdf(cipher, &password.key_material(), crypto::KDF_PI),
            state: ChipState::Idle,
        })
    }

    /// Processes the data of one `GENERAL AUTHENTICATE`; `rand` fills fresh random bytes.
    ///
    /// # Errors
    ///
    /// [`Error::AccessDenied`] (status `6300`) on a wrong token; [`Error::Malformed`] /
    /// [`Error::Crypto`] for bad input; after any error PACE must restart with MSE:Set AT.
    pub fn general_authenticate(
        &mut self,
        data: &[u8],
        rand: &mut dyn FnMut(&mut [u8]),
    ) -> Result<ChipStep, Error> {
        let state = std::mem::replace(&mut self.state, ChipState::Failed);
        let (dyn_auth, _) = tlv::parse_one(data)?;
        if dyn_auth.tag != 0x7C {
            return Err(Error::Malformed("GENERAL AUTHENTICATE data is not 7C"));
        }
        let field = self.curve.field_len();
        let random_scalar = |rand: &mut dyn FnMut(&mut [u8]), curve: Curve| loop {
            let mut k = Zeroizing::new(vec![0u8; field]);
            rand(&mut k);
            if curve.mul_generator(&k).is_ok() {
                return k;
            }
        };
        let reply = |tag: u32, v: &[u8]| tlv::encode(0x7C, &tlv::encode(tag, v));
        match state {
            ChipState::Idle => {
                let mut s = Zeroizing::new(vec![0u8; self.cipher.block()]);
                rand(&mut s);
                let iv = vec![0u8; self.cipher.block()];
                let z = crypto::cbc_encrypt(self.cipher, &self.k_pi, &iv, &s)?;
                self.state = ChipState::Nonce { s };
                Ok(ChipStep::Continue(reply(0x80, &z)))
            }
            ChipState::Nonce { s } => {
                let pk_map_ifd = self.curve.validate(dyn_auth.child(0x81)?.value)?;
                let sk = random_scalar(rand, self.curve);
                let pk_map_ic = self.curve.mul_generator(&sk)?;
                let g_hat = mapped_generator(self.curve, &s, &sk, &pk_map_ifd)?;
                self.state = ChipState::Mapped { g_hat };
                Ok(ChipStep::Continue(reply(0x82, &pk_map_ic)))
            }
            ChipState::Mapped { g_hat } => {
                let pk_ifd = self.curve.validate(dyn_auth.child(0x83)?.value)?;
                let sk = random_scalar(rand, self.curve);
                let pk_ic = self.curve.mul(&sk, &g_hat)?;
                let shared = Zeroizing::new(self.curve.mul(&sk, &pk_ifd)?);
                let x = Zeroizing::new(shared[1..1 + field].to_vec());
                self.state = ChipState::Keyed {
                    k_enc: crypto::kdf(self.cipher, &x, crypto::KDF_ENC),
                    k_mac: crypto::kdf(self.cipher, &x, crypto::KDF_MAC),
                    pk_ifd,
                    pk_ic: pk_ic.clone(),
                };
                Ok(ChipStep::Continue(reply(0x84, &pk_ic)))
            }
            ChipState::Keyed {
                k_enc,
                k_mac,
                pk_ifd,
                pk_ic,
            } => {
                let t_ifd = dyn_auth.child(0x85)?.value;
                let expect = token(self.cipher, &k_mac, &self.oid, &pk_ic)?;
                if !crypto::ct_eq(&expect, t_ifd) {
                    return Err(Error::AccessDenied(0x6300));
                }
                let t_ic = token(self.cipher, &k_mac, &self.oid, &pk_ifd)?;
                self.state = ChipState::Idle;
                Ok(ChipStep::Done(
                    reply(0x86, &t_ic),
                    SecureChannel::new(self.cipher, &k_enc, &k_mac, 0),
                ))
            }
            ChipState::Failed => Err(Error::Status(0x6985)),
        }
    }

    /// Restarts PACE (on MSE:Set AT).
    pub fn reset(&mut self) {
        self.state = ChipState::Idle;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bac::mrz_information;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("hex")
    }

    fn resp(hexstr: &str) -> Response {
        Response::parse(&h(hexstr)).expect("sw")
    }

    const PK_MAP_IFD: &str = "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D";
    const PK_MAP_IC: &str = "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54";
    const PK_DH_IFD: &str = "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462";
    const PK_DH_IC: &str = "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094";

    /// ICAO 9303-11 Appendix G.1: PACE ECDH-GM, AES-128, brainpoolP256r1, MRZ password.
    #[test]
    fn icao_appendix_g1_terminal_transcript() {
        let info = PaceInfo {
            oid: ECDH_GM_AES_128.to_vec(),
            version: 2,
            parameter_id: Some(13),
        };
        let pw = Password::Mrz(mrz_information("T22000129", "640812", "101031").expect("mrz"));
        assert_eq!(
            crypto::kdf(Cipher::Aes(16), &pw.key_material(), 3).to_vec(),
            h("89DED1B26624EC1E634C1989302849DD")
        );
        let t = PaceTerminal::new(&info, &pw).expect("supported");
        assert_eq!(
            t.mse_set_at().to_bytes(),
            h("0022C1A412800A04007F0007020204020283010184010D")
        );
        let (cmd, st) = t.request_nonce();
        assert_eq!(cmd.to_bytes(), h("10860000027C0000"));
        let sk_map = h("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99");
        let (cmd, st) = st
            .on_nonce(
                &resp("7C12801095A3A016522EE98D01E76CB6B98B42C39000"),
                &sk_map,
            )
            .expect("nonce");
        assert_eq!(
            cmd.to_bytes(),
            h(&format!("10860000457C438141{PK_MAP_IFD}00"))
        );
        // Intermediate values of Appendix G.1.
        let s = h("3F00C4D39D153F2B2A214A078D899B22");
        let hpt = Curve::BrainpoolP256r1
            .mul(&sk_map, &h(PK_MAP_IC))
            .expect("H");
        assert_eq!(hpt, h("0460332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD50840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181"));
        assert_eq!(
            mapped_generator(Curve::BrainpoolP256r1, &s, &sk_map, &h(PK_MAP_IC)).expect("G^"),
            h("048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E28C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522")
        );
        let sk_eph = h("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595");
        let (cmd, st) = st
            .on_mapping(&resp(&format!("7C438241{PK_MAP_IC}9000")), &sk_eph)
            .expect("mapping");
        assert_eq!(
            cmd.to_bytes(),
            h(&format!("10860000457C438341{PK_DH_IFD}00"))
        );
        let (cmd, st) = st
            .on_key(&resp(&format!("7C438441{PK_DH_IC}9000")))
            .expect("key agreement");
        assert_eq!(cmd.to_bytes(), h("008600000C7C0A8508C2B0BD78D94BA86600"));
        assert_eq!(
            crypto::kdf(
                Cipher::Aes(16),
                &h("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925"),
                1
            )
            .to_vec(),
            h("F5F0E35C0D7161EE6724EE513A0D9A7F")
        );
        assert_eq!(
            crypto::kdf(
                Cipher::Aes(16),
                &h("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925"),
                2
            )
            .to_vec(),
            h("FE251C7858B356B24514B3BD5F4297D1")
        );
        let done = st
            .finish(&resp("7C0A86083ABB9674BCE93C089000"))
            .expect("chip token verifies");
        assert_eq!(done.chip_ephemeral_key, h(PK_DH_IC));
    }

    /// Runs both sides against each other; returns the terminal's and the chip's channels.
    fn run(
        info: &PaceInfo,
        terminal_pw: &Password,
        chip_pw: &Password,
    ) -> Result<(SecureChannel, SecureChannel), Error> {
        let mut seed = 1u8;
        let mut rand = move |buf: &mut [u8]| {
            for b in buf.iter_mut() {
                seed = seed.wrapping_mul(31).wrapping_add(7);
                *b = seed;
            }
        };
        let mut chip = PaceChip::new(info, chip_pw)?;
        let mut chip_channel = None;
        let mut step =
            |cmd: &Command, rand: &mut dyn FnMut(&mut [u8])| -> Result<Response, Error> {
                match chip.general_authenticate(&cmd.data, rand) {
                    Ok(ChipStep::Continue(d)) => Ok(Response {
                        data: d,
                        sw: 0x9000,
                    }),
                    Ok(ChipStep::Done(d, sm)) => {
                        chip_channel = Some(sm);
                        Ok(Response {
                            data: d,
                            sw: 0x9000,
                        })
                    }
                    Err(Error::AccessDenied(sw)) => Ok(Response { data: vec![], sw }),
                    Err(e) => Err(e),
                }
            };
        let t = PaceTerminal::new(info, terminal_pw)?;
        let (cmd, st) = t.request_nonce();
        let r = step(&cmd, &mut rand)?;
        let (cmd, st) = st.on_nonce(&r, &[0x11; 32])?;
        let r = step(&cmd, &mut rand)?;
        let (cmd, st) = st.on_mapping(&r, &[0x22; 32])?;
        let r = step(&cmd, &mut rand)?;
        let (cmd, st) = st.on_key(&r)?;
        let r = step(&cmd, &mut rand)?;
        let done = st.finish(&r)?;
        let chip_channel = chip_channel.ok_or(Error::Crypto("chip did not finish"))?;
        Ok((done.channel, chip_channel))
    }

    #[test]
    fn chip_and_terminal_agree_on_both_curves_and_refuse_a_wrong_can() {
        for param in [12u8, 13] {
            let info = PaceInfo {
                parameter_id: Some(param),
                ..PaceInfo::cccd_default()
            };
            let can = Password::can_from_id("001090123456").expect("id");
            let (mut terminal, mut chip) = run(&info, &can, &can).expect("PACE succeeds");
            // The two channels agree: a protected READ BINARY and its answer round-trip.
            let wire = terminal
                .protect(&Command::new(0, 0xB0, 0x81, 0).with_le(223))
                .expect("protect");
            let got = chip
                .unprotect_command(&Command::parse(&wire).expect("parses"))
                .expect("MAC");
            assert_eq!((got.p1, got.le), (0x81, Some(223)));
            let answer = chip
                .protect_response(&Response {
                    data: vec![0x61, 0x00],
                    sw: 0x9000,
                })
                .expect("protect");
            let back = terminal
                .unprotect(&Response::parse(&answer).expect("sw"))
                .expect("MAC");
            assert_eq!(back.data, [0x61, 0x00]);
            let wrong = Password::can("123457").expect("can");
            assert!(
                matches!(run(&info, &wrong, &can), Err(Error::AccessDenied(_))),
                "curve {param}"
            );
        }
    }

    #[test]
    fn card_access_of_a_cccd() {
        let ca = h("31143012060A04007F0007020204020202010202010D");
        let infos = parse_pace_infos(&ca).expect("parses");
        assert_eq!(infos, vec![PaceInfo::cccd_default()]);
        assert!(parse_pace_infos(&ca[..10]).is_err());
    }
}
