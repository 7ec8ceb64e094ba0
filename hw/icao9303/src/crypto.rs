//! The symmetric primitives of ICAO 9303-11: key derivation, ISO 9797-1 padding, CBC with a zero
//! or derived IV, the retail MAC (3DES) and AES-CMAC.
//!
//! CBC is written out over single blocks here instead of pulling in a mode crate: secure
//! messaging encrypts at most a few hundred bytes per APDU, and this keeps one less dependency.

use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use cmac::Mac;
use sha1::Digest;
use zeroize::Zeroizing;

use crate::Error;

/// The block cipher of a secure messaging session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// Two-key 3DES with the ISO 9797-1 retail MAC (BAC, PACE-*-3DES).
    Des3,
    /// AES with a key of 16, 24 or 32 bytes and AES-CMAC (PACE-*-AES).
    Aes(usize),
}

impl Cipher {
    /// The block size in bytes.
    pub fn block(self) -> usize {
        match self {
            Self::Des3 => 8,
            Self::Aes(_) => 16,
        }
    }

    /// The key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Des3 => 16,
            Self::Aes(n) => n,
        }
    }
}

/// ICAO 9303-11 §9.7.1: `KDF(K, c) = H(K || c)`, truncated to the cipher's key length; SHA-1 for
/// 3DES and AES-128, SHA-256 for AES-192/256. 3DES keys get DES parity bits.
pub fn kdf(cipher: Cipher, secret: &[u8], counter: u32) -> Zeroizing<Vec<u8>> {
    let mut key = match cipher {
        Cipher::Des3 | Cipher::Aes(16) => {
            let mut h = sha1::Sha1::new();
            h.update(secret);
            h.update(counter.to_be_bytes());
            Zeroizing::new(h.finalize().to_vec())
        }
        Cipher::Aes(_) => {
            let mut h = sha2::Sha256::new();
            h.update(secret);
            h.update(counter.to_be_bytes());
            Zeroizing::new(h.finalize().to_vec())
        }
    };
    key.truncate(cipher.key_len());
    if cipher == Cipher::Des3 {
        for b in key.iter_mut() {
            let ones = (*b & 0xFE).count_ones();
            *b = (*b & 0xFE) | u8::from(ones % 2 == 0);
        }
    }
    key
}

/// KDF counter for the encryption key.
pub const KDF_ENC: u32 = 1;
/// KDF counter for the MAC key.
pub const KDF_MAC: u32 = 2;
/// KDF counter for the PACE password key.
pub const KDF_PI: u32 = 3;

/// ISO 9797-1 padding method 2: `80` then zeros up to a whole block.
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + block);
    out.extend_from_slice(data);
    out.push(0x80);
    while out.len() % block != 0 {
        out.push(0);
    }
    out
}

/// Removes ISO 9797-1 method 2 padding.
///
/// # Errors
///
/// [`Error::SecureMessaging`] if the padding is absent or malformed.
pub fn unpad(data: &[u8]) -> Result<&[u8], Error> {
    let end = data
        .iter()
        .rposition(|b| *b != 0)
        .ok_or(Error::SecureMessaging("bad padding"))?;
    if data[end] != 0x80 {
        return Err(Error::SecureMessaging("bad padding"));
    }
    Ok(&data[..end])
}

enum Block {
    Des3(des::TdesEde2),
    Aes128(aes::Aes128),
    Aes192(aes::Aes192),
    Aes256(aes::Aes256),
}

impl Block {
    fn new(cipher: Cipher, key: &[u8]) -> Result<Self, Error> {
        let bad = |_| Error::SecureMessaging("bad key length");
        Ok(match cipher {
            Cipher::Des3 => Self::Des3(des::TdesEde2::new_from_slice(key).map_err(bad)?),
            Cipher::Aes(16) => Self::Aes128(aes::Aes128::new_from_slice(key).map_err(bad)?),
            Cipher::Aes(24) => Self::Aes192(aes::Aes192::new_from_slice(key).map_err(bad)?),
            Cipher::Aes(32) => Self::Aes256(aes::Aes256::new_from_slice(key).map_err(bad)?),
            Cipher::Aes(_) => return Err(Error::SecureMessaging("bad key length")),
        })
    }

    /// Encrypts one block in place; the caller passes exactly one block of this cipher.
    fn encrypt(&self, block: &mut [u8]) -> Result<(), Error> {
        match self {
            Self::Des3(c) => c.encrypt_block(as_block(block)?),
            Self::Aes128(c) => c.encrypt_block(as_block(block)?),
            Self::Aes192(c) => c.encrypt_block(as_block(block)?),
            Self::Aes256(c) => c.encrypt_block(as_block(block)?),
        }
        Ok(())
    }

    /// Decrypts one block in place.
    fn decrypt(&self, block: &mut [u8]) -> Result<(), Error> {
        match self {
            Self::Des3(c) => c.decrypt_block(as_block(block)?),
            Self::Aes128(c) => c.decrypt_block(as_block(block)?),
            Self::Aes192(c) => c.decrypt_block(as_block(block)?),
            Self::Aes256(c) => c.decrypt_block(as_block(block)?),
        }
        Ok(())
    }
}

/// `block` as the cipher's block type (its length checked).
fn as_block<N: aes::cipher::array::ArraySize>(
    block: &mut [u8],
) -> Result<&mut Array<u8, N>, Error> {
    <&mut Array<u8, N>>::try_from(block).map_err(|_| Error::SecureMessaging("not one block"))
}

fn check_blocks(cipher: Cipher, data: &[u8], iv: &[u8]) -> Result<(), Error> {
    if data.len() % cipher.block() != 0 || iv.len() != cipher.block() {
        return Err(Error::SecureMessaging(
            "data is not a whole number of blocks",
        ));
    }
    Ok(())
}

/// CBC encryption of whole blocks (the caller pads).
///
/// # Errors
///
/// [`Error::SecureMessaging`] for a bad key length or partial block.
pub fn cbc_encrypt(cipher: Cipher, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
    check_blocks(cipher, data, iv)?;
    let c = Block::new(cipher, key)?;
    let mut out = data.to_vec();
    let mut prev = iv.to_vec();
    for chunk in out.chunks_mut(cipher.block()) {
        chunk.iter_mut().zip(&prev).for_each(|(b, p)| *b ^= p);
        c.encrypt(chunk)?;
        prev.copy_from_slice(chunk);
    }
    Ok(out)
}

/// CBC decryption of whole blocks (the caller unpads).
///
/// # Errors
///
/// [`Error::SecureMessaging`] for a bad key length or partial block.
pub fn cbc_decrypt(cipher: Cipher, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
    check_blocks(cipher, data, iv)?;
    let c = Block::new(cipher, key)?;
    let mut out = data.to_vec();
    let mut prev = iv.to_vec();
    for chunk in out.chunks_mut(cipher.block()) {
        let saved = chunk.to_vec();
        c.decrypt(chunk)?;
        chunk.iter_mut().zip(&prev).for_each(|(b, p)| *b ^= p);
        prev = saved;
    }
    Ok(out)
}

/// One block encrypted in ECB mode (the AES secure messaging IV is `E(K_enc, SSC)`).
///
/// # Errors
///
/// [`Error::SecureMessaging`] for a bad key length or block size.
pub fn encrypt_block(cipher: Cipher, key: &[u8], block: &[u8]) -> Result<Vec<u8>, Error> {
    if block.len() != cipher.block() {
        return Err(Error::SecureMessaging("not one block"));
    }
    let c = Block::new(cipher, key)?;
    let mut out = block.to_vec();
    c.encrypt(&mut out)?;
    Ok(out)
}

/// The 8-byte MAC of ICAO 9303: for 3DES the ISO 9797-1 MAC algorithm 3 (retail MAC) over
/// already padded data; for AES, CMAC over the (already padded, as 9303 specifies) data,
/// truncated to 8 bytes.
///
/// # Errors
///
/// [`Error::SecureMessaging`] for a bad key length or unpadded 3DES input.
pub fn mac(cipher: Cipher, key: &[u8], data: &[u8]) -> Result<[u8; 8], Error> {
    let mut out = [0u8; 8];
    match cipher {
        Cipher::Des3 => {
            if data.len() % 8 != 0 || key.len() != 16 {
                return Err(Error::SecureMessaging("retail MAC needs padded data"));
            }
            let bad = |_| Error::SecureMessaging("bad key length");
            let k1 = des::Des::new_from_slice(&key[..8]).map_err(bad)?;
            let k2 = des::Des::new_from_slice(&key[8..]).map_err(bad)?;
            let mut h = [0u8; 8];
            for chunk in data.chunks(8) {
                h.iter_mut().zip(chunk).for_each(|(a, b)| *a ^= b);
                k1.encrypt_block(as_block(&mut h)?);
            }
            k2.decrypt_block(as_block(&mut h)?);
            k1.encrypt_block(as_block(&mut h)?);
            out = h;
        }
        Cipher::Aes(n) => {
            let bad = |_| Error::SecureMessaging("bad key length");
            let tag = match n {
                16 => {
                    let mut m = <cmac::Cmac<aes::Aes128> as cmac::KeyInit>::new_from_slice(key)
                        .map_err(bad)?;
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                }
                24 => {
                    let mut m = <cmac::Cmac<aes::Aes192> as cmac::KeyInit>::new_from_slice(key)
                        .map_err(bad)?;
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                }
                32 => {
                    let mut m = <cmac::Cmac<aes::Aes256> as cmac::KeyInit>::new_from_slice(key)
                        .map_err(bad)?;
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                }
                _ => return Err(Error::SecureMessaging("bad key length")),
            };
            out.copy_from_slice(&tag[..8]);
        }
    }
    Ok(out)
}

/// Constant-time comparison of two MACs.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// SHA-1.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    sha1::Sha1::digest(data).into()
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}
