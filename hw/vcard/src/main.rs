//! `cccd-vcard`: a virtual CCCD chip on pcscd's vpcd driver.
//!
//! ```text
//! cccd-vcard --profile card.toml [--port 35963] [--trust-out DIR]
//! ```
//! Connects to vpcd on 127.0.0.1 (never another interface), writes the test CSCA certificate
//! to `DIR/csca.der` so that a reader can be told to trust it, and serves the card until vpcd
//! closes the connection or the profile's removal fault fires.

use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use kiosk_vcard::vpcd::{self, Stop};
use kiosk_vcard::{Profile, VirtualCccd};

#[derive(Debug, Parser)]
#[command(
    name = "cccd-vcard",
    about = "A virtual CCCD chip for pcscd's vpcd driver"
)]
struct Args {
    /// Card profile (TOML, see hw/vcard/README.md).
    #[arg(long)]
    profile: PathBuf,
    /// vpcd port on 127.0.0.1 (35963 is reader "Virtual PCD 00 00", 35964 "00 01").
    #[arg(long, default_value_t = 35963)]
    port: u16,
    /// Folder to write the trusted test CSCA certificate into (csca.der).
    #[arg(long)]
    trust_out: Option<PathBuf>,
    /// Give up connecting to vpcd after this many seconds.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let profile = Profile::load(&args.profile)?;
    let (mut card, trust) = VirtualCccd::from_profile(&profile)
        .with_context(|| format!("building the card from {}", args.profile.display()))?;
    if let Some(dir) = &args.trust_out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("csca.der");
        std::fs::write(&path, &trust.csca_der)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let deadline = Instant::now() + Duration::from_secs(args.connect_timeout);
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", args.port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                    "connecting to vpcd on 127.0.0.1:{} (is pcscd with vsmartcard-vpcd running?)",
                    args.port
                )
                })
            }
        }
    };
    eprintln!("cccd-vcard: card inserted on vpcd port {}", args.port);
    let stop = vpcd::serve_with(
        &mut stream,
        &mut card,
        Duration::from_millis(profile.chip.apdu_delay_ms),
        profile.faults.remove_after_apdu,
        profile.faults.mute_after_apdu,
    )?;
    match stop {
        Stop::Closed => eprintln!("cccd-vcard: vpcd closed the connection"),
        Stop::Removed => eprintln!("cccd-vcard: card removed (fault remove_after_apdu)"),
    }
    Ok(())
}
