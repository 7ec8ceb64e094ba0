//! An interpreter turning an ESC/POS job into an image of the printed receipt.
//!
//! It understands exactly the commands [`super::escpos::EscPos`] emits (plus their obvious
//! siblings: right alignment, the other cut forms) and rejects anything else with the byte
//! offset, so a test or the simulated printer catches an encoder bug instead of printing
//! garbage. Pure: bytes in, pixels out.
//!
//! Rendering rules (approximations of a real 203 dpi printer, good enough to eyeball a layout):
//! ASCII text uses a built-in 5x8 font doubled to 10x16 dots in a 12x24 cell (48 characters per
//! 576-dot line), long lines wrap; raster images are drawn dot for dot; a QR code is drawn as a
//! framed box, of the size the printer would print it, labelled "QR" (decoding it back comes
//! with the printer driver issue); a cut is a dashed line.

use super::escpos::{qr_version_for, ESC, GS, LF};
use super::font::{glyph, GLYPH_COLUMNS, GLYPH_ROWS};

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
enum Alignment {
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
    qr_data: Option<usize>,
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

    fn qr(&mut self, data_len: usize, offset: usize) -> Result<(), RenderError> {
        let Some(version) = qr_version_for(data_len) else {
            return Err(RenderError::Unsupported {
                offset,
                command: "GS ( k",
                detail: format!("{data_len} bytes do not fit a QR code at level M"),
            });
        };
        self.flush_line(false, offset)?;
        let side = (17 + 4 * version) * self.qr_module;
        let side = side.min(self.width);
        let x0 = self.x_for(side);
        let y0 = self.y;
        self.advance(side, offset)?;
        const FRAME: usize = 3;
        for y in 0..side {
            for x in 0..side {
                if x < FRAME || y < FRAME || x + FRAME >= side || y + FRAME >= side {
                    self.set_black(x0 + x, y0 + y);
                }
            }
        }
        let label_width = 2 * CELL_WIDTH;
        if side > label_width {
            let label_x = x0 + (side - label_width) / 2;
            let label_y = y0 + side.saturating_sub(GLYPH_ROWS * SCALE) / 2;
            self.draw_text(label_x, label_y, b"QR");
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
    while let Some(&byte) = job.get(i) {
        let start = i;
        // Bytes of the command starting at `start`, or a truncation error.
        let take = |n: usize, command: &'static str| {
            job.get(start..start + n).ok_or(RenderError::Truncated {
                offset: start,
                command,
            })
        };
        match byte {
            b' '..=b'~' => {
                c.line.push(byte);
                i += 1;
            }
            LF => {
                c.flush_line(true, start)?;
                i += 1;
            }
            ESC => {
                let cmd = take(2, "ESC")?;
                match cmd[1] {
                    b'@' => {
                        c.align = Alignment::Left;
                        c.line.clear();
                        i += 2;
                    }
                    b'a' => {
                        let n = take(3, "ESC a")?[2];
                        c.align = match n {
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
                        i += 3;
                    }
                    b'd' => {
                        let n = take(3, "ESC d")?[2];
                        c.flush_line(false, start)?;
                        c.advance(usize::from(n) * LINE_HEIGHT, start)?;
                        i += 3;
                    }
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
                        let total = 8 + row_bytes * height;
                        let all = take(total, "GS v 0")?;
                        c.raster(row_bytes * 8, height, &all[8..], start)?;
                        i += total;
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
                        qr_function(&mut c, &all[5..], start)?;
                        i += 5 + len;
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
                        c.cut(start)?;
                        i += len;
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
        (80, [48, data @ ..]) => c.qr_data = Some(data.len()),
        (81, [48]) => {
            let Some(len) = c.qr_data else {
                return Err(unsupported(
                    "print requested before any QR data was stored".into(),
                ));
            };
            c.qr(len, offset)?;
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
    fn qr_box_cut_and_feed() {
        let mut b = EscPos::new();
        b.qr(b"001090123456").expect("qr").feed(2).cut();
        let r = render(b.as_bytes(), 576).expect("renders");
        // 12 bytes fit version 1 (21 modules) at 6 dots per module.
        let side = 21 * 6;
        assert!(r.is_black(0, 0) && r.is_black(side as u32 - 1, side as u32 - 1));
        assert!(!r.is_black(side as u32, 0));
        assert_eq!(r.cuts, vec![(side + 2 * 24 + 4) as u32]);
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
