//! A pure ESC/POS encoder: values in, bytes out, no I/O.
//!
//! [`EscPos`] emits a small, fixed subset of ESC/POS that every 80 mm kiosk printer we target
//! understands. [`super::render`] interprets exactly this subset, so whatever the builder
//! produces can be checked as an image in tests.
//!
//! | method | bytes |
//! |---|---|
//! | [`EscPos::init`] | `ESC @` |
//! | [`EscPos::align`] | `ESC a n` |
//! | [`EscPos::text_ascii`] | printable ASCII and `LF` |
//! | [`EscPos::raster`] | `GS v 0 0 xL xH yL yH d...` |
//! | [`EscPos::qr`] | `GS ( k` functions 165 (model 2), 167 (module size), 169 (level M), 180 (store), 181 (print) |
//! | [`EscPos::feed`] | `ESC d n` |
//! | [`EscPos::cut`] | `GS V 66 0` (feed to the cutter, then cut) |

/// ESC.
pub(crate) const ESC: u8 = 0x1B;
/// GS.
pub(crate) const GS: u8 = 0x1D;
/// LF.
pub(crate) const LF: u8 = 0x0A;

/// QR module size (dots per module) used by [`EscPos::qr`].
pub const QR_MODULE_SIZE: u8 = 6;

/// Byte-mode capacity of QR versions 1 to 40 at error correction level M.
pub(crate) const QR_CAPACITY_M: [u16; 40] = [
    14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666,
    711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370, 1452, 1538, 1628, 1722, 1809, 1911,
    1989, 2099, 2213, 2331,
];

/// The smallest QR version holding `len` bytes at level M, if any.
pub(crate) fn qr_version_for(len: usize) -> Option<usize> {
    QR_CAPACITY_M
        .iter()
        .position(|&cap| usize::from(cap) >= len)
        .map(|i| i + 1)
}

/// Horizontal alignment (`ESC a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Align {
    /// Left (the default after `ESC @`).
    Left,
    /// Centred.
    Center,
}

/// Why a command could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EscPosError {
    /// Text holds a character other than printable ASCII or `\n`.
    #[error(
        "character {ch:?} at index {index} is not printable ASCII; rasterise non-ASCII text \
         (e.g. Vietnamese) and send it with raster()"
    )]
    NotAscii {
        /// The offending character.
        ch: char,
        /// Its byte index in the text.
        index: usize,
    },
    /// Raster width not a positive multiple of 8, or too large.
    #[error("raster width {0} dots must be a positive multiple of 8, at most 524280")]
    RasterWidth(u32),
    /// Raster height zero or above 65535.
    #[error("raster height {0} must be 1..=65535 rows; send tall images in bands")]
    RasterHeight(u32),
    /// Raster data length does not match the size.
    #[error("raster data is {actual} bytes, {expected} expected for the given size")]
    RasterData {
        /// Bytes expected: `width / 8 * height`.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// QR data empty or too long for level M.
    #[error("QR data of {0} bytes; it must be 1..=2331 bytes (version 40, level M)")]
    QrData(usize),
}

/// Builds one ESC/POS job.
///
/// ```
/// use kiosk_hw::printer::escpos::{Align, EscPos};
///
/// let mut job = EscPos::new();
/// job.init().align(Align::Center);
/// job.text_ascii("RECEIPT\n")?.qr(b"001090123456")?.feed(3).cut();
/// assert_eq!(&job.as_bytes()[..2], b"\x1b@");
/// # Ok::<(), kiosk_hw::printer::escpos::EscPosError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EscPos {
    buf: Vec<u8>,
}

impl EscPos {
    /// An empty job.
    pub fn new() -> Self {
        Self::default()
    }

    /// `ESC @`: resets the printer's modes (alignment, buffered text).
    pub fn init(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'@']);
        self
    }

    /// `ESC a n`: alignment of the following text lines, raster images and QR codes.
    pub fn align(&mut self, align: Align) -> &mut Self {
        let n = match align {
            Align::Left => 0,
            Align::Center => 1,
        };
        self.buf.extend_from_slice(&[ESC, b'a', n]);
        self
    }

    /// Printable ASCII text; `\n` ends (prints) a line.
    ///
    /// # Errors
    ///
    /// [`EscPosError::NotAscii`] for any other character (nothing is appended).
    pub fn text_ascii(&mut self, text: &str) -> Result<&mut Self, EscPosError> {
        if let Some((index, ch)) = text
            .char_indices()
            .find(|(_, c)| !(*c == '\n' || (' '..='~').contains(c)))
        {
            return Err(EscPosError::NotAscii { ch, index });
        }
        self.buf.extend_from_slice(text.as_bytes());
        Ok(self)
    }

    /// `GS v 0`: a 1-bit image, `width_px` dots wide (a multiple of 8), `height` rows; `bits`
    /// holds `width_px / 8` bytes per row, most significant bit leftmost, 1 = black.
    ///
    /// # Errors
    ///
    /// [`EscPosError::RasterWidth`], [`EscPosError::RasterHeight`] or
    /// [`EscPosError::RasterData`] when the size and data do not fit the command.
    pub fn raster(
        &mut self,
        width_px: u32,
        height: u32,
        bits: &[u8],
    ) -> Result<&mut Self, EscPosError> {
        if width_px == 0 || width_px % 8 != 0 || width_px / 8 > 0xFFFF {
            return Err(EscPosError::RasterWidth(width_px));
        }
        if height == 0 || height > 0xFFFF {
            return Err(EscPosError::RasterHeight(height));
        }
        let row_bytes = width_px / 8;
        let expected = row_bytes as usize * height as usize;
        if bits.len() != expected {
            return Err(EscPosError::RasterData {
                expected,
                actual: bits.len(),
            });
        }
        let [xl, xh, ..] = row_bytes.to_le_bytes();
        let [yl, yh, ..] = height.to_le_bytes();
        self.buf
            .extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
        self.buf.extend_from_slice(bits);
        Ok(self)
    }

    /// A native QR code (model 2, [`QR_MODULE_SIZE`] dots per module, error correction M),
    /// stored then printed.
    ///
    /// # Errors
    ///
    /// [`EscPosError::QrData`] if `data` is empty or longer than 2331 bytes.
    pub fn qr(&mut self, data: &[u8]) -> Result<&mut Self, EscPosError> {
        if data.is_empty() || qr_version_for(data.len()).is_none() {
            return Err(EscPosError::QrData(data.len()));
        }
        // Checked above: data.len() <= 2331, so len + 3 fits in two bytes.
        let [pl, ph, ..] = (data.len() + 3).to_le_bytes();
        self.buf
            .extend_from_slice(&[GS, b'(', b'k', 4, 0, 49, 65, 50, 0]); // fn 165: model 2
        self.buf
            .extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 67, QR_MODULE_SIZE]); // fn 167
        self.buf
            .extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 69, 49]); // fn 169: level M
        self.buf
            .extend_from_slice(&[GS, b'(', b'k', pl, ph, 49, 80, 48]); // fn 180: store
        self.buf.extend_from_slice(data);
        self.buf
            .extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 81, 48]); // fn 181: print
        Ok(self)
    }

    /// `ESC d n`: prints buffered text and feeds `n` lines.
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'd', lines]);
        self
    }

    /// `GS V 66 0`: feeds the paper to the cutter and cuts.
    pub fn cut(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[GS, b'V', 66, 0]);
        self
    }

    /// The job so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The finished job.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sequences() {
        let mut b = EscPos::new();
        b.init().align(Align::Center).feed(2).cut();
        assert_eq!(
            b.as_bytes(),
            &[0x1B, 0x40, 0x1B, 0x61, 1, 0x1B, 0x64, 2, 0x1D, 0x56, 66, 0]
        );

        let mut b = EscPos::new();
        b.raster(16, 2, &[0xFF, 0x00, 0x0F, 0xF0])
            .expect("valid raster");
        assert_eq!(
            b.as_bytes(),
            &[0x1D, 0x76, 0x30, 0, 2, 0, 2, 0, 0xFF, 0x00, 0x0F, 0xF0]
        );

        let mut b = EscPos::new();
        b.qr(b"AB").expect("valid qr");
        let bytes = b.into_bytes();
        let store = [0x1D, 0x28, 0x6B, 5, 0, 49, 80, 48, b'A', b'B'];
        assert!(bytes.windows(store.len()).any(|w| w == store));
        assert!(bytes.ends_with(&[0x1D, 0x28, 0x6B, 3, 0, 49, 81, 48]));
    }

    #[test]
    fn rejects_what_it_cannot_encode() {
        let mut b = EscPos::new();
        assert_eq!(
            b.text_ascii("Nguyễn").map(|_| ()),
            Err(EscPosError::NotAscii {
                ch: 'ễ', index: 4
            })
        );
        assert!(matches!(
            b.text_ascii("tab\there"),
            Err(EscPosError::NotAscii { ch: '\t', .. })
        ));
        assert_eq!(
            b.raster(12, 1, &[0, 0]).map(|_| ()),
            Err(EscPosError::RasterWidth(12))
        );
        assert_eq!(
            b.raster(8, 0, &[]).map(|_| ()),
            Err(EscPosError::RasterHeight(0))
        );
        assert_eq!(
            b.raster(8, 2, &[0]).map(|_| ()),
            Err(EscPosError::RasterData {
                expected: 2,
                actual: 1
            })
        );
        assert_eq!(b.qr(b"").map(|_| ()), Err(EscPosError::QrData(0)));
        assert_eq!(
            b.qr(&[b'x'; 2332]).map(|_| ()),
            Err(EscPosError::QrData(2332))
        );
        assert!(b.as_bytes().is_empty(), "failed commands append nothing");
    }
}
