//! An interpreter turning an ESC/POS job into an image of the printed receipt.
//!
//! It understands exactly the commands [`super::escpos::EscPos`] emits (plus their obvious
//! siblings: right alignment, the other cut forms) and rejects anything else with the byte
//! offset, so a test or the simulated printer catches an encoder bug instead of printing
//! garbage. Pure: bytes in, pixels out.
//!
//! Rendering rules (approximations of a real 203 dpi printer, good enough to eyeball a layout):
//! ASCII text uses a built-in 5x8 font doubled to 10x16 dots in a 12x24 cell (48 characters per
//! 576-dot line), long lines wrap; raster images are drawn dot for dot; a QR code is drawn
//! module for module (encoded again with rxing at level M, so a test can decode it from the
//! image; its version may differ from a real printer's); a cut is a dashed line; `DLE EOT n`
//! status requests print nothing.

use ::rxing::qrcode::QRCodeWriter;
use ::rxing::{BarcodeFormat, EncodeHints, Writer as _};

use super::escpos::{qr_version_for, ESC, GS, LF};
use super::font::{glyph, GLYPH_COLUMNS, GLYPH_ROWS};
use super::status::{DLE, EOT};

/// Font scale factor: 5x8 font pixels become 10x16 dots.
const SCALE: usize = 2;
/// Character cell width in dots.
const CELL_WIDTH: usize = 12;
/// Line height in dots (ESC/POS default line spacing is close to this).
const LINE_HEIGHT: usize = 24;
/// Refuse to render receipts longer than this many dots (about 12 m of paper).
const MAX_HEIGHT: usize = 100_000;

/// A rendered receipt: 8-bit grey pixels, 0 black, 255 white, rows top to bottom.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Paper width in dots.
    pub width: u32,
    /// Printed length in dots.
    pub height: u32,
    /// `width * height` grey levels.
    pub pixels: Vec<u8>,
    /// Rows at which the paper was cut.
    pub cuts: Vec<u32>,
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The pixels may show personal data; print the shape only.
        f.debug_struct("Receipt")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("cuts", &self.cuts)
            .finish_non_exhaustive()
    }
}

impl Receipt {
    /// The receipt as a grey camera frame, e.g. to decode its QR code with
    /// [`crate::qr::QrDecoder`].
    pub fn to_frame(&self) -> crate::camera::Frame {
        crate::camera::Frame {
            width: self.width,
            height: self.height,
            format: crate::camera::PixelFormat::Luma8,
            data: self.pixels.clone(),
            seq: 0,
        }
    }

    /// Whether the dot at (`x`, `y`) is black; `false` outside the receipt.
    pub fn is_black(&self, x: u32, y: u32) -> bool {
        x < self.width
            && y < self.height
            && self
                .pixels
                .get(y as usize * self.width as usize + x as usize)
                == Some(&0)
    }
}

/// Why a job cannot be rendered. Offsets are byte offsets into the job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A byte that starts no known command.
    #[error("unknown command byte 0x{byte:02X} at offset {offset}")]
    UnknownCommand {
        /// Offset of the byte.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// The job ends in the middle of a command.
    #[error("job truncated inside {command} starting at offset {offset}")]
    Truncated {
        /// Offset where the command starts.
        offset: usize,
        /// The command's name.
        command: &'static str,
    },
    /// A known command with parameters this interpreter does not support.
    #[error("unsupported {command} at offset {offset}: {detail}")]
    Unsupported {
        /// Offset where the command starts.
        offset: usize,
        /// The command's name.
        command: &'static str,
        /// What is unsupported.
        detail: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alignment {
    Left,
    Center,
    Right,
}

struct Canvas {
    width: usize,
    pixels: Vec<u8>,
    /// Top of the next printed line, in dots.
    y: usize,
    align: Alignment,
    line: Vec<u8>,
    qr_module: usize,
    qr_data: Option<Vec<u8>>,
    cuts: Vec<u32>,
}

impl Canvas {
    fn grow_to(&mut self, rows: usize, offset: usize) -> Result<(), RenderError> {
        if rows > MAX_HEIGHT {
            return Err(RenderError::Unsupported {
                offset,
                command: "paper feed",
                detail: format!("receipt longer than {MAX_HEIGHT} dots"),
            });
        }
        let needed = rows * self.width;
        if self.pixels.len() < needed {
            self.pixels.resize(needed, 255);
        }
        Ok(())
    }

    fn advance(&mut self, dots: usize, offset: usize) -> Result<(), RenderError> {
        self.y += dots;
        self.grow_to(self.y, offset)
    }

    fn set_black(&mut self, x: usize, y: usize) {
        if x < self.width {
            if let Some(p) = self.pixels.get_mut(y * self.width + x) {
                *p = 0;
            }
        }
    }

    fn x_for(&self, item_width: usize) -> usize {
        let free = self.width.saturating_sub(item_width);
        match self.align {
            Alignment::Left => 0,
            Alignment::Center => free / 2,
            Alignment::Right => free,
        }
    }

    fn draw_text(&mut self, x0: usize, y0: usize, text: &[u8]) {
        for (i, &c) in text.iter().enumerate() {
            let cols = glyph(c);
            for (col, bits) in cols.iter().enumerate().take(GLYPH_COLUMNS) {
                for row in 0..GLYPH_ROWS {
                    if bits & (1 << row) != 0 {
                        for dy in 0..SCALE {
                            for dx in 0..SCALE {
                                let x = x0 + i * CELL_WIDTH + col * SCALE + dx;
                                self.set_black(x, y0 + row * SCALE + dy);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Prints the buffered text line(s), wrapping at the paper width. With `force`, an empty
    /// buffer still prints an empty line (what LF does).
    fn flush_line(&mut self, force: bool, offset: usize) -> Result<(), RenderError> {
        if self.line.is_empty() && !force {
            return Ok(());
        }
        let line = std::mem::take(&mut self.line);
        let per_line = (self.width / CELL_WIDTH).max(1);
        let mut chunks: Vec<&[u8]> = line.chunks(per_line).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for chunk in chunks {
            let y = self.y;
            self.advance(LINE_HEIGHT, offset)?;
            let x = self.x_for(chunk.len() * CELL_WIDTH);
            // Glyphs sit at the top of the cell, leaving the spacing below.
            self.draw_text(x, y + 2, chunk);
        }
        Ok(())
    }

    fn raster(
        &mut self,
        width: usize,
        height: usize,
        bits: &[u8],
        offset: usize,
    ) -> Result<(), RenderError> {
        if width > self.width {
            return Err(RenderError::Unsupported {
                offset,
                command: "GS v 0",
                detail: format!("image {width} dots wide on {}-dot paper", self.width),
            });
        }
        self.flush_line(false, offset)?;
        let x0 = self.x_for(width);
        let y0 = self.y;
        self.advance(height, offset)?;
        let row_bytes = width / 8;
        for (row, row_bits) in bits.chunks(row_bytes.max(1)).enumerate().take(height) {
            for (byte_index, byte) in row_bits.iter().enumerate() {
                for bit in 0..8 {
                    if byte & (0x80 >> bit) != 0 {
                        self.set_black(x0 + byte_index * 8 + bit, y0 + row);
                    }
                }
            }
        }
        Ok(())
    }

    /// Draws the stored symbol as its real modules (encoded with rxing at level M, as the
    /// printer was told), so a test can decode it back from the rendered image.
    fn qr(&mut self, data: &[u8], offset: usize) -> Result<(), RenderError> {
        let unsupported = |detail: String| RenderError::Unsupported {
            offset,
            command: "GS ( k",
            detail,
        };
        if qr_version_for(data.len()).is_none() {
            return Err(unsupported(format!(
                "{} bytes do not fit a QR code at level M",
                data.len()
            )));
        }
        let text = std::str::from_utf8(data)
            .map_err(|_| unsupported("QR data is not UTF-8 text".into()))?;
        let hints = EncodeHints {
            // ASCII stays in rxing's default modes; other text is encoded as UTF-8 bytes.
            CharacterSet: (!text.is_ascii()).then(|| "UTF-8".into()),
            ErrorCorrection: Some("M".into()),
            Margin: Some("0".into()),
            ..EncodeHints::default()
        };
        let matrix = QRCodeWriter
            .encode_with_hints(text, &BarcodeFormat::QR_CODE, 0, 0, &hints)
            .map_err(|e| unsupported(format!("cannot encode the QR code: {e}")))?;
        let modules = matrix.getWidth() as usize;
        if modules * self.qr_module > self.width {
            return Err(unsupported(format!(
                "{modules} modules of {} dots are wider than the {}-dot paper",
                self.qr_module, self.width
            )));
        }
        self.flush_line(false, offset)?;
        let side = modules * self.qr_module;
        let x0 = self.x_for(side);
        let y0 = self.y;
        self.advance(side, offset)?;
        for my in 0..modules {
            for mx in 0..modules {
                // Both indices are below the matrix width, which is a u32.
                if matrix.get(mx as u32, my as u32) {
                    for dy in 0..self.qr_module {
                        for dx in 0..self.qr_module {
                            self.set_black(
                                x0 + mx * self.qr_module + dx,
                                y0 + my * self.qr_module + dy,
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn cut(&mut self, offset: usize) -> Result<(), RenderError> {
        self.flush_line(false, offset)?;
        let y = self.y + 4;
        self.advance(9, offset)?;
        for x in (0..self.width).filter(|x| x % 16 < 8) {
            self.set_black(x, y);
        }
        self.cuts.push(u32::try_from(y).unwrap_or(u32::MAX));
        Ok(())
    }
}

/// One command of the subset this interpreter knows, borrowed from the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    /// A printable ASCII character, buffered into the current line.
    Char(u8),
    /// `LF`: prints the line.
    LineFeed,
    /// `ESC @`.
    Init,
    /// `ESC a n`.
    Align(Alignment),
    /// `ESC d n`.
    Feed(u8),
    /// `GS v 0 m xL xH yL yH d...`.
    Raster {
        row_bytes: usize,
        height: usize,
        bits: &'a [u8],
    },
    /// `GS ( k pL pH cn fn ...`: the body from `cn` on.
    Symbol(&'a [u8]),
    /// `GS V m [n]`.
    Cut,
    /// `DLE EOT n`: a real-time status request.
    Status(u8),
}

/// The command starting at `start` and its length in bytes.
///
/// [`RenderError::Truncated`] means the job ends inside the command: a streaming reader (the
/// virtual printer) waits for more bytes then.
pub(crate) fn next_command(job: &[u8], start: usize) -> Result<(Command<'_>, usize), RenderError> {
    // Bytes of the command starting at `start`, or a truncation error.
    let take = |n: usize, command: &'static str| {
        start
            .checked_add(n)
            .and_then(|end| job.get(start..end))
            .ok_or(RenderError::Truncated {
                offset: start,
                command,
            })
    };
    let Some(&byte) = job.get(start) else {
        return Err(RenderError::Truncated {
            offset: start,
            command: "command",
        });
    };
    Ok(match byte {
        b' '..=b'~' => (Command::Char(byte), 1),
        LF => (Command::LineFeed, 1),
        DLE => {
            let cmd = take(3, "DLE EOT")?;
            if cmd[1] != EOT || !(1..=4).contains(&cmd[2]) {
                return Err(RenderError::Unsupported {
                    offset: start,
                    command: "DLE",
                    detail: format!("DLE 0x{:02X} {}", cmd[1], cmd[2]),
                });
            }
            (Command::Status(cmd[2]), 3)
        }
        ESC => {
            let cmd = take(2, "ESC")?;
            match cmd[1] {
                b'@' => (Command::Init, 2),
                b'a' => {
                    let n = take(3, "ESC a")?[2];
                    let align = match n {
                        0 | 48 => Alignment::Left,
                        1 | 49 => Alignment::Center,
                        2 | 50 => Alignment::Right,
                        _ => {
                            return Err(RenderError::Unsupported {
                                offset: start,
                                command: "ESC a",
                                detail: format!("alignment {n}"),
                            })
                        }
                    };
                    (Command::Align(align), 3)
                }
                b'd' => (Command::Feed(take(3, "ESC d")?[2]), 3),
                _ => {
                    return Err(RenderError::UnknownCommand {
                        offset: start + 1,
                        byte: cmd[1],
                    })
                }
            }
        }
        GS => {
            let cmd = take(2, "GS")?;
            match cmd[1] {
                b'v' => {
                    let head = take(8, "GS v 0")?;
                    if head[2] != b'0' {
                        return Err(RenderError::UnknownCommand {
                            offset: start + 2,
                            byte: head[2],
                        });
                    }
                    if !matches!(head[3], 0 | 48) {
                        return Err(RenderError::Unsupported {
                            offset: start,
                            command: "GS v 0",
                            detail: format!("scaling mode {}", head[3]),
                        });
                    }
                    let row_bytes = usize::from(u16::from_le_bytes([head[4], head[5]]));
                    let height = usize::from(u16::from_le_bytes([head[6], head[7]]));
                    // Both factors are below 2^16, so the product fits a usize.
                    let total = 8 + row_bytes * height;
                    let all = take(total, "GS v 0")?;
                    let raster = Command::Raster {
                        row_bytes,
                        height,
                        bits: &all[8..],
                    };
                    (raster, total)
                }
                b'(' => {
                    let head = take(5, "GS ( k")?;
                    if head[2] != b'k' {
                        return Err(RenderError::UnknownCommand {
                            offset: start + 2,
                            byte: head[2],
                        });
                    }
                    let len = usize::from(u16::from_le_bytes([head[3], head[4]]));
                    let all = take(5 + len, "GS ( k")?;
                    (Command::Symbol(&all[5..]), 5 + len)
                }
                b'V' => {
                    let m = take(3, "GS V")?[2];
                    let len = match m {
                        0 | 1 | 48 | 49 => 3,
                        65 | 66 => take(4, "GS V")?.len(),
                        _ => {
                            return Err(RenderError::Unsupported {
                                offset: start,
                                command: "GS V",
                                detail: format!("cut mode {m}"),
                            })
                        }
                    };
                    (Command::Cut, len)
                }
                _ => {
                    return Err(RenderError::UnknownCommand {
                        offset: start + 1,
                        byte: cmd[1],
                    })
                }
            }
        }
        _ => {
            return Err(RenderError::UnknownCommand {
                offset: start,
                byte,
            })
        }
    })
}

/// Renders `job` on paper `width_dots` wide (576 for 80 mm).
///
/// # Errors
///
/// A [`RenderError`] naming the byte offset of the first command it cannot interpret.
pub fn render(job: &[u8], width_dots: u32) -> Result<Receipt, RenderError> {
    let mut c = Canvas {
        width: width_dots.max(8) as usize,
        pixels: Vec::new(),
        y: 0,
        align: Alignment::Left,
        line: Vec::new(),
        qr_module: 3,
        qr_data: None,
        cuts: Vec::new(),
    };
    let mut i = 0;
    while i < job.len() {
        let start = i;
        let (command, len) = next_command(job, start)?;
        i += len;
        match command {
            Command::Char(byte) => c.line.push(byte),
            Command::LineFeed => c.flush_line(true, start)?,
            Command::Init => {
                c.align = Alignment::Left;
                c.line.clear();
            }
            Command::Align(align) => c.align = align,
            Command::Feed(n) => {
                c.flush_line(false, start)?;
                c.advance(usize::from(n) * LINE_HEIGHT, start)?;
            }
            Command::Raster {
                row_bytes,
                height,
                bits,
            } => c.raster(row_bytes * 8, height, bits, start)?,
            Command::Symbol(body) => qr_function(&mut c, body, start)?,
            Command::Cut => c.cut(start)?,
            // Real-time status requests print nothing.
            Command::Status(_) => {}
        }
    }
    c.flush_line(false, job.len())?;
    let height = c.y.max(1);
    c.grow_to(height, job.len())?;
    Ok(Receipt {
        width: u32::try_from(c.width).unwrap_or(u32::MAX),
        height: u32::try_from(height).unwrap_or(u32::MAX),
        pixels: c.pixels,
        cuts: c.cuts,
    })
}

/// One `GS ( k` function; `body` is `cn fn params...`.
fn qr_function(c: &mut Canvas, body: &[u8], offset: usize) -> Result<(), RenderError> {
    let unsupported = |detail: String| RenderError::Unsupported {
        offset,
        command: "GS ( k",
        detail,
    };
    let [cn, fun, params @ ..] = body else {
        return Err(unsupported(format!(
            "parameter length {} below 2",
            body.len()
        )));
    };
    if *cn != 49 {
        return Err(unsupported(format!(
            "symbol type cn={cn}; only QR (49) is supported"
        )));
    }
    match (*fun, params) {
        (65, [50, _]) => {} // model 2
        (67, [n @ 1..=16]) => c.qr_module = usize::from(*n),
        (69, [48..=51]) => {} // error correction level
        (80, [48, data @ ..]) => c.qr_data = Some(data.to_vec()),
        (81, [48]) => {
            let Some(data) = c.qr_data.take() else {
                return Err(unsupported(
                    "print requested before any QR data was stored".into(),
                ));
            };
            c.qr(&data, offset)?;
            // The printer keeps the symbol until it is replaced; so does this interpreter.
            c.qr_data = Some(data);
        }
        _ => {
            return Err(unsupported(format!(
                "function {fun} with {} parameter bytes",
                params.len()
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::escpos::{Align, EscPos};
    use crate::printer::PAPER_WIDTH_80MM;
    use crate::qr::{FrameDecode, QrDecodeOptions, QrDecoder};

    #[test]
    fn text_lines_have_line_height_and_ink() {
        let mut b = EscPos::new();
        b.init().text_ascii("HELLO\n\nX").expect("ascii");
        let r = render(b.as_bytes(), PAPER_WIDTH_80MM).expect("renders");
        assert_eq!(r.width, 576);
        assert_eq!(r.height, 3 * 24);
        // The first column of "H" (rows 0-6 of the font) covers dots x 0..2, y 2..16.
        assert!(r.is_black(0, 2) && r.is_black(1, 15) && !r.is_black(0, 16));
        // The blank second line has no ink.
        assert!((24..48).all(|y| (0..576).all(|x| !r.is_black(x, y))));
    }

    #[test]
    fn raster_is_drawn_dot_for_dot_and_centred() {
        let mut b = EscPos::new();
        b.align(Align::Center)
            .raster(16, 2, &[0x80, 0x01, 0xFF, 0xFF])
            .expect("raster");
        let r = render(b.as_bytes(), 576).expect("renders");
        assert_eq!(r.height, 2);
        let x0 = (576 - 16) / 2;
        assert!(r.is_black(x0, 0) && !r.is_black(x0 + 1, 0) && r.is_black(x0 + 15, 0));
        assert!((x0..x0 + 16).all(|x| r.is_black(x, 1)));
        assert!(!r.is_black(x0 - 1, 1) && !r.is_black(x0 + 16, 1));
    }

    #[test]
    fn qr_modules_decode_back_cut_and_feed() {
        let mut b = EscPos::new();
        b.qr(b"001090123456").expect("qr").feed(2).cut();
        let r = render(b.as_bytes(), 576).expect("renders");
        // 12 digits fit version 1 (21 modules) at 6 dots per module; the three finder
        // patterns put black modules in three corners, the fourth corner is data.
        let side = 21 * 6;
        let last = side as u32 - 1;
        assert!(r.is_black(0, 0) && r.is_black(last, 0) && r.is_black(0, last));
        assert!(!r.is_black(side as u32, 0));
        assert_eq!(r.cuts, vec![(side + 2 * 24 + 4) as u32]);
        let decoded = QrDecoder::new(QrDecodeOptions::default()).decode(&r.to_frame());
        let FrameDecode::Found(scan) = decoded else {
            panic!("the rendered QR does not decode: {decoded:?}");
        };
        assert_eq!(scan.text.expose(), "001090123456");
    }

    #[test]
    fn status_requests_print_nothing_and_are_checked() {
        let r = render(b"A\x10\x04\x04\n", 576).expect("renders");
        assert_eq!(r.height, 24);
        assert!(matches!(
            render(b"\x10\x04\x05", 576),
            Err(RenderError::Unsupported { offset: 0, .. })
        ));
        assert_eq!(
            render(b"\x10\x04", 576),
            Err(RenderError::Truncated {
                offset: 0,
                command: "DLE EOT"
            })
        );
    }

    #[test]
    fn errors_name_the_offset() {
        assert_eq!(
            render(b"AB\x07", 576),
            Err(RenderError::UnknownCommand {
                offset: 2,
                byte: 0x07
            })
        );
        assert_eq!(
            render(b"\x1b@\x1bZ", 576),
            Err(RenderError::UnknownCommand {
                offset: 3,
                byte: b'Z'
            })
        );
        assert_eq!(
            render(b"\x1b@\x1dv0\x00\x02\x00\x02\x00\xff", 576),
            Err(RenderError::Truncated {
                offset: 2,
                command: "GS v 0"
            })
        );
        assert!(matches!(
            render(b"\x1d(k\x03\x001Q0", 576),
            Err(RenderError::Unsupported { offset: 0, .. })
        ));
        // An image wider than the paper.
        let mut b = EscPos::new();
        b.raster(640, 1, &[0; 80]).expect("raster");
        assert!(matches!(
            render(b.as_bytes(), 576),
            Err(RenderError::Unsupported { .. })
        ));
    }
}
