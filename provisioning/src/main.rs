//! `kioskctl`: see the `kiosk_provisioning` library for the commands.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use kiosk_provisioning::{cli::Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    match run(&cli, &mut out, &mut err) {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            // Reaching here means the report itself could not be written (e.g. a closed
            // pipe), so stderr is the last resort and its own failure is ignored.
            let _ = writeln!(err, "kioskctl: {e:#}");
            ExitCode::from(2)
        }
    }
}
