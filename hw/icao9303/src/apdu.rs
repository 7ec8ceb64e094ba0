//! Command and response APDUs (ISO 7816-4), short and extended length.

use crate::Error;

/// A command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Lc is its length).
    pub data: Vec<u8>,
    /// Expected response length: `None` for none, `Some(256)` / `Some(65536)` for "as much as
    /// there is" in short / extended form.
    pub le: Option<usize>,
}

impl Command {
    /// A command without data or Le.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// Sets the command data.
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets Le.
    #[must_use]
    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// Whether the encoding needs extended length fields.
    pub fn is_extended(&self) -> bool {
        self.data.len() > 255 || self.le.is_some_and(|le| le > 256)
    }

    /// The encoded APDU, in short form when it fits, extended otherwise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        let ext = self.is_extended();
        if !self.data.is_empty() {
            if ext {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            if ext {
                if self.data.is_empty() {
                    out.push(0);
                }
                // 65536 encodes as 0000.
                out.extend_from_slice(&((le.min(65536) % 65536) as u16).to_be_bytes());
            } else {
                out.push((le.min(256) % 256) as u8);
            }
        }
        out
    }

    /// Parses an encoded command APDU (the card side).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] if the length fields do not match the data.
    pub fn parse(apdu: &[u8]) -> Result<Self, Error> {
        let bad = || Error::Malformed("command APDU length fields");
        let (&[cla, ins, p1, p2], body) = apdu.split_first_chunk::<4>().ok_or_else(bad)?;
        let mut cmd = Self::new(cla, ins, p1, p2);
        match body {
            [] => {}
            [le] => cmd.le = Some(if *le == 0 { 256 } else { usize::from(*le) }),
            [0, hi, lo] => {
                let le = usize::from(u16::from_be_bytes([*hi, *lo]));
                cmd.le = Some(if le == 0 { 65536 } else { le });
            }
            [0, hi, lo, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                if lc == 0 || rest.len() < lc {
                    return Err(bad());
                }
                cmd.data = rest[..lc].to_vec();
                match &rest[lc..] {
                    [] => {}
                    [a, b] => {
                        let le = usize::from(u16::from_be_bytes([*a, *b]));
                        cmd.le = Some(if le == 0 { 65536 } else { le });
                    }
                    _ => return Err(bad()),
                }
            }
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                if rest.len() < lc {
                    return Err(bad());
                }
                cmd.data = rest[..lc].to_vec();
                match &rest[lc..] {
                    [] => {}
                    [le] => cmd.le = Some(if *le == 0 { 256 } else { usize::from(*le) }),
                    _ => return Err(bad()),
                }
            }
        }
        Ok(cmd)
    }
}

/// A response APDU split into data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data.
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: u16,
}

impl Response {
    /// Splits a raw response.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when shorter than the two status bytes (seen when a card is pulled
    /// away mid-exchange).
    pub fn parse(raw: &[u8]) -> Result<Self, Error> {
        let n = raw
            .len()
            .checked_sub(2)
            .ok_or(Error::Transport("response shorter than SW1 SW2"))?;
        Ok(Self {
            data: raw[..n].to_vec(),
            sw: u16::from_be_bytes([raw[n], raw[n + 1]]),
        })
    }

    /// Data followed by SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }

    /// Whether SW is `9000`.
    pub fn is_ok(&self) -> bool {
        self.sw == 0x9000
    }
}

/// Status words this crate reacts to.
pub mod sw {
    /// Success.
    pub const OK: u16 = 0x9000;
    /// End of file reached before reading Le bytes.
    pub const END_OF_FILE: u16 = 0x6282;
    /// Wrong length.
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Security status not satisfied.
    pub const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    /// Authentication method blocked / wrong key material.
    pub const AUTH_FAILED: u16 = 0x6300;
    /// Secure messaging data objects missing.
    pub const SM_MISSING: u16 = 0x6987;
    /// Secure messaging data objects incorrect.
    pub const SM_INCORRECT: u16 = 0x6988;
    /// Conditions of use not satisfied.
    pub const CONDITIONS: u16 = 0x6985;
    /// File not found.
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    /// Incorrect P1 P2.
    pub const WRONG_P1P2: u16 = 0x6A86;
    /// Offset beyond the end of the file.
    pub const WRONG_OFFSET: u16 = 0x6B00;
    /// Instruction not supported.
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    /// Class not supported.
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_extended_round_trip() {
        for cmd in [
            Command::new(0, 0xB0, 0x81, 0).with_le(256),
            Command::new(0, 0xB0, 0, 0).with_le(4),
            Command::new(0, 0xA4, 2, 0x0C).with_data([1, 0x1E]),
            Command::new(0, 0xB0, 0, 0).with_le(65536),
            Command::new(0, 0xB0, 0, 0).with_le(1000),
            Command::new(0x0C, 0xB0, 0, 0)
                .with_data(vec![7; 300])
                .with_le(65536),
            Command::new(0x0C, 0xB0, 0, 0)
                .with_data(vec![7; 13])
                .with_le(256),
        ] {
            let bytes = cmd.to_bytes();
            assert_eq!(Command::parse(&bytes).expect("parses"), cmd, "{bytes:02X?}");
        }
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(65536).to_bytes(),
            [0, 0xB0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn bad_lengths() {
        assert!(Command::parse(&[0, 0xA4, 2]).is_err());
        assert!(Command::parse(&[0, 0xA4, 2, 0x0C, 5, 1]).is_err());
        assert!(Response::parse(&[0x90]).is_err());
    }
}
