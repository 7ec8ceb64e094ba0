//! `kiosk`: the CCCD self-service kiosk. Everything lives in the library; see `app`.
use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = kiosk_app::app::Args::parse();
    std::process::ExitCode::from(kiosk_app::app::main_with(args))
}
