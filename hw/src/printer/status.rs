//! Real-time status of an ESC/POS printer: `DLE EOT n` requests and the decoding of their
//! answers. Pure: bytes in, [`PrinterStatus`] out.
//!
//! `DLE EOT n` (`10 04 n`, n = 1..4) is a real-time command: the printer answers one byte at
//! once, even while it is offline or its buffer holds a job. Every answer byte has bit 1 and
//! bit 4 set and bits 0 and 7 clear, which tells a status byte from anything else the printer
//! might send. The bits used here are the same in Epson's, Bixolon's, Citizen's and CBM's
//! manuals:
//!
//! | n | byte | bit | meaning when set |
//! |---|---|---|---|
//! | 1 | printer | 3 | offline |
//! | 2 | offline cause | 2 | cover open |
//! | 2 | offline cause | 5 | printing stopped at paper end |
//! | 3 | error | 3 | autocutter error (paper jam at the cutter; recoverable) |
//! | 3 | error | 5 | unrecoverable error (hardware fault) |
//! | 3 | error | 6 | auto-recoverable error (head overheated; clears by itself) |
//! | 4 | paper sensors | 2, 3 | roll near its end |
//! | 4 | paper sensors | 5, 6 | no paper |

use super::{PaperState, PrinterErrorKind, PrinterStatus};

/// DLE.
pub(crate) const DLE: u8 = 0x10;
/// EOT.
pub(crate) const EOT: u8 = 0x04;

/// The four status requests, `DLE EOT 1` to `DLE EOT 4`, in the order their answers are
/// given to [`decode`].
pub const STATUS_REQUESTS: [[u8; 3]; 4] =
    [[DLE, EOT, 1], [DLE, EOT, 2], [DLE, EOT, 3], [DLE, EOT, 4]];

/// Bits fixed in every status byte: bit 1 and bit 4 set, bits 0 and 7 clear.
const FIXED_MASK: u8 = 0b1001_0011;
const FIXED_VALUE: u8 = 0b0001_0010;

/// Whether `byte` has the fixed bits of a `DLE EOT` answer.
pub fn is_status_byte(byte: u8) -> bool {
    byte & FIXED_MASK == FIXED_VALUE
}

/// A byte that cannot be the answer to a `DLE EOT` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "answer 0x{byte:02X} to DLE EOT {request} is not a status byte (bits 1 and 4 set, 0 and 7 \
     clear); the device may not be an ESC/POS printer"
)]
pub struct StatusDecodeError {
    /// The request, 1..=4.
    pub request: u8,
    /// The byte received.
    pub byte: u8,
}

/// Decodes the answers to `DLE EOT 1`, `2`, `3` and `4` (in that order).
///
/// # Errors
///
/// [`StatusDecodeError`] naming the first byte whose fixed bits are wrong.
pub fn decode(answers: [u8; 4]) -> Result<PrinterStatus, StatusDecodeError> {
    for (request, byte) in (1u8..).zip(answers) {
        if !is_status_byte(byte) {
            return Err(StatusDecodeError { request, byte });
        }
    }
    let [printer, offline, error, paper] = answers;
    let bit = |byte: u8, n: u8| byte & (1 << n) != 0;
    let paper = if bit(paper, 5) || bit(paper, 6) || bit(offline, 5) {
        PaperState::Out
    } else if bit(paper, 2) || bit(paper, 3) {
        PaperState::NearEnd
    } else {
        PaperState::Ok
    };
    Ok(PrinterStatus {
        online: !bit(printer, 3),
        paper,
        cover_open: bit(offline, 2),
        cutter_error: bit(error, 3),
        unrecoverable_error: bit(error, 5),
        auto_recoverable_error: bit(error, 6),
    })
}

/// The answers a printer in `status` gives to `DLE EOT 1..4`: the inverse of [`decode`], for
/// the virtual printer and tests.
pub fn encode(status: &PrinterStatus) -> [u8; 4] {
    let set = |on: bool, mask: u8| if on { mask } else { 0 };
    let printer = FIXED_VALUE | set(!status.online, 1 << 3);
    let out = status.paper == PaperState::Out;
    let offline = FIXED_VALUE
        | set(status.cover_open, 1 << 2)
        | set(out, 1 << 5)
        | set(status.fault().is_some(), 1 << 6);
    let error = FIXED_VALUE
        | set(status.cutter_error, 1 << 3)
        | set(status.unrecoverable_error, 1 << 5)
        | set(status.auto_recoverable_error, 1 << 6);
    let paper =
        FIXED_VALUE | set(status.paper != PaperState::Ok, 0b0000_1100) | set(out, 0b0110_0000);
    [printer, offline, error, paper]
}

impl PrinterStatus {
    /// The status of a ready printer with paper.
    pub const READY: Self = Self {
        online: true,
        paper: PaperState::Ok,
        cover_open: false,
        cutter_error: false,
        unrecoverable_error: false,
        auto_recoverable_error: false,
    };

    /// Why a job cannot be printed now, most specific cause first (a printer with its cover
    /// open or out of paper also reports itself offline); `None` when it can print.
    pub fn fault(&self) -> Option<PrinterErrorKind> {
        if self.unrecoverable_error {
            Some(PrinterErrorKind::HardwareError)
        } else if self.cover_open {
            Some(PrinterErrorKind::CoverOpen)
        } else if self.paper == PaperState::Out {
            Some(PrinterErrorKind::PaperOut)
        } else if self.cutter_error {
            Some(PrinterErrorKind::CutterError)
        } else if self.auto_recoverable_error {
            Some(PrinterErrorKind::Recovering)
        } else if !self.online {
            Some(PrinterErrorKind::Offline)
        } else {
            None
        }
    }

    /// What a technician should do about [`Self::fault`].
    pub fn advice(&self) -> &'static str {
        match self.fault() {
            Some(PrinterErrorKind::HardwareError) => {
                "the printer reports a hardware fault; power it off and on, then call service"
            }
            Some(PrinterErrorKind::CoverOpen) => "close the paper cover",
            Some(PrinterErrorKind::PaperOut) => "load a new paper roll",
            Some(PrinterErrorKind::CutterError) => {
                "clear the paper jam at the cutter, then close the cover"
            }
            Some(PrinterErrorKind::Recovering) => {
                "the print head is too hot; printing resumes by itself when it cools"
            }
            Some(_) => "the printer is offline; check its power and error LED",
            None if self.paper == PaperState::NearEnd => "ready; the paper roll is nearly used up",
            None => "ready",
        }
    }
}

impl std::fmt::Display for PrinterStatus {
    /// One line for technicians and logs, e.g. `online, paper ok, cover closed, no error`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paper = match self.paper {
            PaperState::Ok => "paper ok",
            PaperState::NearEnd => "paper near end",
            PaperState::Out => "paper out",
        };
        write!(
            f,
            "{}, {paper}, cover {}",
            if self.online { "online" } else { "offline" },
            if self.cover_open { "open" } else { "closed" },
        )?;
        let errors: Vec<&str> = [
            (self.cutter_error, "cutter error"),
            (self.unrecoverable_error, "unrecoverable error"),
            (self.auto_recoverable_error, "auto-recoverable error"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        if errors.is_empty() {
            f.write_str(", no error")
        } else {
            write!(f, ", {}", errors.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `answers` and checks the fault kind and the technician's line.
    fn check(answers: [u8; 4], fault: Option<PrinterErrorKind>, line: &str) {
        let status = decode(answers).expect("valid status bytes");
        assert_eq!(status.fault(), fault, "{answers:02X?}");
        assert_eq!(status.to_string(), line, "{answers:02X?}");
        assert_eq!(status.can_print(), fault.is_none());
    }

    #[test]
    fn decodes_each_state() {
        // A ready TM-T88: every byte is just its fixed bits.
        check([0x12; 4], None, "online, paper ok, cover closed, no error");
        // Bit 2 of n=1 is the drawer connector and bit 6 the feed button: ignored.
        check(
            [0x16, 0x1A, 0x12, 0x12],
            None,
            "online, paper ok, cover closed, no error",
        );
        check(
            [0x12, 0x12, 0x12, 0x1E],
            None,
            "online, paper near end, cover closed, no error",
        );
        // Only one of the two near-end sensor bits (Citizen's two sensors).
        check(
            [0x12, 0x12, 0x12, 0x16],
            None,
            "online, paper near end, cover closed, no error",
        );
        // Paper out: offline, stopped at paper end, both sensor groups set.
        check(
            [0x1A, 0x72, 0x12, 0x7E],
            Some(PrinterErrorKind::PaperOut),
            "offline, paper out, cover closed, no error",
        );
        // Only the paper-end bit of n=2 (a printer without an end sensor answer in n=4).
        check(
            [0x1A, 0x32, 0x12, 0x12],
            Some(PrinterErrorKind::PaperOut),
            "offline, paper out, cover closed, no error",
        );
        check(
            [0x1A, 0x16, 0x12, 0x12],
            Some(PrinterErrorKind::CoverOpen),
            "offline, paper ok, cover open, no error",
        );
        check(
            [0x1A, 0x52, 0x1A, 0x12],
            Some(PrinterErrorKind::CutterError),
            "offline, paper ok, cover closed, cutter error",
        );
        check(
            [0x1A, 0x52, 0x32, 0x12],
            Some(PrinterErrorKind::HardwareError),
            "offline, paper ok, cover closed, unrecoverable error",
        );
        check(
            [0x1A, 0x52, 0x52, 0x12],
            Some(PrinterErrorKind::Recovering),
            "offline, paper ok, cover closed, auto-recoverable error",
        );
        check(
            [0x1A, 0x12, 0x12, 0x12],
            Some(PrinterErrorKind::Offline),
            "offline, paper ok, cover closed, no error",
        );
        // Cover open and out of paper: the cover is named first (it must be closed anyway).
        check(
            [0x1A, 0x36, 0x12, 0x7E],
            Some(PrinterErrorKind::CoverOpen),
            "offline, paper out, cover open, no error",
        );
    }

    #[test]
    fn rejects_bytes_that_are_not_status() {
        // ASCII 'A', a zero byte, bit 7 set, bit 4 clear.
        for (answers, request, byte) in [
            ([0x41, 0x12, 0x12, 0x12], 1, 0x41),
            ([0x12, 0x00, 0x12, 0x12], 2, 0x00),
            ([0x12, 0x12, 0x92, 0x12], 3, 0x92),
            ([0x12, 0x12, 0x12, 0x02], 4, 0x02),
        ] {
            assert_eq!(decode(answers), Err(StatusDecodeError { request, byte }));
        }
    }

    #[test]
    fn encode_is_the_inverse_of_decode() {
        let paper = [PaperState::Ok, PaperState::NearEnd, PaperState::Out];
        for bits in 0u8..32 {
            for p in paper {
                let b = |n: u8| bits & (1 << n) != 0;
                let status = PrinterStatus {
                    online: b(0),
                    paper: p,
                    cover_open: b(1),
                    cutter_error: b(2),
                    unrecoverable_error: b(3),
                    auto_recoverable_error: b(4),
                };
                assert_eq!(decode(encode(&status)), Ok(status));
            }
        }
        assert_eq!(encode(&PrinterStatus::READY), [0x12; 4]);
    }
}
