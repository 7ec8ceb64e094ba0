//! The vpcd wire protocol (vsmartcard): the virtual card is a TCP client of pcscd's vpcd
//! driver. Every message is a 2-byte big-endian length and a payload; a 1-byte payload is a
//! control message (0 power off, 1 power on, 2 reset, 4 get ATR, answered with the ATR), any
//! longer payload is a command APDU answered with the response APDU.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::chip::VirtualCccd;

/// Why the card stopped serving.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// vpcd closed the connection (pcscd stopped).
    Closed,
    /// The `remove_after_apdu` fault pulled the card away.
    Removed,
}

/// Acknowledge at once what vpcd sends next.
///
/// vpcd writes each message as two sends, the 2-byte length and then the payload, on a socket
/// with Nagle's algorithm on: the payload waits until the length is acknowledged. Linux delays
/// that acknowledgement (about 40 ms) while the card has nothing to send, which cost ~44 ms per
/// APDU. Quick-ack mode is not sticky (the kernel leaves it after the card answers), so it is
/// switched on again before every message.
fn quickack(stream: &TcpStream) {
    // Best effort: on a system without the option the card still works, only slower.
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

fn read_msg(s: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match s.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf)?;
    Ok(Some(buf))
}

fn write_msg(s: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let len =
        u16::try_from(data.len()).map_err(|_| io::Error::other("response over 65535 bytes"))?;
    s.write_all(&len.to_be_bytes())?;
    s.write_all(data)?;
    s.flush()
}

/// Serves `card` on an established vpcd connection until vpcd closes it or the removal fault
/// fires. `delay` is slept before every APDU response; `remove_after` (0: never) counts APDUs.
///
/// # Errors
///
/// I/O errors of the connection.
pub fn serve(
    stream: &mut TcpStream,
    card: &mut VirtualCccd,
    delay: Duration,
    remove_after: u32,
) -> io::Result<Stop> {
    serve_with(stream, card, delay, remove_after, 0)
}

/// As [`serve`], and after `mute_after` APDUs (0: never) the card stops answering while
/// staying in the field: every further APDU is read and left without a response.
///
/// # Errors
/// As [`serve`].
pub fn serve_with(
    stream: &mut TcpStream,
    card: &mut VirtualCccd,
    delay: Duration,
    remove_after: u32,
    mute_after: u32,
) -> io::Result<Stop> {
    stream.set_nodelay(true)?;
    let mut apdus = 0u32;
    loop {
        quickack(stream);
        let Some(msg) = read_msg(stream)? else {
            break;
        };
        match msg.as_slice() {
            [0] => card.reset(),
            [1] | [2] => card.reset(),
            [4] => write_msg(stream, &card.atr())?,
            [_] => {}
            apdu => {
                if remove_after != 0 && apdus >= remove_after {
                    // Closing the connection is what tells vpcd the card left the field.
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                    return Ok(Stop::Removed);
                }
                if mute_after != 0 && apdus >= mute_after {
                    continue;
                }
                apdus += 1;
                let resp = card.process(apdu);
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
                write_msg(stream, &resp)?;
            }
        }
    }
    Ok(Stop::Closed)
}
