//! Secure messaging (ICAO 9303-11 §9.8): 3DES or AES, both directions.
//!
//! The terminal side ([`SecureChannel::protect`], [`SecureChannel::unprotect`]) is what the
//! kiosk uses; the card side ([`SecureChannel::unprotect_command`],
//! [`SecureChannel::protect_response`]) serves the virtual card and the round-trip tests. Both
//! sides keep their own send sequence counter (SSC), incremented before every protected command
//! and every protected response.

use std::fmt;

use zeroize::Zeroizing;

use crate::apdu::{Command, Response};
use crate::crypto::{self, Cipher};
use crate::tlv;
use crate::Error;

/// Session keys and send sequence counter of an authenticated channel.
pub struct SecureChannel {
    cipher: Cipher,
    k_enc: Zeroizing<Vec<u8>>,
    k_mac: Zeroizing<Vec<u8>>,
    ssc: u128,
}

impl fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecureChannel")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl SecureChannel {
    /// A channel with the given keys and initial SSC (BAC: from the nonces; PACE: zero).
    pub fn new(cipher: Cipher, k_enc: &[u8], k_mac: &[u8], ssc: u128) -> Self {
        Self {
            cipher,
            k_enc: Zeroizing::new(k_enc.to_vec()),
            k_mac: Zeroizing::new(k_mac.to_vec()),
            ssc,
        }
    }

    /// The channel from a key seed (BAC K_seed or PACE shared secret).
    pub fn from_seed(cipher: Cipher, seed: &[u8], ssc: u128) -> Self {
        let k_enc = crypto::kdf(cipher, seed, crypto::KDF_ENC);
        let k_mac = crypto::kdf(cipher, seed, crypto::KDF_MAC);
        Self::new(cipher, &k_enc, &k_mac, ssc)
    }

    /// The cipher of this channel.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    fn ssc_bytes(&self) -> Vec<u8> {
        let b = self.ssc.to_be_bytes();
        b[16 - self.cipher.block()..].to_vec()
    }

    fn bump(&mut self) {
        let modulus_bits = self.cipher.block() * 8;
        self.ssc = if modulus_bits >= 128 {
            self.ssc.wrapping_add(1)
        } else {
            (self.ssc + 1) & ((1u128 << modulus_bits) - 1)
        };
    }

    fn iv(&self) -> Result<Vec<u8>, Error> {
        match self.cipher {
            Cipher::Des3 => Ok(vec![0; 8]),
            Cipher::Aes(_) => crypto::encrypt_block(self.cipher, &self.k_enc, &self.ssc_bytes()),
        }
    }

    fn mac_over(&self, parts: &[&[u8]]) -> Result<[u8; 8], Error> {
        let mut m = self.ssc_bytes();
        for p in parts {
            m.extend_from_slice(p);
        }
        let m = crypto::pad(&m, self.cipher.block());
        crypto::mac(self.cipher, &self.k_mac, &m)
    }

    fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>, Error> {
        let iv = self.iv()?;
        crypto::cbc_encrypt(
            self.cipher,
            &self.k_enc,
            &iv,
            &crypto::pad(plain, self.cipher.block()),
        )
    }

    fn decrypt(&self, enc: &[u8]) -> Result<Vec<u8>, Error> {
        let iv = self.iv()?;
        let plain = crypto::cbc_decrypt(self.cipher, &self.k_enc, &iv, enc)?;
        Ok(crypto::unpad(&plain)?.to_vec())
    }

    /// Wraps a plain command for the card. Keeps short length unless the plain command or the
    /// protected data needs extended length.
    ///
    /// # Errors
    ///
    /// [`Error::SecureMessaging`] on a cryptographic failure (bad key length).
    pub fn protect(&mut self, cmd: &Command) -> Result<Vec<u8>, Error> {
        self.bump();
        let cla = cmd.cla | 0x0C;
        let header = crypto::pad(&[cla, cmd.ins, cmd.p1, cmd.p2], self.cipher.block());
        let mut do87 = Vec::new();
        if !cmd.data.is_empty() {
            let enc = self.encrypt(&cmd.data)?;
            // Odd INS (e.g. B1) carries the cryptogram in DO85 without padding indicator.
            do87 = if cmd.ins & 1 == 1 {
                tlv::encode(0x85, &enc)
            } else {
                let mut v = vec![0x01];
                v.extend_from_slice(&enc);
                tlv::encode(0x87, &v)
            };
        }
        let mut do97 = Vec::new();
        if let Some(le) = cmd.le {
            do97 = if le > 256 || cmd.is_extended() {
                tlv::encode(0x97, &((le % 65536) as u16).to_be_bytes())
            } else {
                tlv::encode(0x97, &[(le % 256) as u8])
            };
        }
        let mac = self.mac_over(&[&header, &do87, &do97])?;
        let mut data = do87;
        data.extend_from_slice(&do97);
        data.extend_from_slice(&tlv::encode(0x8E, &mac));
        let ext = data.len() > 255 || cmd.le.is_some_and(|le| le > 256);
        let out = Command {
            cla,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le: Some(if ext { 65536 } else { 256 }),
        };
        Ok(out.to_bytes())
    }

    /// Unwraps the card's protected response.
    ///
    /// A response without a MAC (plain status word such as `6982` or `6988`) means the card
    /// dropped the session: it is returned as an error, since its status word is unauthenticated.
    ///
    /// # Errors
    ///
    /// [`Error::SecureMessaging`] if the MAC is wrong or data objects are missing;
    /// [`Error::SessionLost`] for an unprotected error status word.
    pub fn unprotect(&mut self, raw: &Response) -> Result<Response, Error> {
        self.bump();
        let items = tlv::parse_all(&raw.data)
            .map_err(|_| Error::SecureMessaging("response data objects do not parse"))?;
        let find = |tag: u32| items.iter().find(|t| t.tag == tag);
        let Some(do8e) = find(0x8E) else {
            return Err(Error::SessionLost(raw.sw));
        };
        let do87 = find(0x87).or_else(|| find(0x85));
        let do99 = find(0x99).ok_or(Error::SecureMessaging("DO99 missing"))?;
        let mut parts: Vec<&[u8]> = Vec::new();
        if let Some(d) = do87 {
            parts.push(d.raw);
        }
        parts.push(do99.raw);
        let expect = self.mac_over(&parts)?;
        if !crypto::ct_eq(&expect, do8e.value) {
            return Err(Error::SecureMessaging("response MAC mismatch"));
        }
        let sw_bytes: [u8; 2] = do99
            .value
            .try_into()
            .map_err(|_| Error::SecureMessaging("DO99 is not two bytes"))?;
        let data = match do87 {
            Some(d) if d.tag == 0x87 => {
                let (ind, enc) = d
                    .value
                    .split_first()
                    .ok_or(Error::SecureMessaging("empty DO87"))?;
                if *ind != 0x01 {
                    return Err(Error::SecureMessaging("unknown padding indicator"));
                }
                self.decrypt(enc)?
            }
            Some(d) => self.decrypt(d.value)?,
            None => Vec::new(),
        };
        Ok(Response {
            data,
            sw: u16::from_be_bytes(sw_bytes),
        })
    }

    /// Card side: checks and decrypts a protected command.
    ///
    /// # Errors
    ///
    /// [`Error::SecureMessaging`] if the MAC is wrong or data objects are missing.
    pub fn unprotect_command(&mut self, cmd: &Command) -> Result<Command, Error> {
        self.bump();
        if cmd.cla & 0x0C != 0x0C {
            return Err(Error::SecureMessaging("command is not protected"));
        }
        let items = tlv::parse_all(&cmd.data)
            .map_err(|_| Error::SecureMessaging("command data objects do not parse"))?;
        let find = |tag: u32| items.iter().find(|t| t.tag == tag);
        let do8e = find(0x8E).ok_or(Error::SecureMessaging("DO8E missing"))?;
        let do87 = find(0x87).or_else(|| find(0x85));
        let do97 = find(0x97);
        let header = crypto::pad(&[cmd.cla, cmd.ins, cmd.p1, cmd.p2], self.cipher.block());
        let mut parts: Vec<&[u8]> = vec![&header];
        if let Some(d) = do87 {
            parts.push(d.raw);
        }
        if let Some(d) = do97 {
            parts.push(d.raw);
        }
        let expect = self.mac_over(&parts)?;
        if !crypto::ct_eq(&expect, do8e.value) {
            return Err(Error::SecureMessaging("command MAC mismatch"));
        }
        let data = match do87 {
            Some(d) if d.tag == 0x87 => {
                let (_, enc) = d
                    .value
                    .split_first()
                    .ok_or(Error::SecureMessaging("empty DO87"))?;
                self.decrypt(enc)?
            }
            Some(d) => self.decrypt(d.value)?,
            None => Vec::new(),
        };
        let le = do97.map(|d| {
            let v = d
                .value
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            match (v, d.value.len()) {
                (0, 1) => 256,
                (0, _) => 65536,
                (v, _) => v,
            }
        });
        Ok(Command {
            cla: cmd.cla & !0x0C,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le,
        })
    }

    /// Card side: protects a response.
    ///
    /// # Errors
    ///
    /// [`Error::SecureMessaging`] on a cryptographic failure.
    pub fn protect_response(&mut self, resp: &Response) -> Result<Vec<u8>, Error> {
        self.bump();
        let mut do87 = Vec::new();
        if !resp.data.is_empty() {
            let mut v = vec![0x01];
            v.extend_from_slice(&self.encrypt(&resp.data)?);
            do87 = tlv::encode(0x87, &v);
        }
        let do99 = tlv::encode(0x99, &resp.sw.to_be_bytes());
        let mac = self.mac_over(&[&do87, &do99])?;
        let mut out = do87;
        out.extend_from_slice(&do99);
        out.extend_from_slice(&tlv::encode(0x8E, &mac));
        out.extend_from_slice(&resp.sw.to_be_bytes());
        Ok(out)
    }
}
