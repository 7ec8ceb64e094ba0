//! The command line. Every `--help` text lives here; the reader is a technician at a kiosk,
//! so the texts say what a command checks and what to do with its answer.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use kiosk_app::config::Mode;

const EXIT_STATUS: &str = "\
Exit status:
  0  OK (warnings, if any, were printed)
  1  only warnings, and --strict was given
  2  invalid input, or the check could not run";

/// The technician's tool for the CCCD self-service kiosk.
#[derive(Debug, Parser)]
#[command(
    name = "kioskctl",
    version,
    about = "Technician's tool for the CCCD self-service kiosk: check configuration, \
             language packs and the service catalogue before a kiosk goes live",
    after_help = EXIT_STATUS,
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a kiosk configuration file (kiosk.toml)
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check language packs before copying them to a kiosk
    #[command(subcommand)]
    Locales(LocalesCommand),
    /// Show the services (procedures or clinic departments) a kiosk offers
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Inspect the encrypted submission queue: status, list, dead letters, retry
    #[command(subcommand)]
    Queue(crate::queue::QueueCommand),
    /// Decode QR codes in pictures and say what they are (CCCD, receipt, enrolment)
    #[command(subcommand)]
    Qr(crate::qr_decode::QrCommand),
    /// Test the camera: format, resolution, measured frame rate, QR codes seen
    #[command(subcommand)]
    Camera(crate::camera_test::CameraCommand),
    /// Read the receipt printer's status and print a test page (Vietnamese, QR)
    #[command(subcommand)]
    Printer(crate::printer::PrinterCommand),
    /// Read and verify a CCCD chip through a PC/SC reader; list readers
    #[command(subcommand)]
    Card(crate::card_read::CardCommand),
    /// Check the face models, the camera path and the matcher
    #[command(subcommand)]
    Face(crate::face::FaceCommand),
    /// Get this kiosk's client certificate from the gateway with a one-time token
    #[command(
        long_about = "Enrol the kiosk: generate its key pair here (the private key never                       leaves the kiosk), send a certificate request with the technician's                       one-time token to the gateway's /v1/enrolment, trusting only the                       deployment CA given with --ca, and write client.key (mode 0600),                       client.pem and ca.pem into --out for [gateway] client_key, client_cert                       and ca_file.",
        after_help = "Examples:\n  KIOSK_ENROL_TOKEN=... kioskctl enrol --gateway                       https://kiosk-gw.example.vn --kiosk-id HN-PB-001 --ca /media/usb/ca.pem\n                        kioskctl enrol --gateway http://127.0.0.1:8080 --token T --kiosk-id demo-01                       --out /tmp/tls   (the demo gateway)\n\n                      Exit status:\n  0  enrolled\n  2  refused (token unknown, expired or                       used), unreachable, or the files cannot be written"
    )]
    Enrol(crate::enrol::EnrolArgs),
    /// Check everything the kiosk needs, one line per check, with an exit status for scripts
    #[command(
        long_about = "Check, from the kiosk's configuration, everything it needs to serve: \
                      the clock (not before this software was built, not years after it), free \
                      disk space where the queue lives, the submission queue (dossiers waiting, \
                      dead letters), the client certificate (days left, renewal), the gateway \
                      (GET /healthz over mutual TLS with the kiosk's own files), the card reader \
                      (present; a card on it is asked to select its ID application), the camera \
                      (frames at the measured rate) and the receipt printer (its status; a test \
                      page with --print).\n\n\
                      Each check prints one line: ok, warn or fail, its name and what was seen \
                      (for a problem, what to do). No personal data is read or printed. Stop the \
                      kiosk first to test a camera it holds (systemctl stop kiosk).",
        after_help = "Examples:\n  kioskctl selftest\n  \
                      kioskctl selftest --config /etc/kiosk/kiosk.toml --print\n  \
                      kioskctl selftest --json   (for a monitoring script)\n\n\
                      Exit status:\n  0  every check ok\n  \
                      1  warnings only (the kiosk serves; act soon)\n  \
                      2  at least one check failed, or the configuration is invalid"
    )]
    Selftest(crate::selftest::SelftestArgs),
    /// First-boot provisioning from provision.toml: enrol, configure, self-test, mark enrolled
    #[command(
        long_about = "Provision the kiosk from provision.toml (on the USB stick's FAT partition): \
                      validate it strictly (an [enrolment] table with `token` and `ca_file`, \
                      and the kiosk configuration's own keys), enrol with the token, make the \
                      queue key, write <state-dir>/kiosk.toml, run the self-test, and only then \
                      write <state-dir>/enrolled. Each step prints one line and is written to \
                      <state-dir>/provision-status.json (no secrets), which the kiosk's \
                      technician screen shows. With --qr the gateway and token come from an \
                      enrolment QR code (VNKIOSK1|E|...; `-` reads it from stdin) and the \
                      file's [enrolment] holds `ca_file` only. Running it again is safe: an \
                      enrolled kiosk is left alone, a certificate from an earlier, unfinished \
                      run is kept (the token works once), and only one run at a time holds \
                      <state-dir>/provision.lock.",
        after_help = "Examples:\n  kioskctl provision   (/boot/efi/provision.toml, /var/lib/kiosk)\n  \
                      kioskctl provision --file /media/usb/provision.toml --state-dir /tmp/k\n  \
                      echo 'VNKIOSK1|E|https://gw.example.vn|TOKEN' | kioskctl provision --qr -\n\n\
                      Exit status:\n  0  enrolled (now or before)\n  \
                      2  a step failed: the message says which, why and what to do"
    )]
    Provision(crate::provision::ProvisionArgs),
    /// Print the version of kioskctl and the languages built into it
    Version,
}

/// `kioskctl config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file and summarise what the kiosk will use
    #[command(
        long_about = "Validate a configuration file exactly as the kiosk does at start-up, then \
                      summarise what it will use: site, mode, gateway, devices, languages.\n\n\
                      On a problem, prints one message naming the file, line, key and the fix, \
                      and exits with status 2. Languages listed in [ui] that have no language \
                      pack are reported as warnings.",
        after_help = "Examples:\n  kioskctl config check /etc/kiosk/kiosk.toml\n  \
                      kioskctl config check --catalog /etc/kiosk/kiosk.toml\n\n\
                      Exit status:\n  0  the file is valid\n  2  the file is invalid or unreadable"
    )]
    Check(ConfigCheck),
    /// Hash a volunteer PIN for `help.staff_pin_hash` (assisted mode)
    #[command(
        long_about = "Read a volunteer PIN (4 to 12 digits) from standard input and print the \
                      `[help]` line holding its Argon2id hash with a fresh random salt. The PIN \
                      itself is never written to the configuration, and is not taken as an \
                      argument so that it stays out of the shell history.",
        after_help = "Example:\n  printf '%s' \"$PIN\" | kioskctl config hash-pin >> /etc/kiosk/kiosk.toml\n\n\
                      Exit status:\n  0  printed\n  2  the PIN is not 4 to 12 digits"
    )]
    HashPin,
}

/// `kioskctl config check`.
#[derive(Debug, Args)]
pub struct ConfigCheck {
    /// The configuration file, e.g. /etc/kiosk/kiosk.toml
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Also validate the catalogue file named by `catalog_file`
    #[arg(long)]
    pub catalog: bool,
    /// Print the result (or the error) as JSON on stdout, for scripts
    #[arg(long)]
    pub json: bool,
}

/// `kioskctl locales ...`.
#[derive(Debug, Subcommand)]
pub enum LocalesCommand {
    /// Validate a folder of language packs (DIR/<lang>/*.ftl)
    #[command(
        long_about = "Validate a folder of language packs the way the kiosk loads `ui.locales_dir`: \
                      DIR holds one folder per language (`hmn`, `tay`, ...) with Fluent .ftl \
                      files; they are merged over the languages built into the kiosk.\n\n\
                      For every language in DIR, prints its own name (`language-name`), how many \
                      messages the pack defines, and warns about keys the Vietnamese reference \
                      has but the language lacks (the kiosk shows those in Vietnamese) and about \
                      keys the kiosk never uses (usually typos). A syntax error is an error that \
                      names the file and line.",
        after_help = "Example:\n  kioskctl locales check /media/usb/locales\n\n\
                      Exit status:\n  0  no errors (warnings allowed)\n  \
                      1  warnings, and --strict was given\n  2  a syntax error or unreadable folder"
    )]
    Check(LocalesCheck),
}

/// `kioskctl locales check`.
#[derive(Debug, Args)]
pub struct LocalesCheck {
    /// Folder holding one sub-folder per language, e.g. ./locales (not ./locales/hmn)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Fail (exit status 1) on warnings too, e.g. keys missing from a language
    #[arg(long)]
    pub strict: bool,
}

/// `kioskctl catalog ...`.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List the services a kiosk will offer on its "choose a service" screen
    #[command(
        long_about = "List the services a kiosk will offer: administrative procedures in \
                      one-stop-shop mode, clinic departments in hospital mode. The list comes \
                      from the configuration's `catalog_file` (--config), a catalogue file \
                      (--file with --mode), or the built-in list (--mode).\n\n\
                      Procedure codes marked `no` under VERIFIED are placeholders: check them \
                      against the provincial catalogue before the kiosk goes live.",
        after_help = "Examples:\n  kioskctl catalog list --config /etc/kiosk/kiosk.toml\n  \
                      kioskctl catalog list --mode hospital --lang en\n  \
                      kioskctl catalog list --mode one-stop-shop --file ./catalog.toml\n\n\
                      Exit status:\n  0  listed\n  2  the configuration or catalogue is invalid"
    )]
    List(CatalogList),
}

/// `kioskctl catalog list`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["config", "mode"])))]
pub struct CatalogList {
    /// Use the mode and catalogue of this configuration file
    #[arg(long, value_name = "FILE", conflicts_with_all = ["mode", "file"])]
    pub config: Option<PathBuf>,
    /// Use the built-in catalogue of this kiosk mode
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Read this catalogue file instead of the built-in list (needs --mode)
    #[arg(long, value_name = "FILE", requires = "mode")]
    pub file: Option<PathBuf>,
    /// Language of the titles; titles missing in it are shown in Vietnamese
    #[arg(long, value_name = "LANG", default_value = "vi")]
    pub lang: String,
    /// Print the list as JSON, for scripts
    #[arg(long)]
    pub json: bool,
}

/// The kiosk modes, as written on the command line (the same words as in kiosk.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Administrative procedures (Bộ phận Một cửa)
    OneStopShop,
    /// Clinic departments (hospital registration)
    Hospital,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::OneStopShop => Mode::OneStopShop,
            ModeArg::Hospital => Mode::Hospital,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
