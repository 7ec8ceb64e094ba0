//! Round-trip time of plain APDUs through PC/SC: what one exchange costs on this reader
//! (or through pcscd + vpcd with a virtual card), without any protocol on top.
//!
//! ```text
//! cargo run -p kiosk-hw --features pcsc --example apdu_rtt -- [COUNT] [READER]
//! ```
//! Sends COUNT (default 200) `SELECT` of the eMRTD application and prints the mean, median and
//! 95th percentile round trip.

use std::time::{Duration, Instant};

use kiosk_hw::card::pcsc::PcscCardReader;
use kiosk_hw::card::CardReader;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let name = args.next();
    let mut reader = PcscCardReader::open(name.as_deref())?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !reader
        .wait_for_change(Duration::from_millis(200))?
        .is_present()
    {
        if Instant::now() > deadline {
            return Err("no card on the reader".into());
        }
    }
    let select = [
        0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
    ];
    let mut times = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let t = Instant::now();
        reader.transmit(&select)?;
        times.push(t.elapsed());
    }
    times.sort();
    let total: Duration = times.iter().sum();
    let n = u32::try_from(times.len())?;
    println!(
        "{} APDUs on {:?}: mean {:.2} ms, median {:.2} ms, p95 {:.2} ms",
        times.len(),
        reader.name(),
        (total / n).as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() * 95 / 100].as_secs_f64() * 1e3,
    );
    Ok(())
}
