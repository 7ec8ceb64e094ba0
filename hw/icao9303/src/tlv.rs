//! BER-TLV as ICAO 9303 and ISO 7816-4 use it: multi-byte tags, definite lengths up to 4 bytes.
//!
//! The parser is deliberately tolerant of what real chips emit (SET OF in any order, long-form
//! lengths where short would do) and strict about what makes a read unsafe (truncation,
//! indefinite lengths, lengths past the end). It never panics and never allocates per element:
//! every [`Tlv`] borrows from the input, so hashes can be taken over the exact bytes read.

use crate::Error;

/// One parsed element, borrowing its bytes from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag with its class and constructed bits, big-endian (e.g. `0x5F1F`, `0x7F61`).
    pub tag: u32,
    /// The value bytes.
    pub value: &'a [u8],
    /// Tag, length and value: the exact encoding read.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Whether the tag's constructed bit is set.
    pub fn is_constructed(&self) -> bool {
        let first = self
            .tag
            .to_be_bytes()
            .into_iter()
            .find(|b| *b != 0)
            .unwrap_or(0);
        first & 0x20 != 0
    }

    /// The children of a constructed element.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] if the value is not a sequence of complete TLVs.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, Error> {
        parse_all(self.value)
    }

    /// The first child with `tag`.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] if the value does not parse or has no such child.
    pub fn child(&self, tag: u32) -> Result<Tlv<'a>, Error> {
        find(self.value, tag)
    }
}

fn malformed(what: &'static str) -> Error {
    Error::Malformed(what)
}

/// Parses the element at the start of `input`, returning it and the rest.
///
/// # Errors
///
/// [`Error::Malformed`] on truncation, an indefinite or oversized length, or a tag over 4 bytes.
pub fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), Error> {
    let mut pos = 0usize;
    let first = *input.first().ok_or_else(|| malformed("empty TLV"))?;
    let mut tag = u32::from(first);
    pos += 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *input.get(pos).ok_or_else(|| malformed("truncated tag"))?;
            pos += 1;
            if pos > 4 {
                return Err(malformed("tag longer than 4 bytes"));
            }
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let l0 = *input
        .get(pos)
        .ok_or_else(|| malformed("truncated length"))?;
    pos += 1;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7F);
        if n == 0 {
            return Err(malformed("indefinite length"));
        }
        if n > 4 {
            return Err(malformed("length longer than 4 bytes"));
        }
        let bytes = input
            .get(pos..pos + n)
            .ok_or_else(|| malformed("truncated length"))?;
        pos += n;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let end = pos
        .checked_add(len)
        .filter(|end| *end <= input.len())
        .ok_or_else(|| malformed("length past the end of the data"))?;
    Ok((
        Tlv {
            tag,
            value: &input[pos..end],
            raw: &input[..end],
        },
        &input[end..],
    ))
}

/// Parses `input` as a sequence of complete elements.
///
/// # Errors
///
/// As [`parse_one`], for any element.
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>, Error> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = parse_one(input)?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// The first element with `tag` in a sequence of elements.
///
/// # Errors
///
/// [`Error::Malformed`] if `input` does not parse or holds no such element.
pub fn find(input: &[u8], tag: u32) -> Result<Tlv<'_>, Error> {
    parse_all(input)?
        .into_iter()
        .find(|t| t.tag == tag)
        .ok_or_else(|| malformed("expected TLV element missing"))
}

/// The total length (header plus value) of the element at the start of `prefix`, from its header
/// alone: used to know how much of a file to read after its first bytes.
///
/// # Errors
///
/// [`Error::Malformed`] if the header is truncated or invalid.
pub fn total_len(prefix: &[u8]) -> Result<usize, Error> {
    let mut pos = 1usize;
    let first = *prefix.first().ok_or_else(|| malformed("empty TLV"))?;
    if first & 0x1F == 0x1F {
        loop {
            let b = *prefix.get(pos).ok_or_else(|| malformed("truncated tag"))?;
            pos += 1;
            if pos > 4 {
                return Err(malformed("tag longer than 4 bytes"));
            }
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let l0 = *prefix
        .get(pos)
        .ok_or_else(|| malformed("truncated length"))?;
    pos += 1;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7F);
        if n == 0 || n > 4 {
            return Err(malformed("unsupported length form"));
        }
        let bytes = prefix
            .get(pos..pos + n)
            .ok_or_else(|| malformed("truncated length"))?;
        pos += n;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    pos.checked_add(len)
        .ok_or_else(|| malformed("length overflow"))
}

/// Appends a definite length.
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Encodes one element.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    let tb = tag.to_be_bytes();
    let skip = tb.iter().take_while(|b| **b == 0).count().min(3);
    out.extend_from_slice(&tb[skip..]);
    push_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// Encodes one constructed element from already encoded children.
pub fn encode_seq(tag: u32, children: &[&[u8]]) -> Vec<u8> {
    encode(tag, &children.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_multibyte_tags() {
        let inner = encode(0x5F1F, &[0x41; 200]);
        let outer = encode(0x61, &inner);
        assert_eq!(&outer[..3], &[0x61, 0x81, 0xCC]);
        let (t, rest) = parse_one(&outer).expect("parses");
        assert!(rest.is_empty());
        assert_eq!(t.tag, 0x61);
        assert!(t.is_constructed());
        let c = t.child(0x5F1F).expect("child");
        assert_eq!(c.value.len(), 200);
        assert_eq!(total_len(&outer[..4]).expect("header"), outer.len());
    }

    #[test]
    fn bad_inputs_are_errors() {
        for bad in [
            &[][..],
            &[0x61],
            &[0x61, 0x80],
            &[0x61, 0x85, 1, 2, 3, 4, 5],
            &[0x61, 0x02, 0x00],
            &[0x5F],
            &[0x5F, 0x81, 0x81, 0x81, 0x01, 0x00],
            &[0x61, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
        ] {
            assert!(parse_one(bad).is_err(), "{bad:02X?}");
        }
    }
}
