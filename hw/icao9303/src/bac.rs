//! Basic Access Control (ICAO 9303-11 §4.3): 3DES mutual authentication from the MRZ.
//!
//! Randomness is passed in (RND.IFD, K.IFD), so the ICAO worked example is a unit test.

use zeroize::Zeroizing;

use crate::apdu::Command;
use crate::crypto::{self, Cipher};
use crate::sm::SecureChannel;
use crate::Error;

/// The ICAO 9303 check digit (weights 7, 3, 1; `<` and spaces count 0, letters 10-35).
pub fn check_digit(s: &str) -> u8 {
    let weights = [7u32, 3, 1];
    let sum: u32 = s
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let v = match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A'..=b'Z' => u32::from(c - b'A') + 10,
                _ => 0,
            };
            v * weights[i % 3]
        })
        .sum();
    (sum % 10) as u8
}

/// The MRZ information of BAC: document number (padded to 9 with `<`) + check digit, date of
/// birth + check digit, expiry + check digit.
///
/// # Errors
///
/// [`Error::BadInput`] if a date is not 6 digits or the document number is empty or too long.
pub fn mrz_information(doc: &str, dob: &str, expiry: &str) -> Result<Zeroizing<String>, Error> {
    let date_ok = |d: &str| d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit());
    if !date_ok(dob) || !date_ok(expiry) {
        return Err(Error::BadInput("dates must be YYMMDD"));
    }
    if doc.is_empty()
        || doc.len() > 9
        || !doc
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'<')
    {
        return Err(Error::BadInput(
            "document number must be 1-9 characters A-Z 0-9",
        ));
    }
    let doc = format!("{doc:<<9}");
    Ok(Zeroizing::new(format!(
        "{doc}{}{dob}{}{expiry}{}",
        check_digit(&doc),
        check_digit(dob),
        check_digit(expiry)
    )))
}

/// `K_seed`: the first 16 bytes of SHA-1 over the MRZ information.
pub fn key_seed(mrz_information: &str) -> Zeroizing<[u8; 16]> {
    let h = crypto::sha1(mrz_information.as_bytes());
    let mut seed = Zeroizing::new([0u8; 16]);
    seed.copy_from_slice(&h[..16]);
    seed
}

/// The CCCD expiry rule: a card expires on the holder's birthday in the year they turn 25, 40
/// or 60, the first of those more than 2 years after the issue date; a card issued after 58 has
/// no expiry, and what its MRZ then carries is not confirmed. Returns the MRZ expiry candidates
/// (`YYMMDD`) to try for BAC, most likely first: the rule's date, then the other ages' dates.
/// Dates are `(year, month, day)`.
pub fn cccd_expiry_candidates(dob: (u16, u8, u8), issued: (u16, u8, u8)) -> Vec<String> {
    let (by, bm, bd) = dob;
    let fmt = |y: u16| format!("{:02}{bm:02}{bd:02}", y % 100);
    let ages = [25u16, 40, 60];
    // "More than 2 years after the issue date", compared as (year, month, day).
    let after_two_years = |y: u16| (y, bm, bd) > (issued.0 + 2, issued.1, issued.2);
    let mut out = Vec::new();
    if let Some(age) = ages.iter().find(|a| after_two_years(by + **a)) {
        out.push(fmt(by + age));
    }
    for age in ages {
        let c = fmt(by + age);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// `GET CHALLENGE` for 8 bytes.
pub fn get_challenge() -> Command {
    Command::new(0x00, 0x84, 0x00, 0x00).with_le(8)
}

/// The terminal between `EXTERNAL AUTHENTICATE` and the card's answer.
pub struct BacPending {
    k_enc: Zeroizing<Vec<u8>>,
    k_mac: Zeroizing<Vec<u8>>,
    rnd_ic: [u8; 8],
    rnd_ifd: [u8; 8],
    k_ifd: Zeroizing<[u8; 16]>,
}

impl std::fmt::Debug for BacPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BacPending")
    }
}

/// Builds `EXTERNAL AUTHENTICATE` from the card's challenge and the terminal's randomness.
///
/// # Errors
///
/// [`Error::Malformed`] if the challenge is not 8 bytes.
pub fn external_authenticate(
    seed: &[u8; 16],
    rnd_ic: &[u8],
    rnd_ifd: [u8; 8],
    k_ifd: [u8; 16],
) -> Result<(Command, BacPending), Error> {
    let rnd_ic: [u8; 8] = rnd_ic
        .try_into()
        .map_err(|_| Error::Malformed("GET CHALLENGE answer is not 8 bytes"))?;
    let k_enc = crypto::kdf(Cipher::Des3, seed, crypto::KDF_ENC);
    let k_mac = crypto::kdf(Cipher::Des3, seed, crypto::KDF_MAC);
    let mut s = Zeroizing::new(Vec::with_capacity(32));
    s.extend_from_slice(&rnd_ifd);
    s.extend_from_slice(&rnd_ic);
    s.extend_from_slice(&k_ifd);
    let e_ifd = crypto::cbc_encrypt(Cipher::Des3, &k_enc, &[0; 8], &s)?;
    let m_ifd = crypto::mac(Cipher::Des3, &k_mac, &crypto::pad(&e_ifd, 8))?;
    let mut data = e_ifd;
    data.extend_from_slice(&m_ifd);
    let cmd = Command::new(0x00, 0x82, 0x00, 0x00)
        .with_data(data)
        .with_le(40);
    Ok((
        cmd,
        BacPending {
            k_enc,
            k_mac,
            rnd_ic,
            rnd_ifd,
            k_ifd: Zeroizing::new(k_ifd),
        },
    ))
}

fn ssc_of(rnd_ic: &[u8], rnd_ifd: &[u8]) -> u128 {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&rnd_ic[4..8]);
    b[4..].copy_from_slice(&rnd_ifd[4..8]);
    u128::from(u64::from_be_bytes(b))
}

fn session(k_a: &[u8], k_b: &[u8], ssc: u128) -> SecureChannel {
    let seed: Zeroizing<Vec<u8>> =
        Zeroizing::new(k_a.iter().zip(k_b).map(|(a, b)| a ^ b).collect());
    SecureChannel::from_seed(Cipher::Des3, &seed, ssc)
}

impl BacPending {
    /// Checks the card's answer to `EXTERNAL AUTHENTICATE` and opens secure messaging.
    ///
    /// # Errors
    ///
    /// [`Error::AccessDenied`] if the card refused (wrong MRZ data: status `6300`/`6982`) or its
    /// answer does not authenticate.
    pub fn finish(self, sw: u16, data: &[u8]) -> Result<SecureChannel, Error> {
        if sw != 0x9000 {
            return Err(Error::AccessDenied(sw));
        }
        if data.len() != 40 {
            return Err(Error::AccessDenied(sw));
        }
        let (e_ic, m_ic) = data.split_at(32);
        let expect = crypto::mac(Cipher::Des3, &self.k_mac, &crypto::pad(e_ic, 8))?;
        if !crypto::ct_eq(&expect, m_ic) {
            return Err(Error::AccessDenied(sw));
        }
        let r = Zeroizing::new(crypto::cbc_decrypt(
            Cipher::Des3,
            &self.k_enc,
            &[0; 8],
            e_ic,
        )?);
        if r[..8] != self.rnd_ic || r[8..16] != self.rnd_ifd {
            return Err(Error::AccessDenied(sw));
        }
        Ok(session(
            &*self.k_ifd,
            &r[16..32],
            ssc_of(&self.rnd_ic, &self.rnd_ifd),
        ))
    }
}

/// Card side: answers `EXTERNAL AUTHENTICATE` data (E.IFD || M.IFD) for the challenge `rnd_ic`
/// it gave, with its own key half `k_ic`.
///
/// # Errors
///
/// [`Error::AccessDenied`] if the terminal's cryptogram does not verify (wrong MRZ).
pub fn chip_respond(
    seed: &[u8; 16],
    rnd_ic: [u8; 8],
    k_ic: [u8; 16],
    data: &[u8],
) -> Result<(Vec<u8>, SecureChannel), Error> {
    if data.len() != 40 {
        return Err(Error::AccessDenied(0x6700));
    }
    let k_enc = crypto::kdf(Cipher::Des3, seed, crypto::KDF_ENC);
    let k_mac = crypto::kdf(Cipher::Des3, seed, crypto::KDF_MAC);
    let (e_ifd, m_ifd) = data.split_at(32);
    let expect = crypto::mac(Cipher::Des3, &k_mac, &crypto::pad(e_ifd, 8))?;
    if !crypto::ct_eq(&expect, m_ifd) {
        return Err(Error::AccessDenied(0x6300));
    }
    let s = Zeroizing::new(crypto::cbc_decrypt(Cipher::Des3, &k_enc, &[0; 8], e_ifd)?);
    if s[8..16] != rnd_ic {
        return Err(Error::AccessDenied(0x6300));
    }
    let rnd_ifd = &s[..8];
    let k_ifd = &s[16..32];
    let mut r = Zeroizing::new(Vec::with_capacity(32));
    r.extend_from_slice(&rnd_ic);
    r.extend_from_slice(rnd_ifd);
    r.extend_from_slice(&k_ic);
    let e_ic = crypto::cbc_encrypt(Cipher::Des3, &k_enc, &[0; 8], &r)?;
    let m_ic = crypto::mac(Cipher::Des3, &k_mac, &crypto::pad(&e_ic, 8))?;
    let mut out = e_ic;
    out.extend_from_slice(&m_ic);
    Ok((out, session(k_ifd, &k_ic, ssc_of(&rnd_ic, rnd_ifd))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::Response;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("hex")
    }

    #[test]
    fn icao_worked_example_keys() {
        let info = mrz_information("L898902C", "690806", "940623").expect("valid");
        assert_eq!(&*info, "L898902C<369080619406236");
        assert_eq!(
            crypto::sha1(info.as_bytes()).to_vec(),
            h("239AB9CB282DAF66231DC5A4DF6BFBAEDF477565")
        );
        let seed = key_seed(&info);
        assert_eq!(seed.to_vec(), h("239AB9CB282DAF66231DC5A4DF6BFBAE"));
        assert_eq!(
            crypto::kdf(Cipher::Des3, &*seed, 1).to_vec(),
            h("AB94FDECF2674FDFB9B391F85D7F76F2")
        );
        assert_eq!(
            crypto::kdf(Cipher::Des3, &*seed, 2).to_vec(),
            h("7962D9ECE03D1ACD4C76089DCE131543")
        );
    }

    #[test]
    fn cccd_synthetic_key_seed() {
        let info = mrz_information("090123456", "900101", "300101").expect("valid");
        assert_eq!(&*info, "090123456290010113001019");
        assert_eq!(
            key_seed(&info).to_vec(),
            h("7C982411E7BFC7420E579DCC18D88AF8")
        );
    }

    #[test]
    fn icao_worked_example_mutual_auth_and_secure_messaging() {
        let seed = key_seed(&mrz_information("L898902C", "690806", "940623").expect("valid"));
        let rnd_ic = h("4608F91988702212");
        let rnd_ifd: [u8; 8] = h("781723860C06C226").try_into().expect("8");
        let k_ifd: [u8; 16] = h("0B795240CB7049B01C19B33E32804F0B")
            .try_into()
            .expect("16");
        let (cmd, pending) = external_authenticate(&seed, &rnd_ic, rnd_ifd, k_ifd).expect("ok");
        assert_eq!(
            cmd.data,
            h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7")
        );
        let k_ic: [u8; 16] = h("0B4F80323EB3191CB04970CB4052790B")
            .try_into()
            .expect("16");
        let (resp, mut chip) = chip_respond(
            &seed,
            rnd_ic.clone().try_into().expect("8"),
            k_ic,
            &cmd.data,
        )
        .expect("chip accepts");
        assert_eq!(
            resp,
            h("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449")
        );
        let mut sm = pending.finish(0x9000, &resp).expect("terminal accepts");
        assert_eq!(
            crypto::kdf(
                Cipher::Des3,
                &h("0036D272F5C350ACAC50C3F572D23600"),
                crypto::KDF_ENC
            )
            .to_vec(),
            h("979EC13B1CBFE9DCD01AB0FED307EAE5")
        );
        assert_eq!(
            crypto::kdf(
                Cipher::Des3,
                &h("0036D272F5C350ACAC50C3F572D23600"),
                crypto::KDF_MAC
            )
            .to_vec(),
            h("F1CB1F1FB5ADF208806B89DC579DC1F8")
        );

        // SELECT EF.COM.
        let sel = Command::new(0, 0xA4, 0x02, 0x0C).with_data([0x01, 0x1E]);
        let mut plain_sel = sel.clone();
        plain_sel.le = None;
        let wire = sm.protect(&plain_sel).expect("protect");
        // The worked example's SELECT carries no Le; our protect adds the mandatory Le=00.
        assert_eq!(
            wire,
            h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
        );
        let got = chip
            .unprotect_command(&Command::parse(&wire).expect("parses"))
            .expect("chip unwraps");
        assert_eq!(got.data, [0x01, 0x1E]);
        let r = chip
            .protect_response(&Response {
                data: vec![],
                sw: 0x9000,
            })
            .expect("protects");
        let r = sm
            .unprotect(&Response::parse(&r).expect("sw"))
            .expect("mac ok");
        assert_eq!(r.sw, 0x9000);

        // READ BINARY 4 bytes.
        let wire = sm
            .protect(&Command::new(0, 0xB0, 0, 0).with_le(4))
            .expect("protect");
        assert_eq!(wire, h("0CB000000D9701048E08ED6705417E96BA5500"));
        chip.unprotect_command(&Command::parse(&wire).expect("parses"))
            .expect("chip unwraps");
        let r = chip
            .protect_response(&Response {
                data: h("60145F01"),
                sw: 0x9000,
            })
            .expect("protects");
        // ICAO's response: 8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000.
        assert_eq!(
            r,
            h("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000")
        );
        let r = sm
            .unprotect(&Response::parse(&r).expect("sw"))
            .expect("mac ok");
        assert_eq!(r.data, h("60145F01"));

        // READ BINARY 18 bytes at offset 4.
        let wire = sm
            .protect(&Command::new(0, 0xB0, 0, 4).with_le(0x12))
            .expect("protect");
        assert_eq!(wire, h("0CB000040D9701128E082EA28A70F3C7B53500"));
        chip.unprotect_command(&Command::parse(&wire).expect("parses"))
            .expect("chip unwraps");
        let r = chip
            .protect_response(&Response {
                data: h("04303130365F36063034303030305C026175"),
                sw: 0x9000,
            })
            .expect("protects");
        let mut tampered = r.clone();
        tampered[5] ^= 1;
        let r = sm
            .unprotect(&Response::parse(&r).expect("sw"))
            .expect("mac ok");
        assert_eq!(r.data, h("04303130365F36063034303030305C026175"));
        // A tampered response fails the MAC (on a fresh SSC the check fails too).
        assert!(sm
            .unprotect(&Response::parse(&tampered).expect("sw"))
            .is_err());
    }

    #[test]
    fn cccd_expiry_rule() {
        // Born 1990-01-01, issued 2021-04-15: turns 40 on 2030-01-01, more than 2 years later.
        assert_eq!(
            cccd_expiry_candidates((1990, 1, 1), (2021, 4, 15))[0],
            "300101"
        );
        // Issued at 23: the 25th birthday is within 2 years, so 40.
        assert_eq!(
            cccd_expiry_candidates((2000, 6, 1), (2023, 7, 1))[0],
            "400601"
        );
        // Issued at 20: 25.
        assert_eq!(
            cccd_expiry_candidates((2003, 6, 1), (2023, 7, 1))[0],
            "280601"
        );
        assert_eq!(cccd_expiry_candidates((2003, 6, 1), (2023, 7, 1)).len(), 3);
    }

    #[test]
    fn wrong_mrz_is_access_denied() {
        let seed = key_seed(&mrz_information("090123456", "900101", "300101").expect("valid"));
        let wrong = key_seed(&mrz_information("090123456", "900101", "290101").expect("valid"));
        let (cmd, _) = external_authenticate(&wrong, &[1; 8], [2; 8], [3; 16]).expect("ok");
        assert!(matches!(
            chip_respond(&seed, [1; 8], [4; 16], &cmd.data),
            Err(Error::AccessDenied(_))
        ));
    }
}
