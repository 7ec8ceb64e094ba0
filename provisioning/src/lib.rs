//! `kioskctl`, the technician's tool for the CCCD self-service kiosk.
//!
//! Layout: [`cli`] holds the clap definitions (every `--help` text lives there); each command
//! has its own module (`config_check`, `locales_check`, `catalog_list`); `ftl` finds Fluent
//! message ids line by line and `table` prints aligned plain-text columns. The binary only
//! parses the arguments, calls [`run`] and turns the [`Outcome`] into its exit status.
//!
//! The commands read files and print reports; the device tests (`camera test`, `card read`,
//! `printer test`) talk to the hardware they name. None of them prints personal data.
//! Validation itself is `kiosk-app`'s (`config::load`, `catalog::Catalog::load`,
//! `i18n::Catalog`), so a file kioskctl accepts is a file the kiosk accepts.

use std::io::Write;
use std::process::ExitCode;

pub mod camera_test;
pub mod card_read;
pub mod cli;
pub mod enrol;
pub mod face;
pub mod printer;
pub mod provision;
pub mod qr_decode;
pub mod queue;
pub mod selftest;

mod catalog_list;
mod config_check;
mod ftl;
mod locales_check;
mod table;

use cli::{CatalogCommand, Cli, Command, ConfigCommand, LocalesCommand};

/// How a command ended; the exit status scripts and the technician see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out (warnings may have been printed). Status 0.
    Ok,
    /// Only warnings, but `--strict` asked to fail on them. Status 1.
    Warnings,
    /// The input is invalid (the report says where and how to fix it). Status 2.
    Invalid,
}

impl Outcome {
    /// The process exit status.
    #[must_use]
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Self::Ok => 0,
            Self::Warnings => 1,
            Self::Invalid => 2,
        })
    }
}

/// Runs one command, writing its report to `out` and its errors to `err`.
///
/// # Errors
/// Only when the report cannot be written (e.g. a closed pipe); problems with the checked
/// files are reported and end in [`Outcome::Invalid`].
pub fn run(cli: &Cli, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    match &cli.command {
        Command::Config(ConfigCommand::Check(args)) => config_check::run(args, out, err),
        Command::Config(ConfigCommand::HashPin) => {
            let mut pin = zeroize::Zeroizing::new(String::new());
            std::io::stdin().read_line(&mut pin)?;
            config_check::hash_pin(pin.trim(), out, err)
        }
        Command::Locales(LocalesCommand::Check(args)) => locales_check::run(args, out, err),
        Command::Catalog(CatalogCommand::List(args)) => catalog_list::run(args, out, err),
        Command::Queue(cmd) => queue::run(cmd, out, err),
        Command::Qr(cmd) => qr_decode::run(cmd, out, err),
        Command::Camera(cmd) => camera_test::run(cmd, out, err),
        Command::Printer(cmd) => printer::run(cmd, out, err),
        Command::Card(cmd) => card_read::run(cmd, out, err),
        Command::Face(cmd) => face::run(cmd, out, err),
        Command::Enrol(args) => enrol::run(args, out, err),
        Command::Selftest(args) => selftest::run(args, out, err),
        Command::Provision(args) => provision::run(args, out, err),
        Command::Version => version(out),
    }
}

fn version(out: &mut dyn Write) -> anyhow::Result<Outcome> {
    // The first line stays `kioskctl X.Y.Z` so scripts can parse it.
    writeln!(out, "kioskctl {}", env!("CARGO_PKG_VERSION"))?;
    match kiosk_app::i18n::Catalog::embedded() {
        Ok(c) => {
            let langs: Vec<String> = c
                .languages()
                .into_iter()
                .map(|(code, name)| format!("{code} ({name})"))
                .collect();
            writeln!(out, "built-in languages: {}", langs.join(", "))?;
        }
        // Cannot happen in a tested build (kiosk-app's tests load the embedded files), but a
        // version command must not fail over it.
        Err(e) => writeln!(out, "built-in languages: unavailable ({e})")?,
    }
    Ok(Outcome::Ok)
}
